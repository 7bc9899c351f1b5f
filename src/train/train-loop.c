/* The epochs of g2c train, and the checkpoint after each that makes a
 * killed run resumable with the same result.
 *
 * Everything an epoch depends on is in the checkpoint: all weights (the
 * generators' included), batch-norm statistics, the SGD momentum buffers,
 * the step count, the data RNG (shuffling and augmentation) and the number
 * of completed epochs (the learning rate and the generators' freezing are
 * functions of it).  So an epoch run after a resume is the epoch an
 * uninterrupted run would have run, to the bit, with the same thread
 * count. */
#include "train-run.h"

#include "g2c/error.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double clock_seconds(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

/* CPU time of all the process's threads: steadier than wall time on a
 * shared machine. */
static double cpu_now(void)
{
    return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

/* Test hook: G2C_TEST_KILL_TRAIN="E:step" kills this process (SIGKILL, as
 * kill -9) half-way through epoch E (1-based), "E:checkpoint" right after
 * epoch E's checkpoint is written and before the catalog records it. */
static void maybe_die(int epoch, const char *where)
{
    const char *spec = getenv("G2C_TEST_KILL_TRAIN");
    char want[32];
    snprintf(want, sizeof want, "%d:%s", epoch, where);
    if (spec && strcmp(spec, want) == 0)
        raise(SIGKILL);
}

/* ---- checkpoints --------------------------------------------------------------- */

static void rng_text(const G2cRng *r, char *out, size_t size)
{
    snprintf(out, size, "%016llx%016llx%016llx%016llx", (unsigned long long)r->s[0],
             (unsigned long long)r->s[1], (unsigned long long)r->s[2],
             (unsigned long long)r->s[3]);
}

static int rng_parse(const char *text, G2cRng *r)
{
    if (!text || strlen(text) != 64)
        return -1;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, text + 16 * i, 16);
        part[16] = '\0';
        char *end;
        r->s[i] = strtoull(part, &end, 16);
        if (*end)
            return -1;
    }
    return 0;
}

static int save_checkpoint(S2Train *t)
{
    char epoch[16], rng[80];
    snprintf(epoch, sizeof epoch, "%d", t->epoch);
    rng_text(&t->rng, rng, sizeof rng);
    char *history = json_dumps(t->history, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!history)
        return g2c_error("out of memory");
    const char *keys[] = {"g2c.kind", "g2c.model", "epoch", "rng", "history", "config"};
    const char *values[] = {"g2c", t->o->name, epoch, rng, history, t->config_text};
    int rc = g2c_checkpoint_save(t->checkpoint, &t->model.params, &t->model.opt, 6, keys,
                                 values);
    free(history);
    return rc;
}

static int load_checkpoint(S2Train *t)
{
    if (g2c_checkpoint_load(t->checkpoint, &t->model.params, &t->model.opt, 1) != 0)
        return -1;
    G2cSafetensors *st = g2c_safetensors_open(t->checkpoint);
    if (!st)
        return -1;
    const char *epoch = g2c_safetensors_meta(st, "epoch");
    const char *rng = g2c_safetensors_meta(st, "rng");
    const char *history = g2c_safetensors_meta(st, "history");
    const char *config = g2c_safetensors_meta(st, "config");
    json_t *cfg = config ? json_loads(config, 0, NULL) : NULL;
    int rc = 0;
    if (!epoch || !history || rng_parse(rng, &t->rng) != 0)
        rc = g2c_error("%s: not a g2c train checkpoint (metadata epoch, rng, history)",
                       t->checkpoint);
    else if (!cfg || !json_equal(cfg, t->config))
        rc = g2c_error("%s: the checkpoint belongs to another configuration than model "
                       "'%s'", t->checkpoint, t->o->name);
    else if (!(t->history = json_loads(history, 0, NULL)) || !json_is_array(t->history))
        rc = g2c_error("%s: metadata history is not a JSON array", t->checkpoint);
    if (rc == 0) {
        t->epoch = atoi(epoch);
        if (t->epoch < 0 || t->epoch > t->epochs ||
            (int)json_array_size(t->history) != t->epoch)
            rc = g2c_error("%s: epoch %s does not match its history", t->checkpoint, epoch);
    }
    json_decref(cfg);
    g2c_safetensors_close(st);
    return rc;
}

int s2_train_start_state(S2Train *t)
{
    S2Model *m = &t->model;
    if (s2_model_build(m, &t->spec) != 0)
        return -1;
    G2cOptConfig oc = {.kind = G2C_OPT_SGD, .lr = (float)t->lr, .momentum = (float)t->momentum,
                       .weight_decay = (float)t->weight_decay};
    if (g2c_optim_init(&m->opt, &m->params, oc) != 0)
        return -1;
    m->has_opt = 1;
    if (t->resuming && t->checkpoint[0] && access(t->checkpoint, F_OK) == 0) {
        if (load_checkpoint(t) != 0)
            return -1;
        t->result->resumed_from = t->epoch;
        s2_say(t, 1, "resuming model %s after epoch %d of %d (%s)", t->o->name, t->epoch,
               t->epochs, t->checkpoint);
        return s2_train_record_history(t);
    }
    t->history = json_array();
    /* Weights from the seed; the data stream (shuffles, augmentation) from
     * a second stream of the same seed. */
    g2c_rng_seed(&t->rng, t->o->seed ^ 0x9e3779b97f4a7c15ULL);
    return s2_model_init(m, t->o->seed);
}

/* ---- one epoch ----------------------------------------------------------------- */

static void shuffle(int *a, int n, G2cRng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)g2c_rng_below(rng, (uint64_t)i + 1);
        int x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

typedef struct {
    double loss;
    int correct, seen, steps;
    double step_seconds, step_cpu;
} EpochTally;

/* One step on the crops order[0 .. batch-1]. */
static int train_step(S2Train *t, const int *order, int *labels, int frozen, float lr,
                      EpochTally *tally)
{
    S2Model *m = &t->model;
    const int b = m->spec.batch, k = t->task->classes, size = m->spec.cls.input_size;
    const size_t px = (size_t)size * size * 3;
    for (int i = 0; i < b; i++) {
        S2Augment aug;
        if (t->o->augment)
            s2_augment_draw(&t->rng, &aug);
        labels[i] = t->train.cls[order[i]];
        s2_crop_to_tensor(t->train.rgb + (size_t)order[i] * px, size,
                          t->o->augment ? &aug : NULL, m->x + (size_t)i * px);
    }
    double t0 = now(), c0 = cpu_now();
    g2c_params_zero_grad(&m->params);
    const float *logits = s2_model_forward(m, 1);
    if (!logits)
        return -1;
    memset(m->dlogits, 0, (size_t)b * k * sizeof(float));
    float loss = g2c_focal_loss(b, k, logits, labels, t->alpha, (float)t->gamma, m->dlogits,
                                1.0f);
    if (!isfinite(loss))
        return g2c_error("epoch %d, step %d: the loss is not finite (%g); try a lower --lr",
                         t->epoch + 1, tally->steps + 1, (double)loss);
    for (int i = 0; i < b; i++) {
        const float *z = logits + (size_t)i * k;
        int best = 0;
        for (int j = 1; j < k; j++)
            best = z[j] > z[best] ? j : best;
        tally->correct += best == labels[i];
    }
    if (s2_model_backward(m, m->dlogits, !frozen) != 0)
        return -1;
    g2c_optim_step(&m->opt, lr);
    tally->step_seconds += now() - t0;
    tally->step_cpu += cpu_now() - c0;
    tally->loss += loss;
    tally->seen += b;
    tally->steps++;
    return 0;
}

/* Drop-last batches of a fresh shuffle; metrics of the epoch. */
static json_t *run_epoch(S2Train *t)
{
    S2Model *m = &t->model;
    const int n = t->train.count, b = m->spec.batch, steps = n / b;
    const int frozen = t->o->freeze_generators || t->epoch < t->freeze_epochs;
    if (m->spec.n_gen)
        s2_model_freeze_generators(m, frozen);
    float lr = g2c_lr_step((float)t->lr, t->epoch, t->lr_step, (float)t->lr_divisor);
    int *order = malloc((size_t)n * sizeof *order);
    int *labels = malloc((size_t)b * sizeof *labels);
    if (!order || !labels) {
        free(order);
        free(labels);
        g2c_error("out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    shuffle(order, n, &t->rng);
    EpochTally tally = {0};
    double t0 = now();
    int rc = 0;
    for (int s = 0; s < steps && rc == 0; s++) {
        rc = train_step(t, order + (size_t)s * b, labels, frozen, lr, &tally);
        if (s == steps / 2)
            maybe_die(t->epoch + 1, "step");
        if (rc == 0 && t->o->progress)
            t->o->progress(t->o->ctx, t->epoch + 1, t->epochs, s + 1, steps,
                           tally.loss / tally.steps);
    }
    free(order);
    free(labels);
    if (rc != 0)
        return NULL;
    t->result->ms_per_step = 1000.0 * tally.step_seconds / tally.steps;
    t->result->last_loss = tally.loss / tally.steps;
    t->result->last_train_accuracy = (double)tally.correct / tally.seen;
    char lr_text[32];
    snprintf(lr_text, sizeof lr_text, "%.7g", (double)lr);
    return json_pack("{s:i, s:f, s:f, s:f, s:s, s:f, s:i, s:f, s:f}", "epoch", t->epoch + 1,
                     "loss",
                     t->result->last_loss, "train_accuracy", t->result->last_train_accuracy,
                     "lr", strtod(lr_text, NULL), "generators",
                     m->spec.n_gen == 0 ? "none" : frozen ? "frozen" : "trained", "seconds",
                     now() - t0, "steps", tally.steps, "ms_per_step",
                     1000.0 * tally.step_seconds / tally.steps, "cpu_ms_per_step",
                     1000.0 * tally.step_cpu / tally.steps);
}

int s2_train_epochs(S2Train *t)
{
    double step_ms = 0;
    int step_epochs = 0;
    while (t->epoch < t->epochs) {
        json_t *metrics = run_epoch(t);
        if (!metrics)
            return -1;
        t->epoch++;
        json_array_append(t->history, metrics);
        step_ms += t->result->ms_per_step;
        step_epochs++;
        if (save_checkpoint(t) != 0) {
            json_decref(metrics);
            return -1;
        }
        maybe_die(t->epoch, "checkpoint");
        int rc = s2_train_record_epoch(t, metrics);
        s2_say(t, 0, "epoch %3d/%d  loss %.4f  train accuracy %.4f  lr %g  generators %s  %.1f s",
               t->epoch, t->epochs, json_real_value(json_object_get(metrics, "loss")),
               json_real_value(json_object_get(metrics, "train_accuracy")),
               json_real_value(json_object_get(metrics, "lr")),
               json_string_value(json_object_get(metrics, "generators")),
               json_real_value(json_object_get(metrics, "seconds")));
        json_decref(metrics);
        if (rc != 0)
            return -1;
        t->result->epochs_run++;
    }
    if (step_epochs)
        t->result->ms_per_step = step_ms / step_epochs;
    return 0;
}
