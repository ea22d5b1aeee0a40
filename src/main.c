/*
 * The `tally` command: one binary, subcommands dispatched to their modules.
 */
#include "collect/collect.h"
#include "loadgen/loadgen.h"
#include "schema/schema.h"
#include "serve/serve.h"

#include <stdio.h>
#include <string.h>

#define TALLY_VERSION "0.1.0"

static void usage(FILE *f)
{
    fputs("tally — real-time clickstream analytics in one binary\n"
          "\n"
          "usage: tally <command> [flags]\n"
          "\n"
          "commands:\n"
          "  serve     run ingest, journal, stream, query API and dashboard in one process\n"
          "  loadgen   send realistic Segment-spec traffic to a tally (or any) server\n"
          "  schema    register, list, check and delete schemas on a running server\n"
          "  deadletters  list and replay rejected events on a running server\n"
          "  journal dump  print a stopped server's journal records as JSON lines\n"
          "  version   print the version\n"
          "\n"
          "`tally <command> --help` explains a command's flags.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return tl_serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "loadgen") == 0)
        return tl_loadgen_cli(argc - 1, argv + 1);
    if (strcmp(cmd, "schema") == 0)
        return tl_schema_cli(argc - 1, argv + 1);
    if (strcmp(cmd, "deadletters") == 0)
        return tl_collect_cli(argc - 1, argv + 1);
    if (strcmp(cmd, "journal") == 0 && argc > 2 && strcmp(argv[2], "dump") == 0)
        return tl_collect_dump_cli(argc - 2, argv + 2);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("tally %s\n", TALLY_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "tally: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
