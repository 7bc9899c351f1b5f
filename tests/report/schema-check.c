#include "schema-check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *msg;
    size_t size;
} Out;

static int fail(Out *o, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(Out *o, const char *path, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(o->msg, o->size, "%s: %s", path, what);
    return -1;
}

static int is_type(const json_t *v, const char *type)
{
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v) ||
               (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(type, "null") == 0)
        return json_is_null(v);
    return -1; /* unknown type name */
}

static int check(const json_t *schema, const json_t *doc, const char *path, Out *o);

static int check_type(const json_t *type, const json_t *doc, const char *path, Out *o)
{
    if (json_is_string(type)) {
        int ok = is_type(doc, json_string_value(type));
        if (ok < 0)
            return fail(o, path, "schema names an unknown type '%s'", json_string_value(type));
        return ok ? 0 : fail(o, path, "is not of type %s", json_string_value(type));
    }
    if (!json_is_array(type))
        return fail(o, path, "schema 'type' is neither a name nor a list");
    size_t i;
    const json_t *t;
    json_array_foreach(type, i, t)
    {
        int ok = json_is_string(t) ? is_type(doc, json_string_value(t)) : -1;
        if (ok < 0)
            return fail(o, path, "schema 'type' list holds an unknown type");
        if (ok)
            return 0;
    }
    return fail(o, path, "is of none of the types allowed");
}

static int check_object(const json_t *schema, const json_t *doc, const char *path, Out *o)
{
    const json_t *props = json_object_get(schema, "properties");
    const json_t *extra = json_object_get(schema, "additionalProperties");
    const json_t *required = json_object_get(schema, "required");
    size_t i;
    const json_t *r;
    json_array_foreach(required, i, r) if (!json_object_get(doc, json_string_value(r)))
        return fail(o, path, "lacks the required property '%s'", json_string_value(r));
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)doc, key, value)
    {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s.%s", path, key);
        const json_t *s = json_object_get(props, key);
        if (!s && json_is_false(extra))
            return fail(o, path, "has a property '%s' the schema does not allow", key);
        if (!s && json_is_object(extra))
            s = extra;
        if (s && check(s, value, sub, o) != 0)
            return -1;
    }
    return 0;
}

static int check_array(const json_t *schema, const json_t *doc, const char *path, Out *o)
{
    const json_t *min = json_object_get(schema, "minItems");
    if (min && (double)json_array_size(doc) < json_number_value(min))
        return fail(o, path, "has fewer items than minItems %g", json_number_value(min));
    const json_t *items = json_object_get(schema, "items");
    size_t i;
    const json_t *v;
    json_array_foreach(doc, i, v)
    {
        char sub[1024];
        snprintf(sub, sizeof sub, "%s[%zu]", path, i);
        if (items && check(items, v, sub, o) != 0)
            return -1;
    }
    return 0;
}

static int check_enum(const json_t *values, const json_t *doc, const char *path, Out *o)
{
    size_t i;
    const json_t *v;
    json_array_foreach(values, i, v) if (json_equal((json_t *)v, (json_t *)doc)) return 0;
    return fail(o, path, "is not one of the enum values");
}

static int check_range(const json_t *schema, const json_t *doc, const char *path, Out *o)
{
    if (!json_is_number(doc))
        return 0; /* bounds apply to numbers only */
    double x = json_number_value(doc);
    const json_t *min = json_object_get(schema, "minimum");
    const json_t *max = json_object_get(schema, "maximum");
    if (min && x < json_number_value(min))
        return fail(o, path, "%g is below the minimum %g", x, json_number_value(min));
    if (max && x > json_number_value(max))
        return fail(o, path, "%g is above the maximum %g", x, json_number_value(max));
    return 0;
}

static const char *const known[] = {"$schema", "$id", "title", "description", "type",
                                    "required", "properties", "additionalProperties",
                                    "items", "enum", "minimum", "maximum", "minItems"};

static int check(const json_t *schema, const json_t *doc, const char *path, Out *o)
{
    if (!json_is_object(schema))
        return fail(o, path, "schema is not an object");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)schema, key, value)
    {
        size_t k = 0;
        while (k < sizeof known / sizeof known[0] && strcmp(known[k], key) != 0)
            k++;
        if (k == sizeof known / sizeof known[0])
            return fail(o, path, "schema uses '%s', which this validator does not check",
                        key);
    }
    const json_t *type = json_object_get(schema, "type");
    if (type && check_type(type, doc, path, o) != 0)
        return -1;
    const json_t *values = json_object_get(schema, "enum");
    if (values && check_enum(values, doc, path, o) != 0)
        return -1;
    if (check_range(schema, doc, path, o) != 0)
        return -1;
    if (json_is_object(doc) && check_object(schema, doc, path, o) != 0)
        return -1;
    if (json_is_array(doc) && check_array(schema, doc, path, o) != 0)
        return -1;
    return 0;
}

int schema_check(const json_t *schema, const json_t *doc, char *msg, size_t size)
{
    Out o = {msg, size};
    msg[0] = '\0';
    return check(schema, doc, "$", &o);
}

int schema_check_files(const char *schema_path, const char *doc_path)
{
    json_error_t err;
    json_t *schema = json_load_file(schema_path, 0, &err);
    if (!schema) {
        fprintf(stderr, "%s:%d: %s\n", schema_path, err.line, err.text);
        return -1;
    }
    json_t *doc = json_load_file(doc_path, 0, &err);
    if (!doc) {
        fprintf(stderr, "%s:%d: %s\n", doc_path, err.line, err.text);
        json_decref(schema);
        return -1;
    }
    char msg[1200];
    int rc = schema_check(schema, doc, msg, sizeof msg);
    if (rc != 0)
        fprintf(stderr, "%s: not valid against %s: %s\n", doc_path, schema_path, msg);
    json_decref(doc);
    json_decref(schema);
    return rc;
}
