/* commands.h - one entry per command, like git's builtins: each declares its options in a
 * table (options.h), calls the library once and decides what the user sees (output.h). */
#ifndef FACTORY_COMMANDS_H
#define FACTORY_COMMANDS_H

#include <signal.h>

#include "diag.h"
#include "error.h"
#include "options.h"

/* Exit codes shared by every command. */
enum {
	EXIT_OK = 0,
	EXIT_FAILED = 1, /* invalid input or an operation failed */
	EXIT_USAGE = 2,
	EXIT_INTERRUPTED = 130,
};

/* Each command's table: its usage, its --help and `factory help NAME` come from it. */
extern const struct opt_command cmd_render_spec;
extern const struct opt_command cmd_fetch_spec;
extern const struct opt_command cmd_lock_spec;
extern const struct opt_command cmd_build_spec;
extern const struct opt_command cmd_inspect_spec;
extern const struct opt_command cmd_push_spec;
extern const struct opt_command cmd_pull_spec;
extern const struct opt_command cmd_validate_spec;
extern const struct opt_command cmd_publish_spec;
extern const struct opt_command cmd_verify_spec;

int cmd_render(int argc, char **argv);
int cmd_fetch(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_push(int argc, char **argv);
int cmd_pull(int argc, char **argv);
int cmd_lock(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_publish(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* Set when SIGINT or SIGTERM arrived: long operations stop at the next safe point and
 * leave nothing half-written. */
const volatile sig_atomic_t *cmd_interrupted(void);
/* factory's release ("0.1.0"), without the commit: it is recorded in bundles. */
const char *cmd_version(void);

/* SOURCE_DATE_EPOCH (default IMAGE_DEFAULT_EPOCH): the build's timestamps, and part of the
 * inputs a render compares with the last build's. */
int cmd_source_date_epoch(long long *epoch, struct error *err);

/* Prints diagnostics sorted by position, then the error (if any) as `factory: error: ...`. */
void cmd_report(struct diag_list *diags, const struct error *err);

#endif
