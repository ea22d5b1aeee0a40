/*
 * The `tally` command: one binary, subcommands dispatched to their modules.
 */
#include "loadgen/loadgen.h"
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
