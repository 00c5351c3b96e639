/* commands.h - one entry per command, like git's builtins: each parses its own flags,
 * calls the library and decides what the user sees. */
#ifndef FACTORY_COMMANDS_H
#define FACTORY_COMMANDS_H

#include <signal.h>

#include "diag.h"
#include "error.h"

/* Exit codes shared by every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* invalid input or an operation failed */
	EXIT_USAGE = 2,
	EXIT_INTERRUPTED = 130,
};

int cmd_render(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_validate(int argc, char **argv);

/* Set when SIGINT or SIGTERM arrived: long operations stop at the next safe point and
 * leave nothing half-written. */
const volatile sig_atomic_t *cmd_interrupted(void);

/* Prints diagnostics sorted by position, then the error (if any) as `factory: error: ...`. */
void cmd_report(struct diag_list *diags, const struct error *err);

#endif
