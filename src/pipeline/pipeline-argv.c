/* A stage's parameters as the command lines that carry it out: each
 * parameter is the command's long option of the same name, so a stage
 * does exactly what typing that command would. */
#include "pipeline-private.h"

#include "g2c/error.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char **v;
    int n, cap;
} Args;

static int push(Args *a, const char *s)
{
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? 2 * a->cap : 16;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return g2c_error("out of memory");
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n] = strdup(s);
    if (!a->v[a->n])
        return g2c_error("out of memory");
    a->v[++a->n] = NULL;
    return 0;
}

static int push_option(Args *a, const char *name, const char *value)
{
    char opt[80];
    snprintf(opt, sizeof opt, "--%s", name);
    return push(a, opt) != 0 || (value && push(a, value) != 0) ? -1 : 0;
}

static int push_path(Args *a, const G2cPipeline *p, const char *name, const char *value)
{
    char *path = pipe_resolve_path(p, value);
    int rc = path ? 0 : g2c_error("out of memory");
    if (rc == 0)
        rc = name ? push_option(a, name, path) : push(a, path);
    free(path);
    return rc;
}

/* A comma-separated list from a JSON array of strings. */
static char *join(json_t *list)
{
    size_t n = 1, i;
    json_t *item;
    json_array_foreach(list, i, item) n += strlen(json_string_value(item)) + 1;
    char *out = calloc(1, n);
    if (!out)
        return NULL;
    json_array_foreach(list, i, item)
    {
        if (i)
            strcat(out, ",");
        strcat(out, json_string_value(item));
    }
    return out;
}

static int push_param(Args *a, const G2cPipeline *p, const PipeParam *q, json_t *v)
{
    char num[64];
    const char *name = q->flags & PF_POSITIONAL ? NULL : q->name;
    switch (q->type) {
    case PT_STRING:
        if (q->flags & PF_PATH)
            return push_path(a, p, name, json_string_value(v));
        return name ? push_option(a, name, json_string_value(v)) : push(a, json_string_value(v));
    case PT_INT:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        return push_option(a, name, num);
    case PT_NUMBER:
        snprintf(num, sizeof num, "%.15g", json_number_value(v));
        return push_option(a, name, num);
    case PT_FLAG:
        return json_is_true(v) ? push_option(a, name, NULL) : 0;
    case PT_LIST: {
        char *list = join(v);
        int rc = list ? push_option(a, name, list) : g2c_error("out of memory");
        free(list);
        return rc;
    }
    case PT_REPEAT: {
        size_t i;
        json_t *item;
        json_array_foreach(v, i, item)
        {
            if (push_option(a, name, json_string_value(item)) != 0)
                return -1;
        }
        return 0;
    }
    case PT_EACH:
        return 0; /* one command per item, see stage_commands */
    }
    return 0;
}

/* Parameters that are not options of the main command: a report's items
 * and folder (one command per item), a refset's export (a second one). */
static int per_item(const PipeStage *s, const PipeParam *q)
{
    if (q->type == PT_EACH)
        return 1;
    if (strcmp(s->kind->name, "report") == 0)
        return strcmp(q->name, "out") == 0;
    return strcmp(s->kind->name, "refset") == 0 && strcmp(q->name, "export") == 0;
}

/* The command with every parameter except the per-item one and the
 * refset's export; positional arguments first. */
static int base_command(const G2cPipeline *p, const PipeStage *s, int restart, Args *a)
{
    if (push(a, s->kind->name) != 0)
        return -1;
    for (int pass = 0; pass < 2; pass++)
        for (const PipeParam *q = s->kind->params; q->name; q++) {
            json_t *v = json_object_get(s->params, q->name);
            int positional = (q->flags & PF_POSITIONAL) != 0;
            if (!v || positional != (pass == 0) || per_item(s, q))
                continue;
            if (push_param(a, p, q, v) != 0)
                return -1;
        }
    if (restart && strcmp(s->kind->name, "pretrain") == 0)
        return push(a, "--restart");
    if (restart && strcmp(s->kind->name, "infer") == 0)
        return push(a, "--rescore");
    return 0;
}

static int add_command(PipeCommand **cmds, int *count, Args *a)
{
    PipeCommand *grown = realloc(*cmds, (size_t)(*count + 1) * sizeof *grown);
    if (!grown)
        return g2c_error("out of memory");
    *cmds = grown;
    grown[*count].argc = a->n;
    grown[*count].argv = a->v;
    (*count)++;
    memset(a, 0, sizeof *a);
    return 0;
}

static void args_free(Args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* A report per slide or patient, each into OUT/<item>. */
static int report_commands(const G2cPipeline *p, const PipeStage *s, PipeCommand **cmds,
                           int *count)
{
    const char *which = json_object_get(s->params, "slide") ? "slide" : "patient";
    json_t *items = json_object_get(s->params, which);
    const char *out = json_string_value(json_object_get(s->params, "out"));
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        Args a = {0};
        const char *name = json_string_value(item);
        size_t n = strlen(out) + strlen(name) + 2;
        char *dir = malloc(n);
        int rc = dir ? base_command(p, s, 0, &a) : g2c_error("out of memory");
        if (rc == 0) {
            snprintf(dir, n, "%s/%s", out, name);
            rc = push_option(&a, which, name);
        }
        if (rc == 0)
            rc = push_path(&a, p, "out", dir);
        free(dir);
        if (rc == 0)
            rc = add_command(cmds, count, &a);
        if (rc != 0) {
            args_free(&a);
            return -1;
        }
    }
    return 0;
}

static int refset_export(const G2cPipeline *p, const PipeStage *s, PipeCommand **cmds,
                         int *count)
{
    const char *dir = json_string_value(json_object_get(s->params, "export"));
    if (!dir)
        return 0;
    Args a = {0};
    int rc = push(&a, "refset");
    if (rc == 0)
        rc = push(&a, s->makes);
    if (rc == 0)
        rc = push_path(&a, p, "export", dir);
    if (rc == 0)
        rc = add_command(cmds, count, &a);
    if (rc != 0)
        args_free(&a);
    return rc;
}

int pipe_stage_commands(const G2cPipeline *p, const PipeStage *s, int restart,
                        PipeCommand **cmds, int *count)
{
    *cmds = NULL;
    *count = 0;
    int rc;
    if (strcmp(s->kind->name, "report") == 0) {
        rc = report_commands(p, s, cmds, count);
    } else {
        Args a = {0};
        rc = base_command(p, s, restart, &a);
        if (rc == 0)
            rc = add_command(cmds, count, &a);
        else
            args_free(&a);
        if (rc == 0 && strcmp(s->kind->name, "refset") == 0)
            rc = refset_export(p, s, cmds, count);
    }
    if (rc != 0) {
        pipe_commands_free(*cmds, *count);
        *cmds = NULL;
        *count = 0;
    }
    return rc;
}

void pipe_commands_free(PipeCommand *cmds, int count)
{
    for (int i = 0; i < count; i++) {
        for (int j = 0; j < cmds[i].argc; j++)
            free(cmds[i].argv[j]);
        free(cmds[i].argv);
    }
    free(cmds);
}

/* Single quotes around anything a shell would read differently. */
static int plain(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,/=+:@%",
                    *s))
            return 0;
    return 1;
}

char *pipe_command_text(const PipeCommand *c)
{
    size_t n = 8;
    for (int i = 0; i < c->argc; i++)
        n += 4 * strlen(c->argv[i]) + 3;
    char *out = malloc(n), *w = out;
    if (!out)
        return NULL;
    w += sprintf(w, "g2c");
    for (int i = 0; i < c->argc; i++) {
        const char *s = c->argv[i];
        *w++ = ' ';
        if (plain(s)) {
            w += sprintf(w, "%s", s);
            continue;
        }
        *w++ = '\'';
        for (; *s; s++)
            w += *s == '\'' ? sprintf(w, "'\\''") : sprintf(w, "%c", *s);
        *w++ = '\'';
    }
    *w = '\0';
    return out;
}
