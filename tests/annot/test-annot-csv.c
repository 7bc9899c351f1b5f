/* CSV boxes: with and without a header, CRLF and a BOM, quoted labels, and
 * every bad line named as FILE:LINE. */
#include "annot-test.h"

static void test_fixtures(void)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(fixture("boxes-header.csv"), G2C_ANNOT_AUTO, &list));
    CHECK(list.count == 4);
    if (list.count == 4) {
        CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs", "2");
        CHECK_BOX(&list.items[1], 15011.5, 8830.25, 649.25, 625.25, "crescent", "3");
        CHECK_BOX(&list.items[2], 30000, 39900, 600, 350, "crescent, cellular", "4");
        CHECK_BOX(&list.items[3], 500, 600, 400, 400, "", "5");
    }
    g2c_annot_list_free(&list);

    /* positional, blanks around fields, a blank line, doubled quotes */
    CHECK_OK(g2c_annot_read(fixture("boxes-noheader.csv"), G2C_ANNOT_CSV, &list));
    CHECK(list.count == 3);
    if (list.count == 3) {
        CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs", "1");
        CHECK_BOX(&list.items[1], 15011.5, 8830.25, 649.25, 625.25, "crescent", "2");
        CHECK_BOX(&list.items[2], 30000, 39900, 600, 350, "say \"normal\"", "4");
    }
    g2c_annot_list_free(&list);

    /* Excel-style: BOM, CRLF, columns by name in another order, an id
     * column, a blank line, a label spanning two lines */
    CHECK_OK(g2c_annot_read(fixture("boxes-crlf.csv"), G2C_ANNOT_CSV, &list));
    CHECK(list.count == 3);
    if (list.count == 3) {
        CHECK_BOX(&list.items[0], 10240, 20480, 512, 480, "gs", "g-1");
        CHECK_BOX(&list.items[1], 30000, 39900, 600, 350, "crescent, cellular", "g-2");
        CHECK_BOX(&list.items[2], 1, 2, 10, 20, "multi\nline", "5");
    }
    g2c_annot_list_free(&list);
}

static void test_valid_edge_cases(void)
{
    G2cAnnotationList list;
    CHECK_OK(g2c_annot_read(scratch("four.csv", "1,2,3,4\n5,6,7,8\n"), G2C_ANNOT_CSV, &list));
    CHECK(list.count == 2);
    if (list.count == 2)
        CHECK_BOX(&list.items[1], 5, 6, 7, 8, "", "2");
    g2c_annot_list_free(&list);

    CHECK_OK(g2c_annot_read(scratch("header-only.csv", "x,y,w,h,label\r\n"), G2C_ANNOT_AUTO,
                            &list));
    CHECK(list.count == 0 && list.items == NULL);
    g2c_annot_list_free(&list);

    /* extra columns are ignored; no newline at the end */
    CHECK_OK(g2c_annot_read(scratch("extra.csv", "slide,LEFT,Top,width,height,class\n"
                                                 "a.svs,1e3,2000,30.5,40,gs"),
                            G2C_ANNOT_CSV, &list));
    CHECK(list.count == 1);
    if (list.count == 1)
        CHECK_BOX(&list.items[0], 1000, 2000, 30.5, 40, "gs", "2");
    g2c_annot_list_free(&list);
}

static void test_bad_lines(void)
{
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/missing.csv", g2c_test_tmpdir());
    EXPECT_ERROR(missing, G2C_ANNOT_AUTO, "missing.csv: cannot open");
    EXPECT_ERROR(scratch("empty.csv", ""), G2C_ANNOT_CSV, "empty.csv: empty file");
    EXPECT_ERROR(scratch("blank.csv", "\n \r\n\t\n"), G2C_ANNOT_CSV, "blank.csv: empty file");
    EXPECT_ERROR(scratch("count.csv", "x,y,w,h,label\n1,2,3,4,gs\n1,2,3,gs\n"), G2C_ANNOT_CSV,
                 "count.csv:3: 4 field(s), expected 5");
    EXPECT_ERROR(scratch("count1.csv", "1,2,3\n"), G2C_ANNOT_CSV, "count1.csv:1: 3 field(s)");
    EXPECT_ERROR(scratch("trailing.csv", "1,2,3,4,gs\n1,2,3,4,gs,\n"), G2C_ANNOT_CSV,
                 "trailing.csv:2: 6 field(s), expected 5");
    EXPECT_ERROR(scratch("text.csv", "1,2,3,4,gs\n1,2,abc,4,gs\n"), G2C_ANNOT_CSV,
                 "text.csv:2: w 'abc' is not a number");
    EXPECT_ERROR(scratch("nan.csv", "x,y,w,h\n1,nan,3,4\n"), G2C_ANNOT_CSV,
                 "nan.csv:2: y 'nan' is not a number");
    EXPECT_ERROR(scratch("empty-field.csv", "1,2,3,4,gs\n1,,3,4,gs\n"), G2C_ANNOT_CSV,
                 "empty-field.csv:2: y '' is not a number");
    EXPECT_ERROR(scratch("neg.csv", "x,y,w,h,label\r\n\r\n1,2,3,4,gs\r\n1,2,-3,4,gs\r\n"),
                 G2C_ANNOT_CSV, "neg.csv:4: negative size -3 x 4");
    EXPECT_ERROR(scratch("zero.csv", "1,2,3,4,gs\n1,2,3,0,gs\n"), G2C_ANNOT_CSV,
                 "zero.csv:2: zero-area box");
    EXPECT_ERROR(scratch("corners.csv", "xmin,ymin,xmax,ymax,label\n1,2,3,4,gs\n"),
                 G2C_ANNOT_CSV, "corners.csv:1: header must name columns x, y, w, h");
    EXPECT_ERROR(scratch("twice.csv", "x,y,w,h,width\n1,2,3,4,5\n"), G2C_ANNOT_CSV,
                 "twice.csv:1: header: column 'width' given twice");
    EXPECT_ERROR(scratch("quote.csv", "x,y,w,h,label\n1,2,3,4,\"gs\n5,6,7,8,gs\n"),
                 G2C_ANNOT_CSV, "quote.csv:2: field 5: unterminated quote");
    EXPECT_ERROR(scratch("after.csv", "1,2,3,4,gs\n1,2,3,4,\"gs\"x\n"), G2C_ANNOT_CSV,
                 "after.csv:2: field 5: unexpected 'x' after the closing quote");
    EXPECT_ERROR(scratch("long.csv", "1,2,3,4,gs\n1,2,3,4,"
                                     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
                 G2C_ANNOT_CSV, "long.csv:2: label", "longer than 63 bytes");
    const char *nul = scratch("nul.csv", "");
    FILE *fp = fopen(nul, "wb");
    fwrite("1,2,3,4,gs\n1,2,3,4,g\0s\n", 1, 24, fp);
    fclose(fp);
    EXPECT_ERROR(nul, G2C_ANNOT_CSV, "nul.csv:2: NUL byte");
}

int main(void)
{
    test_fixtures();
    test_valid_edge_cases();
    test_bad_lines();
    g2c_test_system("rm -rf '%s'", g2c_test_tmpdir());
    return g2c_test_finish("annot-csv");
}
