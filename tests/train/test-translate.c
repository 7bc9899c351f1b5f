/* g2c translate with a tiny generator: one PNG per input of the input's size
 * (sides not divisible by 4 included) from a reference set, PNG files and a
 * slide's glomerulus crops; --size; a missing input fails alone (exit 3);
 * unknown model, set or slide are refused by name.  Where PyTorch is
 * installed, the same G.safetensors run by torch gives the same pixels. */
#include "test-pretrain-fixture.h"
#include "testutil.h"

#include "ingest/slides.h"

#include "g2c/catalog.h"
#include "g2c/error.h"
#include "g2c/image.h"

#include <string.h>
#include <sys/stat.h>

static void check_size(const char *path, int w, int h)
{
    G2cImage img;
    if (g2c_png_read(path, &img) != 0) {
        fprintf(stderr, "%s\n", g2c_error_message());
        g2c_test_failures++;
        return;
    }
    if (img.width != w || img.height != h) {
        fprintf(stderr, "%s: %dx%d, expected %dx%d\n", path, img.width, img.height, w, h);
        g2c_test_failures++;
    }
    g2c_image_free(&img);
}

static int count_files(const char *folder)
{
    char *cmd_out;
    g2c_test_system("ls '%s' | wc -l >%s/count.out", folder, pf_dir());
    cmd_out = test_read_text(pf_path("count.out"));
    int n = atoi(cmd_out);
    free(cmd_out);
    return n;
}

static void write_input(const char *name, int w, int h, uint64_t seed)
{
    G2cImage img;
    test_slide_image(&img, w, h, seed);
    CHECK_OK(g2c_png_write(pf_path("in/%s", name), &img));
    g2c_image_free(&img);
}

static void from_refset(void)
{
    CHECK(pf_g2c("refset", "translate --model T --refset he-a --out %s/tr1", pf_dir()) == 0);
    pf_expect("refset", "out", "wrote 12 translated crops");
    CHECK(count_files(pf_path("tr1")) == 12);
    check_size(pf_path("tr1/he-a-0001.png"), 40, 40);
    check_size(pf_path("tr1/he-a-0012.png"), 40, 40);
}

static void from_files(void)
{
    mkdir(pf_path("in"), 0777);
    write_input("odd.png", 45, 37, 5);
    write_input("square.png", 64, 64, 6);
    CHECK(pf_g2c("files", "translate --model T --out %s/tr2 %s/in/odd.png %s/in/square.png",
                 pf_dir(), pf_dir(), pf_dir()) == 0);
    CHECK(count_files(pf_path("tr2")) == 2);
    check_size(pf_path("tr2/odd.png"), 45, 37);
    check_size(pf_path("tr2/square.png"), 64, 64);
    CHECK(pf_g2c("sized", "translate --model T --size 32 --out %s/tr3 %s/in/odd.png", pf_dir(),
                 pf_dir()) == 0);
    check_size(pf_path("tr3/odd.png"), 32, 32);
    /* One missing input: the other is still written, exit 3. */
    CHECK(pf_g2c("partial", "translate --model T --out %s/tr4 %s/in/odd.png %s/in/gone.png",
                 pf_dir(), pf_dir(), pf_dir()) == 3);
    pf_expect("partial", "err", "gone.png");
    pf_expect("partial", "out", "wrote 1 translated crops to");
    CHECK(pf_exists(pf_path("tr4/odd.png")));
}

static void from_slide(void)
{
    CHECK_OK(test_slide_write(pf_path("kidney.tiff"), 512, 384, 11));
    test_write_text(pf_path("kidney.csv"),
                    "x,y,w,h,label\n100,100,60,60,gs\n250,120,50,70,noa\n380,200,64,64,ss\n");
    CHECK(pf_g2c("ingest", "ingest --patient P1 --stain PAS --patch-size 48 --annotations "
                           "%s/kidney.csv %s/kidney.tiff",
                 pf_dir(), pf_dir()) == 0);
    CHECK(pf_g2c("slide", "translate --model T --annotations-of-slide kidney.tiff --out %s/tr5",
                 pf_dir()) == 0);
    CHECK(count_files(pf_path("tr5")) == 3);
    int64_t first = pf_scalar("SELECT min(id) FROM annotations");
    check_size(pf_path("tr5/kidney-ann%lld.png", (long long)first), 48, 48);
}

static void bad_input(void)
{
    CHECK(pf_g2c("nomodel", "translate --model nope --refset he-a --out %s/x", pf_dir()) == 1);
    pf_expect("nomodel", "err", "no model named 'nope'");
    CHECK(pf_g2c("noset", "translate --model T --refset nope --out %s/x", pf_dir()) == 1);
    pf_expect("noset", "err", "no reference set named 'nope'");
    CHECK(pf_g2c("noslide", "translate --model T --annotations-of-slide x.svs --out %s/x",
                 pf_dir()) == 1);
    pf_expect("noslide", "err", "no slide 'x.svs'");
    CHECK(pf_g2c("usage", "translate --model T --refset he-a --out %s/x %s/in/odd.png",
                 pf_dir(), pf_dir()) == 2);
    G2cCatalog *cat = g2c_catalog_open(pf_db(), G2C_CATALOG_READWRITE);
    CHECK(cat && sqlite3_exec(g2c_catalog_db(cat),
                              "INSERT INTO models (name, kind) VALUES ('empty', 'cyclegan')",
                              NULL, NULL, NULL) == SQLITE_OK);
    g2c_catalog_close(cat);
    CHECK(pf_g2c("empty", "translate --model empty --refset he-a --out %s/x", pf_dir()) == 1);
    pf_expect("empty", "err", "model empty has no generator yet");
    CHECK(!pf_exists(pf_path("x")));
}

/* The PyTorch ResnetGenerator with G.safetensors on square.png gives the
 * pixels g2c wrote, to rounding. */
static void same_as_torch(void)
{
    if (!pf_have_torch()) {
        fprintf(stderr, "note: no /usr/bin/python3 with torch; the PyTorch comparison "
                        "was skipped\n");
        return;
    }
    int rc = g2c_test_system(
        "cd '%s' && /usr/bin/python3 -c \"\n"
        "import sys; sys.path.insert(0, 'tools/torchref')\n"
        "import numpy as np, torch, cyclegan, stio\n"
        "from PIL import Image\n"
        "s, m = stio.load('%s/models/T/G.safetensors')\n"
        "g = cyclegan.resnet_generator(3, 3, int(m['ngf']), int(m['n_blocks']))\n"
        "g.load_state_dict(s, strict=True)\n"
        "x = np.asarray(Image.open('%s/in/square.png').convert('RGB'), dtype=np.float32)\n"
        "t = torch.from_numpy(x / 127.5 - 1).permute(2, 0, 1)[None]\n"
        "y = ((g(t)[0].permute(1, 2, 0).detach().numpy() + 1) * 127.5).round().clip(0, 255)\n"
        "ours = np.asarray(Image.open('%s/tr2/square.png').convert('RGB'), dtype=np.float32)\n"
        "d = np.abs(ours - y).max(); print('max difference', d); sys.exit(0 if d <= 1 else 1)\n"
        "\" >%s/torch.out 2>&1",
        g2c_test_source_path(""), pf_dir(), pf_dir(), pf_dir(), pf_dir());
    CHECK(rc == 0);
    pf_expect("torch", "out", "max difference");
}

int main(void)
{
    pf_init();
    CHECK(pf_g2c("train", "pretrain --source PAS --target HE --preset tiny --name T") == 0);
    from_refset();
    from_files();
    from_slide();
    bad_input();
    same_as_torch();
    return g2c_test_finish("translate");
}
