/* The low-level safetensors reader on hand-made good and bad files: every
 * corruption is refused at open with a message naming the file and, where
 * there is one, the tensor. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

static char path[4096];

/* Writes the 8-byte length (header_len, or the real one when 0), the header
 * and data. */
static void write_raw(const char *header, uint64_t header_len,
                      const void *data, size_t data_len)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    uint64_t n = header_len ? header_len : strlen(header);
    unsigned char len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (unsigned char)(n >> (8 * i));
    fwrite(len8, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    if (data_len)
        fwrite(data, 1, data_len, f);
    fclose(f);
}

/* Opening must fail with a message containing the file and each of the
 * given fragments. */
static void expect_bad(int line, const char *header, uint64_t header_len,
                       size_t data_len, const char *frag1, const char *frag2)
{
    static unsigned char zeros[4096];
    write_raw(header, header_len, zeros, data_len);
    g2c_error_clear();
    G2cSafetensors *st = g2c_safetensors_open(path);
    const char *msg = g2c_error_message();
    int ok = st == NULL && strstr(msg, path) != NULL &&
             (!frag1 || strstr(msg, frag1)) && (!frag2 || strstr(msg, frag2));
    if (!ok) {
        fprintf(stderr, "line %d: expected an error with \"%s\" and \"%s\", "
                        "got %s: \"%s\"\n",
                line, frag1 ? frag1 : "", frag2 ? frag2 : "",
                st ? "success" : "failure", msg);
        g2c_test_failures++;
    }
    g2c_safetensors_close(st);
}

#define BAD(header, data_len, f1, f2) expect_bad(__LINE__, header, 0, data_len, f1, f2)

static void test_good_file(void)
{
    /* a: F32 [2,3]; pad: U8 [3]; b: F32 [2] at the misaligned offset 27;
     * s: F32 scalar; n: I64 [1]; e: F32 [0]. */
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\",\"epoch\":\"12\"},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
        "\"pad\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[24,27]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[27,35]},"
        "\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[35,39]},"
        "\"n\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[39,47]},"
        "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[47,47]},"
        "\"big\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],"
        "\"data_offsets\":[47,51]}}   ";
    unsigned char data[51] = {0};
    float a[6] = {1, 2, 3, 4, 5, -6.5f}, b[2] = {0.25f, 1e30f}, s = 7;
    memcpy(data, a, 24);
    memcpy(data + 27, b, 8);
    memcpy(data + 35, &s, 4);
    int64_t n = 12345;
    memcpy(data + 39, &n, 8);
    write_raw(header, 0, data, sizeof data);

    G2cSafetensors *st = g2c_safetensors_open(path);
    CHECK(st != NULL);
    if (!st) {
        fprintf(stderr, "%s\n", g2c_error_message());
        return;
    }
    int ndim = -1;
    int64_t shape[G2C_MAX_DIMS] = {0};
    const float *v = g2c_safetensors_get(st, "a", &ndim, shape);
    CHECK(v && ndim == 2 && shape[0] == 2 && shape[1] == 3);
    CHECK(v && memcmp(v, a, sizeof a) == 0);
    v = g2c_safetensors_get(st, "b", &ndim, shape);
    CHECK(v && ndim == 1 && shape[0] == 2);
    CHECK(v && ((uintptr_t)v & 3) == 0 && v[0] == 0.25f && v[1] == 1e30f);
    CHECK(g2c_safetensors_get(st, "b", NULL, NULL) == v); /* one copy */
    v = g2c_safetensors_get(st, "s", &ndim, shape);
    CHECK(v && ndim == 0 && v[0] == 7.0f);
    v = g2c_safetensors_get(st, "e", &ndim, shape);
    CHECK(v && ndim == 1 && shape[0] == 0);

    CHECK(g2c_safetensors_get(st, "nope", NULL, NULL) == NULL);
    CHECK(strstr(g2c_error_message(), "tensor nope: not in the file"));
    CHECK(strstr(g2c_error_message(), path));
    CHECK(g2c_safetensors_get(st, "n", NULL, NULL) == NULL);
    CHECK(strstr(g2c_error_message(), "tensor n: dtype I64, expected F32"));
    CHECK(g2c_safetensors_get(st, "big", &ndim, shape) == NULL);
    CHECK(strstr(g2c_error_message(), "tensor big: 5 dimensions"));

    CHECK(g2c_safetensors_meta(st, "epoch") &&
          strcmp(g2c_safetensors_meta(st, "epoch"), "12") == 0);
    CHECK(g2c_safetensors_meta(st, "format") &&
          strcmp(g2c_safetensors_meta(st, "format"), "pt") == 0);
    CHECK(g2c_safetensors_meta(st, "a") == NULL);
    CHECK(g2c_safetensors_meta(st, "nope") == NULL);
    g2c_safetensors_close(st);

    /* No tensors, no metadata: valid. */
    write_raw("{}      ", 0, NULL, 0);
    st = g2c_safetensors_open(path);
    CHECK(st != NULL);
    if (st)
        CHECK(g2c_safetensors_meta(st, "format") == NULL);
    g2c_safetensors_close(st);
    g2c_safetensors_close(NULL);
}

static void test_bad_files(void)
{
    g2c_error_clear();
    CHECK(g2c_safetensors_open("/nonexistent/x.safetensors") == NULL);
    CHECK(strstr(g2c_error_message(), "/nonexistent/x.safetensors: cannot open"));
    CHECK(g2c_safetensors_open(g2c_test_tmpdir()) == NULL);
    CHECK(strstr(g2c_error_message(), "not a regular file"));

    /* Too short, absurd or overlong header length. */
    FILE *f = fopen(path, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    CHECK(g2c_safetensors_open(path) == NULL);
    CHECK(strstr(g2c_error_message(), "too short"));
    expect_bad(__LINE__, "{}", 1ull << 40, 0, "not plausible", NULL);
    expect_bad(__LINE__, "{}", 64, 0, "exceeds", "truncated");

    /* JSON problems. */
    BAD("{\"w\":", 0, "bad JSON header", NULL);
    BAD("[1,2]", 0, "not an object", NULL);
    BAD("{\"w\":1,\"w\":2}", 0, "bad JSON header", "duplicate");
    BAD("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor w:",
        "dtype");
    BAD("{\"w\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "tensor w:", "unknown dtype \"F33\"");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8,
        "tensor w:", "shape");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8,
        "tensor w:", "shape[0]");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
        "\"data_offsets\":[0,4]}}",
        4, "tensor w:", "9 dimensions");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8,
        "tensor w:", "data_offsets");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
        "tensor w:", "reversed");
    BAD("{\"__metadata__\":{\"epoch\":12}}", 0, "__metadata__", "epoch");
    BAD("{\"__metadata__\":[]}", 0, "__metadata__", NULL);

    /* Offsets against the data section. */
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 5,
        "tensor w:", "truncated");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}", 12,
        "tensor w:", "needs 8");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12, "tensor x:", "overlap");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
        "tensor w:", "gap");
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 9,
        "9 bytes", "cover 8");
    BAD("{}", 4, "4 data bytes but no tensors", NULL);
    BAD("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
        "\"data_offsets\":[0,8]}}",
        8, "tensor w:", "too large");
}

int main(void)
{
    snprintf(path, sizeof path, "%s/t.safetensors", g2c_test_tmpdir());
    test_good_file();
    test_bad_files();
    remove(path);
    rmdir(g2c_test_tmpdir());
    return g2c_test_finish("safetensors");
}
