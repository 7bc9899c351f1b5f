/* The classification tasks (one table), the variants and the presets of
 * g2c train. */
#include "stage2-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The label hierarchy of the G2C paper: level 1 tells sclerosis (segmental
 * or global) from normal; level 2 tells the two kinds of sclerosis apart,
 * evaluated on the glomeruli level 1 got right.  gs-vs-rest is the task the
 * real crops in ../shared/data support (GS / nonGS). */
static const G2cTask tasks[] = {
    {"s-vs-noa", "sclerosis (ss or gs) vs no abnormality", 1, 2,
     {"noa", "s"}, {"noa", "ss,gs"}, {"noa", "s"}, NULL, NULL},
    {"ss-vs-gs", "segmental vs global sclerosis", 2, 2,
     {"ss", "gs"}, {"ss", "gs"}, {"ss", "gs"}, "s-vs-noa", "s"},
    {"gs-vs-rest", "global sclerosis vs everything else", 1, 2,
     {"rest", "gs"}, {"noa,ss,nongs", "gs"}, {"nongs", "gs"}, NULL, NULL},
};
enum { N_TASKS = sizeof tasks / sizeof tasks[0] };

int g2c_task_count(void)
{
    return N_TASKS;
}

const G2cTask *g2c_task_at(int i)
{
    return i >= 0 && i < N_TASKS ? &tasks[i] : NULL;
}

const G2cTask *g2c_task_find(const char *name)
{
    for (int i = 0; i < N_TASKS; i++)
        if (name && strcmp(tasks[i].name, name) == 0)
            return &tasks[i];
    char known[256] = "";
    for (int i = 0; i < N_TASKS; i++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                 tasks[i].name);
    g2c_error("unknown task '%s' (known: %s)", name ? name : "", known);
    return NULL;
}

/* Whether `label` is an item of the comma-separated `list`. */
static int in_list(const char *list, const char *label)
{
    size_t n = strlen(label);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, label, n) == 0)
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

int g2c_task_class_of(const G2cTask *task, const char *label)
{
    for (int c = 0; c < task->classes; c++)
        if (label && in_list(task->class_labels[c], label))
            return c;
    return -1;
}

int g2c_task_class_index(const G2cTask *task, const char *class_name)
{
    for (int c = 0; c < task->classes; c++)
        if (class_name && strcmp(task->class_names[c], class_name) == 0)
            return c;
    return -1;
}

/* ---- variants ------------------------------------------------------------ */

int s2_variant_parse(const char *text, S2Variant *v)
{
    memset(v, 0, sizeof *v);
    if (!text || strncasecmp(text, "PAS_", 4) != 0 || !text[4])
        return g2c_error("unknown variant '%s' (PAS_ONLY, PAS_<STAIN> such as PAS_HE, "
                         "PAS_ALL, PAS_ALL+)", text ? text : "");
    const char *rest = text + 4;
    static const struct {
        const char *name;
        S2VariantKind kind;
    } fixed[] = {{"ONLY", S2_PAS_ONLY}, {"ALL", S2_PAS_ALL}, {"ALL+", S2_PAS_ALL_PLUS}};
    /* The canonical spelling is kept (PAS_<STAIN>'s once the stain is
     * resolved through the catalog). */
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        if (strcasecmp(rest, fixed[i].name) == 0) {
            v->kind = fixed[i].kind;
            snprintf(v->text, sizeof v->text, "PAS_%s", fixed[i].name);
            return 0;
        }
    v->kind = S2_PAS_STAIN;
    snprintf(v->text, sizeof v->text, "%s", text);
    if (snprintf(v->stain, sizeof v->stain, "%s", rest) >= (int)sizeof v->stain)
        return g2c_error("variant '%s': stain name too long", text);
    return 0;
}

/* ---- presets ------------------------------------------------------------- */

/* Classifier architecture (include/g2c/classifier.h's named configurations)
 * and the schedule.  The optimiser settings (SGD, momentum 0.9, weight
 * decay 5e-4, lr 0.01 divided by 10 every lr_step epochs, focal loss
 * gamma 2) are the same in every preset. */
static const S2Preset presets[] = {
    {"tiny", "tiny", 4, 2, 1, 0},
    {"cpu", "cpu", 16, 30, 2, 10},
    {"paper", "inception", 32, 60, 5, 20},
};
enum { N_PRESETS = sizeof presets / sizeof presets[0] };

const S2Preset *s2_preset_find(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (name && strcmp(presets[i].name, name) == 0)
            return &presets[i];
    g2c_error("unknown preset '%s' (tiny, cpu, paper)", name ? name : "");
    return NULL;
}

void g2c_train_options_default(G2cTrainOptions *o)
{
    memset(o, 0, sizeof *o);
    o->preset = "cpu";
    o->epochs = o->freeze_epochs = o->lr_step = o->batch = -1;
    o->lr = 0.01;
    o->lr_divisor = 10;
    o->gamma = 2;
    o->momentum = 0.9;
    o->weight_decay = 5e-4;
    o->augment = 1;
    o->seed = 1;
    o->split_by = G2C_SPLIT_BY_PATIENT;
    o->test_fraction = 0.25;
}
