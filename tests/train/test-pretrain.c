/* g2c pretrain through the command line, tiny preset: a run writes every
 * file and catalog row; G.safetensors holds the generator under PyTorch's
 * own names (loaded strictly by PyTorch where it is installed); bad input
 * is refused with a message naming the culprit and leaves the catalog as it
 * was; a finished model is not retrained; --restart retrains with a new
 * configuration. */
#include "ingest/slides.h"
#include "test-pretrain-fixture.h"
#include "testutil.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/image.h"
#include "g2c/nn.h"
#include "g2c/pretrain.h"

#include <stdlib.h>
#include <string.h>

static void check_png(const char *path, int min_w, int min_h)
{
    G2cImage img;
    if (g2c_png_read(path, &img) != 0) {
        fprintf(stderr, "%s: %s\n", path, g2c_error_message());
        g2c_test_failures++;
        return;
    }
    CHECK(img.width >= min_w && img.height >= min_h);
    g2c_image_free(&img);
}

static void check_files(void)
{
    const char *m = "models/PAS2HE";
    const char *files[] = {"latest-gen.safetensors", "latest-disc.safetensors",
                           "G.safetensors", "losses.csv", "losses.png",
                           "samples-epoch-001.png", "samples-epoch-002.png", "held-out.png"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!pf_exists(pf_path("%s/%s", m, files[i]))) {
            fprintf(stderr, "missing %s/%s\n", m, files[i]);
            g2c_test_failures++;
        }
    CHECK(!pf_exists(pf_path("%s/samples-epoch-003.png", m)));
    /* 4 held-out crops, 3 columns, each 32 px drawn 4x */
    check_png(pf_path("%s/samples-epoch-002.png", m), 3 * 128, 4 * 128);
    check_png(pf_path("%s/losses.png", m), 400, 200);
    char *csv = test_read_text(pf_path("%s/losses.csv", m));
    CHECK(strncmp(csv, "epoch,lr,G_A,G_B,cycle_A,cycle_B,idt_A,idt_B,G,D_A,D_B,", 55) == 0);
    CHECK(strstr(csv, "\n1,0.000199") != NULL && strstr(csv, "\n2,9.99") != NULL);
    free(csv);
}

/* G.safetensors: exactly ResnetGenerator's tensors, no prefix. */
static void check_generator_file(void)
{
    const char *path = pf_path("models/PAS2HE/G.safetensors");
    G2cResnetGenConfig cfg = {3, 3, 8, 2};
    G2cGenerator g;
    CHECK_OK(g2c_generator_open(path, &cfg, &g));
    CHECK(g2c_params_find(&g.params, "model.1.weight") >= 0);
    g2c_generator_free(&g);
    G2cSafetensors *st = g2c_safetensors_open(path);
    CHECK(st != NULL);
    if (st) {
        CHECK(g2c_safetensors_get(st, "G_A.model.1.weight", NULL, NULL) == NULL);
        CHECK(g2c_safetensors_get(st, "optim.m.model.1.weight", NULL, NULL) == NULL);
        const char *ngf = g2c_safetensors_meta(st, "ngf");
        CHECK(ngf && strcmp(ngf, "8") == 0);
        g2c_safetensors_close(st);
    }
    if (!pf_have_torch()) {
        fprintf(stderr, "note: no /usr/bin/python3 with torch; the PyTorch load of "
                        "G.safetensors was skipped\n");
        return;
    }
    int rc = g2c_test_system(
        "cd '%s' && /usr/bin/python3 -c \"import sys; sys.path.insert(0, 'tools/torchref'); "
        "import cyclegan, stio; s, m = stio.load('%s'); "
        "g = cyclegan.resnet_generator(3, 3, int(m['ngf']), int(m['n_blocks'])); "
        "g.load_state_dict(s, strict=True); print('ok')\" >%s/torch.out 2>&1",
        g2c_test_source_path(""), path, pf_dir());
    CHECK(rc == 0);
    pf_expect("torch", "out", "ok");
}

static void check_catalog(void)
{
    CHECK(pf_scalar("SELECT count(*) FROM models WHERE name = 'PAS2HE' AND kind = 'cyclegan' "
                    "AND json_extract(config, '$.preset') = 'tiny' "
                    "AND json_extract(config, '$.size') = 32 "
                    "AND json_extract(config, '$.source_refsets[0].name') = 'pas-a' "
                    "AND checkpoint LIKE '%/models/PAS2HE/G.safetensors'") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM model_refsets mr JOIN refsets r ON r.id = mr.refset_id "
                    "WHERE (r.name = 'pas-a' AND mr.role = 'source') "
                    "OR (r.name = 'he-a' AND mr.role = 'target')") == 2);
    CHECK(pf_scalar("SELECT count(*) FROM runs WHERE kind = 'pretrain' AND status = 'done' "
                    "AND finished_at IS NOT NULL "
                    "AND json_extract(metrics, '$.quality.two_sample_accuracy') BETWEEN 0 AND 1 "
                    "AND json_extract(metrics, '$.quality.lab_distance_source') > 0 "
                    "AND json_extract(metrics, '$.epochs_done') = 2") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs WHERE json_extract(metrics, '$.G_A') > 0 "
                    "AND json_extract(metrics, '$.D_B') > 0") == 2);
}

static void full_run(void)
{
    CHECK(pf_g2c("full", "pretrain --source PAS --target H\\&E --preset tiny") == 0);
    pf_expect("full", "out", "epoch 2/2");
    pf_expect("full", "out", "two-sample test, generated vs real HE");
    pf_expect("full", "out", "CIELAB colour distance to real HE");
    check_files();
    check_generator_file();
    check_catalog();
    /* Done is done: the same command again trains nothing. */
    CHECK(pf_g2c("again", "pretrain --source PAS --target HE --preset tiny") == 0);
    pf_expect("again", "out", "already trained");
    CHECK(pf_scalar("SELECT count(*) FROM runs") == 1);
}

static void refused(const char *tag, const char *args, int status, const char *needle)
{
    int rc = pf_g2c(tag, "pretrain %s", args);
    if (rc != status) {
        fprintf(stderr, "%s: exit status %d, expected %d\n", tag, rc, status);
        g2c_test_failures++;
    }
    pf_expect(tag, "err", needle);
}

static void bad_input(void)
{
    pf_make_tiles("small", 5, 40, 3, 0);
    CHECK(pf_g2c("import-small", "refset pas-small --stain PAS --import %s/small",
                 pf_dir()) == 0);
    refused("stain", "--source Giemsa --target HE --preset tiny", 1,
            "source: unknown stain 'Giemsa'");
    refused("noset", "--source PAS --target MASSON --preset tiny", 1,
            "target: no reference sets of stain MASSON");
    refused("unknown-set", "--source PAS --source-set nope --target HE --preset tiny", 1,
            "source: no reference set named 'nope'");
    refused("wrong-stain", "--source PAS --source-set he-a --target HE --preset tiny", 1,
            "reference set 'he-a' holds HE crops, not PAS");
    refused("small", "--source PAS --source-set pas-small --target HE --preset tiny --name S",
            1, "PAS reference sets (pas-small): 5 crops; at least 8 are needed");
    refused("same", "--source PAS --target pas --preset tiny", 1, "both PAS");
    refused("changed", "--source PAS --source-set pas-a --target HE --preset tiny --epochs 2",
            1, "model PAS2HE exists with another configuration (epochs 1 -> 2)");
    refused("name", "--source PAS --target HE --preset tiny --name ../x", 1,
            "model name '../x'");
    /* The folder's checkpoint is of another configuration. */
    char args[4200];
    snprintf(args, sizeof args, "--source PAS --source-set pas-a --target HE --preset tiny "
                                "--seed 7 --name other --out %s",
             pf_path("models/PAS2HE"));
    refused("folder", args, 1, "holds a run of another configuration (seed 1 -> 7)");
    refused("preset", "--source PAS --target HE --preset huge", 2, "unknown preset 'huge'");
    refused("size", "--source PAS --target HE --preset tiny --size 30", 2,
            "not a multiple of 4");
    refused("usage", "--source PAS", 2, "--source and --target are needed");
    /* Nothing of any of these reached the catalog. */
    CHECK(pf_scalar("SELECT count(*) FROM models") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM model_refsets") == 2);
    CHECK(pf_scalar("SELECT count(*) FROM runs") == 1);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs") == 2);
    CHECK(!pf_exists(pf_path("models/S")));
}

/* A model row of another kind is never overwritten, not even by --restart. */
static void other_kind(void)
{
    G2cCatalog *cat = g2c_catalog_open(pf_db(), G2C_CATALOG_READWRITE);
    CHECK(cat != NULL);
    if (!cat)
        return;
    CHECK(sqlite3_exec(g2c_catalog_db(cat), "INSERT INTO models (name, kind) VALUES "
                                            "('clf', 'g2c')", NULL, NULL, NULL) == SQLITE_OK);
    g2c_catalog_close(cat);
    refused("kind", "--source PAS --target HE --preset tiny --name clf --restart", 1,
            "model clf exists and is a g2c model");
    CHECK(pf_scalar("SELECT count(*) FROM runs") == 1);
}

static void restart(void)
{
    CHECK(pf_g2c("restart", "pretrain --source PAS --target HE --preset tiny --epochs 2 "
                            "--decay-epochs 0 --restart") == 0);
    CHECK(pf_scalar("SELECT json_extract(config, '$.epochs') FROM models "
                    "WHERE name = 'PAS2HE'") == 2);
    CHECK(pf_scalar("SELECT count(*) FROM runs WHERE status = 'done'") == 2);
    CHECK(pf_scalar("SELECT count(*) FROM run_epochs WHERE run_id = 2") == 2);
    /* The old run's sheets are gone with it; the new run drew its own. */
    CHECK(!pf_exists(pf_path("models/PAS2HE/samples-epoch-003.png")));
    CHECK(pf_exists(pf_path("models/PAS2HE/samples-epoch-002.png")));
}

int main(void)
{
    pf_init();
    full_run();
    bad_input();
    other_kind();
    restart();
    return g2c_test_finish("pretrain");
}
