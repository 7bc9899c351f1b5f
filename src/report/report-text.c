/* Text helpers of the report writers: every string that came from a slide,
 * a manifest, an annotation file or a model passes through one of these on
 * its way out, so escaping is decided in one place. */
#include "report-private.h"

#include "g2c/error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at s, or 0 if it is not one
 * (overlong forms, surrogates and code points past U+10FFFF included). */
static int utf8_length(const unsigned char *s)
{
    unsigned c = s[0];
    int n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, min = 0x10000;
    else
        return 0;
    unsigned cp = c & (0x3F >> (n - 1));
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char *g2c_rep_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1); /* each bad byte becomes 3 bytes */
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    char *q = out;
    while (*p) {
        int n = utf8_length(p);
        if (n == 0) {
            memcpy(q, "\xEF\xBF\xBD", 3);
            q += 3;
            p++;
        } else {
            memcpy(q, p, (size_t)n);
            q += n;
            p += n;
        }
    }
    *q = '\0';
    return out;
}

void g2c_rep_html(FILE *out, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default: fputc(*s, out);
        }
    }
}

/* Quoted when it holds a separator, a quote, a line break, or blanks at
 * either end (which readers, g2c's included, trim from unquoted fields). */
void g2c_rep_csv(FILE *out, const char *s)
{
    if (!s)
        return;
    size_t n = strlen(s);
    int quote = strpbrk(s, ",\"\r\n") != NULL ||
                (n > 0 && (strchr(" \t", s[0]) || strchr(" \t", s[n - 1])));
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

void g2c_rep_base64(FILE *out, const uint8_t *data, size_t size)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char buf[4096];
    size_t n = 0;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < size)
            v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < size)
            v |= data[i + 2];
        buf[n++] = digits[(v >> 18) & 63];
        buf[n++] = digits[(v >> 12) & 63];
        buf[n++] = i + 1 < size ? digits[(v >> 6) & 63] : '=';
        buf[n++] = i + 2 < size ? digits[v & 63] : '=';
        if (n + 4 > sizeof buf) {
            fwrite(buf, 1, n, out);
            n = 0;
        }
    }
    fwrite(buf, 1, n, out);
}

/* Colours from the colour-blind-safe "Tableau 10" set: normal green,
 * segmental orange, global red, not-globally-sclerosed blue. */
void g2c_report_label_color(const char *label, uint8_t rgb[3])
{
    static const struct {
        const char *name;
        uint8_t rgb[3];
    } fixed[] = {
        {"noa", {0x2c, 0xa0, 0x2c}},
        {"ss", {0xff, 0x7f, 0x0e}},
        {"gs", {0xd6, 0x27, 0x28}},
        {"nongs", {0x1f, 0x77, 0xb4}},
    };
    static const uint8_t others[][3] = {
        {0x94, 0x67, 0xbd}, {0x8c, 0x56, 0x4b}, {0xe3, 0x77, 0xc2},
        {0x17, 0xbe, 0xcf}, {0xbc, 0xbd, 0x22}, {0x7f, 0x7f, 0x7f},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (label && strcmp(label, fixed[i].name) == 0) {
            memcpy(rgb, fixed[i].rgb, 3);
            return;
        }
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)(label ? label : ""); *p; p++)
        h = (h ^ *p) * 16777619u;
    memcpy(rgb, others[h % (sizeof others / sizeof others[0])], 3);
}

void g2c_rep_color_hex(const char *label, char hex[8])
{
    uint8_t rgb[3];
    g2c_report_label_color(label, rgb);
    snprintf(hex, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

void g2c_rep_now(char buf[32])
{
    time_t t = time(NULL);
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    if (epoch && *epoch) {
        char *end;
        long long v = strtoll(epoch, &end, 10);
        if (*end == '\0' && v >= 0)
            t = (time_t)v;
    }
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

FILE *g2c_rep_open(const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        g2c_error("%s: cannot write: %s", tmp, strerror(errno));
    return f;
}

void g2c_rep_abort(FILE *f, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fclose(f);
    remove(tmp);
}

int g2c_rep_close(FILE *f, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int bad = ferror(f);
    errno = 0;
    if (fclose(f) != 0 || bad) {
        int e = errno;
        remove(tmp);
        return g2c_error("%s: cannot write: %s", tmp, e ? strerror(e) : "I/O error");
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return g2c_error("%s: cannot rename into place: %s", path, strerror(e));
    }
    return 0;
}

static unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

const char *g2c_rep_image_type(const uint8_t *data, size_t size, int *width, int *height)
{
    *width = *height = 0;
    if (data && size >= 24 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0) {
        *width = (int)((uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 | be16(data + 18));
        *height = (int)((uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 | be16(data + 22));
        return "image/png";
    }
    if (!data || size < 4 || data[0] != 0xFF || data[1] != 0xD8)
        return NULL;
    /* Walk the marker segments to the frame header (SOF0..SOF2). */
    for (size_t i = 2; i + 9 < size && data[i] == 0xFF; i += 2 + be16(data + i + 2)) {
        uint8_t m = data[i + 1];
        if (m >= 0xC0 && m <= 0xC2) {
            *height = (int)be16(data + i + 5);
            *width = (int)be16(data + i + 7);
            return "image/jpeg";
        }
    }
    return NULL;
}
