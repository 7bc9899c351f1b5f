/* CycleGAN's image pool: fills first, then returns the new image or swaps
 * it with a stored one, each with probability 1/2; deterministic for a
 * seed; capacity 0 passes images through. */
#include "g2c/error.h"
#include "g2c/models.h"
#include "testutil.h"

#include <string.h>

enum { N = 4, CAP = 3 }; /* floats per image, pool capacity */

static void fill(float *img, float id)
{
    for (int i = 0; i < N; i++)
        img[i] = id;
}

static int in_pool(const G2cImagePool *pool, float id)
{
    for (int s = 0; s < pool->count; s++)
        if (pool->images[(size_t)s * N] == id)
            return 1;
    return 0;
}

static void test_pass_through(void)
{
    G2cImagePool pool;
    G2cRng rng;
    g2c_rng_seed(&rng, 1);
    CHECK_OK(g2c_image_pool_init(&pool, 0, N));
    float in[2 * N], out[2 * N];
    fill(in, 1.0f);
    fill(in + N, 2.0f);
    for (int t = 0; t < 10; t++) {
        g2c_image_pool_query(&pool, &rng, 2, in, out);
        CHECK(memcmp(in, out, sizeof in) == 0);
    }
    CHECK(pool.count == 0);
    g2c_image_pool_free(&pool);
}

/* Returns the number of swaps over `queries` single-image queries after
 * the pool is full; checks the pool's invariants on the way. */
static int run_pool(uint64_t seed, int queries, float *trace)
{
    G2cImagePool pool;
    G2cRng rng;
    g2c_rng_seed(&rng, seed);
    CHECK_OK(g2c_image_pool_init(&pool, CAP, N));
    float in[2 * N], out[2 * N];
    /* Fill: a batch of 2 then 1, all returned as they are. */
    fill(in, 1.0f);
    fill(in + N, 2.0f);
    g2c_image_pool_query(&pool, &rng, 2, in, out);
    CHECK(memcmp(in, out, sizeof in) == 0);
    fill(in, 3.0f);
    g2c_image_pool_query(&pool, &rng, 1, in, out);
    CHECK(out[0] == 3.0f && pool.count == CAP);
    int swaps = 0;
    for (int t = 0; t < queries; t++) {
        float id = 4.0f + (float)t;
        float before[CAP * N];
        memcpy(before, pool.images, sizeof before);
        fill(in, id);
        g2c_image_pool_query(&pool, &rng, 1, in, out);
        if (trace)
            trace[t] = out[0];
        CHECK(pool.count == CAP);
        if (out[0] == id) { /* returned as is: the pool is unchanged */
            CHECK(memcmp(before, pool.images, sizeof before) == 0);
            CHECK(!in_pool(&pool, id));
            continue;
        }
        /* Swapped: out was stored, and its slot now holds the new image. */
        swaps++;
        int slot = -1;
        for (int s = 0; s < CAP; s++)
            if (before[s * N] == out[0])
                slot = s;
        CHECK(slot >= 0);
        if (slot >= 0) {
            CHECK(pool.images[(size_t)slot * N + N - 1] == id);
            for (int s = 0; s < CAP; s++)
                if (s != slot)
                    CHECK(pool.images[(size_t)s * N] == before[s * N]);
        }
    }
    g2c_image_pool_free(&pool);
    return swaps;
}

int main(void)
{
    test_pass_through();
    enum { Q = 2000 };
    static float a[Q], b[Q];
    int swaps = run_pool(42, Q, a);
    /* Binomial(2000, 1/2): mean 1000, sd 22. */
    CHECK(swaps > 900 && swaps < 1100);
    CHECK(run_pool(42, Q, b) == swaps);
    CHECK(memcmp(a, b, sizeof a) == 0);
    run_pool(43, Q, b);
    CHECK(memcmp(a, b, sizeof a) != 0);

    G2cImagePool pool;
    CHECK(g2c_image_pool_init(&pool, -1, N) == -1);
    CHECK(strstr(g2c_error_message(), "image pool: capacity -1") != NULL);
    return g2c_test_finish("image-pool");
}
