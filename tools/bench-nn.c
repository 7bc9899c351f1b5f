/* Speed of the convolution layers, beside PyTorch.
 *
 *   bench-nn [--threads N] [--repeat R] [--net gen|patch|resnet|cls|all]
 *            [--no-torch] [--torch-script PATH] [--fwd A] [--dw A] [--dx A]
 *            [--fold COLS] [--cputime]
 *
 * Times forward and backward (dx, dw, db; no dx for a network's first
 * layer, as in training) of every convolution of (a) the CycleGAN ResNet
 * generator (ngf 64, 6 blocks) on 1x3x128x128, (b) the 70x70 PatchGAN on
 * the 1x3x128x128 image the generator makes, (c) ResNet-18 on 16x3x96x96,
 * and "cls": the G2C classifier's ("cpu" preset, one branch) on 16x3x96x96.
 * Each time is the best of R runs after one warm-up.  Unless --no-torch,
 * the same layers go to tools/bench_nn_torch.py (PyTorch, same thread
 * count) and both are printed side by side; "x" is PyTorch's time divided
 * by ours (above 1: g2c is faster).  A, for the algorithm options:
 * auto, gemm, tconv, direct, implicit. */
#include "g2c/nn.h"
#include "../src/nn/im2col.h"

#include <cblas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *net, *name;
    int transposed;
    int batch, in_c, in_h, in_w, out_c, kernel, stride, pad;
    int mode_or_op; /* conv: G2cPadMode; transposed: output_pad */
    int bias, count, need_dx;
    /* measured, ms */
    double fwd, bwd, tfwd, tbwd;
} Layer;

#define R G2C_PAD_REFLECT
#define Z G2C_PAD_ZERO
static Layer layers[] = {
    {"gen", "c7-in 3>64", 0, 1, 3, 128, 128, 64, 7, 1, 3, R, 1, 1, 0, 0, 0, 0, 0},
    {"gen", "down 64>128 s2", 0, 1, 64, 128, 128, 128, 3, 2, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"gen", "down 128>256 s2", 0, 1, 128, 64, 64, 256, 3, 2, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"gen", "res 256 (x12)", 0, 1, 256, 32, 32, 256, 3, 1, 1, R, 1, 12, 1, 0, 0, 0, 0},
    {"gen", "up-T 256>128", 1, 1, 256, 32, 32, 128, 3, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0},
    {"gen", "up-T 128>64", 1, 1, 128, 64, 64, 64, 3, 2, 1, 1, 1, 1, 1, 0, 0, 0, 0},
    {"gen", "c7-out 64>3", 0, 1, 64, 128, 128, 3, 7, 1, 3, R, 1, 1, 1, 0, 0, 0, 0},
    {"patch", "c4 3>64 s2", 0, 1, 3, 128, 128, 64, 4, 2, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"patch", "c4 64>128 s2", 0, 1, 64, 64, 64, 128, 4, 2, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"patch", "c4 128>256 s2", 0, 1, 128, 32, 32, 256, 4, 2, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"patch", "c4 256>512 s1", 0, 1, 256, 16, 16, 512, 4, 1, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"patch", "c4 512>1 s1", 0, 1, 512, 15, 15, 1, 4, 1, 1, Z, 1, 1, 1, 0, 0, 0, 0},
    {"resnet", "conv1 7x7 s2", 0, 16, 3, 96, 96, 64, 7, 2, 3, Z, 0, 1, 0, 0, 0, 0, 0},
    {"resnet", "l1 64 (x4)", 0, 16, 64, 24, 24, 64, 3, 1, 1, Z, 0, 4, 1, 0, 0, 0, 0},
    {"resnet", "l2 64>128 s2", 0, 16, 64, 24, 24, 128, 3, 2, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"resnet", "l2 128 (x3)", 0, 16, 128, 12, 12, 128, 3, 1, 1, Z, 0, 3, 1, 0, 0, 0, 0},
    {"resnet", "l2 1x1 s2", 0, 16, 64, 24, 24, 128, 1, 2, 0, Z, 0, 1, 1, 0, 0, 0, 0},
    {"resnet", "l3 128>256 s2", 0, 16, 128, 12, 12, 256, 3, 2, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"resnet", "l3 256 (x3)", 0, 16, 256, 6, 6, 256, 3, 1, 1, Z, 0, 3, 1, 0, 0, 0, 0},
    {"resnet", "l3 1x1 s2", 0, 16, 128, 12, 12, 256, 1, 2, 0, Z, 0, 1, 1, 0, 0, 0, 0},
    {"resnet", "l4 256>512 s2", 0, 16, 256, 6, 6, 512, 3, 2, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"resnet", "l4 512 (x3)", 0, 16, 512, 3, 3, 512, 3, 1, 1, Z, 0, 3, 1, 0, 0, 0, 0},
    {"resnet", "l4 1x1 s2", 0, 16, 256, 6, 6, 512, 1, 2, 0, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "stem 3>32 s2", 0, 16, 3, 96, 96, 32, 3, 2, 1, Z, 0, 1, 0, 0, 0, 0, 0},
    {"cls", "stem 32 (x2)", 0, 16, 32, 48, 48, 32, 3, 1, 1, Z, 0, 2, 1, 0, 0, 0, 0},
    {"cls", "u0 32>64", 0, 16, 32, 24, 24, 64, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u0 64", 0, 16, 64, 24, 24, 64, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u0 1x1 32>64", 0, 16, 32, 24, 24, 64, 1, 1, 0, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u1 64>128", 0, 16, 64, 12, 12, 128, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u1 128", 0, 16, 128, 12, 12, 128, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u1 1x1 64>128", 0, 16, 64, 12, 12, 128, 1, 1, 0, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u2 128>256", 0, 16, 128, 6, 6, 256, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u2 256", 0, 16, 256, 6, 6, 256, 3, 1, 1, Z, 0, 1, 1, 0, 0, 0, 0},
    {"cls", "u2 1x1 128>256", 0, 16, 128, 6, 6, 256, 1, 1, 0, Z, 0, 1, 1, 0, 0, 0, 0},
};
#undef R
#undef Z
enum { NLAYERS = sizeof layers / sizeof layers[0] };

/* --cputime: this thread's CPU time instead of the wall clock (PyTorch's
 * side does the same).  With --threads 1 both compute in the calling
 * thread, so comparisons hold even on a machine busy with other work. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(clock_id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int out_h(const Layer *l)
{
    if (l->transposed)
        return (l->in_h - 1) * l->stride - 2 * l->pad + l->kernel + l->mode_or_op;
    return (l->in_h + 2 * l->pad - l->kernel) / l->stride + 1;
}

static int out_w(const Layer *l)
{
    if (l->transposed)
        return (l->in_w - 1) * l->stride - 2 * l->pad + l->kernel + l->mode_or_op;
    return (l->in_w + 2 * l->pad - l->kernel) / l->stride + 1;
}

/* Multiply-adds x 2 of one forward pass. */
static double flops(const Layer *l)
{
    double spatial = l->transposed ? (double)l->in_h * l->in_w
                                   : (double)out_h(l) * out_w(l);
    return 2.0 * l->batch * spatial * l->in_c * l->out_c * l->kernel * l->kernel;
}

static double bwd_flops(const Layer *l)
{
    return flops(l) * (l->need_dx ? 2 : 1);
}

static float *random_buffer(size_t n, G2cRng *rng, float scale)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench-nn: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (float)(2.0 * g2c_rng_uniform(rng) - 1.0);
    return p;
}

static void run_layer(Layer *l, int repeat)
{
    const size_t nx = (size_t)l->batch * l->in_c * l->in_h * l->in_w;
    const size_t nw = (size_t)l->in_c * l->out_c * l->kernel * l->kernel;
    const size_t ny = (size_t)l->batch * l->out_c * out_h(l) * out_w(l);
    G2cRng rng;
    g2c_rng_seed(&rng, 42);
    float *x = random_buffer(nx, &rng, 1.0f), *w = random_buffer(nw, &rng, 0.05f);
    float *b = random_buffer((size_t)l->out_c, &rng, 0.1f);
    float *dy = random_buffer(ny, &rng, 1.0f), *y = random_buffer(ny, &rng, 0);
    float *dx = random_buffer(nx, &rng, 0), *dw = random_buffer(nw, &rng, 0);
    float *db = random_buffer((size_t)l->out_c, &rng, 0);
    G2cConv2d c = {l->batch, l->in_c, l->in_h, l->in_w, l->out_c, l->kernel,
                   l->stride, l->pad, (G2cPadMode)l->mode_or_op};
    G2cConvT2d t = {l->batch, l->in_c, l->in_h, l->in_w, l->out_c, l->kernel,
                    l->stride, l->pad, l->mode_or_op};
    const float *bias = l->bias ? b : NULL;
    float *dbias = l->bias ? db : NULL, *dxp = l->need_dx ? dx : NULL;
    l->fwd = l->bwd = 1e30;
    for (int r = 0; r <= repeat; r++) {
        double t0 = now();
        if (l->transposed)
            g2c_convt2d_forward(&t, x, w, bias, y);
        else
            g2c_conv2d_forward(&c, x, w, bias, y);
        double t1 = now();
        if (l->transposed)
            g2c_convt2d_backward(&t, x, w, dy, dxp, dw, dbias);
        else
            g2c_conv2d_backward(&c, x, w, dy, dxp, dw, dbias);
        double t2 = now();
        if (r > 0 && (t1 - t0) * 1e3 < l->fwd)
            l->fwd = (t1 - t0) * 1e3;
        if (r > 0 && (t2 - t1) * 1e3 < l->bwd)
            l->bwd = (t2 - t1) * 1e3;
    }
    free(x), free(w), free(b), free(dy), free(y), free(dx), free(dw), free(db);
}

/* Layers go to the script one a line; it answers "index fwd_ms bwd_ms". */
static int run_torch(const char *script, int threads, int repeat,
                     const int *selected)
{
    char spec[] = "/tmp/g2c-bench-nn-XXXXXX";
    int fd = mkstemp(spec);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < NLAYERS; i++) {
        const Layer *l = &layers[i];
        if (!selected[i])
            continue;
        fprintf(f, "%d %s %d %d %d %d %d %d %d %d %d %d %d\n", i,
                l->transposed ? "convt" : "conv", l->batch, l->in_c, l->in_h,
                l->in_w, l->out_c, l->kernel, l->stride, l->pad,
                l->mode_or_op, l->bias, l->need_dx);
    }
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s %d %d%s", script,
             spec, threads, repeat,
             clock_id == CLOCK_THREAD_CPUTIME_ID ? " cputime" : "");
    FILE *p = popen(cmd, "r");
    if (!p) {
        unlink(spec);
        return -1;
    }
    char line[512];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        int i;
        double fw, bw;
        if (sscanf(line, "%d %lf %lf", &i, &fw, &bw) == 3 && i >= 0 &&
            i < NLAYERS) {
            layers[i].tfwd = fw;
            layers[i].tbwd = bw;
            got++;
        } else {
            fputs(line, stderr);
        }
    }
    int rc = pclose(p);
    unlink(spec);
    return rc == 0 && got > 0 ? 0 : -1;
}

static G2cConvAlgo parse_algo(const char *s)
{
    if (strcmp(s, "gemm") == 0)
        return G2C_CONV_GEMM;
    if (strcmp(s, "tconv") == 0)
        return G2C_CONV_TCONV;
    if (strcmp(s, "direct") == 0)
        return G2C_CONV_DIRECT;
    if (strcmp(s, "implicit") == 0)
        return G2C_CONV_IMPLICIT;
    return G2C_CONV_AUTO;
}

static void print_row(const Layer *l, int torch)
{
    double f = flops(l) / 1e6, bf = bwd_flops(l) / 1e6;
    printf("  %-16s %7.3f %6.1f %7.3f %6.1f", l->name, l->fwd, f / l->fwd,
           l->bwd, bf / l->bwd);
    if (torch && l->tfwd > 0)
        printf(" | %7.3f %6.1f %7.3f %6.1f | %5.2f %5.2f", l->tfwd,
               f / l->tfwd, l->tbwd, bf / l->tbwd, l->tfwd / l->fwd,
               l->tbwd / l->bwd);
    printf("\n");
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    int threads = 2, repeat = 5, torch = 1;
    const char *net = "all", *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-torch") == 0) {
            torch = 0;
            continue;
        }
        if (strcmp(a, "--cputime") == 0) {
            clock_id = CLOCK_THREAD_CPUTIME_ID;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench-nn: %s needs a value (see the source)\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--threads") == 0)
            threads = atoi(v);
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else if (strcmp(a, "--net") == 0)
            net = v;
        else if (strcmp(a, "--torch-script") == 0)
            script = v;
        else if (strcmp(a, "--fwd") == 0)
            g2c_conv_tuning.fwd = parse_algo(v);
        else if (strcmp(a, "--dw") == 0)
            g2c_conv_tuning.dw = parse_algo(v);
        else if (strcmp(a, "--dx") == 0)
            g2c_conv_tuning.dx = parse_algo(v);
        else if (strcmp(a, "--fold") == 0)
            g2c_conv_tuning.fold_cols = atoi(v);
        else {
            fprintf(stderr, "bench-nn: unknown option %s\n", a);
            return 2;
        }
    }
    if (repeat < 1)
        repeat = 1;
    g2c_nn_set_threads(threads);

    int selected[NLAYERS];
    for (int i = 0; i < NLAYERS; i++) {
        selected[i] = strcmp(net, "all") == 0 || strcmp(net, layers[i].net) == 0;
        if (selected[i])
            run_layer(&layers[i], repeat);
    }
    if (torch) {
        char path[4096];
        if (!script) {
            /* Beside the source tree this program was built from. */
            snprintf(path, sizeof path, "%s/tools/bench_nn_torch.py",
                     G2C_SOURCE_DIR);
            script = path;
        }
        if (run_torch(script, threads, repeat, selected) != 0) {
            fprintf(stderr, "bench-nn: PyTorch run failed; g2c only\n");
            torch = 0;
        }
    }

    printf("g2c conv layers, %d thread(s), OpenBLAS core %s, best of %d%s\n",
           g2c_nn_threads(), openblas_get_corename(), repeat,
           clock_id == CLOCK_THREAD_CPUTIME_ID ? ", thread CPU time" : "");
    printf("  %-16s %7s %6s %7s %6s", "layer", "fwd ms", "GF/s", "bwd ms",
           "GF/s");
    if (torch)
        printf(" | %7s %6s %7s %6s | %5s %5s", "torch f", "GF/s", "torch b",
               "GF/s", "x fwd", "x bwd");
    printf("\n");
    const char *nets[] = {"gen", "patch", "resnet", "cls"};
    for (int k = 0; k < 4; k++) {
        double f = 0, b = 0, tf = 0, tb = 0, fl = 0, bfl = 0;
        int any = 0;
        for (int i = 0; i < NLAYERS; i++) {
            Layer *l = &layers[i];
            if (!selected[i] || strcmp(l->net, nets[k]) != 0)
                continue;
            if (!any)
                printf("%s\n", nets[k]);
            any = 1;
            print_row(l, torch);
            f += l->count * l->fwd, b += l->count * l->bwd;
            tf += l->count * l->tfwd, tb += l->count * l->tbwd;
            fl += l->count * flops(l), bfl += l->count * bwd_flops(l);
        }
        if (!any)
            continue;
        printf("  %-16s %7.2f %6.1f %7.2f %6.1f", "total", f, fl / f / 1e6, b,
               bfl / b / 1e6);
        if (torch)
            printf(" | %7.2f %6.1f %7.2f %6.1f | %5.2f %5.2f", tf,
                   fl / tf / 1e6, tb, bfl / tb / 1e6, tf / f, tb / b);
        printf("\n");
    }
    return 0;
}
