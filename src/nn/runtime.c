/* Engine runtime: OpenBLAS core selection, thread count, scratch memory. */
#include "g2c/nn.h"


#include "im2col.h"
#include "nn-parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Set in the environment of the re-executed program, so that a core type
 * that still is not taken cannot make it re-execute forever. */
#define REEXEC_MARKER "G2C_NN_REEXECED"

static int is_avx512_core(const char *name)
{
    static const char *const good[] = {"SkylakeX", "Cooperlake",
                                       "SapphireRapids"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (name && strcmp(name, good[i]) == 0)
            return 1;
    return 0;
}

static int cpu_has_avx512(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

void g2c_nn_runtime_init(int argc, char **argv)
{
    g2c_nn_set_threads(0);
    if (getenv("OPENBLAS_CORETYPE") || getenv(REEXEC_MARKER))
        return;
    if (!cpu_has_avx512())
        return;
    /* G2C_NN_TEST_CORENAME stands in for what OpenBLAS reports, so that the
     * test can take the re-exec path on machines OpenBLAS already gets
     * right. */
    const char *core = getenv("G2C_NN_TEST_CORENAME");
    if (!core || !*core)
        core = openblas_get_corename();
    if (is_avx512_core(core))
        return;
    if (argc < 1 || !argv || !argv[0])
        return;
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv(REEXEC_MARKER, "1", 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* Still here: the exec failed; carry on with the slower kernels and
     * leave the environment as it was for child processes. */
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(REEXEC_MARKER);
}

/* ---- big buffers ------------------------------------------------------ */

/* Huge pages: this kernel gives them only where asked (THP "madvise"), and
 * a training step walks tens of megabytes of activations, gradients and
 * optimizer state, whose 4 KB pages miss the TLB at every plane. */
enum { HUGE_PAGE = 2 << 20 };

float *g2c_nn_alloc_floats(size_t n)
{
    size_t bytes = (n ? n : 16) * sizeof(float);
    if (bytes < 2 * (size_t)HUGE_PAGE) {
        bytes = (bytes + 63) & ~(size_t)63;
        return aligned_alloc(64, bytes);
    }
    bytes = (bytes + HUGE_PAGE - 1) & ~((size_t)HUGE_PAGE - 1);
    float *p = aligned_alloc(HUGE_PAGE, bytes);
    if (p)
        (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: may be refused */
    return p;
}

/* ---- per-thread scratch ---------------------------------------------- */

typedef struct {
    float *data;
    size_t size;
} Scratch;

/* Two buffers per thread: slot 0 for a layer's own temporaries, slot 1 for
 * what the items of a parallel job need while the caller's slot 0 is in
 * use (the caller runs items too). */
enum { SLOTS = 2 };
static _Thread_local Scratch scratch[SLOTS];
static pthread_key_t scratch_key[SLOTS];
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* Frees a worker thread's buffers when the thread ends. */
static void scratch_free(void *p)
{
    free(p);
}

static void scratch_key_init(void)
{
    for (int i = 0; i < SLOTS; i++)
        pthread_key_create(&scratch_key[i], scratch_free);
}

static float *scratch_in(int slot, size_t n)
{
    Scratch *s = &scratch[slot];
    if (n <= s->size)
        return s->data;
    pthread_once(&scratch_once, scratch_key_init);
    /* Round up to whole cache lines; the old contents need not survive. */
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *p = g2c_nn_alloc_floats(bytes / sizeof(float));
    if (!p) {
        fprintf(stderr, "g2c: nn scratch: out of memory for %zu floats\n", n);
        abort();
    }
    free(s->data);
    s->data = p;
    s->size = bytes / sizeof(float);
    pthread_setspecific(scratch_key[slot], p);
    return p;
}

float *g2c_nn_scratch(size_t n)
{
    return scratch_in(0, n);
}

float *g2c_nn_item_scratch(size_t n)
{
    return scratch_in(1, n);
}
