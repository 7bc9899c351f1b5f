/* Reading a pipeline file: JSON, variables, and every check that can be
 * made on the file alone, so that a mistake anywhere in it is reported
 * before any stage runs. */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Where a message points: "FILE: stage 'ID' (stages[3].params.epochs): ". */
typedef struct {
    const char *file;
    const char *id; /* NULL before the stage's id is known */
    int index;
    const char *param; /* NULL: the stage itself */
} Where;

static int fail_at(const Where *w, const char *msg)
{
    if (w->index < 0)
        return g2c_error("%s: %s", w->file, msg);
    char path[256];
    if (w->param)
        snprintf(path, sizeof path, "stages[%d].params.%s", w->index, w->param);
    else
        snprintf(path, sizeof path, "stages[%d]", w->index);
    if (w->id)
        return g2c_error("%s: stage '%s' (%s): %s", w->file, w->id, path, msg);
    return g2c_error("%s: %s: %s", w->file, path, msg);
}

#define FAIL(w, ...)                                          \
    do {                                                      \
        char msg_[1024];                                      \
        snprintf(msg_, sizeof msg_, __VA_ARGS__);             \
        return fail_at((w), msg_);                            \
    } while (0)

/* ---- variables ------------------------------------------------------------ */

/* The file's "variables" with the --set overrides applied. */
static json_t *load_variables(json_t *root, const char *file, const char *const *sets,
                              int n_sets)
{
    json_t *decl = json_object_get(root, "variables");
    Where top = {file, NULL, -1, NULL};
    if (decl && !json_is_object(decl)) {
        fail_at(&top, "\"variables\" must be an object of strings");
        return NULL;
    }
    json_t *vars = decl ? json_deep_copy(decl) : json_object();
    const char *key;
    json_t *value;
    json_object_foreach(vars, key, value)
    {
        if (json_is_string(value))
            continue;
        g2c_error("%s: variables.%s must be a string", file, key);
        json_decref(vars);
        return NULL;
    }
    for (int i = 0; i < n_sets; i++) {
        const char *eq = strchr(sets[i], '=');
        char name[128];
        if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof name) {
            g2c_error("--set expects NAME=VALUE, not '%s'", sets[i]);
            json_decref(vars);
            return NULL;
        }
        snprintf(name, sizeof name, "%.*s", (int)(eq - sets[i]), sets[i]);
        if (!json_object_get(vars, name)) {
            g2c_error("--set %s: %s declares no variable '%s'", sets[i], file, name);
            json_decref(vars);
            return NULL;
        }
        json_object_set_new(vars, name, json_string(eq + 1));
    }
    return vars;
}

/* "${name}" replaced by the variable's value; any other '$' stays. */
static char *substitute(const char *s, json_t *vars, const Where *w)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);
    while (out && *s) {
        const char *piece = s, *end;
        size_t n = 1;
        if (s[0] == '$' && s[1] == '{' && (end = strchr(s + 2, '}'))) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(end - s - 2), s + 2);
            json_t *v = json_object_get(vars, name);
            if (!v) {
                free(out);
                char msg[256];
                snprintf(msg, sizeof msg, "no variable '%s' (declare it in \"variables\")",
                         name);
                fail_at(w, msg);
                return NULL;
            }
            piece = json_string_value(v);
            n = strlen(piece);
            s = end + 1;
        } else {
            s++;
        }
        if (len + n + 1 > cap) {
            cap = 2 * (len + n + 1);
            char *grown = realloc(out, cap);
            if (!grown) {
                free(out);
                out = NULL;
                break;
            }
            out = grown;
        }
        memcpy(out + len, piece, n);
        len += n;
    }
    if (!out) {
        g2c_error("out of memory");
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* ---- parameter values ------------------------------------------------------ */

static json_t *number_from_text(const char *text, int integer)
{
    char *end;
    if (integer) {
        long long v = strtoll(text, &end, 10);
        return *text && !*end ? json_integer(v) : NULL;
    }
    double v = strtod(text, &end);
    return *text && !*end ? json_real(v) : NULL;
}

/* Strings: split a comma-separated string, check an array's items. */
static json_t *string_list(json_t *value, json_t *vars, const Where *w)
{
    json_t *list = json_array();
    if (json_is_string(value)) {
        char *text = substitute(json_string_value(value), vars, w);
        if (!text) {
            json_decref(list);
            return NULL;
        }
        for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ","))
            json_array_append_new(list, json_string(tok));
        free(text);
    } else if (json_is_array(value)) {
        size_t i;
        json_t *item;
        json_array_foreach(value, i, item)
        {
            char *text = json_is_string(item) ? substitute(json_string_value(item), vars, w)
                                              : NULL;
            if (!text) {
                json_decref(list);
                if (!json_is_string(item))
                    fail_at(w, "expected a list of strings");
                return NULL;
            }
            json_array_append_new(list, json_string(text));
            free(text);
        }
    }
    if (json_array_size(list) == 0) {
        json_decref(list);
        fail_at(w, "expected a string or a non-empty list of strings");
        return NULL;
    }
    return list;
}

static const char *type_name(PipeType t)
{
    switch (t) {
    case PT_INT: return "a whole number";
    case PT_NUMBER: return "a number";
    case PT_FLAG: return "true or false";
    case PT_STRING: return "a string";
    default: return "a string or a list of strings";
    }
}

/* The value in the form the command line needs, or NULL (error pending). */
static json_t *normalise(const PipeParam *q, json_t *value, json_t *vars, const Where *w)
{
    if (q->type == PT_LIST || q->type == PT_REPEAT || q->type == PT_EACH)
        return string_list(value, vars, w);
    if (q->type == PT_FLAG) {
        if (json_is_boolean(value))
            return json_incref(value);
    } else if (json_is_string(value)) {
        char *text = substitute(json_string_value(value), vars, w);
        if (!text)
            return NULL;
        json_t *out = NULL;
        if (q->type == PT_STRING)
            out = *text ? json_string(text) : NULL;
        else
            out = number_from_text(text, q->type == PT_INT);
        free(text);
        if (out)
            return out;
    } else if (q->type == PT_INT && json_is_integer(value)) {
        return json_incref(value);
    } else if (q->type == PT_NUMBER && json_is_number(value)) {
        return json_incref(value);
    }
    char msg[128];
    snprintf(msg, sizeof msg, "expected %s%s", type_name(q->type),
             q->type == PT_STRING ? " (not empty)" : "");
    fail_at(w, msg);
    return NULL;
}

static int one_of(const char *key, const char *a, const char *b, const char *c, const char *d)
{
    return !strcmp(key, a) || !strcmp(key, b) || !strcmp(key, c) || !strcmp(key, d);
}

/* ---- one stage --------------------------------------------------------------- */

static int valid_id(const char *id)
{
    if (!*id || strlen(id) > 64)
        return 0;
    for (const char *c = id; *c; c++)
        if (!isalnum((unsigned char)*c) && !strchr("-_.+", *c))
            return 0;
    return 1;
}

static int load_params(PipeStage *s, json_t *params, json_t *vars, Where *w)
{
    if (params && !json_is_object(params))
        FAIL(w, "\"params\" must be an object");
    s->params = json_object();
    const char *key;
    json_t *value;
    json_object_foreach(params, key, value)
    {
        w->param = key;
        const PipeParam *q = pipe_param_find(s->kind, key);
        if (!q) {
            char known[512] = ""; /* fits the message buffer with the rest */
            for (const PipeParam *k = s->kind->params; k->name; k++)
                snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s",
                         *known ? ", " : "", k->name);
            FAIL(w, "unknown parameter '%s' for a %s stage (known: %s)", key, s->kind->name,
                 known);
        }
        json_t *norm = normalise(q, value, vars, w);
        if (!norm)
            return -1;
        json_object_set_new(s->params, key, norm);
    }
    w->param = NULL;
    for (const PipeParam *q = s->kind->params; q->name; q++)
        if ((q->flags & PF_REQUIRED) && !json_object_get(s->params, q->name))
            FAIL(w, "a %s stage needs the parameter '%s'", s->kind->name, q->name);
    return 0;
}

/* The name of the refset or model the stage makes. */
static void stage_makes(PipeStage *s)
{
    for (const PipeParam *q = s->kind->params; q->name; q++)
        if (q->flags & PF_MAKES) {
            const char *v = json_string_value(json_object_get(s->params, q->name));
            if (v)
                s->makes = strdup(v);
        }
    if (!s->makes && strcmp(s->kind->name, "pretrain") == 0) {
        /* g2c pretrain's default model name */
        const char *a = json_string_value(json_object_get(s->params, "source"));
        const char *b = json_string_value(json_object_get(s->params, "target"));
        size_t n = strlen(a) + strlen(b) + 2;
        s->makes = malloc(n);
        if (s->makes)
            snprintf(s->makes, n, "%s2%s", a, b);
    }
}

static int stage_extra_checks(const PipeStage *s, const Where *w)
{
    if (strcmp(s->kind->name, "report") == 0 && !json_object_get(s->params, "slide") ==
                                                    !json_object_get(s->params, "patient"))
        FAIL(w, "a report stage needs either 'slide' or 'patient'");
    return 0;
}

static int load_stage(G2cPipeline *p, int i, json_t *js, json_t *vars, int *last_kind,
                      const char **last_id)
{
    PipeStage *s = &p->stages[i];
    Where w = {p->path, NULL, i, NULL};
    if (!json_is_object(js))
        FAIL(&w, "a stage must be an object with \"id\", \"stage\" and \"params\"");
    const char *key;
    json_t *value;
    json_object_foreach(js, key, value)
    {
        if (!one_of(key, "id", "stage", "params", "description"))
            FAIL(&w, "unknown key '%s' (a stage has id, stage, params, description)", key);
    }
    const char *id = json_string_value(json_object_get(js, "id"));
    if (!id || !valid_id(id))
        FAIL(&w, "\"id\" must be a name of letters, digits and - _ . + (at most 64)");
    w.id = id;
    s->id = strdup(id);
    for (int j = 0; j < i; j++)
        if (strcmp(p->stages[j].id, id) == 0)
            FAIL(&w, "the id '%s' is also stages[%d]'s; ids must be unique", id, j);
    const char *kind = json_string_value(json_object_get(js, "stage"));
    s->kind = kind ? pipe_kind_find(kind) : NULL;
    if (!s->kind)
        FAIL(&w, "unknown stage '%s' (ingest, refset, pretrain, train, eval, infer, report)",
             kind ? kind : "(none)");
    const PipeKind *named = pipe_kind_find(id);
    if (named && named != s->kind)
        FAIL(&w, "the id '%s' is the name of another stage kind", id);
    int k = pipe_kind_index(s->kind);
    if (k < *last_kind)
        FAIL(&w, "a %s stage cannot come after the %s stage '%s' (the order is ingest, "
                 "refset, pretrain, train, eval, infer, report)",
             s->kind->name, pipe_kind_at(*last_kind)->name, *last_id);
    *last_kind = k;
    *last_id = s->id;
    if (load_params(s, json_object_get(js, "params"), vars, &w) != 0)
        return -1;
    stage_makes(s);
    return stage_extra_checks(s, &w);
}

/* Two stages that make the same refset or model would overwrite each other. */
static int check_unique_outputs(const G2cPipeline *p)
{
    for (int i = 0; i < p->count; i++)
        for (int j = 0; j < i; j++) {
            const PipeStage *a = &p->stages[j], *b = &p->stages[i];
            if (a->makes && b->makes && a->kind->makes == b->kind->makes &&
                strcmp(a->makes, b->makes) == 0) {
                Where w = {p->path, b->id, i, NULL};
                FAIL(&w, "stage '%s' makes '%s' too", a->id, a->makes);
            }
        }
    return 0;
}

static int load_root(G2cPipeline *p, json_t *root, const char *const *sets, int n_sets)
{
    Where top = {p->path, NULL, -1, NULL};
    if (!json_is_object(root))
        return fail_at(&top, "a pipeline is a JSON object with \"stages\"");
    const char *key;
    json_t *value;
    json_object_foreach(root, key, value)
    {
        if (!one_of(key, "stages", "variables", "description", "$schema"))
            FAIL(&top, "unknown key '%s' (a pipeline has stages, variables, description)",
                 key);
    }
    json_t *stages = json_object_get(root, "stages");
    if (!json_is_array(stages) || json_array_size(stages) == 0)
        return fail_at(&top, "\"stages\" must be a non-empty list");
    json_t *vars = load_variables(root, p->path, sets, n_sets);
    if (!vars)
        return -1;
    p->count = (int)json_array_size(stages);
    p->stages = calloc((size_t)p->count, sizeof *p->stages);
    int rc = p->stages ? 0 : g2c_error("out of memory");
    int last_kind = 0;
    const char *last_id = NULL;
    for (int i = 0; rc == 0 && i < p->count; i++)
        rc = load_stage(p, i, json_array_get(stages, (size_t)i), vars, &last_kind, &last_id);
    json_decref(vars);
    return rc == 0 ? check_unique_outputs(p) : -1;
}

static char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strdup(slash ? slash + 1 : path);
}

G2cPipeline *g2c_pipeline_load(const char *path, const char *const *sets, int n_sets,
                               const char *base_dir)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (err.line < 1) /* jansson's text names the file already */
            g2c_error("%s", err.text);
        else
            g2c_error("%s:%d:%d: %s", path, err.line, err.column, err.text);
        return NULL;
    }
    G2cPipeline *p = calloc(1, sizeof *p);
    if (!p) {
        json_decref(root);
        g2c_error("out of memory");
        return NULL;
    }
    p->path = strdup(path);
    p->name = base_name(path);
    p->base_dir = strdup(base_dir ? base_dir : ".");
    int rc = load_root(p, root, sets, n_sets);
    json_decref(root);
    if (rc == 0)
        rc = pipe_check_inputs(p);
    if (rc != 0) {
        g2c_pipeline_free(p);
        return NULL;
    }
    pipe_hash_stages(p);
    return p;
}

void g2c_pipeline_free(G2cPipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->count && p->stages; i++) {
        free(p->stages[i].id);
        free(p->stages[i].makes);
        json_decref(p->stages[i].params);
    }
    free(p->stages);
    free(p->path);
    free(p->name);
    free(p->base_dir);
    free(p);
}

char *pipe_resolve_path(const G2cPipeline *p, const char *value)
{
    if (value[0] == '/' || strcmp(p->base_dir, ".") == 0 || !p->base_dir[0])
        return strdup(value);
    size_t n = strlen(p->base_dir) + strlen(value) + 2;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s/%s", p->base_dir, value);
    return out;
}

const char *g2c_pipeline_name(const G2cPipeline *p)
{
    return p->name;
}

int g2c_pipeline_stage_count(const G2cPipeline *p)
{
    return p->count;
}

const char *g2c_pipeline_stage_id(const G2cPipeline *p, int i)
{
    return i >= 0 && i < p->count ? p->stages[i].id : NULL;
}

const char *g2c_pipeline_stage_kind(const G2cPipeline *p, int i)
{
    return i >= 0 && i < p->count ? p->stages[i].kind->name : NULL;
}
