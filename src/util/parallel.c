#include "g2c/parallel.h"
#include "g2c/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_THREADS = 64 };

typedef struct {
    int (*fn)(void *ctx, int i);
    void *ctx;
    int n;
    atomic_int next;
    pthread_mutex_t lock;
    int failed;             /* lowest failing index, or n */
    char message[2048];     /* its message (error buffers are per thread) */
} Loop;

static void *worker(void *arg)
{
    Loop *loop = arg;
    for (;;) {
        int i = atomic_fetch_add(&loop->next, 1);
        if (i >= loop->n)
            break;
        if (loop->fn(loop->ctx, i) == 0)
            continue;
        pthread_mutex_lock(&loop->lock);
        if (i < loop->failed) {
            loop->failed = i;
            snprintf(loop->message, sizeof loop->message, "%s", g2c_error_message());
        }
        pthread_mutex_unlock(&loop->lock);
    }
    return NULL;
}

int g2c_parallel_for(int n, int threads, int (*fn)(void *ctx, int i), void *ctx,
                     int *failed_index)
{
    if (failed_index)
        *failed_index = -1;
    if (n <= 0)
        return 0;
    Loop loop = {.fn = fn, .ctx = ctx, .n = n, .failed = n};
    atomic_init(&loop.next, 0);
    pthread_mutex_init(&loop.lock, NULL);
    if (threads <= 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > n)
        threads = n;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    pthread_t tid[MAX_THREADS];
    int started = 0;
    while (started < threads - 1 && pthread_create(&tid[started], NULL, worker, &loop) == 0)
        started++;
    worker(&loop);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    pthread_mutex_destroy(&loop.lock);
    if (loop.failed == n)
        return 0;
    if (failed_index)
        *failed_index = loop.failed;
    return g2c_error("item %d: %s", loop.failed + 1, loop.message);
}
