// genlens: the command line face of genlens_core. Subcommands live one per file in
// app/cli/ and register themselves (command.h).
#include "app/cli/command.h"

int main(int argc, char** argv) { return genlens::cli::run_cli(argc, argv); }
