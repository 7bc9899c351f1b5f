/* Build helper: embed-text NAME INPUT OUTPUT writes OUTPUT, a C file that
 * defines `const char NAME[]` holding INPUT's bytes and a final NUL. */
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: embed-text NAME INPUT OUTPUT\n");
        return 2;
    }
    FILE *in = fopen(argv[2], "rb");
    if (!in) {
        fprintf(stderr, "embed-text: cannot open %s\n", argv[2]);
        return 1;
    }
    FILE *out = fopen(argv[3], "w");
    if (!out) {
        fprintf(stderr, "embed-text: cannot create %s\n", argv[3]);
        fclose(in);
        return 1;
    }
    fprintf(out, "/* generated from %s */\nconst char %s[] = {", argv[2], argv[1]);
    int ch, n = 0;
    while ((ch = fgetc(in)) != EOF)
        fprintf(out, "%s%d,", n++ % 20 ? "" : "\n", ch);
    fprintf(out, "0};\n");
    fclose(in);
    return fclose(out) == 0 ? 0 : 1;
}
