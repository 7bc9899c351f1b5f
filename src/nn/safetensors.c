/* safetensors reader: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}}, then the
 * data section.  The file is read whole and validated before anything is
 * handed out, so a truncated or corrupt checkpoint fails at open with a
 * message naming the file (and the tensor) instead of yielding garbage. */
#include "safetensors-private.h"

#include "g2c/error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; g2c assumes a little-endian host"
#endif

/* The reference implementation refuses headers above 100 MB; a bigger length
 * means a corrupt or foreign file, not a real header. */
enum { MAX_HEADER = 100 * 1000 * 1000 };

typedef struct {
    G2cStEntry e;
    size_t begin, end; /* within the data section */
    float *aligned;    /* copy made by get() when the payload is misaligned */
} Entry;

struct G2cSafetensors {
    char *path;
    json_t *header;
    json_t *metadata; /* borrowed from header, or NULL */
    unsigned char *data; /* the data section */
    size_t data_size;
    Entry *entries; /* sorted by name */
    int count;
};

static const struct {
    const char *name;
    int size;
} dtypes[] = {
    {"F64", 8},  {"F32", 4},  {"F16", 2},     {"BF16", 2},    {"I64", 8},
    {"I32", 4},  {"I16", 2},  {"I8", 1},      {"U64", 8},     {"U32", 4},
    {"U16", 2},  {"U8", 1},   {"BOOL", 1},    {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

static int dtype_size(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0)
            return dtypes[i].size;
    return 0;
}

static int read_exact(int fd, void *buf, size_t n)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int parse_shape(json_t *shape, G2cStEntry *e)
{
    if (!json_is_array(shape))
        return g2c_error("\"shape\" is not an array");
    size_t ndim = json_array_size(shape);
    if (ndim > G2C_ST_MAX_DIMS)
        return g2c_error("%zu dimensions (at most %d supported)", ndim,
                         G2C_ST_MAX_DIMS);
    e->ndim = (int)ndim;
    e->numel = 1;
    for (size_t d = 0; d < ndim; d++) {
        json_t *v = json_array_get(shape, d);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return g2c_error("shape[%zu] is not a non-negative integer", d);
        uint64_t dim = (uint64_t)json_integer_value(v);
        e->shape[d] = (int64_t)dim;
        if (dim != 0 && e->numel > SIZE_MAX / 16 / dim)
            return g2c_error("shape is too large");
        e->numel *= (size_t)dim;
    }
    return 0;
}

static int parse_offsets(json_t *offsets, size_t data_size, Entry *en)
{
    if (!json_is_array(offsets) || json_array_size(offsets) != 2)
        return g2c_error("\"data_offsets\" is not a [begin, end] pair");
    json_t *a = json_array_get(offsets, 0), *b = json_array_get(offsets, 1);
    if (!json_is_integer(a) || !json_is_integer(b) ||
        json_integer_value(a) < 0 || json_integer_value(b) < 0)
        return g2c_error("\"data_offsets\" are not non-negative integers");
    uint64_t begin = (uint64_t)json_integer_value(a);
    uint64_t end = (uint64_t)json_integer_value(b);
    if (begin > end)
        return g2c_error("data_offsets [%llu, %llu] are reversed",
                         (unsigned long long)begin, (unsigned long long)end);
    if (end > data_size)
        return g2c_error("data_offsets [%llu, %llu] run past the data section "
                         "(%zu bytes; truncated file?)",
                         (unsigned long long)begin, (unsigned long long)end,
                         data_size);
    uint64_t expect = (uint64_t)en->e.numel * (uint64_t)en->e.elem_size;
    if (end - begin != expect)
        return g2c_error("data_offsets [%llu, %llu] hold %llu bytes, but %s "
                         "with %zu elements needs %llu",
                         (unsigned long long)begin, (unsigned long long)end,
                         (unsigned long long)(end - begin), en->e.dtype,
                         en->e.numel, (unsigned long long)expect);
    en->begin = (size_t)begin;
    en->end = (size_t)end;
    return 0;
}

static int parse_entry(const char *name, json_t *info, size_t data_size,
                       Entry *en)
{
    memset(en, 0, sizeof *en);
    en->e.name = name;
    if (!json_is_object(info))
        return g2c_error("entry is not a JSON object");
    json_t *dtype = json_object_get(info, "dtype");
    if (!json_is_string(dtype))
        return g2c_error("\"dtype\" is missing or not a string");
    en->e.dtype = json_string_value(dtype);
    en->e.elem_size = dtype_size(en->e.dtype);
    if (!en->e.elem_size)
        return g2c_error("unknown dtype \"%s\"", en->e.dtype);
    if (parse_shape(json_object_get(info, "shape"), &en->e) != 0)
        return -1;
    return parse_offsets(json_object_get(info, "data_offsets"), data_size, en);
}

static int parse_metadata(json_t *meta)
{
    if (!json_is_object(meta))
        return g2c_error("__metadata__ is not a JSON object");
    const char *key;
    json_t *value;
    json_object_foreach(meta, key, value)
    {
        if (!json_is_string(value))
            return g2c_error("__metadata__ value of \"%s\" is not a string",
                             key);
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->e.name, ((const Entry *)b)->e.name);
}

static int by_begin(const void *a, const void *b)
{
    const Entry *x = *(const Entry *const *)a, *y = *(const Entry *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* The data section must be covered exactly, as the reference implementation
 * requires: overlaps mean a corrupt header, bytes left over a corrupt or
 * foreign file. */
static int check_coverage(G2cSafetensors *st)
{
    if (st->count <= 0) {
        if (st->data_size != 0)
            return g2c_error("%zu data bytes but no tensors", st->data_size);
        return 0;
    }
    Entry **order = malloc((size_t)st->count * sizeof *order);
    if (!order)
        return g2c_error("out of memory");
    for (int i = 0; i < st->count; i++)
        order[i] = &st->entries[i];
    qsort(order, (size_t)st->count, sizeof *order, by_begin);
    size_t pos = 0;
    int rc = 0;
    for (int i = 0; i < st->count && rc == 0; i++) {
        if (order[i]->begin < pos)
            rc = g2c_error("tensor %s: data_offsets overlap another tensor",
                           order[i]->e.name);
        else if (order[i]->begin > pos)
            rc = g2c_error("tensor %s: data_offsets leave a gap before it",
                           order[i]->e.name);
        pos = order[i]->end;
    }
    if (rc == 0 && pos != st->data_size)
        rc = g2c_error("data section has %zu bytes but the tensors cover %zu",
                       st->data_size, pos);
    free(order);
    return rc;
}

static int parse_header(G2cSafetensors *st, const char *text, size_t len)
{
    json_error_t jerr;
    st->header = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!st->header)
        return g2c_error("bad JSON header at byte %d: %s", jerr.position,
                         jerr.text);
    if (!json_is_object(st->header))
        return g2c_error("JSON header is not an object");
    size_t n = json_object_size(st->header);
    st->entries = calloc(n ? n : 1, sizeof *st->entries);
    if (!st->entries)
        return g2c_error("out of memory");
    const char *key;
    json_t *value;
    json_object_foreach(st->header, key, value)
    {
        if (strcmp(key, "__metadata__") == 0) {
            if (parse_metadata(value) != 0)
                return -1;
            st->metadata = value;
            continue;
        }
        if (parse_entry(key, value, st->data_size, &st->entries[st->count]) !=
            0)
            return g2c_error_prefix("tensor %s: ", key);
        st->count++;
    }
    qsort(st->entries, (size_t)st->count, sizeof *st->entries, by_name);
    for (int i = 0; i < st->count; i++)
        st->entries[i].e.bytes = st->data + st->entries[i].begin;
    return check_coverage(st);
}

static int read_file(G2cSafetensors *st, int fd, char **header_text,
                     size_t *header_len)
{
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        return g2c_error("cannot stat: %s", strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return g2c_error("not a regular file");
    uint64_t size = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (size < 8 || read_exact(fd, len8, 8) != 0)
        return g2c_error("file of %llu bytes is too short for a safetensors "
                         "header (truncated?)",
                         (unsigned long long)size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n < 2 || n > MAX_HEADER)
        return g2c_error("header length %llu is not plausible (corrupt file?)",
                         (unsigned long long)n);
    if (n > size - 8)
        return g2c_error("header length %llu exceeds the %llu bytes after it "
                         "(truncated?)",
                         (unsigned long long)n, (unsigned long long)(size - 8));
    *header_len = (size_t)n;
    st->data_size = (size_t)(size - 8 - n);
    *header_text = malloc(*header_len);
    /* The data section gets its own allocation: malloc's alignment keeps F32
     * payloads at 4-byte-aligned offsets directly usable as float arrays. */
    st->data = malloc(st->data_size ? st->data_size : 1);
    if (!*header_text || !st->data)
        return g2c_error("out of memory reading %llu bytes",
                         (unsigned long long)size);
    if (read_exact(fd, *header_text, *header_len) != 0 ||
        read_exact(fd, st->data, st->data_size) != 0)
        return g2c_error("read failed: %s", errno ? strerror(errno)
                                                  : "file shrank while read");
    return 0;
}

G2cSafetensors *g2c_safetensors_open(const char *path)
{
    G2cSafetensors *st = calloc(1, sizeof *st);
    if (!st) {
        g2c_error("%s: out of memory", path);
        return NULL;
    }
    st->path = strdup(path);
    char *text = NULL;
    size_t len = 0;
    int rc = -1;
    if (!st->path) {
        g2c_error("out of memory");
    } else {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            g2c_error("cannot open: %s", strerror(errno));
        } else {
            errno = 0;
            rc = read_file(st, fd, &text, &len);
            close(fd);
            if (rc == 0)
                rc = parse_header(st, text, len);
        }
    }
    free(text);
    if (rc != 0) {
        g2c_error_prefix("%s: ", path);
        g2c_safetensors_close(st);
        return NULL;
    }
    return st;
}

void g2c_safetensors_close(G2cSafetensors *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->count; i++)
        free(st->entries[i].aligned);
    free(st->entries);
    json_decref(st->header);
    free(st->data);
    free(st->path);
    free(st);
}

int g2c_safetensors_find(const G2cSafetensors *st, const char *name)
{
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->entries[mid].e.name);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

const float *g2c_safetensors_get(G2cSafetensors *st, const char *name,
                                 int *ndim, int64_t *shape)
{
    int i = g2c_safetensors_find(st, name);
    if (i < 0) {
        g2c_error("%s: tensor %s: not in the file", st->path, name);
        return NULL;
    }
    Entry *en = &st->entries[i];
    if (strcmp(en->e.dtype, "F32") != 0) {
        g2c_error("%s: tensor %s: dtype %s, expected F32", st->path, name,
                  en->e.dtype);
        return NULL;
    }
    if (en->e.ndim > G2C_MAX_DIMS) {
        g2c_error("%s: tensor %s: %d dimensions, at most %d supported",
                  st->path, name, en->e.ndim, G2C_MAX_DIMS);
        return NULL;
    }
    if (ndim)
        *ndim = en->e.ndim;
    if (shape)
        memcpy(shape, en->e.shape, (size_t)en->e.ndim * sizeof *shape);
    if (((uintptr_t)en->e.bytes & (sizeof(float) - 1)) == 0)
        return (const float *)(const void *)en->e.bytes;
    if (!en->aligned) {
        en->aligned = malloc(en->e.numel ? en->e.numel * sizeof(float) : 1);
        if (!en->aligned) {
            g2c_error("%s: tensor %s: out of memory", st->path, name);
            return NULL;
        }
        memcpy(en->aligned, en->e.bytes, en->e.numel * sizeof(float));
    }
    return en->aligned;
}

const char *g2c_safetensors_meta(G2cSafetensors *st, const char *key)
{
    if (!st->metadata)
        return NULL;
    return json_string_value(json_object_get(st->metadata, key));
}

const char *g2c_safetensors_path(const G2cSafetensors *st)
{
    return st->path;
}

int g2c_safetensors_count(const G2cSafetensors *st)
{
    return st->count;
}

const G2cStEntry *g2c_safetensors_entry(const G2cSafetensors *st, int index)
{
    if (index < 0 || index >= st->count)
        return NULL;
    return &st->entries[index].e;
}
