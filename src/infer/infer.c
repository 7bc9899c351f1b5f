/* g2c infer: the checks, then each slide of the scope scored and written
 * whole, then the run's counts.  A slide that fails (an unreadable crop, a
 * failed write) is reported and left unwritten; the others go on. */
#include "infer-private.h"

#include "g2c/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void inf_say(const Infer *inf, const char *fmt, ...)
{
    if (!inf->o->say)
        return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    inf->o->say(inf->o->ctx, line);
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Model, task, crops, scope and counts: everything before the first write. */
static int prepare(Infer *inf, G2cInferResult *r)
{
    const G2cInferOptions *o = inf->o;
    if (!o->model)
        return g2c_error("no model given");
    if (o->slide && o->patient)
        return g2c_error("give a slide or a patient, not both");
    if (!(inf->model = g2c_trained_model_load(inf->cat, o->model, o->threads)))
        return -1;
    inf->task = g2c_trained_model_task(inf->model);
    inf->model_id = r->model_id = g2c_trained_model_id(inf->model);
    inf->n_gen = g2c_trained_model_generators(inf->model);
    if (inf->n_gen > INF_MAX_GEN)
        return g2c_error("model '%s' has %d generators (at most %d)", o->model, inf->n_gen,
                         INF_MAX_GEN);
    for (int g = 0; g < inf->n_gen; g++)
        inf->stains[g] = g2c_trained_model_stain(inf->model, g);
    if (inf_check_task(inf) != 0 || inf_check_crops(inf) != 0 || inf_resolve_scope(inf) != 0)
        return -1;
    if (o->views && inf->n_gen == 0)
        inf_say(inf, "model '%s' has no generators (PAS_ONLY): no views to store", o->model);
    return inf_count(inf, r);
}

static void tally(const Infer *inf, const InfSlideOut *s, G2cInferResult *r)
{
    r->scored += s->n;
    r->views += (int64_t)s->n * s->n_gen;
    for (int i = 0; i < s->n; i++)
        if (s->cls[i] >= 0 && s->cls[i] < 4)
            r->predicted[s->cls[i]]++;
    r->slides_written++;
    (void)inf;
}

/* Every slide with work; returns the last failure's message pending. */
static void score_all(Infer *inf, G2cInferResult *r)
{
    int64_t done = 0;
    char last_error[1024] = "";
    for (int i = 0; i < inf->n_slides; i++) {
        if (inf->slides[i].todo == 0)
            continue;
        InfSlideOut out;
        int rc = inf_score_slide(inf, i, done, &out);
        if (rc == 0 && (rc = inf_write_slide(inf, &out, r->slides_written + 1)) != 0)
            g2c_error_prefix("slide '%s' (id %lld): writing: ", inf->slides[i].name,
                             (long long)inf->slides[i].id);
        if (rc == 0)
            tally(inf, &out, r);
        else {
            r->slides_failed++;
            snprintf(last_error, sizeof last_error, "%s", g2c_error_message());
            inf_say(inf, "%s (left unscored)", last_error);
        }
        done += inf->slides[i].todo;
        inf_slide_out_free(&out);
    }
    if (last_error[0])
        g2c_error("%s", last_error);
}

int g2c_infer(G2cCatalog *cat, const G2cInferOptions *opt, G2cInferResult *r)
{
    memset(r, 0, sizeof *r);
    Infer inf = {.cat = cat, .o = opt};
    double t0 = now();
    int rc = prepare(&inf, r);
    if (rc == 0 && inf.total_todo > 0 && (rc = inf_run_start(&inf)) == 0) {
        r->run_id = inf.run_id;
        score_all(&inf, r);
        r->seconds = now() - t0;
        const char *status = r->slides_failed == 0 ? "done"
                             : r->slides_written  ? "partial"
                                                  : "failed";
        char pending[1024];
        snprintf(pending, sizeof pending, "%s", g2c_error_message());
        if (inf_run_finish(&inf, r, status) != 0)
            rc = -1;
        else if (r->slides_written == 0)
            rc = g2c_error("%s", pending);
    }
    g2c_trained_model_free(inf.model);
    free(inf.slides);
    return rc;
}
