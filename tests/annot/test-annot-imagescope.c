/* Aperio ImageScope XML: the fixture as ImageScope writes it (layers,
 * rectangles, free-hand, an ellipse, an exclusion), the label rule, and bad
 * regions named by annotation, region and line. */
#include "annot-test.h"

static void test_fixture(G2cAnnotFormat format)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(fixture("imagescope.xml"), format, &list));
    CHECK(list.count == 4); /* region 3 is an exclusion (NegativeROA) */
    if (list.count == 4) {
        /* Text on the region */
        CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs", "1/1");
        /* no Text, no layer Name: the layer's Description attribute */
        CHECK_BOX(&list.items[1], 14980, 8790, 680.75, 665.5, "normal", "1/2");
        /* ellipse stored as 2 corners, labelled by its layer's Name */
        CHECK_BOX(&list.items[2], 30000, 39900, 600, 350, "crescent", "2/4");
        /* Text wins over the layer's Name */
        CHECK_BOX(&list.items[3], 500, 600, 400, 400, "sclerotic", "2/5");
    }
    g2c_annot_list_free(&list);
}

/* One layer (named `name`, described by `description`) with one region
 * (Text `text`, own attribute value `attr`) that holds `vertices`; the
 * Region element is on line 5. */
static const char *layer(const char *file, const char *name, const char *description,
                         const char *text, const char *attr, const char *vertices)
{
    char xml[4096];
    snprintf(xml, sizeof xml,
             "<Annotations MicronsPerPixel=\"0.252100\">\n"
             "<Annotation Id=\"7\" Name=\"%s\" Type=\"4\" LineColor=\"65280\">\n"
             "\t<Attributes><Attribute Name=\"Description\" Id=\"0\" Value=\"%s\"/>"
             "</Attributes>\n"
             "\t<Regions>\n"
             "\t\t<Region Id=\"3\" Type=\"0\" Text=\"%s\" NegativeROA=\"0\">\n"
             "\t\t\t<Attributes><Attribute Name=\"Note\" Id=\"1\" Value=\"%s\"/></Attributes>\n"
             "\t\t\t<Vertices>\n%s\t\t\t</Vertices>\n"
             "\t\t</Region>\n"
             "\t</Regions>\n"
             "</Annotation>\n"
             "</Annotations>\n",
             name, description, text, attr, vertices);
    return scratch(file, xml);
}

static const char *square = "<Vertex X=\"0\" Y=\"0\" Z=\"0\"/><Vertex X=\"9\" Y=\"0\" Z=\"0\"/>"
                            "<Vertex X=\"9\" Y=\"9\" Z=\"0\"/>\n";

static void check_label(const char *path, const char *label)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(path, G2C_ANNOT_IMAGESCOPE, &list));
    CHECK(list.count == 1);
    if (list.count == 1)
        CHECK_BOX(&list.items[0], 0, 0, 9, 9, label, "7/3");
    g2c_annot_list_free(&list);
}

static void test_label_rule(void)
{
    check_label(layer("l1.xml", "layer", "desc", "text", "note", square), "text");
    check_label(layer("l2.xml", "layer", "desc", "", "note", square), "layer");
    check_label(layer("l3.xml", "", "desc", "", "note", square), "note");
    check_label(layer("l4.xml", "", "desc", "", "", square), "desc");
    check_label(layer("l5.xml", "", "", "", "", square), "");
}

static void test_bad_regions(void)
{
    EXPECT_ERROR(layer("one.xml", "gs", "", "", "", "<Vertex X=\"1\" Y=\"2\" Z=\"0\"/>\n"),
                 G2C_ANNOT_IMAGESCOPE, "one.xml:5: annotation 7, region 3: ",
                 "1 point(s); a region needs at least 2");
    EXPECT_ERROR(layer("zero.xml", "gs", "", "", "", ""), G2C_ANNOT_AUTO,
                 "zero.xml:5: annotation 7, region 3: ", "0 point(s)");
    EXPECT_ERROR(layer("line.xml", "gs", "", "", "",
                       "<Vertex X=\"1\" Y=\"2\" Z=\"0\"/><Vertex X=\"1\" Y=\"50\" Z=\"0\"/>\n"),
                 G2C_ANNOT_IMAGESCOPE, "line.xml:5: annotation 7, region 3: ", "zero-area");
    EXPECT_ERROR(layer("nan.xml", "gs", "", "", "",
                       "<Vertex X=\"1\" Y=\"2\" Z=\"0\"/>\n<Vertex X=\"3\" Y=\"\" Z=\"0\"/>\n"),
                 G2C_ANNOT_IMAGESCOPE, "nan.xml:5: annotation 7, region 3: ",
                 "Vertex 2 (line 9): Y '' is not a number");
    /* a decimal comma is an ASAP habit only */
    EXPECT_ERROR(layer("comma.xml", "gs", "", "", "",
                       "<Vertex X=\"1\" Y=\"2\" Z=\"0\"/><Vertex X=\"3,5\" Y=\"4\" Z=\"0\"/>\n"),
                 G2C_ANNOT_IMAGESCOPE, "comma.xml:5: ", "X '3,5' is not a number");
}

static void test_bad_files(void)
{
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.xml", g2c_test_tmpdir());
    EXPECT_ERROR(missing, G2C_ANNOT_IMAGESCOPE, "missing.xml: cannot open");
    EXPECT_ERROR(scratch("empty.xml", ""), G2C_ANNOT_IMAGESCOPE, "empty.xml: empty file");
    const char *broken = scratch("broken.xml", "<Annotations>\n<Annotation Id=\"1\">\n"
                                               "<Regions><Region Id=\"1\" Text=\"gs>\n"
                                               "</Regions></Annotation></Annotations>\n");
    stderr_capture();
    EXPECT_ERROR(broken, G2C_ANNOT_IMAGESCOPE, "broken.xml:", "malformed XML");
    EXPECT_ERROR(scratch("amp.xml", "<Annotations>\n<Annotation Id=\"1\" Name=\"a & b\">\n"
                                    "</Annotation></Annotations>\n"),
                 G2C_ANNOT_AUTO, "amp.xml:2: malformed XML");
    EXPECT_ERROR(scratch("utf8.xml", "<Annotations>\n<Annotation Name=\"\xff\xfe\"/>"
                                     "</Annotations>\n"),
                 G2C_ANNOT_IMAGESCOPE, "utf8.xml:2: malformed XML", "not proper UTF-8");
    CHECK(strchr(g2c_error_message(), '\n') == NULL); /* one line, as libxml2's is not */
    CHECK(stderr_release() == 0);
    EXPECT_ERROR(fixture("asap.xml"), G2C_ANNOT_IMAGESCOPE, "asap.xml: ",
                 "root element <ASAP_Annotations>, expected <Annotations>");

    /* a layer with no regions is a valid, empty file */
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(scratch("blank.xml", "<Annotations MicronsPerPixel=\"0.25\">"
                                                 "<Annotation Id=\"1\"><Regions/></Annotation>"
                                                 "</Annotations>"),
                            G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 0);
    g2c_annot_list_free(&list);
}

/* ImageScope writes a line per vertex: places past line 65535 (where
 * libxml2 2.9's own element line numbers stop) must still be exact. */
static void test_line_numbers_past_65535(void)
{
    const int vertices = 66000;
    size_t cap = (size_t)vertices * 32 + 1024, n = 0;
    char *xml = malloc(cap);
    n += snprintf(xml + n, cap - n, "<Annotations>\n<Annotation Id=\"1\" Name=\"gs\">\n"
                                    "<Regions>\n<Region Id=\"1\">\n<Vertices>\n");
    for (int i = 0; i < vertices; i++)
        n += snprintf(xml + n, cap - n, "<Vertex X=\"%d\" Y=\"%d\"/>\n", i % 100, i % 37);
    /* lines 1-5, then the vertices, then these: Region 2 starts on
     * 5 + vertices + 3, its second vertex is 3 lines further down */
    n += snprintf(xml + n, cap - n, "</Vertices>\n</Region>\n<Region Id=\"2\">\n<Vertices>\n"
                                    "<Vertex X=\"1\" Y=\"1\"/>\n<Vertex X=\"2\" Y=\"?\"/>\n"
                                    "</Vertices>\n</Region>\n</Regions>\n</Annotation>\n"
                                    "</Annotations>\n");
    const char *path = scratch("big.xml", xml);
    free(xml);
    char where[64], vertex[64];
    snprintf(where, sizeof where, "big.xml:%d: annotation 1, region 2: ", 5 + vertices + 3);
    snprintf(vertex, sizeof vertex, "Vertex 2 (line %d): Y '?'", 5 + vertices + 6);
    EXPECT_ERROR(path, G2C_ANNOT_IMAGESCOPE, where, vertex);
}

int main(void)
{
    test_fixture(G2C_ANNOT_IMAGESCOPE);
    test_fixture(G2C_ANNOT_AUTO);
    test_label_rule();
    test_bad_regions();
    test_bad_files();
    test_line_numbers_past_65535();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("annot-imagescope");
}
