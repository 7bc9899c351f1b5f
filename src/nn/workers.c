/* The engine's threads: one persistent pool that runs both the matrix
 * products (split into panels, each a one-thread OpenBLAS sgemm) and the
 * memory-bound layers between them.
 *
 * Why not OpenBLAS's own threads: after each product they spin in
 * sched_yield() for a while, on the very cores the layers in between want;
 * a classifier step spent a fifth of its CPU time there, and thread
 * start-up per layer call cost more.  Here OpenBLAS always runs on one
 * thread (the caller's), and g2c's workers spin only briefly between jobs
 * before they sleep on a condition variable.
 *
 * Every job has a fixed number of items, fixed by the shape and the thread
 * count alone, and each item computes exactly what it would compute on
 * one thread; which thread runs it does not change a bit. */
#include "g2c/nn.h"

#include "nn-parallel.h"

#include <cblas.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

enum { MAX_THREADS = 64 };

/* How long a thread spins for the next job or for the workers to finish
 * before it sleeps: longer than the serial gaps between the layers of a
 * training step (waking a sleeping thread costs 50 us to 1 ms on a virtual
 * machine, whose idle CPU halts), short enough not to matter to anything
 * else once the engine is idle. */
#define SPIN_NS 400000L

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Spins until done(arg) or SPIN_NS have passed; returns done(arg). */
static int spin_until(int (*done)(const void *arg), const void *arg)
{
    long deadline = 0;
    for (unsigned r = 0;; r++) {
        if (done(arg))
            return 1;
        if ((r & 255) == 0) {
            long t = now_ns();
            if (deadline == 0)
                deadline = t + SPIN_NS;
            else if (t > deadline)
                return 0;
        }
        CPU_RELAX();
    }
}

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers: a new job, or quit */
    pthread_cond_t done; /* the caller: the last worker finished */
    int threads;         /* the engine's thread count, caller included */
    int running;         /* workers started (threads - 1 once used) */
    pthread_t tid[MAX_THREADS];
    atomic_uint gen; /* bumped for each job */
    atomic_int quit;
    /* The current job; stable until every worker has finished it. */
    void (*fn)(void *ctx, int i);
    void *ctx;
    int items;
    atomic_int next;    /* next item to claim */
    atomic_int pending; /* workers still in the current job */
    int caller_waits;   /* under lock */
} Pool;

static Pool pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
                    .wake = PTHREAD_COND_INITIALIZER,
                    .done = PTHREAD_COND_INITIALIZER,
                    .threads = 1};

/* Set on worker threads, and on the caller during a job: a layer called
 * from inside a job runs its items itself instead of dispatching. */
static _Thread_local int inside_job;
/* One application thread dispatches at a time; others run serially. */
static atomic_flag dispatching = ATOMIC_FLAG_INIT;

int g2c_nn_parallel_layers = 1;

static void run_items(void)
{
    for (;;) {
        int i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
        if (i >= pool.items)
            return;
        pool.fn(pool.ctx, i);
    }
}

static int job_posted(const void *seen)
{
    return atomic_load_explicit(&pool.gen, memory_order_acquire) !=
               *(const unsigned *)seen ||
           atomic_load_explicit(&pool.quit, memory_order_relaxed);
}

static unsigned wait_for_job(unsigned seen)
{
    if (spin_until(job_posted, &seen))
        return atomic_load_explicit(&pool.gen, memory_order_acquire);
    pthread_mutex_lock(&pool.lock);
    while (atomic_load(&pool.gen) == seen && !atomic_load(&pool.quit))
        pthread_cond_wait(&pool.wake, &pool.lock);
    unsigned g = atomic_load(&pool.gen);
    pthread_mutex_unlock(&pool.lock);
    return g;
}

static void *worker_main(void *arg)
{
    unsigned seen = (unsigned)(uintptr_t)arg;
    inside_job = 1;
    for (;;) {
        seen = wait_for_job(seen);
        if (atomic_load(&pool.quit))
            return NULL;
        run_items();
        if (atomic_fetch_sub_explicit(&pool.pending, 1,
                                      memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.lock);
            if (pool.caller_waits)
                pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.lock);
        }
    }
}

static void stop_workers(void)
{
    if (pool.running == 0)
        return;
    pthread_mutex_lock(&pool.lock);
    atomic_store(&pool.quit, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (int t = 0; t < pool.running; t++)
        pthread_join(pool.tid[t], NULL);
    pool.running = 0;
    atomic_store(&pool.quit, 0);
}

/* A child of fork() has none of the parent's workers. */
static void forget_workers(void)
{
    pool.running = 0;
    atomic_store(&pool.quit, 0);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.wake, NULL);
    pthread_cond_init(&pool.done, NULL);
    atomic_flag_clear(&dispatching);
}

static void register_exit_handlers(void)
{
    static int registered;
    if (registered)
        return;
    registered = 1;
    atexit(stop_workers); /* joined threads keep valgrind's report clean */
    pthread_atfork(NULL, NULL, forget_workers);
}

/* Starts workers up to threads - 1; fewer if the system refuses. */
static void start_workers(void)
{
    register_exit_handlers();
    unsigned g = atomic_load(&pool.gen);
    while (pool.running < pool.threads - 1 &&
           pthread_create(&pool.tid[pool.running], NULL, worker_main,
                          (void *)(uintptr_t)g) == 0)
        pool.running++;
}

static int workers_done(const void *unused)
{
    (void)unused;
    return atomic_load_explicit(&pool.pending, memory_order_acquire) == 0;
}

static void wait_for_workers(void)
{
    if (spin_until(workers_done, NULL))
        return;
    pthread_mutex_lock(&pool.lock);
    pool.caller_waits = 1;
    while (atomic_load(&pool.pending) != 0)
        pthread_cond_wait(&pool.done, &pool.lock);
    pool.caller_waits = 0;
    pthread_mutex_unlock(&pool.lock);
}

static void run_serially(int items, void (*fn)(void *ctx, int i), void *ctx)
{
    for (int i = 0; i < items; i++)
        fn(ctx, i);
}

/* fn(ctx, i) for every i in [0, items), on the pool. */
static void dispatch(int items, void (*fn)(void *ctx, int i), void *ctx)
{
    if (inside_job || atomic_flag_test_and_set(&dispatching)) {
        run_serially(items, fn, ctx);
        return;
    }
    if (pool.running < pool.threads - 1)
        start_workers();
    if (pool.running == 0) {
        atomic_flag_clear(&dispatching);
        run_serially(items, fn, ctx);
        return;
    }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.items = items;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.pending, pool.running, memory_order_relaxed);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    inside_job = 1;
    run_items();
    inside_job = 0;
    wait_for_workers();
    atomic_flag_clear(&dispatching);
}

/* ---- thread count ------------------------------------------------------ */

static int default_threads(void)
{
    const char *s = getenv("G2C_THREADS");
    if (s && *s) {
        char *end;
        long n = strtol(s, &end, 10);
        if (*end == '\0' && n >= 1 && n <= MAX_THREADS)
            return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

void g2c_nn_set_threads(int n)
{
    if (n < 1)
        n = default_threads();
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    /* OpenBLAS runs inside the pool's items, on one thread each. */
    openblas_set_num_threads(1);
    if (n < pool.threads)
        stop_workers();
    pool.threads = n;
}

int g2c_nn_threads(void)
{
    return pool.threads;
}

/* ---- parallel loop over a layer's items --------------------------------- */

typedef struct {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int items, chunks;
} Chunked;

/* Chunk k runs items [k * items / chunks, (k + 1) * items / chunks). */
static void run_chunk(void *arg, int k)
{
    const Chunked *j = arg;
    int lo = (int)((long long)k * j->items / j->chunks);
    int hi = (int)((long long)(k + 1) * j->items / j->chunks);
    for (int i = lo; i < hi; i++)
        j->fn(j->ctx, i);
}

void g2c_nn_parallel(int items, size_t work, void (*fn)(void *ctx, int i),
                     void *ctx)
{
    int threads = g2c_nn_parallel_layers ? g2c_nn_threads() : 1;
    if (threads <= 1 || items <= 1 || work < G2C_NN_PAR_MIN) {
        run_serially(items, fn, ctx);
        return;
    }
    /* One contiguous chunk per thread: neighbouring items share cache
     * lines at their ends, and a few big chunks claim fewer times. */
    Chunked j = {fn, ctx, items, threads < items ? threads : items};
    dispatch(j.chunks, run_chunk, &j);
}

typedef struct {
    void (*fn)(void *ctx, size_t lo, size_t hi);
    void *ctx;
    size_t n;
} Ranged;

static void run_range(void *arg, int k)
{
    const Ranged *r = arg;
    size_t lo = (size_t)k * G2C_NN_CHUNK;
    size_t hi = r->n - lo < G2C_NN_CHUNK ? r->n : lo + G2C_NN_CHUNK;
    r->fn(r->ctx, lo, hi);
}

void g2c_nn_parallel_range(size_t n,
                           void (*fn)(void *ctx, size_t lo, size_t hi),
                           void *ctx)
{
    if (n < G2C_NN_PAR_MIN || !g2c_nn_parallel_layers ||
        g2c_nn_threads() <= 1) {
        if (n > 0)
            fn(ctx, 0, n);
        return;
    }
    Ranged r = {fn, ctx, n};
    g2c_nn_parallel((int)((n + G2C_NN_CHUNK - 1) / G2C_NN_CHUNK), n,
                    run_range, &r);
}

/* ---- matrix products ----------------------------------------------------- */

typedef struct {
    int trans_a, trans_b, m, n, k;
    float alpha, beta;
    const float *a, *b;
    float *c;
    int lda, ldb, ldc;
    int split_n; /* 1: panels of columns of C; 0: panels of rows */
    int panels, step;
} Gemm;

static void gemm_panel(void *arg, int p)
{
    const Gemm *g = arg;
    int lo = p * g->step;
    int len = (g->split_n ? g->n : g->m) - lo;
    if (len > g->step)
        len = g->step;
    if (len <= 0)
        return;
    const float *a = g->a, *b = g->b;
    float *c = g->c;
    int m = g->m, n = g->n;
    if (g->split_n) {
        b += g->trans_b ? (size_t)lo * g->ldb : (size_t)lo;
        c += lo;
        n = len;
    } else {
        a += g->trans_a ? (size_t)lo : (size_t)lo * g->lda;
        c += (size_t)lo * g->ldc;
        m = len;
    }
    cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                g->trans_b ? CblasTrans : CblasNoTrans, m, n, g->k, g->alpha,
                a, g->lda, b, g->ldb, g->beta, c, g->ldc);
}

void g2c_nn_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                  const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc)
{
    int threads = g2c_nn_threads();
    double flops = 2.0 * m * n * k;
    Gemm g = {trans_a, trans_b, m, n, k, alpha, beta, a, b, c,
              lda,     ldb,     ldc, 0, 1, 0};
    /* Below ~4 MFLOP (some 30 us) a second thread costs about what it
     * saves. */
    if (threads > 1 && flops >= 4e6) {
        /* Split the longer side of C; panels are whole multiples of 16 (the
         * width of the sgemm kernels' register blocks). */
        g.split_n = n >= m;
        int side = g.split_n ? n : m;
        int step = (side + threads - 1) / threads;
        step = (step + 15) / 16 * 16;
        g.panels = (side + step - 1) / step;
        g.step = step;
    }
    if (g.panels <= 1) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
                    lda, b, ldb, beta, c, ldc);
        return;
    }
    dispatch(g.panels, gemm_panel, &g);
}
