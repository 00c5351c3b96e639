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
	/* factory diff, as diff(1): 0 the same, 1 different, 2 trouble (it could not tell). */
	EXIT_DIFFERENT = 1,
	EXIT_TROUBLE = 2,
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
extern const struct opt_command cmd_diff_spec;
extern const struct opt_command cmd_completion_spec;
extern const struct opt_command cmd_init_spec;

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
int cmd_diff(int argc, char **argv);
int cmd_completion(int argc, char **argv);

/* The i-th command's table, in `factory help` order; NULL past the last. */
const struct opt_command *cmd_spec(size_t i);
int cmd_init(int argc, char **argv);

/* Set when SIGINT or SIGTERM arrived: long operations stop at the next safe point and
 * leave nothing half-written. */
const volatile sig_atomic_t *cmd_interrupted(void);
/* factory's release ("0.1.0"), without the commit: it is recorded in bundles. */
const char *cmd_version(void);

/* SOURCE_DATE_EPOCH (default IMAGE_DEFAULT_EPOCH): the build's timestamps, and part of the
 * inputs a render compares with the last build's. */
int cmd_source_date_epoch(long long *epoch, struct error *err);

/* --registry, --repository, --tag and --strict, shared by build and render (a command's args
 * struct holds one as `target`); FACTORY_REGISTRY, FACTORY_REPOSITORY and FACTORY_TAGS
 * (comma- or space-separated) stand in for the flags that are not given, as KO_DOCKER_REPO
 * does for ko. */
struct cmd_target_args {
	const char *registry;
	const char *repository;
	struct opt_list tags;
	bool strict;
	char *env_tags; /* FACTORY_TAGS, split in place */
	const char *env_tag_items[OPT_LIST_MAX];
};

#define CMD_TARGET_OPTIONS(type)                                                                                 \
	{OPT_STRING, "registry", 0, "HOST", "push to this registry (default: $FACTORY_REGISTRY, else image.registry)", \
	 offsetof(type, target.registry), 0, 0},                                                                 \
	{OPT_STRING, "repository", 0, "PATH",                                                                    \
	 "the image's repository (default: $FACTORY_REPOSITORY, else image.repository)",                        \
	 offsetof(type, target.repository), 0, 0},                                                              \
	{OPT_LIST, "tag", 't', "TAG", "a tag instead of image.tags, repeatable (default: $FACTORY_TAGS)",        \
	 offsetof(type, target.tags), 0, 0},                                                                    \
	{OPT_FLAG, "strict", 0, NULL, "treat warnings as errors", offsetof(type, target.strict), 0, 0}

struct recipe_image_override;
/* The override of the recipe's image target from the flags, else the environment. */
int cmd_image_override(struct cmd_target_args *args, struct recipe_image_override *o, struct error *err);
void cmd_target_args_clear(struct cmd_target_args *args);
/* With --strict, a run that warned fails (warnings found after the recipe was read; those in
 * it stopped the run before anything was written). Returns the exit status. */
int cmd_strict(const struct cmd_target_args *args, const struct diag_list *diags, int status, struct error *err);

/* Prints diagnostics sorted by position, then the error (if any) as `factory: error: ...`. */
void cmd_report(struct diag_list *diags, const struct error *err);

#endif
