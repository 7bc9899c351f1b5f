/* Shared pieces of the g2c command-line program. */
#ifndef G2C_CLI_H
#define G2C_CLI_H

#include <getopt.h>
#include <stdio.h>

/* Exit statuses, documented in `g2c help` and the README. */
enum {
    G2C_EXIT_OK = 0,      /* everything asked for was done */
    G2C_EXIT_FAILURE = 1, /* nothing was done (bad catalog, unusable input) */
    G2C_EXIT_USAGE = 2,   /* wrong command line */
    G2C_EXIT_PARTIAL = 3, /* some items failed, the others were done */
};

typedef struct {
    const char *db;  /* --db, default g2c.db */
    int progress;    /* show progress: stderr is a terminal and not --quiet */
    int quiet;
    int threads;     /* --threads, 0 = all cores */
} G2cCli;

typedef struct {
    const char *name;
    const char *summary;
    int (*run)(G2cCli *cli, int argc, char **argv);
    void (*usage)(FILE *out);
} G2cCommand;

/* The command of that name (g2c run calls commands in-process), or NULL. */
const G2cCommand *g2c_cli_find(const char *name);

/* Options every command accepts after its name too: --db, --quiet,
 * --threads, --help.  Returns 1 if it handled `opt`, 0 if not, and sets
 * *help on --help. */
#define G2C_COMMON_LONG_OPTIONS                                               \
    {"db", required_argument, NULL, 1000}, {"quiet", no_argument, NULL, 1001}, \
        {"threads", required_argument, NULL, 1002}, {"help", no_argument, NULL, 'h'}
int g2c_cli_common_option(G2cCli *cli, int opt, int *help);

/* Parse a number option; prints a usage error naming the option. */
int g2c_cli_parse_int(const char *option, const char *value, int min, int max, int *out);
int g2c_cli_parse_double(const char *option, const char *value, double min, double max,
                         double *out);

/* Print "g2c CMD: message" for an error (the pending g2c error when msg is
 * NULL). */
void g2c_cli_error(const char *cmd, const char *msg);
void g2c_cli_warn(void *cli, const char *message);

/* A one-line progress display on a terminal; silent otherwise. */
void g2c_cli_progress(const G2cCli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void g2c_cli_progress_done(const G2cCli *cli);

int g2c_cmd_ingest(G2cCli *cli, int argc, char **argv);
void g2c_cmd_ingest_usage(FILE *out);
int g2c_cmd_query(G2cCli *cli, int argc, char **argv);
void g2c_cmd_query_usage(FILE *out);
int g2c_cmd_refset(G2cCli *cli, int argc, char **argv);
void g2c_cmd_refset_usage(FILE *out);
int g2c_cmd_summary(G2cCli *cli, int argc, char **argv);
void g2c_cmd_summary_usage(FILE *out);
int g2c_cmd_pretrain(G2cCli *cli, int argc, char **argv);
void g2c_cmd_pretrain_usage(FILE *out);
int g2c_cmd_translate(G2cCli *cli, int argc, char **argv);
void g2c_cmd_translate_usage(FILE *out);
int g2c_cmd_report(G2cCli *cli, int argc, char **argv);
void g2c_cmd_report_usage(FILE *out);
int g2c_cmd_export(G2cCli *cli, int argc, char **argv);
void g2c_cmd_export_usage(FILE *out);
int g2c_cmd_train(G2cCli *cli, int argc, char **argv);
void g2c_cmd_train_usage(FILE *out);
int g2c_cmd_eval(G2cCli *cli, int argc, char **argv);
void g2c_cmd_eval_usage(FILE *out);
int g2c_cmd_compare(G2cCli *cli, int argc, char **argv);
void g2c_cmd_compare_usage(FILE *out);
int g2c_cmd_infer(G2cCli *cli, int argc, char **argv);
void g2c_cmd_infer_usage(FILE *out);
int g2c_cmd_run(G2cCli *cli, int argc, char **argv);
void g2c_cmd_run_usage(FILE *out);

#endif
