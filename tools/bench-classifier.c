/* Training speed of the G2C classifier, beside the same model in PyTorch.
 *
 *   bench-classifier [--threads N] [--repeat R] [--batch B] [--size S]
 *                    [--configs LIST] [--no-torch] [--torch-script PATH]
 *                    [--fold COLS] [--dx auto|gemm|tconv]
 *
 * One training step = zero the gradients, forward in training mode on
 * K x [B, 3, S, S] (random inputs in [-1, 1]), softmax cross-entropy,
 * backward, SGD step (lr 0.01, momentum 0.9, weight decay 1e-4).  Each
 * configuration runs 2 warm-up steps then R timed steps; the median and the
 * best step are printed as ms/step, and the median as crops/s (a crop is
 * one glomerulus: K images, one per branch) and images/s (K * crops/s),
 * with the median process CPU time per step (all threads; steadier than
 * wall time on a shared machine).  LIST is a comma-separated subset of
 *   pas_only   K = 1, no attention  (the "cpu" preset otherwise)
 *   pas_all+   K = 4, attention     (the "cpu" preset)
 *   resnet18   the "resnet18" preset at size S (one branch, light stem 64,
 *              units 64,128,256,512)
 * default "pas_only,pas_all+".  Unless --no-torch, the same steps run in
 * tools/bench_classifier_torch.py (PyTorch, torch.set_num_threads(N)) and
 * the ratios torch / g2c of the median wall and CPU times are printed
 * (above 1: g2c is faster).  --fold and --dx set the engine's convolution
 * knobs (src/nn/im2col.h), to try other choices on these shapes. */
#include "g2c/classifier.h"
#include "g2c/error.h"
#include "g2c/nn.h"
#include "../src/nn/im2col.h"

#include <cblas.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *name;
    G2cClassifierConfig cfg;
    size_t params, acts;
    double med, best, cpu, tmed, tbest, tcpu; /* ms (cpu: process CPU) */
} Run;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads): steadier than wall time on
 * a shared machine, and with one thread the work itself. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int config_of(const char *name, int size, G2cClassifierConfig *c)
{
    if (strcmp(name, "resnet18") == 0) {
        g2c_classifier_config_preset(c, "resnet18");
    } else {
        g2c_classifier_config_preset(c, "cpu");
        if (strcmp(name, "pas_only") == 0) {
            c->branches = 1;
            c->attention = 0;
        } else if (strcmp(name, "pas_all+") != 0) {
            return g2c_error("unknown configuration %s", name);
        }
    }
    c->input_size = size;
    return 0;
}

static int run_g2c(Run *r, int batch, int repeat)
{
    G2cParams p;
    g2c_params_init(&p);
    G2cClassifier *m = g2c_classifier_build(&r->cfg, &p, "classifier.");
    if (!m || g2c_params_finalize(&p) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, 1);
    g2c_classifier_init(m, &p, &rng);
    r->params = g2c_classifier_param_count(m, &p);
    G2cOptimizer opt;
    G2cOptConfig oc = {.kind = G2C_OPT_SGD, .lr = 0.01f, .momentum = 0.9f,
                       .weight_decay = 1e-4f};
    G2cClassifierActs *a = g2c_classifier_acts_new(m, batch);
    if (!a || g2c_optim_init(&opt, &p, oc) != 0)
        return -1;
    r->acts = g2c_classifier_acts_bytes(a);
    const int k = r->cfg.branches, s = r->cfg.input_size;
    const size_t img = (size_t)batch * 3 * s * s;
    float *in[G2C_CLS_MAX_BRANCHES];
    for (int i = 0; i < k; i++) {
        in[i] = malloc(img * sizeof(float));
        if (!in[i])
            return g2c_error("out of memory");
        for (size_t j = 0; j < img; j++)
            in[i][j] = (float)(2.0 * g2c_rng_uniform(&rng) - 1.0);
    }
    int labels[4096];
    for (int i = 0; i < batch; i++)
        labels[i] = (int)g2c_rng_below(&rng, (uint64_t)r->cfg.classes);
    float *dlogits = malloc((size_t)batch * r->cfg.classes * sizeof(float));
    double *t = malloc((size_t)repeat * sizeof *t);
    double *ct = malloc((size_t)repeat * sizeof *ct);
    for (int step = -2; step < repeat; step++) {
        double t0 = now(), c0 = cpu_now();
        g2c_params_zero_grad(&p);
        const float *logits = g2c_classifier_forward(
            m, &p, (const float *const *)in, batch, 1, a);
        if (!logits)
            return -1;
        memset(dlogits, 0, (size_t)batch * r->cfg.classes * sizeof(float));
        g2c_softmax_ce_loss(batch, r->cfg.classes, logits, labels, NULL,
                            dlogits, 1.0f);
        if (g2c_classifier_backward(m, &p, a, dlogits, NULL) != 0)
            return -1;
        g2c_optim_step(&opt, oc.lr);
        if (step >= 0) {
            t[step] = (now() - t0) * 1e3;
            ct[step] = (cpu_now() - c0) * 1e3;
        }
    }
    qsort(t, (size_t)repeat, sizeof *t, cmp_double);
    qsort(ct, (size_t)repeat, sizeof *ct, cmp_double);
    r->best = t[0];
    r->med = t[repeat / 2];
    r->cpu = ct[repeat / 2];
    free(t);
    free(ct);
    free(dlogits);
    for (int i = 0; i < k; i++)
        free(in[i]);
    g2c_optim_free(&opt);
    g2c_classifier_acts_free(a);
    g2c_classifier_free(m);
    g2c_params_free(&p);
    return 0;
}

/* The script gets "name K attention stem_width w0,w1,... size classes"
 * lines and answers "name median_ms best_ms median_cpu_ms". */
static int run_torch(const char *script, Run *runs, int n, int threads,
                     int batch, int repeat)
{
    char spec[] = "/tmp/g2c-bench-classifier-XXXXXX";
    int fd = mkstemp(spec);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    for (int i = 0; i < n; i++) {
        const G2cClassifierConfig *c = &runs[i].cfg;
        fprintf(f, "%s %d %d %d ", runs[i].name, c->branches, c->attention,
                c->stem_width);
        for (int u = 0; u < c->units; u++)
            fprintf(f, "%s%d", u ? "," : "", c->widths[u]);
        fprintf(f, " %d %d\n", c->input_size, c->classes);
    }
    fclose(f);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s %d %d %d", script,
             spec, threads, batch, repeat);
    FILE *pp = popen(cmd, "r");
    if (!pp) {
        remove(spec);
        return -1;
    }
    char line[512];
    int got = 0;
    while (fgets(line, sizeof line, pp)) {
        char name[64];
        double med, best, cpu;
        int matched = 0;
        if (sscanf(line, "%63s %lf %lf %lf", name, &med, &best, &cpu) == 4)
            for (int i = 0; i < n; i++)
                if (strcmp(name, runs[i].name) == 0) {
                    runs[i].tmed = med;
                    runs[i].tbest = best;
                    runs[i].tcpu = cpu;
                    matched = 1;
                    got++;
                }
        if (!matched)
            fputs(line, stderr);
    }
    int rc = pclose(pp);
    remove(spec);
    return rc == 0 && got == n ? 0 : -1;
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    int threads = 2, repeat = 5, batch = 16, size = 96, torch = 1;
    const char *configs = "pas_only,pas_all+", *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-torch") == 0) {
            torch = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench-classifier: %s needs a value\n", a);
            return 2;
        }
        i++;
        if (strcmp(a, "--threads") == 0)
            threads = atoi(v);
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else if (strcmp(a, "--batch") == 0)
            batch = atoi(v);
        else if (strcmp(a, "--size") == 0)
            size = atoi(v);
        else if (strcmp(a, "--configs") == 0)
            configs = v;
        else if (strcmp(a, "--torch-script") == 0)
            script = v;
        else if (strcmp(a, "--fold") == 0)
            g2c_conv_tuning.fold_cols = atoi(v);
        else if (strcmp(a, "--dx") == 0)
            g2c_conv_tuning.dx = strcmp(v, "tconv") == 0  ? G2C_CONV_TCONV
                                 : strcmp(v, "gemm") == 0 ? G2C_CONV_GEMM
                                                          : G2C_CONV_AUTO;
        else {
            fprintf(stderr, "bench-classifier: unknown option %s\n", a);
            return 2;
        }
    }
    if (repeat < 1 || batch < 1 || batch > 4096 || size < 1) {
        fprintf(stderr, "bench-classifier: bad --repeat/--batch/--size\n");
        return 2;
    }
    g2c_nn_set_threads(threads);

    Run runs[8];
    int n = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", configs);
    for (char *tok = strtok(list, ","); tok && n < 8; tok = strtok(NULL, ",")) {
        memset(&runs[n], 0, sizeof runs[n]);
        if (config_of(tok, size, &runs[n].cfg) != 0) {
            fprintf(stderr, "bench-classifier: %s\n", g2c_error_message());
            return 2;
        }
        runs[n].name = strdup(tok);
        n++;
    }
    for (int i = 0; i < n; i++)
        if (run_g2c(&runs[i], batch, repeat) != 0) {
            fprintf(stderr, "bench-classifier: %s: %s\n", runs[i].name,
                    g2c_error_message());
            return 1;
        }
    if (torch) {
        char path[4096];
        if (!script) {
            snprintf(path, sizeof path, "%s/tools/bench_classifier_torch.py",
                     G2C_SOURCE_DIR);
            script = path;
        }
        if (run_torch(script, runs, n, threads, batch, repeat) != 0) {
            fprintf(stderr, "bench-classifier: PyTorch run failed; g2c "
                    "only\n");
            torch = 0;
        }
    }

    printf("G2C classifier training step (fwd + bwd + SGD), batch %d crops "
           "of 3x%dx%d per branch, %d thread(s), OpenBLAS core %s, %d "
           "steps\n", batch, size, size, g2c_nn_threads(),
           openblas_get_corename(), repeat);
    printf("  %-9s %2s %9s | %8s %8s %8s %7s %7s", "config", "K", "params",
           "g2c ms", "best", "cpu ms", "crops/s", "img/s");
    if (torch)
        printf(" | %8s %8s %8s %7s %7s | %5s %5s", "torch ms", "best",
               "cpu ms", "crops/s", "img/s", "x", "x cpu");
    printf("\n");
    for (int i = 0; i < n; i++) {
        const Run *r = &runs[i];
        const int k = r->cfg.branches;
        printf("  %-9s %2d %9zu | %8.1f %8.1f %8.1f %7.1f %7.1f", r->name, k,
               r->params, r->med, r->best, r->cpu, batch * 1e3 / r->med,
               k * batch * 1e3 / r->med);
        if (torch)
            printf(" | %8.1f %8.1f %8.1f %7.1f %7.1f | %5.2f %5.2f", r->tmed,
                   r->tbest, r->tcpu, batch * 1e3 / r->tmed,
                   k * batch * 1e3 / r->tmed, r->tmed / r->med,
                   r->tcpu / r->cpu);
        printf("\n");
    }
    for (int i = 0; i < n; i++)
        printf("  %s: activations and gradient workspace %.0f MB\n",
               runs[i].name, runs[i].acts / 1048576.0);
    for (int i = 0; i < n; i++)
        free((char *)runs[i].name);
    return 0;
}
