/* g2c_pretrain: stage 1 of G2C, CycleGAN pre-training of a stain
 * generator, from the checks that come before any write to the quality
 * report at the end.  The order matters:
 *
 *   1. resolve stains and reference sets, build the configuration, compare
 *      it with the catalog's model and the folder's checkpoints, load and
 *      split the crops: every refusal happens here, before any write;
 *   2. register the model, its reference sets and the run (one
 *      transaction), resume from the last complete epoch;
 *   3. per epoch: train, draw the sample sheet, save the checkpoints (the
 *      commit point), then the derived files and the catalog row, which a
 *      resumed run rewrites from the checkpoint;
 *   4. the quality report on held-out crops, and the run is done. */
#include "pretrain-private.h"

#include "g2c/error.h"
#include "g2c/path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- presets --------------------------------------------------------------- */

static const G2cPretrainPreset PRESETS[] = {
    {"tiny", 8, 2, 8, 32, 1, 1, 0, "tests: seconds per run"},
    {"cpu", 32, 6, 32, 64, 4, 4, 400, "a 2-core CPU: about 20 CPU-minutes per pair"},
    {"paper", 64, 9, 64, 256, 100, 100, 0, "CycleGAN / G2C paper settings (GPU)"},
};
enum { N_PRESETS = sizeof PRESETS / sizeof PRESETS[0] };

const G2cPretrainPreset *g2c_pretrain_presets(int *count)
{
    *count = N_PRESETS;
    return PRESETS;
}

const G2cPretrainPreset *g2c_pretrain_preset_find(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(PRESETS[i].name, name) == 0)
            return &PRESETS[i];
    g2c_error("unknown preset '%s' (known: tiny, cpu, paper)", name);
    return NULL;
}

void g2c_pretrain_options_default(G2cPretrainOptions *o)
{
    memset(o, 0, sizeof *o);
    o->arch = PRESETS[1];
    o->seed = 1;
    o->eval_images = 100;
}

/* ---- setup ------------------------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void cyclegan_config(Pretrain *pt)
{
    const G2cPretrainPreset *a = &pt->opt->arch;
    G2cCycleGanConfig c = g2c_cyclegan_default_config();
    c.gen.ngf = a->ngf;
    c.gen.n_blocks = a->n_blocks;
    c.disc.ndf = a->ndf;
    c.height = c.width = a->size;
    c.seed = pt->opt->seed;
    pt->cgc = c;
    pt->total = a->epochs + a->decay_epochs;
}

static int set_dir(Pretrain *pt)
{
    const char *out = pt->opt->out_dir;
    char buf[4096];
    if (!out) {
        /* models/<name>/ in the catalog's folder */
        const char *db = g2c_catalog_path(pt->cat);
        const char *slash = strrchr(db, '/');
        int len = slash ? (int)(slash - db) : 1;
        snprintf(buf, sizeof buf, "%.*s/models/%s", len, slash ? db : ".", pt->name);
        out = buf;
    }
    if (g2c_make_dirs(out) != 0)
        return -1;
    /* An absolute path in the catalog, so translate works from anywhere. */
    if (!realpath(out, pt->dir))
        return g2c_error("%s: cannot resolve the folder", out);
    return 0;
}

static int check_sides(Pretrain *pt)
{
    const G2cPretrainOptions *o = pt->opt;
    if (pt_resolve_side(pt, 0, o->source_stain, o->source_sets, o->n_source_sets) != 0 ||
        pt_resolve_side(pt, 1, o->target_stain, o->target_sets, o->n_target_sets) != 0)
        return -1;
    if (pt->side[0].stain_id == pt->side[1].stain_id)
        return g2c_error("source and target are both %s; a generator translates one stain "
                         "into another",
                         pt->side[0].stain);
    return 0;
}

static int check_options(const G2cPretrainOptions *o)
{
    const G2cPretrainPreset *a = &o->arch;
    if (!o->source_stain || !o->target_stain)
        return g2c_error("a source and a target stain are needed");
    if (a->size < 24 || a->size % 4 != 0)
        return g2c_error("crop size %d: must be a multiple of 4, at least 24", a->size);
    if (a->epochs < 0 || a->decay_epochs < 0 || a->epochs + a->decay_epochs < 1)
        return g2c_error("%d + %d epochs: at least one is needed", a->epochs, a->decay_epochs);
    if (o->eval_images < 4)
        return g2c_error("%d held-out crops: at least 4 are needed", o->eval_images);
    return 0;
}

/* Everything that can refuse the command, before anything is written
 * (the model folder aside, which a later run reuses). */
static int prepare(Pretrain *pt)
{
    const G2cPretrainOptions *o = pt->opt;
    if (check_options(o) != 0 || check_sides(pt) != 0)
        return -1;
    snprintf(pt->name, sizeof pt->name, "%s", o->name ? o->name : "");
    if (!o->name)
        snprintf(pt->name, sizeof pt->name, "%s2%s", pt->side[0].stain, pt->side[1].stain);
    cyclegan_config(pt);
    if (pt_check_name(pt->name) != 0 || pt_make_config(pt) != 0 ||
        pt_catalog_check_model(pt) != 0 || pt_load_data(pt) != 0)
        return -1;
    pt->history = calloc((size_t)pt->total, sizeof *pt->history);
    if (!pt->history)
        return g2c_error("out of memory");
    if (g2c_cyclegan_init(&pt->cg, &pt->cgc) != 0)
        return -1;
    pt->cg_ready = 1;
    g2c_rng_seed(&pt->data_rng, o->seed ^ 0x64617461ULL);
    if (set_dir(pt) != 0 || pt_state_init(pt) != 0 || pt_state_lock(pt) != 0)
        return -1;
    if (o->restart && pt_state_discard(pt) != 0)
        return -1;
    int found;
    return pt_state_load(pt, &found);
}

/* ---- training --------------------------------------------------------------------- */

typedef struct {
    double sum[PT_LOSS_TERMS];
    int n;
} LossSum;

static void add_losses(LossSum *s, const G2cCycleGanLosses *L)
{
    const double v[PT_LOSS_TERMS] = {L->G_A,   L->G_B, L->cycle_A, L->cycle_B, L->idt_A,
                                     L->idt_B, L->G,   L->D_A,     L->D_B};
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        s->sum[i] += v[i];
    s->n++;
}

static void set_means(PtEpoch *e, const LossSum *s)
{
    double *dst[PT_LOSS_TERMS] = {&e->G_A,   &e->G_B, &e->cycle_A, &e->cycle_B, &e->idt_A,
                                  &e->idt_B, &e->G,   &e->D_A,     &e->D_B};
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        *dst[i] = s->n ? s->sum[i] / s->n : 0;
}

/* CycleGAN's unaligned dataset: an epoch is max(|A|, |B|) steps over a
 * shuffle, A[index % |A|] with a random B; each crop cut and flipped at
 * random.  Every draw comes from data_rng, which the checkpoint keeps. */
static int *epoch_order(Pretrain *pt, int steps)
{
    int *order = malloc((size_t)steps * sizeof *order);
    if (!order)
        return NULL;
    for (int i = 0; i < steps; i++)
        order[i] = i;
    for (int i = steps - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(&pt->data_rng, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    return order;
}

static int train_epoch(Pretrain *pt, float *real_A, float *real_B, PtEpoch *e)
{
    const G2cPretrainData *A = &pt->data[0], *B = &pt->data[1];
    const int steps = A->n_train > B->n_train ? A->n_train : B->n_train;
    const int size = pt->opt->arch.size;
    int *order = epoch_order(pt, steps);
    if (!order)
        return g2c_error("out of memory");
    const float lr = g2c_lr_linear_decay(2e-4f, pt->epoch, pt->opt->arch.epochs,
                                         pt->opt->arch.decay_epochs);
    LossSum sum = {{0}, 0};
    double t0 = now();
    int rc = 0;
    for (int i = 0; i < steps && rc == 0; i++) {
        const G2cImage *a = &A->train[order[i] % A->n_train];
        const G2cImage *b = &B->train[g2c_rng_below(&pt->data_rng, (uint64_t)B->n_train)];
        g2c_augment(a, size, &pt->data_rng, real_A);
        g2c_augment(b, size, &pt->data_rng, real_B);
        G2cCycleGanLosses L;
        rc = g2c_cyclegan_step(&pt->cg, real_A, real_B, lr, &L);
        if (rc != 0) {
            g2c_error_prefix("epoch %d, step %d of %d: ", pt->epoch + 1, i + 1, steps);
            break;
        }
        add_losses(&sum, &L);
        if (pt->opt->progress)
            pt->opt->progress(pt->opt->progress_ctx, pt->epoch + 1, pt->total, i + 1, steps);
    }
    free(order);
    *e = (PtEpoch){.epoch = pt->epoch + 1, .lr = lr, .seconds = now() - t0};
    e->pairs_per_second = e->seconds > 0 ? steps / e->seconds : 0;
    set_means(e, &sum);
    return rc;
}

static void log_epoch(const Pretrain *pt, const PtEpoch *e)
{
    FILE *f = pt->opt->log;
    if (!f)
        return;
    fprintf(f, "epoch %d/%d  lr %.3g ", e->epoch, pt->total, e->lr);
    double v[PT_LOSS_TERMS];
    pt_loss_values(e, v);
    for (int i = 0; i < PT_LOSS_TERMS; i++)
        fprintf(f, " %s %.3f", pt_loss_names[i], v[i]);
    fprintf(f, "  (%.1f s, %.2f pairs/s)\n", e->seconds, e->pairs_per_second);
    fflush(f);
}

/* The files and rows derived from the checkpoint: after each epoch, and on
 * resume (a kill after the checkpoint and before these loses nothing). */
static int derived(Pretrain *pt)
{
    if (pt->epoch == 0)
        return 0;
    if (pt_state_export_G(pt) != 0 || pt_report_losses(pt) != 0)
        return -1;
    return 0;
}

static int finish_epoch(Pretrain *pt, const PtEpoch *e)
{
    pt->history[pt->epoch] = *e;
    if (pt_report_samples(pt, e->epoch) != 0)
        return -1;
    pt->epoch++;
    if (pt_state_save(pt) != 0 || derived(pt) != 0 || pt_catalog_epoch(pt, e) != 0)
        return -1;
    log_epoch(pt, e);
    return 0;
}

static int train(Pretrain *pt, G2cPretrainResult *res)
{
    const size_t n = (size_t)3 * pt->opt->arch.size * pt->opt->arch.size;
    float *real_A = malloc(n * sizeof(float)), *real_B = malloc(n * sizeof(float));
    int rc = real_A && real_B ? 0 : g2c_error("out of memory");
    double seconds = 0, pairs = 0;
    while (rc == 0 && pt->epoch < pt->total) {
        if (pt->opt->stop_after_epoch > 0 && pt->epoch >= pt->opt->stop_after_epoch) {
            res->stopped = 1;
            break;
        }
        PtEpoch e;
        rc = train_epoch(pt, real_A, real_B, &e);
        if (rc == 0)
            rc = finish_epoch(pt, &e);
        if (rc == 0) {
            res->epochs_run++;
            seconds += e.seconds;
            pairs += e.pairs_per_second * e.seconds;
        }
    }
    if (res->epochs_run > 0) {
        res->seconds_per_epoch = seconds / res->epochs_run;
        res->pairs_per_second = seconds > 0 ? pairs / seconds : 0;
    }
    free(real_A);
    free(real_B);
    return rc;
}

/* ---- the end --------------------------------------------------------------------- */

static json_t *quality_json(const G2cPretrainQuality *q)
{
    return json_pack("{s:i, s:i, s:f, s:f, s:f, s:f, s:f}", "held_out_source", q->n_source,
                     "held_out_target", q->n_target, "two_sample_accuracy", q->accuracy,
                     "two_sample_train_accuracy", q->train_accuracy,
                     "baseline_two_sample_accuracy", q->baseline_accuracy,
                     "lab_distance_generated", q->lab_generated, "lab_distance_source",
                     q->lab_source);
}

static json_t *run_metrics(const Pretrain *pt, const G2cPretrainResult *res)
{
    double seconds = 0, steps = 0;
    for (int i = 0; i < pt->epoch; i++) {
        seconds += pt->history[i].seconds;
        steps += pt->history[i].pairs_per_second * pt->history[i].seconds;
    }
    json_t *m = json_pack("{s:i, s:i, s:I, s:f, s:f}", "epochs_done", pt->epoch, "epochs",
                          pt->total, "steps", (json_int_t)pt->cg.steps, "seconds_per_epoch",
                          pt->epoch ? seconds / pt->epoch : 0.0, "pairs_per_second",
                          seconds > 0 ? steps / seconds : 0.0);
    if (pt->epoch > 0)
        json_object_set_new(m, "final_losses", pt_epoch_json(&pt->history[pt->epoch - 1]));
    if (res->have_quality)
        json_object_set_new(m, "quality", quality_json(&res->quality));
    return m;
}

static void log_quality(const Pretrain *pt, const G2cPretrainQuality *q)
{
    FILE *f = pt->opt->log;
    if (!f)
        return;
    const char *s = pt->side[0].stain, *t = pt->side[1].stain;
    fprintf(f,
            "quality on %d held-out %s crops and %d held-out %s crops:\n"
            "  two-sample test, generated vs real %s: %.1f%% held-out accuracy "
            "(50%% = indistinguishable; untranslated %s vs real %s: %.1f%%)\n"
            "  CIELAB colour distance to real %s: generated %.2f, untranslated %s %.2f\n",
            q->n_source, s, q->n_target, t, t, 100 * q->accuracy, s, t,
            100 * q->baseline_accuracy, t, q->lab_generated, s, q->lab_source);
    fflush(f);
}

static int finish(Pretrain *pt, G2cPretrainResult *res)
{
    const char *status = "partial";
    if (pt->epoch == pt->total) {
        if (pt_report_quality(pt, &res->quality) != 0)
            return -1;
        res->have_quality = 1;
        log_quality(pt, &res->quality);
        status = "done";
    }
    json_t *m = run_metrics(pt, res);
    if (res->stopped)
        json_object_set_new(m, "stopped_after_epoch", json_integer(pt->epoch));
    int rc = pt_catalog_finish(pt, status, m);
    json_decref(m);
    return rc;
}

static void mark_failed(Pretrain *pt, const G2cPretrainResult *res)
{
    char *msg = strdup(g2c_error_message());
    json_t *m = run_metrics(pt, res);
    json_object_set_new(m, "error", json_string(msg ? msg : "?"));
    pt_catalog_finish(pt, "failed", m);
    json_decref(m);
    g2c_error("%s", msg ? msg : "?"); /* the cause, not the bookkeeping */
    free(msg);
}

static void log_start(const Pretrain *pt)
{
    FILE *f = pt->opt->log;
    if (!f)
        return;
    const G2cPretrainPreset *a = &pt->opt->arch;
    const G2cPretrainData *A = &pt->data[0], *B = &pt->data[1];
    int steps = A->n_train > B->n_train ? A->n_train : B->n_train;
    fprintf(f,
            "pretrain %s: %s -> %s, %d + %d training crops (%d + %d held out), %s "
            "(ngf %d, %d blocks, ndf %d, %d px), %d + %d epochs of %d steps, into %s\n",
            pt->name, pt->side[0].stain, pt->side[1].stain, A->n_train, B->n_train, A->n_held,
            B->n_held, a->name ? a->name : "custom", a->ngf, a->n_blocks, a->ndf, a->size,
            a->epochs, a->decay_epochs, steps, pt->dir);
    if (pt->epoch > 0)
        fprintf(f, "resuming after epoch %d of %d\n", pt->epoch, pt->total);
    fflush(f);
}

static void release(Pretrain *pt)
{
    for (int i = 0; i < 2; i++) {
        g2c_pretrain_data_free(&pt->data[i]);
        g2c_net_acts_free(&pt->eval_acts[i]);
    }
    if (pt->cg_ready)
        g2c_cyclegan_free(&pt->cg);
    pt_state_free(pt);
    json_decref(pt->config);
    free(pt->config_text);
    free(pt->history);
}

static int run(Pretrain *pt, G2cPretrainResult *res)
{
    if (prepare(pt) != 0)
        return -1;
    snprintf(res->model, sizeof res->model, "%s", pt->name);
    snprintf(res->out_dir, sizeof res->out_dir, "%s", pt->dir);
    res->epochs_total = pt->total;
    int done;
    if (pt->epoch == pt->total && pt->model_same && !pt->opt->restart &&
        pt_catalog_last_run_done(pt, &done) == 0 && done) {
        res->already_trained = 1;
        res->model_id = pt->model_id;
        res->epochs_done = pt->epoch;
        return 0;
    }
    if (pt_catalog_register(pt) != 0)
        return -1;
    res->model_id = pt->model_id;
    res->run_id = pt->run_id;
    log_start(pt);
    int rc = derived(pt) == 0 && pt_catalog_sync_epochs(pt) == 0 && train(pt, res) == 0 &&
                     finish(pt, res) == 0
                 ? 0
                 : -1;
    res->epochs_done = pt->epoch;
    if (rc != 0)
        mark_failed(pt, res);
    return rc;
}

int g2c_pretrain(G2cCatalog *cat, const G2cPretrainOptions *o, G2cPretrainResult *result)
{
    Pretrain pt;
    memset(&pt, 0, sizeof pt);
    pt.opt = o;
    pt.cat = cat;
    pt.lock_fd = -1;
    memset(result, 0, sizeof *result);
    int rc = run(&pt, result);
    release(&pt);
    return rc;
}
