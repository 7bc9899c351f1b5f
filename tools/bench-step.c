/* Whole training steps of the networks of issue #4, beside PyTorch.
 *
 *   bench-step [--threads N] [--repeat R] [--nets LIST] [--no-torch]
 *              [--no-rss] [--serial-layers] [--torch-script PATH]
 *
 * LIST is a comma-separated subset of (default all):
 *   gen    (a) CycleGAN ResNet generator, ngf 64, 6 blocks, 1x3x128x128;
 *          loss L1 against a fixed target; Adam (lr 2e-4, betas 0.5/0.999)
 *   patch  (b) 70x70 PatchGAN, ndf 64, on 1x3x128x128; LSGAN loss (MSE
 *          against 1); Adam as above; no input gradient (D's own step)
 *   cls    (c) G2C classifier, "cpu" preset with one branch (pas_only) on
 *          16x3x96x96; cross-entropy; SGD (lr 0.01, momentum 0.9, wd 1e-4)
 *   cls4   the same with K = 4 branches and attention (pas_all+)
 * A step is timed in three phases: fwd (forward + loss), bwd (backward),
 * opt (zeroing the gradients + the optimizer step).  2 warm-up steps, then
 * R timed ones; each phase's median is printed, in wall time and in
 * process CPU time (all threads; with one thread, the work itself even on
 * a loaded machine).  Unless --no-torch the same steps run in
 * tools/bench_step_torch.py (torch.set_num_threads(N)) and "x" is
 * PyTorch's time divided by g2c's (above 1: g2c is faster).
 *
 * Unless --no-rss, the peak resident memory of (a) is measured for both:
 * this program and the PyTorch script each run 3 steps of (a) alone in a
 * child process, and ru_maxrss of that child (wait4, the child's own
 * RUSAGE_CHILDREN entry) is printed, beside the same for a child that only
 * starts up (loads its libraries) and exits.  --serial-layers keeps
 * normalization, pooling, im2col/col2im and the optimizer on one thread
 * (g2c_nn_parallel_layers = 0; OpenBLAS still uses N threads), to compare
 * with the default, where they are split over the N threads. */
#include "g2c/classifier.h"
#include "g2c/error.h"
#include "g2c/models.h"
#include "g2c/nn.h"
#include "../src/nn/nn-parallel.h"

#include <cblas.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { PHASES = 3, MAX_REPEAT = 1000 };
static const char *const PHASE[PHASES] = {"fwd", "bwd", "opt"};

typedef struct {
    const char *name;
    double wall[PHASES], cpu[PHASES]; /* medians, ms */
    double wall_total, cpu_total;     /* median of the step totals */
    double twall[PHASES], tcpu[PHASES], twall_total, tcpu_total;
    int have_torch;
} Result;

/* One network's step, split into the timed phases. */
typedef struct Bench Bench;
struct Bench {
    void (*phase[PHASES])(Bench *b);
    G2cParams p;
    G2cOptimizer opt;
    G2cConvNet net;
    G2cNetActs acts;
    G2cClassifier *cls;
    G2cClassifierActs *cacts;
    int batch, branches, classes;
    float *x[G2C_CLS_MAX_BRANCHES], *target, *dout;
    int labels[64];
    size_t out_n;
    const float *logits;
    float loss;
};

static double clock_ms(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

static float *random_buffer(size_t n, G2cRng *rng)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench-step: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        p[i] = (float)(2.0 * g2c_rng_uniform(rng) - 1.0);
    return p;
}

/* ---- (a) and (b): G2cConvNet chains ------------------------------------ */

static void net_fwd(Bench *b)
{
    g2c_convnet_forward(&b->net, &b->p, b->x[0], &b->acts);
    memset(b->dout, 0, b->out_n * sizeof(float));
    if (b->target)
        b->loss = g2c_l1_loss(b->out_n, b->acts.out, b->target, b->dout, 1);
    else
        b->loss = g2c_mse_const_loss(b->out_n, b->acts.out, 1.0f, b->dout, 1);
}

static void net_bwd(Bench *b)
{
    g2c_convnet_backward(&b->net, &b->p, &b->acts, b->dout, NULL);
}

static void net_opt(Bench *b)
{
    g2c_optim_step(&b->opt, b->opt.cfg.lr);
    g2c_params_zero_grad(&b->p);
}

static int net_setup(Bench *b, int gen)
{
    g2c_params_init(&b->p);
    G2cResnetGenConfig gc = {3, 3, 64, 6};
    G2cPatchGanConfig pc = {3, 64, 3};
    int rc = gen ? g2c_resnet_gen_build(&b->net, &gc, &b->p, "G_A.")
                 : g2c_patchgan_build(&b->net, &pc, &b->p, "D_A.");
    if (rc != 0 || g2c_params_finalize(&b->p) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, 1);
    g2c_convnet_init(&b->net, &b->p, 0.02f, &rng);
    G2cOptConfig adam = {G2C_OPT_ADAM, 2e-4f, 0, 0, 0.5f, 0.999f, 1e-8f};
    if (g2c_optim_init(&b->opt, &b->p, adam) != 0 ||
        g2c_net_acts_init(&b->acts, &b->net, 1, 128, 128) != 0)
        return -1;
    b->batch = 1;
    b->x[0] = random_buffer(3 * 128 * 128, &rng);
    b->out_n = (size_t)b->acts.out_c * b->acts.out_h * b->acts.out_w;
    b->target = gen ? random_buffer(b->out_n, &rng) : NULL;
    b->dout = random_buffer(b->out_n, &rng);
    b->phase[0] = net_fwd;
    b->phase[1] = net_bwd;
    b->phase[2] = net_opt;
    return 0;
}

/* ---- (c): the G2C classifier -------------------------------------------- */

static void cls_fwd(Bench *b)
{
    b->logits = g2c_classifier_forward(b->cls, &b->p,
                                       (const float *const *)b->x, b->batch,
                                       1, b->cacts);
    if (!b->logits) {
        fprintf(stderr, "bench-step: %s\n", g2c_error_message());
        exit(1);
    }
    memset(b->dout, 0, b->out_n * sizeof(float));
    b->loss = g2c_softmax_ce_loss(b->batch, b->classes, b->logits, b->labels,
                                  NULL, b->dout, 1.0f);
}

static void cls_bwd(Bench *b)
{
    if (g2c_classifier_backward(b->cls, &b->p, b->cacts, b->dout, NULL) != 0) {
        fprintf(stderr, "bench-step: %s\n", g2c_error_message());
        exit(1);
    }
}

static int cls_setup(Bench *b, int k)
{
    G2cClassifierConfig c;
    g2c_classifier_config_preset(&c, "cpu");
    c.branches = k;
    c.attention = k > 1;
    c.input_size = 96;
    g2c_params_init(&b->p);
    b->cls = g2c_classifier_build(&c, &b->p, "classifier.");
    if (!b->cls || g2c_params_finalize(&b->p) != 0)
        return -1;
    G2cRng rng;
    g2c_rng_seed(&rng, 1);
    g2c_classifier_init(b->cls, &b->p, &rng);
    G2cOptConfig sgd = {.kind = G2C_OPT_SGD, .lr = 0.01f, .momentum = 0.9f,
                        .weight_decay = 1e-4f};
    b->batch = 16;
    b->branches = k;
    b->classes = c.classes;
    b->cacts = g2c_classifier_acts_new(b->cls, b->batch);
    if (!b->cacts || g2c_optim_init(&b->opt, &b->p, sgd) != 0)
        return -1;
    for (int i = 0; i < k; i++)
        b->x[i] = random_buffer((size_t)b->batch * 3 * 96 * 96, &rng);
    for (int i = 0; i < b->batch; i++)
        b->labels[i] = (int)g2c_rng_below(&rng, (uint64_t)c.classes);
    b->out_n = (size_t)b->batch * c.classes;
    b->dout = random_buffer(b->out_n, &rng);
    b->phase[0] = cls_fwd;
    b->phase[1] = cls_bwd;
    b->phase[2] = net_opt;
    return 0;
}

static int setup(Bench *b, const char *name)
{
    memset(b, 0, sizeof *b);
    if (strcmp(name, "gen") == 0)
        return net_setup(b, 1);
    if (strcmp(name, "patch") == 0)
        return net_setup(b, 0);
    if (strcmp(name, "cls") == 0)
        return cls_setup(b, 1);
    if (strcmp(name, "cls4") == 0)
        return cls_setup(b, 4);
    return g2c_error("unknown network %s (gen, patch, cls, cls4)", name);
}

static void teardown(Bench *b)
{
    g2c_optim_free(&b->opt);
    if (b->cls) {
        g2c_classifier_acts_free(b->cacts);
        g2c_classifier_free(b->cls);
    } else {
        g2c_net_acts_free(&b->acts);
    }
    g2c_params_free(&b->p);
    for (int i = 0; i < G2C_CLS_MAX_BRANCHES; i++)
        free(b->x[i]);
    free(b->target);
    free(b->dout);
}

/* ---- timing --------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run_g2c(Result *r, int repeat)
{
    Bench b;
    if (setup(&b, r->name) != 0)
        return -1;
    static double wall[PHASES + 1][MAX_REPEAT], cpu[PHASES + 1][MAX_REPEAT];
    for (int step = -2; step < repeat; step++) {
        double w0 = clock_ms(CLOCK_MONOTONIC);
        double c0 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
        double ws = w0, cs = c0;
        for (int ph = 0; ph < PHASES; ph++) {
            b.phase[ph](&b);
            double w1 = clock_ms(CLOCK_MONOTONIC);
            double c1 = clock_ms(CLOCK_PROCESS_CPUTIME_ID);
            if (step >= 0) {
                wall[ph][step] = w1 - w0;
                cpu[ph][step] = c1 - c0;
            }
            w0 = w1, c0 = c1;
        }
        if (step >= 0) {
            wall[PHASES][step] = w0 - ws;
            cpu[PHASES][step] = c0 - cs;
        }
    }
    for (int ph = 0; ph < PHASES; ph++) {
        r->wall[ph] = median(wall[ph], repeat);
        r->cpu[ph] = median(cpu[ph], repeat);
    }
    r->wall_total = median(wall[PHASES], repeat);
    r->cpu_total = median(cpu[PHASES], repeat);
    teardown(&b);
    return 0;
}

/* The script answers "name w_fwd w_bwd w_opt w_total c_fwd c_bwd c_opt
 * c_total" per network. */
static int run_torch(const char *script, Result *res, int n, int threads,
                     int repeat)
{
    char cmd[8192];
    int len = snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' time %d %d",
                       script, threads, repeat);
    for (int i = 0; i < n && len > 0 && (size_t)len < sizeof cmd; i++)
        len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s",
                        res[i].name);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[1024];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        char name[32];
        double v[8];
        int matched = 0;
        if (sscanf(line, "%31s %lf %lf %lf %lf %lf %lf %lf %lf", name, &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 9)
            for (int i = 0; i < n; i++) {
                Result *r = &res[i];
                if (strcmp(name, r->name) != 0)
                    continue;
                for (int ph = 0; ph < PHASES; ph++) {
                    r->twall[ph] = v[ph];
                    r->tcpu[ph] = v[4 + ph];
                }
                r->twall_total = v[3];
                r->tcpu_total = v[7];
                r->have_torch = 1;
                matched = 1;
                got++;
            }
        if (!matched)
            fputs(line, stderr);
    }
    return pclose(p) == 0 && got > 0 ? 0 : -1;
}

/* ---- peak resident memory ------------------------------------------------ */

/* Runs argv in a child and returns its peak RSS in MiB (-1 on failure). */
static double child_maxrss(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0)
        return -1;
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB */
}

/* --rss-child NAME: NAME's steps alone ("none": start and exit). */
static int rss_child(const char *name)
{
    if (strcmp(name, "none") == 0)
        return 0;
    Bench b;
    if (setup(&b, name) != 0) {
        fprintf(stderr, "bench-step: %s\n", g2c_error_message());
        return 1;
    }
    for (int step = 0; step < 3; step++)
        for (int ph = 0; ph < PHASES; ph++)
            b.phase[ph](&b);
    teardown(&b);
    return 0;
}

static void print_rss(const char *script, int threads, int torch)
{
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0)
        return;
    exe[len] = '\0';
    char th[16];
    snprintf(th, sizeof th, "%d", threads);
    char *g_run[] = {exe, "--threads", th, "--rss-child", "gen", NULL};
    char *g_none[] = {exe, "--threads", th, "--rss-child", "none", NULL};
    char py[] = "/usr/bin/python3";
    char *t_run[] = {py, (char *)script, "rss", th, "gen", NULL};
    char *t_none[] = {py, (char *)script, "rss", th, "none", NULL};
    double g = child_maxrss(g_run), g0 = child_maxrss(g_none);
    printf("peak RSS of (a), 3 steps in a child: g2c %.0f MiB (start-up "
           "alone %.0f MiB)", g, g0);
    if (torch) {
        double t = child_maxrss(t_run), t0 = child_maxrss(t_none);
        printf(", PyTorch %.0f MiB (import alone %.0f MiB)", t, t0);
    }
    printf("\n");
}

/* ---- main ---------------------------------------------------------------- */

static void print_results(const Result *res, int n, int torch)
{
    const char *clock_name[2] = {"wall", "process CPU"};
    for (int k = 0; k < 2; k++) {
        printf("%s ms (median)\n  %-6s", clock_name[k], "net");
        for (int ph = 0; ph < PHASES; ph++)
            printf(" %8s", PHASE[ph]);
        printf(" %8s", "step");
        if (torch) {
            printf(" |");
            for (int ph = 0; ph < PHASES; ph++)
                printf(" %6s_t", PHASE[ph]);
            printf(" %6s_t |", "step");
            for (int ph = 0; ph < PHASES; ph++)
                printf(" x%-5s", PHASE[ph]);
            printf(" x%-5s", "step");
        }
        printf("\n");
        for (int i = 0; i < n; i++) {
            const Result *r = &res[i];
            const double *g = k ? r->cpu : r->wall, *t = k ? r->tcpu : r->twall;
            double gt = k ? r->cpu_total : r->wall_total;
            double tt = k ? r->tcpu_total : r->twall_total;
            printf("  %-6s", r->name);
            for (int ph = 0; ph < PHASES; ph++)
                printf(" %8.2f", g[ph]);
            printf(" %8.2f", gt);
            if (torch && r->have_torch) {
                printf(" |");
                for (int ph = 0; ph < PHASES; ph++)
                    printf(" %8.2f", t[ph]);
                printf(" %8.2f |", tt);
                for (int ph = 0; ph < PHASES; ph++)
                    printf(" %6.2f", t[ph] / g[ph]);
                printf(" %6.2f", tt / gt);
            }
            printf("\n");
        }
    }
}

int main(int argc, char **argv)
{
    g2c_nn_runtime_init(argc, argv);
    int threads = 2, repeat = 7, torch = 1, rss = 1;
    const char *nets = "gen,patch,cls,cls4", *script = NULL, *child = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--no-torch") == 0) {
            torch = 0;
            continue;
        }
        if (strcmp(a, "--no-rss") == 0) {
            rss = 0;
            continue;
        }
        if (strcmp(a, "--serial-layers") == 0) {
            g2c_nn_parallel_layers = 0;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bench-step: %s needs a value (see the source)\n",
                    a);
            return 2;
        }
        i++;
        if (strcmp(a, "--threads") == 0)
            threads = atoi(v);
        else if (strcmp(a, "--repeat") == 0)
            repeat = atoi(v);
        else if (strcmp(a, "--nets") == 0)
            nets = v;
        else if (strcmp(a, "--torch-script") == 0)
            script = v;
        else if (strcmp(a, "--rss-child") == 0)
            child = v;
        else {
            fprintf(stderr, "bench-step: unknown option %s\n", a);
            return 2;
        }
    }
    if (repeat < 1 || repeat > MAX_REPEAT) {
        fprintf(stderr, "bench-step: --repeat 1 to %d\n", MAX_REPEAT);
        return 2;
    }
    g2c_nn_set_threads(threads);
    if (child)
        return rss_child(child);
    char path[4096];
    if (!script) {
        snprintf(path, sizeof path, "%s/tools/bench_step_torch.py",
                 G2C_SOURCE_DIR);
        script = path;
    }

    Result res[8];
    int n = 0;
    char list[256];
    snprintf(list, sizeof list, "%s", nets);
    for (char *tok = strtok(list, ","); tok && n < 8; tok = strtok(NULL, ",")) {
        memset(&res[n], 0, sizeof res[n]);
        res[n].name = strdup(tok);
        if (run_g2c(&res[n], repeat) != 0) {
            fprintf(stderr, "bench-step: %s: %s\n", tok, g2c_error_message());
            return 1;
        }
        n++;
    }
    if (torch && run_torch(script, res, n, threads, repeat) != 0) {
        fprintf(stderr, "bench-step: PyTorch run failed; g2c only\n");
        torch = 0;
    }
    double load[3] = {0};
    getloadavg(load, 3);
    printf("training steps, %d thread(s)%s, OpenBLAS core %s, %d steps after "
           "2 warm-up; load average %.1f %.1f %.1f\n", g2c_nn_threads(),
           g2c_nn_parallel_layers ? "" : " (serial layers)",
           openblas_get_corename(), repeat, load[0], load[1], load[2]);
    print_results(res, n, torch);
    int has_gen = 0;
    for (int i = 0; i < n; i++)
        has_gen |= strcmp(res[i].name, "gen") == 0;
    if (rss && has_gen)
        print_rss(script, threads, torch);
    for (int i = 0; i < n; i++)
        free((char *)res[i].name);
    return 0;
}
