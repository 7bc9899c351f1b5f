/* Checkpoints: bit-exact round trips with optimizer state, resuming equals
 * not stopping, crash safety of the save, and clear errors that leave the
 * parameters untouched. */
#include "g2c/error.h"
#include "g2c/nn.h"
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[4096];

static const char *tmp_path(const char *name)
{
    static char buf[4][4200];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* A small model with a conv, an affine norm, batch-norm buffers and a
 * scalar buffer, named as in a PyTorch state_dict. */
static void build(G2cParams *p, int64_t conv_k)
{
    g2c_params_init(p);
    int64_t conv[4] = {4, 3, conv_k, conv_k}, c4[1] = {4}, fc[2] = {2, 4};
    g2c_params_add(p, "model.1.weight", 4, conv, 1);
    g2c_params_add(p, "model.1.bias", 1, c4, 1);
    g2c_params_add(p, "model.2.weight", 1, c4, 1);
    g2c_params_add(p, "model.2.bias", 1, c4, 1);
    g2c_params_add(p, "model.2.running_mean", 1, c4, 0);
    g2c_params_add(p, "model.2.running_var", 1, c4, 0);
    g2c_params_add(p, "model.2.num_batches_tracked", 0, NULL, 0);
    g2c_params_add(p, "model.5.weight", 2, fc, 1);
    CHECK_OK(g2c_params_finalize(p));
    G2cRng rng;
    g2c_rng_seed(&rng, 5);
    for (int i = 0; i < p->count; i++)
        g2c_init_normal(g2c_params_value(p, i), p->tensors[i].numel, 0.0f,
                        1.0f, &rng);
}

static void train(G2cParams *p, G2cOptimizer *o, int from, int to)
{
    for (int s = from; s < to; s++) {
        G2cRng rng;
        g2c_rng_seed(&rng, 77 + (uint64_t)s);
        g2c_params_zero_grad(p);
        for (int i = 0; i < p->count; i++) {
            float *g = g2c_params_gradient(p, i);
            if (g)
                g2c_init_normal(g, p->tensors[i].numel, 0.0f, 1.0f, &rng);
        }
        /* Buffers change too, as batch norm's running stats would. */
        g2c_params_value(p, 4)[s % 4] += 0.5f;
        g2c_params_value(p, 6)[0] += 1.0f;
        g2c_optim_step(o, g2c_lr_linear_decay(2e-3f, s, 3, 4));
    }
}

static G2cOptConfig config(G2cOptKind kind)
{
    G2cOptConfig c = {.kind = kind, .momentum = 0.9f, .weight_decay = 1e-4f,
                      .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f};
    return c;
}

static int same(const float *a, const float *b, size_t n)
{
    if (!a || !b)
        return a == b;
    return memcmp(a, b, n * sizeof *a) == 0;
}

/* Tensor by tensor: the padding between tensors belongs to none. */
static int same_values(const G2cParams *p1, const float *a,
                       const G2cParams *p2, const float *b)
{
    if (!a || !b)
        return a == b;
    if (p1->count != p2->count)
        return 0;
    for (int i = 0; i < p1->count; i++) {
        const G2cTensorInfo *t1 = &p1->tensors[i], *t2 = &p2->tensors[i];
        if (t1->numel != t2->numel ||
            !same(a + t1->offset, b + t2->offset, t1->numel))
            return 0;
    }
    return 1;
}

static int same_state(const G2cParams *p1, const G2cOptimizer *o1,
                      const G2cParams *p2, const G2cOptimizer *o2)
{
    return same_values(p1, p1->data, p2, p2->data) &&
           same_values(p1, o1->m, p2, o2->m) &&
           same_values(p1, o1->v, p2, o2->v) && o1->step == o2->step;
}

/* Save at step 3, load into fresh objects, continue: identical to a run that
 * never stopped. */
static void test_resume(G2cOptKind kind)
{
    const char *path = tmp_path("resume.safetensors");
    G2cParams a, b, c;
    G2cOptimizer oa, ob, oc;
    build(&a, 3);
    CHECK_OK(g2c_optim_init(&oa, &a, config(kind)));
    train(&a, &oa, 0, 3);
    const char *keys[] = {"epoch", "stain"}, *values[] = {"3", "PAS"};
    CHECK_OK(g2c_checkpoint_save(path, &a, &oa, 2, keys, values));

    build(&b, 3);
    g2c_init_normal(b.data, b.total, 0.0f, 1.0f, &(G2cRng){{1, 2, 3, 4}});
    CHECK_OK(g2c_optim_init(&ob, &b, config(kind)));
    CHECK_OK(g2c_checkpoint_load(path, &b, &ob, 1));
    CHECK(same_state(&a, &oa, &b, &ob));
    CHECK(ob.step == 3);

    G2cSafetensors *st = g2c_safetensors_open(path);
    CHECK(st != NULL);
    if (st) {
        CHECK(strcmp(g2c_safetensors_meta(st, "epoch"), "3") == 0);
        CHECK(strcmp(g2c_safetensors_meta(st, "stain"), "PAS") == 0);
        CHECK(strcmp(g2c_safetensors_meta(st, "format"), "pt") == 0);
        CHECK(strcmp(g2c_safetensors_meta(st, "optim.step"), "3") == 0);
        CHECK(strcmp(g2c_safetensors_meta(st, "optim.kind"),
                     kind == G2C_OPT_ADAM ? "adam" : "sgd") == 0);
        int ndim;
        int64_t shape[4];
        const float *m = g2c_safetensors_get(st, "optim.m.model.1.weight",
                                             &ndim, shape);
        CHECK(m && ndim == 4 && shape[3] == 3);
        CHECK(m && same(m, oa.m + a.tensors[0].offset, 108));
        /* Buffers have no optimizer state. */
        CHECK(!g2c_safetensors_get(st, "optim.m.model.2.running_mean", 0, 0));
        CHECK((g2c_safetensors_get(st, "optim.v.model.1.bias", 0, 0) != NULL) ==
              (kind == G2C_OPT_ADAM));
        g2c_safetensors_close(st);
    }

    build(&c, 3);
    CHECK_OK(g2c_optim_init(&oc, &c, config(kind)));
    train(&c, &oc, 0, 7);
    train(&b, &ob, 3, 7);
    CHECK(same_state(&b, &ob, &c, &oc));

    /* Saving is deterministic: the same state gives the same bytes. */
    const char *p1 = tmp_path("det1.safetensors"), *p2 = tmp_path("det2.safetensors");
    CHECK_OK(g2c_checkpoint_save(p1, &b, &ob, 0, NULL, NULL));
    CHECK_OK(g2c_checkpoint_save(p2, &c, &oc, 0, NULL, NULL));
    CHECK(g2c_test_system("cmp -s '%s' '%s'", p1, p2) == 0);
    remove(p1);
    remove(p2);

    /* Without an optimizer only the parameters are written and read. */
    CHECK_OK(g2c_checkpoint_save(path, &c, NULL, 0, NULL, NULL));
    st = g2c_safetensors_open(path);
    CHECK(st && !g2c_safetensors_meta(st, "optim.step"));
    CHECK(st && !g2c_safetensors_get(st, "optim.m.model.1.weight", 0, 0));
    g2c_safetensors_close(st);
    CHECK_OK(g2c_checkpoint_load(path, &a, NULL, 1));
    CHECK(same_values(&a, a.data, &c, c.data));

    g2c_optim_free(&oa);
    g2c_optim_free(&ob);
    g2c_optim_free(&oc);
    g2c_params_free(&a);
    g2c_params_free(&b);
    g2c_params_free(&c);
    remove(path);
}

/* ---- failures leave everything as it was ----------------------------- */

typedef struct {
    float *data, *m, *v;
    int64_t step;
    size_t n;
} Snapshot;

static Snapshot snap(const G2cParams *p, const G2cOptimizer *o)
{
    Snapshot s = {0};
    s.n = p->total;
    s.data = malloc(s.n * sizeof(float));
    memcpy(s.data, p->data, s.n * sizeof(float));
    if (o && o->m) {
        s.m = malloc(s.n * sizeof(float));
        memcpy(s.m, o->m, s.n * sizeof(float));
    }
    if (o && o->v) {
        s.v = malloc(s.n * sizeof(float));
        memcpy(s.v, o->v, s.n * sizeof(float));
    }
    s.step = o ? o->step : 0;
    return s;
}

static int unchanged(const Snapshot *s, const G2cParams *p,
                     const G2cOptimizer *o)
{
    int ok = same(s->data, p->data, s->n);
    if (o)
        ok = ok && same(s->m, o->m, s->n) && same(s->v, o->v, s->n) &&
             s->step == o->step;
    return ok;
}

static void drop(Snapshot *s)
{
    free(s->data);
    free(s->m);
    free(s->v);
}

/* Loading `path` must fail, name the file and contain `frag`, and change
 * nothing. */
static void expect_load_error(int line, const char *path, G2cParams *p,
                              G2cOptimizer *o, int strict, const char *frag)
{
    Snapshot s = snap(p, o);
    g2c_error_clear();
    int rc = g2c_checkpoint_load(path, p, o, strict);
    const char *msg = g2c_error_message();
    int ok = rc == -1 && strncmp(msg, path, strlen(path)) == 0 &&
             strstr(msg, frag) != NULL;
    if (!ok) {
        fprintf(stderr, "line %d: expected an error naming %s with \"%s\", "
                        "got rc %d: \"%s\"\n",
                line, path, frag, rc, msg);
        g2c_test_failures++;
    }
    if (!unchanged(&s, p, o)) {
        fprintf(stderr, "line %d: a failed load changed the model\n", line);
        g2c_test_failures++;
    }
    drop(&s);
}

#define LOAD_ERROR(path, p, o, strict, frag) \
    expect_load_error(__LINE__, path, p, o, strict, frag)

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void copy_prefix(const char *from, const char *to, long n)
{
    CHECK(g2c_test_system("head -c %ld '%s' > '%s'", n, from, to) == 0);
}

static void test_load_errors(void)
{
    const char *good = tmp_path("good.safetensors");
    const char *bad = tmp_path("bad.safetensors");
    G2cParams src, p;
    G2cOptimizer osrc, o;
    build(&src, 3);
    CHECK_OK(g2c_optim_init(&osrc, &src, config(G2C_OPT_ADAM)));
    train(&src, &osrc, 0, 2);
    CHECK_OK(g2c_checkpoint_save(good, &src, &osrc, 0, NULL, NULL));

    build(&p, 3);
    g2c_init_normal(p.data, p.total, 3.0f, 1.0f, &(G2cRng){{9, 8, 7, 6}});
    CHECK_OK(g2c_optim_init(&o, &p, config(G2C_OPT_ADAM)));
    train(&p, &o, 0, 1);

    /* Truncated anywhere: in the length, the header, the data. */
    long size = file_size(good);
    long cuts[] = {0, 5, 40, size / 2, size - 4, size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        copy_prefix(good, bad, cuts[i]);
        LOAD_ERROR(bad, &p, &o, 1, cuts[i] < 8 ? "too short" : "truncated");
    }

    /* A damaged header. */
    copy_prefix(good, bad, size);
    CHECK(g2c_test_system("printf '#' | dd of='%s' bs=1 seek=8 conv=notrunc "
                          "2>/dev/null",
                          bad) == 0);
    LOAD_ERROR(bad, &p, &o, 1, "bad JSON header");
    LOAD_ERROR(tmp_path("absent.safetensors"), &p, &o, 0, "cannot open");

    /* Wrong shape: model.1.weight is [4,3,3,3] in the file. */
    G2cParams k7;
    build(&k7, 7);
    LOAD_ERROR(good, &k7, NULL, 1,
               "tensor model.1.weight: shape [4,3,3,3] expected [4,3,7,7]");
    LOAD_ERROR(good, &k7, NULL, 0, "tensor model.1.weight: shape [4,3,3,3]");
    g2c_params_free(&k7);

    /* Missing tensor: an error when strict, left alone otherwise. */
    G2cParams more;
    g2c_params_init(&more);
    int64_t c4[1] = {4}, extra[2] = {5, 5};
    int64_t conv[4] = {4, 3, 3, 3};
    g2c_params_add(&more, "model.1.weight", 4, conv, 1);
    g2c_params_add(&more, "model.1.bias", 1, c4, 1);
    g2c_params_add(&more, "model.9.weight", 2, extra, 1);
    CHECK_OK(g2c_params_finalize(&more));
    LOAD_ERROR(good, &more, NULL, 1, "tensor model.9.weight: missing");
    g2c_params_value(&more, 2)[24] = 42.0f;
    CHECK_OK(g2c_checkpoint_load(good, &more, NULL, 0));
    CHECK(g2c_params_value(&more, 2)[24] == 42.0f);
    CHECK(same(g2c_params_value(&more, 0), g2c_params_value(&src, 0), 108));
    /* The file's other tensors are unexpected for a strict load. */
    G2cParams fewer;
    g2c_params_init(&fewer);
    g2c_params_add(&fewer, "model.1.weight", 4, conv, 1);
    CHECK_OK(g2c_params_finalize(&fewer));
    LOAD_ERROR(good, &fewer, NULL, 1, "tensor model.1.bias: unexpected");
    CHECK_OK(g2c_checkpoint_load(good, &fewer, NULL, 0));
    CHECK(same(g2c_params_value(&fewer, 0), g2c_params_value(&src, 0), 108));
    g2c_params_free(&fewer);

    /* Optimizer state: kind, presence. */
    G2cOptimizer sgd;
    CHECK_OK(g2c_optim_init(&sgd, &p, config(G2C_OPT_SGD)));
    LOAD_ERROR(good, &p, &sgd, 1, "optim.kind: \"adam\", expected \"sgd\"");
    g2c_optim_free(&sgd);
    CHECK_OK(g2c_checkpoint_save(bad, &src, NULL, 0, NULL, NULL));
    LOAD_ERROR(bad, &p, &o, 1, "no optimizer state");
    Snapshot s = snap(&p, &o);
    CHECK_OK(g2c_checkpoint_load(bad, &p, &o, 0)); /* params only */
    CHECK(same_values(&p, p.data, &src, src.data));
    CHECK(same(o.m, s.m, p.total) && o.step == s.step);
    drop(&s);

    g2c_params_free(&more);

    /* Optimizer state missing: the file's tensor was a buffer. */
    G2cParams buf, trainable;
    G2cOptimizer obuf, otrain;
    g2c_params_init(&buf);
    g2c_params_init(&trainable);
    g2c_params_add(&buf, "a", 1, c4, 0);
    g2c_params_add(&trainable, "a", 1, c4, 1);
    CHECK_OK(g2c_params_finalize(&buf));
    CHECK_OK(g2c_params_finalize(&trainable));
    CHECK_OK(g2c_optim_init(&obuf, &buf, config(G2C_OPT_SGD)));
    CHECK_OK(g2c_optim_init(&otrain, &trainable, config(G2C_OPT_SGD)));
    g2c_params_value(&buf, 0)[1] = 5.0f;
    CHECK_OK(g2c_checkpoint_save(bad, &buf, &obuf, 0, NULL, NULL));
    LOAD_ERROR(bad, &trainable, &otrain, 1, "tensor optim.m.a: missing");
    CHECK_OK(g2c_checkpoint_load(bad, &trainable, &otrain, 0));
    CHECK(g2c_params_value(&trainable, 0)[1] == 5.0f);
    g2c_optim_free(&obuf);
    g2c_optim_free(&otrain);
    g2c_params_free(&buf);
    g2c_params_free(&trainable);

    /* A foreign dtype. */
    FILE *f = fopen(bad, "wb");
    const char *h = "{\"model.1.bias\":{\"dtype\":\"F16\",\"shape\":[4],"
                    "\"data_offsets\":[0,8]}}";
    unsigned char len8[8] = {(unsigned char)strlen(h)};
    fwrite(len8, 1, 8, f);
    fwrite(h, 1, strlen(h), f);
    fwrite("\0\0\0\0\0\0\0\0", 1, 8, f);
    fclose(f);
    LOAD_ERROR(bad, &p, NULL, 0, "tensor model.1.bias: dtype F16, expected F32");

    /* Misuse. */
    G2cParams q;
    build(&q, 3);
    LOAD_ERROR(good, &q, &o, 1, "belongs to other parameters");
    g2c_params_free(&q);

    g2c_optim_free(&o);
    g2c_optim_free(&osrc);
    g2c_params_free(&p);
    g2c_params_free(&src);
    remove(good);
    remove(bad);
}

/* BatchNorm's num_batches_tracked is int64 in PyTorch and in files written
 * by safetensors.torch.save_file; it loads as a float. */
static void test_int64_buffer(void)
{
    const char *path = tmp_path("i64.safetensors");
    FILE *f = fopen(path, "wb");
    const char *h = "{\"model.2.num_batches_tracked\":{\"dtype\":\"I64\","
                    "\"shape\":[],\"data_offsets\":[0,8]}}";
    unsigned char len8[8] = {(unsigned char)strlen(h)};
    int64_t v = 123456;
    fwrite(len8, 1, 8, f);
    fwrite(h, 1, strlen(h), f);
    fwrite(&v, 1, 8, f);
    fclose(f);
    G2cParams p;
    build(&p, 3);
    CHECK_OK(g2c_checkpoint_load(path, &p, NULL, 0));
    CHECK(g2c_params_value(&p, 6)[0] == 123456.0f);
    g2c_params_free(&p);
    remove(path);
}

static int count_files(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static void test_save_errors(void)
{
    const char *path = tmp_path("keep.safetensors");
    G2cParams p;
    G2cOptimizer o;
    build(&p, 3);
    CHECK_OK(g2c_optim_init(&o, &p, config(G2C_OPT_SGD)));
    CHECK_OK(g2c_checkpoint_save(path, &p, &o, 0, NULL, NULL));
    long before = file_size(path);
    CHECK(count_files() == 1); /* no temporary file left behind */

    const char *keys[] = {"epoch", "optim.step"}, *values[] = {"1", "9"};
    g2c_error_clear();
    CHECK(g2c_checkpoint_save(path, &p, &o, 2, keys, values) == -1);
    CHECK(strstr(g2c_error_message(), path) &&
          strstr(g2c_error_message(), "metadata key optim.step is reserved"));
    const char *dup[] = {"epoch", "epoch"};
    CHECK(g2c_checkpoint_save(path, &p, &o, 2, dup, values) == -1);
    CHECK(strstr(g2c_error_message(), "given twice"));
    const char *bad_utf8[] = {"note"}, *bad_value[] = {"\xff\xfe"};
    CHECK(g2c_checkpoint_save(path, &p, &o, 1, bad_utf8, bad_value) == -1);
    CHECK(strstr(g2c_error_message(), "metadata note"));
    CHECK(file_size(path) == before && count_files() == 1);

    char nowhere[4300];
    snprintf(nowhere, sizeof nowhere, "%s/no/such/dir/x.safetensors", dir);
    CHECK(g2c_checkpoint_save(nowhere, &p, NULL, 0, NULL, NULL) == -1);
    CHECK(strstr(g2c_error_message(), nowhere) &&
          strstr(g2c_error_message(), "temporary file"));

    G2cParams r;
    g2c_params_init(&r);
    int64_t s1[1] = {1};
    g2c_params_add(&r, "optim.lr", 1, s1, 1);
    CHECK_OK(g2c_params_finalize(&r));
    CHECK(g2c_checkpoint_save(path, &r, NULL, 0, NULL, NULL) == -1);
    CHECK(strstr(g2c_error_message(), "tensor optim.lr") &&
          strstr(g2c_error_message(), "reserved"));
    g2c_params_free(&r);

    g2c_optim_free(&o);
    g2c_params_free(&p);
    remove(path);
}

/* Killing a save at any moment leaves the previous checkpoint or the new
 * one, complete. */
static void test_crash_during_save(void)
{
    const char *path = tmp_path("crash.safetensors");
    G2cParams p;
    g2c_params_init(&p);
    int64_t big[1] = {2 * 1024 * 1024};
    g2c_params_add(&p, "w", 1, big, 1);
    CHECK_OK(g2c_params_finalize(&p));
    for (size_t i = 0; i < p.total; i++)
        p.data[i] = 1.0f;
    CHECK_OK(g2c_checkpoint_save(path, &p, NULL, 0, NULL, NULL));

    const long delays_us[] = {0, 1000, 3000, 6000, 10000, 20000};
    for (size_t k = 0; k < sizeof delays_us / sizeof delays_us[0]; k++) {
        pid_t child = fork();
        if (child == 0) {
            for (size_t i = 0; i < p.total; i++)
                p.data[i] = 2.0f + (float)k;
            _exit(g2c_checkpoint_save(path, &p, NULL, 0, NULL, NULL) ? 1 : 0);
        }
        struct timespec ts = {0, delays_us[k] * 1000};
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        G2cSafetensors *st = g2c_safetensors_open(path);
        CHECK(st != NULL);
        const float *w = st ? g2c_safetensors_get(st, "w", NULL, NULL) : NULL;
        CHECK(w != NULL);
        if (w) {
            float v = w[0];
            int consistent = 1;
            for (size_t i = 0; i < p.total; i++)
                consistent &= w[i] == v;
            CHECK(consistent);
            CHECK(v == 1.0f || (v >= 2.0f && v <= 2.0f + (float)k));
        }
        g2c_safetensors_close(st);
    }
    /* Killed saves may leave their temporary file; never the target. */
    g2c_test_system("rm -f '%s'.tmp-*", path);
    g2c_params_free(&p);
    remove(path);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s", g2c_test_tmpdir());
    test_resume(G2C_OPT_ADAM);
    test_resume(G2C_OPT_SGD);
    test_load_errors();
    test_int64_buffer();
    test_save_errors();
    test_crash_during_save();
    g2c_test_system("rm -rf '%s'", dir);
    return g2c_test_finish("checkpoint");
}
