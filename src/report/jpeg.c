/* A small baseline JPEG encoder for the images embedded in report pages.
 *
 * Why: tissue is noisy, so PNG hardly compresses it.  A 96 px glomerulus
 * crop is ~20 kB as PNG and ~3.5 kB as JPEG; with three generated views per
 * glomerulus a 500-glomerulus page goes from 54 MB to 11 MB.  The
 * project links no JPEG library (and a browser reads these images only),
 * so this file writes baseline JFIF itself (ITU-T T.81):
 *   YCbCr (JFIF full range), 4:2:0 chroma, 8x8 float DCT, the Annex K
 *   quantization tables scaled for `quality` as the IJG library scales
 *   them, and Huffman tables made for each image from its own symbol
 *   counts (two passes; Annex K.2, lengths limited to 16 bits).
 * The report's files for programs (overlay.png) stay PNG, lossless.
 */
#include "report-private.h"

#include "g2c/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *data;
    size_t size, cap;
    uint32_t acc; /* bits not yet written, right-aligned */
    int nbits;
    int oom;
} Out;

static void put_byte(Out *o, uint8_t b)
{
    if (o->size == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 4096;
        uint8_t *d = realloc(o->data, cap);
        if (!d) {
            o->oom = 1;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    o->data[o->size++] = b;
}

static void put_u16(Out *o, unsigned v)
{
    put_byte(o, (uint8_t)(v >> 8));
    put_byte(o, (uint8_t)v);
}

/* Entropy-coded bits; a 0xFF byte is followed by a stuffed 0x00. */
static void put_bits(Out *o, uint32_t code, int size)
{
    o->acc = (o->acc << size) | (code & ((1u << size) - 1));
    o->nbits += size;
    while (o->nbits >= 8) {
        uint8_t b = (uint8_t)(o->acc >> (o->nbits - 8));
        put_byte(o, b);
        if (b == 0xFF)
            put_byte(o, 0);
        o->nbits -= 8;
    }
}

static void flush_bits(Out *o)
{
    if (o->nbits > 0)
        put_bits(o, 0x7F, 8 - o->nbits); /* pad with 1 bits */
}

/* ---- tables -------------------------------------------------------------- */

static const uint8_t base_luma[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
static const uint8_t base_chroma[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

/* zigzag[k] = natural (row-major) index of the k-th coefficient. */
static void make_zigzag(int zigzag[64])
{
    int k = 0;
    for (int s = 0; s < 15; s++) {
        int lo = s < 8 ? 0 : s - 7, hi = s < 8 ? s : 7;
        for (int i = 0; i <= hi - lo; i++) {
            int row = (s % 2) ? lo + i : hi - i;
            zigzag[k++] = row * 8 + (s - row);
        }
    }
}

static void scale_table(const uint8_t base[64], int quality, uint8_t q[64])
{
    int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
    for (int i = 0; i < 64; i++) {
        int v = (base[i] * scale + 50) / 100;
        q[i] = (uint8_t)(v < 1 ? 1 : v > 255 ? 255 : v);
    }
}

/* ---- blocks ------------------------------------------------------------- */

typedef struct {
    int zigzag[64];
    float cosine[8][8]; /* C(u)/2 cos((2x+1)u pi/16) */
    uint8_t q[2][64];   /* natural order: luma, chroma */
} Tables;

static void make_tables(Tables *t, int quality)
{
    make_zigzag(t->zigzag);
    for (int u = 0; u < 8; u++)
        for (int x = 0; x < 8; x++)
            t->cosine[u][x] = (float)((u == 0 ? sqrt(0.5) : 1.0) / 2.0 *
                                      cos((2 * x + 1) * u * M_PI / 16.0));
    scale_table(base_luma, quality, t->q[0]);
    scale_table(base_chroma, quality, t->q[1]);
}

/* Forward DCT and quantization of one 8x8 block of level-shifted samples;
 * out is in zigzag order. */
static void fdct_quantize(const Tables *t, const float in[64], const uint8_t q[64], int16_t out[64])
{
    float tmp[64], f[64];
    for (int y = 0; y < 8; y++)
        for (int u = 0; u < 8; u++) {
            float s = 0;
            for (int x = 0; x < 8; x++)
                s += t->cosine[u][x] * in[y * 8 + x];
            tmp[y * 8 + u] = s;
        }
    for (int v = 0; v < 8; v++)
        for (int u = 0; u < 8; u++) {
            float s = 0;
            for (int y = 0; y < 8; y++)
                s += t->cosine[v][y] * tmp[y * 8 + u];
            f[v * 8 + u] = s;
        }
    for (int k = 0; k < 64; k++) {
        int n = t->zigzag[k];
        long c = lroundf(f[n] / q[n]);
        /* Baseline limits: DC differences fit 11 bits (DC itself lies in
         * [-1024, 1016] for 8-bit samples), AC values 10 bits. */
        long lo = k == 0 ? -1024 : -1023, hi = 1023;
        out[k] = (int16_t)(c < lo ? lo : c > hi ? hi : c);
    }
}

/* Sample of plane c (0 Y, 1 Cb, 2 Cr) at (x, y), edges replicated. */
static float sample(const G2cImage *img, int c, int x, int y)
{
    x = x < img->width ? x : img->width - 1;
    y = y < img->height ? y : img->height - 1;
    const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
    float r = p[0], g = p[1], b = p[2];
    if (c == 0)
        return 0.299f * r + 0.587f * g + 0.114f * b;
    if (c == 1)
        return -0.168736f * r - 0.331264f * g + 0.5f * b + 128.0f;
    return 0.5f * r - 0.418688f * g - 0.081312f * b + 128.0f;
}

/* The MCU at (mx, my) (16x16 px): 4 luma blocks, then Cb, then Cr. */
static void mcu_blocks(const G2cImage *img, const Tables *t, int mx, int my, int16_t out[6][64])
{
    float in[64];
    for (int b = 0; b < 4; b++) {
        int x0 = mx * 16 + (b % 2) * 8, y0 = my * 16 + (b / 2) * 8;
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                in[y * 8 + x] = sample(img, 0, x0 + x, y0 + y) - 128.0f;
        fdct_quantize(t, in, t->q[0], out[b]);
    }
    for (int c = 1; c <= 2; c++) {
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++) {
                int sx = mx * 16 + 2 * x, sy = my * 16 + 2 * y;
                float s = sample(img, c, sx, sy) + sample(img, c, sx + 1, sy) +
                          sample(img, c, sx, sy + 1) + sample(img, c, sx + 1, sy + 1);
                in[y * 8 + x] = s / 4 - 128.0f;
            }
        fdct_quantize(t, in, t->q[1], out[3 + c]);
    }
}

/* ---- Huffman ------------------------------------------------------------ */

typedef struct {
    long freq[257];
    uint8_t bits[17];    /* bits[n] = codes of length n */
    uint8_t huffval[256];
    int nval;
    uint16_t code[256];
    uint8_t size[256];
} Huff;

static int category(int v)
{
    int a = v < 0 ? -v : v, n = 0;
    while (a) {
        n++;
        a >>= 1;
    }
    return n;
}

/* The symbols of one block, counted (emit = 0) or written (emit = 1). */
static void code_block(const int16_t blk[64], int *last_dc, Huff *dc, Huff *ac, Out *o, int emit)
{
    int diff = blk[0] - *last_dc;
    *last_dc = blk[0];
    int s = category(diff);
    if (emit) {
        put_bits(o, dc->code[s], dc->size[s]);
        if (s)
            put_bits(o, (uint32_t)(diff < 0 ? diff - 1 : diff), s);
    } else {
        dc->freq[s]++;
    }
    int run = 0;
    for (int k = 1; k < 64; k++) {
        if (blk[k] == 0) {
            run++;
            continue;
        }
        for (; run >= 16; run -= 16) /* ZRL: 16 zeros */
            emit ? put_bits(o, ac->code[0xF0], ac->size[0xF0]) : (void)ac->freq[0xF0]++;
        int c = category(blk[k]);
        int sym = (run << 4) | c;
        if (emit) {
            put_bits(o, ac->code[sym], ac->size[sym]);
            put_bits(o, (uint32_t)(blk[k] < 0 ? blk[k] - 1 : blk[k]), c);
        } else {
            ac->freq[sym]++;
        }
        run = 0;
    }
    if (run > 0) /* EOB */
        emit ? put_bits(o, ac->code[0], ac->size[0]) : (void)ac->freq[0]++;
}

/* Code lengths from the counts (T.81 Annex K.2): symbol 256 is a reserved
 * one-count symbol, so that no real code is all ones; lengths over 16 are
 * folded back; codes are then assigned canonically. */
static void build_huff(Huff *h)
{
    long freq[257];
    int codesize[257] = {0}, others[257];
    memcpy(freq, h->freq, sizeof freq);
    freq[256] = 1;
    for (int i = 0; i < 257; i++)
        others[i] = -1;
    for (;;) {
        int c1 = -1, c2 = -1;
        long v = 0;
        for (int i = 0; i < 257; i++) /* <=: ties go to the larger symbol */
            if (freq[i] && (c1 < 0 || freq[i] <= v))
                v = freq[i], c1 = i;
        for (int i = 0; i < 257; i++)
            if (freq[i] && i != c1 && (c2 < 0 || freq[i] <= v))
                v = freq[i], c2 = i;
        if (c2 < 0)
            break;
        freq[c1] += freq[c2];
        freq[c2] = 0;
        for (codesize[c1]++; others[c1] >= 0; codesize[c1]++)
            c1 = others[c1];
        others[c1] = c2;
        for (codesize[c2]++; others[c2] >= 0; codesize[c2]++)
            c2 = others[c2];
    }
    int bits[64] = {0};
    for (int i = 0; i < 257; i++)
        if (codesize[i])
            bits[codesize[i] < 63 ? codesize[i] : 63]++;
    for (int i = 63; i > 16; i--)
        while (bits[i] > 0) {
            int j = i - 2;
            while (bits[j] == 0)
                j--;
            bits[i] -= 2;
            bits[i - 1]++;
            bits[j + 1] += 2;
            bits[j]--;
        }
    int i = 16;
    while (bits[i] == 0)
        i--;
    bits[i]--; /* drop the reserved symbol's code */
    for (int n = 0; n <= 16; n++)
        h->bits[n] = (uint8_t)bits[n];
    h->nval = 0;
    for (int len = 1; len < 64; len++)
        for (int s = 0; s < 256; s++)
            if (codesize[s] == len)
                h->huffval[h->nval++] = (uint8_t)s;
    unsigned code = 0;
    int k = 0;
    for (int len = 1; len <= 16; len++) {
        for (int n = 0; n < h->bits[len]; n++, k++) {
            h->code[h->huffval[k]] = (uint16_t)code++;
            h->size[h->huffval[k]] = (uint8_t)len;
        }
        code <<= 1;
    }
}

/* ---- file --------------------------------------------------------------- */

static void write_headers(Out *o, const G2cImage *img, const Tables *t, Huff h[4])
{
    static const uint8_t jfif[] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
    put_u16(o, 0xFFD8);
    put_u16(o, 0xFFE0);
    put_u16(o, 2 + sizeof jfif);
    for (size_t i = 0; i < sizeof jfif; i++)
        put_byte(o, jfif[i]);
    put_u16(o, 0xFFDB);
    put_u16(o, 2 + 2 * 65);
    for (int q = 0; q < 2; q++) {
        put_byte(o, (uint8_t)q);
        for (int k = 0; k < 64; k++)
            put_byte(o, t->q[q][t->zigzag[k]]);
    }
    put_u16(o, 0xFFC0); /* baseline, 3 components, Y sampled 2x2 */
    put_u16(o, 17);
    put_byte(o, 8);
    put_u16(o, (unsigned)img->height);
    put_u16(o, (unsigned)img->width);
    put_byte(o, 3);
    static const uint8_t comps[3][3] = {{1, 0x22, 0}, {2, 0x11, 1}, {3, 0x11, 1}};
    for (int c = 0; c < 3; c++)
        for (int k = 0; k < 3; k++)
            put_byte(o, comps[c][k]);
    static const uint8_t classes[4] = {0x00, 0x10, 0x01, 0x11}; /* DC0 AC0 DC1 AC1 */
    for (int i = 0; i < 4; i++) {
        put_u16(o, 0xFFC4);
        put_u16(o, (unsigned)(2 + 1 + 16 + h[i].nval));
        put_byte(o, classes[i]);
        for (int n = 1; n <= 16; n++)
            put_byte(o, h[i].bits[n]);
        for (int n = 0; n < h[i].nval; n++)
            put_byte(o, h[i].huffval[n]);
    }
    put_u16(o, 0xFFDA);
    put_u16(o, 12);
    put_byte(o, 3);
    static const uint8_t scan[3][2] = {{1, 0x00}, {2, 0x11}, {3, 0x11}};
    for (int c = 0; c < 3; c++)
        put_byte(o, scan[c][0]), put_byte(o, scan[c][1]);
    put_byte(o, 0);
    put_byte(o, 63);
    put_byte(o, 0);
}

/* Count (emit = 0) or write (emit = 1) every MCU's symbols. */
static void code_image(const int16_t (*blocks)[64], int mcus, Huff h[4], Out *o, int emit)
{
    int dc[3] = {0, 0, 0};
    for (int m = 0; m < mcus; m++)
        for (int b = 0; b < 6; b++) {
            int comp = b < 4 ? 0 : b - 3;
            Huff *hdc = &h[comp ? 2 : 0], *hac = &h[comp ? 3 : 1];
            code_block(blocks[(size_t)m * 6 + b], &dc[comp], hdc, hac, o, emit);
        }
}

int g2c_rep_jpeg_encode(const G2cImage *img, int quality, uint8_t **jpeg, size_t *size)
{
    *jpeg = NULL;
    *size = 0;
    if (img->width < 1 || img->height < 1 || img->width > 65535 || img->height > 65535)
        return g2c_error("JPEG: cannot encode a %dx%d image", img->width, img->height);
    quality = quality < 1 ? 1 : quality > 100 ? 100 : quality;
    Tables t;
    make_tables(&t, quality);
    int mw = (img->width + 15) / 16, mh = (img->height + 15) / 16;
    int16_t (*blocks)[64] = malloc((size_t)mw * mh * 6 * sizeof *blocks);
    Huff *h = calloc(4, sizeof *h);
    if (!blocks || !h) {
        free(blocks);
        free(h);
        return g2c_error("JPEG: out of memory");
    }
    for (int my = 0; my < mh; my++)
        for (int mx = 0; mx < mw; mx++)
            mcu_blocks(img, &t, mx, my, &blocks[((size_t)my * mw + mx) * 6]);
    Out o = {0};
    code_image((const int16_t (*)[64])blocks, mw * mh, h, &o, 0);
    for (int i = 0; i < 4; i++)
        build_huff(&h[i]);
    write_headers(&o, img, &t, h);
    code_image((const int16_t (*)[64])blocks, mw * mh, h, &o, 1);
    flush_bits(&o);
    put_u16(&o, 0xFFD9);
    free(blocks);
    free(h);
    if (o.oom) {
        free(o.data);
        return g2c_error("JPEG: out of memory");
    }
    *jpeg = o.data;
    *size = o.size;
    return 0;
}
