/* Engine runtime: OpenBLAS core selection, thread count, scratch memory. */
#include "g2c/nn.h"

#include "g2c/parallel.h"

#include "im2col.h"
#include "nn-parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int env_threads(void)
{
    const char *s = getenv("G2C_THREADS");
    if (s && *s) {
        char *end;
        long n = strtol(s, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 1024)
            return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= 1 ? (int)n : 1;
}

void g2c_nn_runtime_init(int argc, char **argv)
{
    g2c_nn_set_threads(env_threads());
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

void g2c_nn_set_threads(int n)
{
    if (n < 1)
        n = env_threads();
    openblas_set_num_threads(n);
}

int g2c_nn_threads(void)
{
    return openblas_get_num_threads();
}

/* ---- per-thread scratch ---------------------------------------------- */

typedef struct {
    float *data;
    size_t size;
} Scratch;

static _Thread_local Scratch scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

/* Frees a worker thread's buffer when the thread ends. */
static void scratch_free(void *p)
{
    free(p);
}

static void scratch_key_init(void)
{
    pthread_key_create(&scratch_key, scratch_free);
}

float *g2c_nn_scratch(size_t n)
{
    if (n <= scratch.size)
        return scratch.data;
    pthread_once(&scratch_once, scratch_key_init);
    /* Round up to whole cache lines; the old contents need not survive. */
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
        fprintf(stderr, "g2c: nn scratch: out of memory for %zu floats\n", n);
        abort();
    }
    free(scratch.data);
    scratch.data = p;
    scratch.size = bytes / sizeof(float);
    pthread_setspecific(scratch_key, p);
    return p;
}

/* ---- threads for the memory-bound layers ------------------------------ */

int g2c_nn_parallel_layers = 1;

typedef struct {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int items, chunks;
} ParallelJob;

/* Chunk k runs items [k * items / chunks, (k + 1) * items / chunks). */
static int parallel_chunk(void *arg, int k)
{
    const ParallelJob *j = arg;
    int lo = (int)((long long)k * j->items / j->chunks);
    int hi = (int)((long long)(k + 1) * j->items / j->chunks);
    for (int i = lo; i < hi; i++)
        j->fn(j->ctx, i);
    return 0;
}

void g2c_nn_parallel(int items, size_t work, void (*fn)(void *ctx, int i),
                     void *ctx)
{
    int threads = g2c_nn_parallel_layers ? g2c_nn_threads() : 1;
    if (threads <= 1 || items <= 1 || work < G2C_NN_PAR_MIN) {
        for (int i = 0; i < items; i++)
            fn(ctx, i);
        return;
    }
    /* One contiguous chunk per thread: neighbouring items share cache
     * lines at their ends, and a few big chunks start fewer loads. */
    ParallelJob j = {fn, ctx, items, threads < items ? threads : items};
    g2c_parallel_for(j.chunks, j.chunks, parallel_chunk, &j, NULL);
}
