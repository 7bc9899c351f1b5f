/* ASAP XML: the fixture as ASAP writes it, bad files with the XML line in
 * the message, a silent libxml2, and no external entities. */
#include "annot-test.h"

static void test_fixture(G2cAnnotFormat format)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(fixture("asap.xml"), format, &list));
    CHECK(list.count == 4);
    if (list.count == 4) {
        CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs", "Annotation 0");
        CHECK_BOX(&list.items[1], 14980, 8790, 680.75, 665.5, "crescent", "Annotation 1");
        /* a spline, in no group ("None"), with an exponent */
        CHECK_BOX(&list.items[2], 1500, 2000, 300, 300, "", "Annotation 2");
        /* written under a decimal-comma locale */
        CHECK_BOX(&list.items[3], 4000.5, 5000, 99.5, 200, "gs", "Annotation 3");
    }
    g2c_annot_list_free(&list);
}

/* An ASAP file whose one annotation has `type` and these coordinates. */
static const char *asap(const char *name, const char *type, const char *coordinates)
{
    char text[4096];
    snprintf(text, sizeof text,
             "<?xml version=\"1.0\"?>\n"
             "<ASAP_Annotations>\n"
             "\t<Annotations>\n"
             "\t\t<Annotation Name=\"Annotation 0\" Type=\"Rectangle\" PartOfGroup=\"gs\">\n"
             "\t\t\t<Coordinates>\n"
             "\t\t\t\t<Coordinate Order=\"0\" X=\"0\" Y=\"0\" />\n"
             "\t\t\t\t<Coordinate Order=\"1\" X=\"8\" Y=\"8\" />\n"
             "\t\t\t</Coordinates>\n"
             "\t\t</Annotation>\n"
             "\t\t<Annotation Name=\"Annotation 1\" Type=\"%s\" PartOfGroup=\"gs\">\n"
             "\t\t\t<Coordinates>\n%s"
             "\t\t\t</Coordinates>\n"
             "\t\t</Annotation>\n"
             "\t</Annotations>\n"
             "</ASAP_Annotations>\n",
             type, coordinates);
    return scratch(name, text);
}

static void test_bad_annotations(void)
{
    /* the second annotation starts on line 10 */
    EXPECT_ERROR(asap("one.xml", "Polygon", "<Coordinate Order=\"0\" X=\"5\" Y=\"5\" />\n"),
                 G2C_ANNOT_ASAP, "one.xml:10: annotation 2 (Annotation 1): ",
                 "1 point(s); a region needs at least 2");
    EXPECT_ERROR(asap("none.xml", "Polygon", ""), G2C_ANNOT_AUTO,
                 "none.xml:10: annotation 2 (Annotation 1): ", "0 point(s)");
    EXPECT_ERROR(asap("flat.xml", "Polygon",
                      "<Coordinate Order=\"0\" X=\"5\" Y=\"5\" />\n"
                      "<Coordinate Order=\"1\" X=\"5\" Y=\"90\" />\n"),
                 G2C_ANNOT_ASAP, "flat.xml:10: annotation 2 (Annotation 1): ", "zero-area");
    EXPECT_ERROR(asap("nan.xml", "Polygon",
                      "<Coordinate Order=\"0\" X=\"5\" Y=\"5\" />\n"
                      "<Coordinate Order=\"1\" X=\"12px\" Y=\"90\" />\n"),
                 G2C_ANNOT_ASAP, "nan.xml:10: annotation 2 (Annotation 1): ",
                 "Coordinate 2 (line 13): X '12px' is not a number");
    EXPECT_ERROR(asap("noy.xml", "Polygon",
                      "<Coordinate Order=\"0\" X=\"5\" Y=\"5\" />\n"
                      "<Coordinate Order=\"1\" X=\"7\" />\n"),
                 G2C_ANNOT_ASAP, "noy.xml:10: ", "Coordinate 2 (line 13): no Y attribute");
    EXPECT_ERROR(asap("dot.xml", "Dot", "<Coordinate Order=\"0\" X=\"5\" Y=\"5\" />\n"),
                 G2C_ANNOT_ASAP, "dot.xml:10: annotation 2 (Annotation 1): ",
                 "type 'Dot' is not a region");
}

static void test_bad_files(void)
{
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.xml", g2c_test_tmpdir());
    EXPECT_ERROR(missing, G2C_ANNOT_ASAP, "missing.xml", "cannot open");
    EXPECT_ERROR(scratch("empty.xml", "\n\n"), G2C_ANNOT_ASAP, "empty.xml: empty file");
    EXPECT_ERROR(scratch("empty2.xml", ""), G2C_ANNOT_AUTO, "empty2.xml: empty file");
    /* Coordinates closed by the wrong tag on line 5 */
    const char *broken = scratch("broken.xml",
                                 "<?xml version=\"1.0\"?>\n"
                                 "<ASAP_Annotations>\n"
                                 " <Annotations>\n"
                                 "  <Annotation Name=\"A\" Type=\"Polygon\"><Coordinates>\n"
                                 "  </Annotation>\n"
                                 " </Annotations>\n"
                                 "</ASAP_Annotations>\n");
    stderr_capture();
    EXPECT_ERROR(broken, G2C_ANNOT_ASAP, "broken.xml:5: malformed XML", "Coordinates");
    EXPECT_ERROR(broken, G2C_ANNOT_AUTO, "broken.xml:5: malformed XML");
    EXPECT_ERROR(scratch("cut.xml", "<?xml version=\"1.0\"?>\n<ASAP_Annotations>\n<Annot"),
                 G2C_ANNOT_ASAP, "cut.xml:3: malformed XML");
    long noise = stderr_release();
    CHECK(noise == 0); /* libxml2 printed nothing of its own */
    /* the right syntax, the wrong format */
    EXPECT_ERROR(fixture("imagescope.xml"), G2C_ANNOT_ASAP, "imagescope.xml: ",
                 "root element <Annotations>, expected <ASAP_Annotations>");
}

/* An external entity must never be loaded: either the file is refused or
 * the secret stays out of the labels. */
static void test_no_external_entities(void)
{
    const char *secret = scratch("secret.txt", "TOPSECRET");
    char text[4096];
    snprintf(text, sizeof text,
             "<?xml version=\"1.0\"?>\n"
             "<!DOCTYPE ASAP_Annotations [\n"
             "  <!ENTITY xxe SYSTEM \"file://%s\">\n"
             "  <!ENTITY grp \"gs\">\n"
             "]>\n"
             "<ASAP_Annotations><Annotations>\n"
             "<Annotation Name=\"A0\" Type=\"Polygon\" PartOfGroup=\"&grp;\"><Coordinates>"
             "<Coordinate Order=\"0\" X=\"0\" Y=\"0\"/><Coordinate Order=\"1\" X=\"2\" Y=\"2\"/>"
             "</Coordinates>&xxe;</Annotation>\n"
             "</Annotations></ASAP_Annotations>\n",
             secret);
    G2cAnnotationList list;
    stderr_capture();
    int rc = g2c_annot_read(scratch("xxe-content.xml", text), G2C_ANNOT_ASAP, &list);
    CHECK(stderr_release() == 0);
    CHECK_OK(rc);
    CHECK(list.count == 1);
    if (list.count == 1)
        CHECK_BOX(&list.items[0], 0, 0, 2, 2, "gs", "A0"); /* internal entity: fine */
    g2c_annot_list_free(&list);

    snprintf(text, sizeof text,
             "<?xml version=\"1.0\"?>\n"
             "<!DOCTYPE ASAP_Annotations [\n"
             "  <!ENTITY xxe SYSTEM \"file://%s\">\n"
             "]>\n"
             "<ASAP_Annotations><Annotations>\n"
             "<Annotation Name=\"A0\" Type=\"Polygon\" PartOfGroup=\"&xxe;\"><Coordinates>"
             "<Coordinate Order=\"0\" X=\"0\" Y=\"0\"/><Coordinate Order=\"1\" X=\"2\" Y=\"2\"/>"
             "</Coordinates></Annotation>\n"
             "</Annotations></ASAP_Annotations>\n",
             secret);
    rc = g2c_annot_read(scratch("xxe-attr.xml", text), G2C_ANNOT_ASAP, &list);
    CHECK(rc == -1 || (list.count == 1 && !strstr(list.items[0].label, "TOPSECRET")));
    CHECK(rc == 0 || strstr(g2c_error_message(), "xxe-attr.xml:6: malformed XML"));
    g2c_annot_list_free(&list);
}

/* A "billion laughs" entity bomb is stopped by libxml2's limits. */
static void test_entity_bomb(void)
{
    char text[8192];
    int n = snprintf(text, sizeof text, "<?xml version=\"1.0\"?>\n<!DOCTYPE ASAP_Annotations [\n"
                                        "<!ENTITY l0 \"lol\">\n");
    for (int i = 1; i <= 10; i++) {
        n += snprintf(text + n, sizeof text - n, "<!ENTITY l%d \"", i);
        for (int k = 0; k < 10; k++)
            n += snprintf(text + n, sizeof text - n, "&l%d;", i - 1);
        n += snprintf(text + n, sizeof text - n, "\">\n");
    }
    snprintf(text + n, sizeof text - n,
             "]>\n<ASAP_Annotations><Annotations>\n"
             "<Annotation Name=\"A0\" Type=\"Polygon\" PartOfGroup=\"&l10;\"><Coordinates>"
             "<Coordinate Order=\"0\" X=\"0\" Y=\"0\"/><Coordinate Order=\"1\" X=\"2\" Y=\"2\"/>"
             "</Coordinates></Annotation></Annotations></ASAP_Annotations>\n");
    EXPECT_ERROR(scratch("bomb.xml", text), G2C_ANNOT_ASAP, "bomb.xml:16: malformed XML");
}

int main(void)
{
    test_fixture(G2C_ANNOT_ASAP);
    test_fixture(G2C_ANNOT_AUTO);
    test_bad_annotations();
    test_bad_files();
    test_no_external_entities();
    test_entity_bomb();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("annot-asap");
}
