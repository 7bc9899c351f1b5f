/* The engine's worker pool (src/nn/workers.c): every item runs exactly
 * once, jobs back to back and after the workers fell asleep, a parallel
 * call from inside an item (runs serially instead of deadlocking), a
 * forked child (has no workers, must not wait for them), thread counts
 * going down and up, and the panel-split sgemm against one OpenBLAS call
 * on every shape class (split by rows or by columns, transposed operands,
 * beta 0 and 1, sizes that are not multiples of the panel width). */
#include "testutil.h"

#include "g2c/nn.h"
#include "../../src/nn/nn-parallel.h"

#include <cblas.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { ITEMS = 1000 };

static atomic_int hits[ITEMS];

static void count_item(void *ctx, int i)
{
    (void)ctx;
    atomic_fetch_add(&hits[i], 1);
}

/* Runs a parallel loop; returns 1 when every item ran exactly once. */
static int every_item_once(int items)
{
    for (int i = 0; i < items; i++)
        atomic_store(&hits[i], 0);
    g2c_nn_parallel(items, (size_t)1 << 30, count_item, NULL);
    for (int i = 0; i < items; i++)
        if (atomic_load(&hits[i]) != 1)
            return 0;
    return 1;
}

static void test_jobs(void)
{
    g2c_nn_set_threads(2);
    int ok = 1;
    for (int r = 0; r < 2000 && ok; r++)
        ok = every_item_once(1 + r % ITEMS);
    CHECK(ok);
    /* Let the workers fall asleep (they spin well under a second). */
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK(every_item_once(ITEMS));
    g2c_nn_set_threads(1);
    CHECK(every_item_once(ITEMS));
    g2c_nn_set_threads(3);
    CHECK(every_item_once(ITEMS));
    g2c_nn_set_threads(2);
    CHECK(every_item_once(ITEMS));
}

static atomic_int inner_ok;

static void mark_item(void *ctx, int i)
{
    ((int *)ctx)[i]++;
}

static void nested_real_item(void *ctx, int i)
{
    (void)ctx;
    (void)i;
    int marks[8] = {0};
    g2c_nn_parallel(8, (size_t)1 << 30, mark_item, marks);
    int ok = 1;
    for (int k = 0; k < 8; k++)
        ok &= marks[k] == 1;
    if (ok)
        atomic_fetch_add(&inner_ok, 1);
}

static void test_nested(void)
{
    g2c_nn_set_threads(2);
    atomic_store(&inner_ok, 0);
    g2c_nn_parallel(6, (size_t)1 << 30, nested_real_item, NULL);
    CHECK(atomic_load(&inner_ok) == 6);
}

static void test_fork(void)
{
    g2c_nn_set_threads(2);
    CHECK(every_item_once(ITEMS)); /* the parent's workers are running */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        exit(every_item_once(ITEMS) ? 0 : 3); /* exit: joins its workers */
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(every_item_once(ITEMS));
}

static void fill(float *p, size_t n, unsigned seed)
{
    unsigned s = seed;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
    }
}

/* g2c_nn_sgemm on 2 threads against one cblas_sgemm on the same data. */
static void check_gemm(int ta, int tb, int m, int n, int k, float beta)
{
    int lda = ta ? m + 3 : k + 1, ldb = tb ? k + 2 : n + 5, ldc = n + 7;
    size_t an = (size_t)(ta ? k : m) * lda, bn = (size_t)(tb ? n : k) * ldb;
    size_t cn = (size_t)m * ldc;
    float *a = malloc(an * sizeof *a), *b = malloc(bn * sizeof *b);
    float *c1 = malloc(cn * sizeof *c1), *c2 = malloc(cn * sizeof *c2);
    fill(a, an, 1);
    fill(b, bn, 2);
    fill(c1, cn, 3);
    memcpy(c2, c1, cn * sizeof *c1);
    g2c_nn_set_threads(2);
    g2c_nn_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c1, ldc);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, m, n, k, 0.5f, a, lda, b, ldb,
                beta, c2, ldc);
    /* OpenBLAS may pick another kernel for a narrower panel (its small-
     * matrix kernels sum in another order), so the values agree to
     * rounding only; the padding between rows (ldc > n) is untouched. */
    double worst = 0;
    int pad_same = 1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < ldc; j++) {
            size_t at = (size_t)i * ldc + j;
            if (j >= n) {
                pad_same &= c1[at] == c2[at];
                continue;
            }
            double d = c1[at] > c2[at] ? c1[at] - c2[at] : c2[at] - c1[at];
            worst = d > worst ? d : worst;
        }
    if (worst > 1e-5 * k || !pad_same)
        fprintf(stderr, "sgemm %c%c %dx%dx%d beta %g: off by %g\n",
                ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, beta, worst);
    CHECK(worst <= 1e-5 * k);
    CHECK(pad_same);
    /* The same call again gives the same bits (a fixed split). */
    memcpy(c2, c1, cn * sizeof *c1);
    fill(c1, cn, 3);
    g2c_nn_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c1, ldc);
    float *c3 = malloc(cn * sizeof *c3);
    fill(c3, cn, 3);
    g2c_nn_sgemm(ta, tb, m, n, k, 0.5f, a, lda, b, ldb, beta, c3, ldc);
    CHECK(memcmp(c1, c3, cn * sizeof *c1) == 0);
    free(c3);
    free(a);
    free(b);
    free(c1);
    free(c2);
}

static void test_sgemm(void)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            check_gemm(ta, tb, 64, 1000, 96, 0.0f);  /* columns split */
            check_gemm(ta, tb, 517, 40, 300, 1.0f);  /* rows split */
            check_gemm(ta, tb, 33, 35, 2000, 0.0f);  /* rows, odd */
            check_gemm(ta, tb, 3, 5, 7, 1.0f);       /* too small to split */
        }
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    test_jobs();
    test_nested();
    test_fork();
    test_sgemm();
    return g2c_test_finish("workers");
}
