/* options.h - one option table per command, as git's parse-options: the table parses argv
 * and is also the usage line and the --help text, so the two never drift apart.
 *
 * A command describes itself in a static `struct opt_command`: its arguments, what it does,
 * its own options (each stored at an offset into the command's argument struct) and which of
 * the shared ones it takes. Parsing accepts options anywhere among the arguments (GNU
 * style), `--name=value`, `--name value`, `-xVALUE`, `-x VALUE`, bundled flags (`-qv`) and
 * `--` to end the options.
 */
#ifndef FACTORY_OPTIONS_H
#define FACTORY_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum opt_type {
	OPT_END,    /* terminates a table */
	OPT_FLAG,   /* bool, set to true */
	OPT_STRING, /* const char *, pointing into argv */
	OPT_INT,    /* int within [min, max]; anything else is a usage error */
	OPT_LIST,   /* struct opt_list: each use of the option adds one value (--tag a --tag b) */
};

#define OPT_LIST_MAX 32

struct opt_list {
	const char *items[OPT_LIST_MAX]; /* pointing into argv */
	size_t count;
};

struct opt_entry {
	enum opt_type type;
	const char *long_name; /* "output" for --output */
	char short_name;       /* 'o' for -o; 0 for none */
	const char *arg;       /* the argument's name in the help ("DIR"); NULL for a flag */
	const char *help;
	size_t offset;         /* where the value goes in the command's argument struct */
	int min, max;          /* OPT_INT */
};

/* The options every command may share; a command lists the ones it takes. */
enum opt_shared {
	OPT_CONFIG = 1u << 0,  /* --config FILE */
	OPT_CATALOG = 1u << 1, /* --catalog DIR */
	OPT_QUIET = 1u << 2,   /* -q, --quiet */
	OPT_VERBOSE = 1u << 3, /* -v, --verbose */
	OPT_JSON = 1u << 4,    /* --json */
};

struct opt_common {
	const char *config;
	const char *catalog;
	bool quiet;
	bool verbose;
	bool json;
	char **args; /* the arguments that are not options, in order */
	int nargs;
};

struct opt_command {
	const char *name;        /* "fetch" */
	const char *args;        /* "RECIPE", "RECIPE..." (usage line) */
	const char *summary;     /* one line, for `factory help` */
	const char *description; /* paragraphs after the usage line; may be NULL */
	const struct opt_entry *options; /* the command's own, OPT_END last; may be NULL */
	unsigned shared;         /* enum opt_shared bits */
	int min_args, max_args;  /* max_args -1: no limit */
};

/* Parses argv (argv[0] is the command's name). Returns -1 to go on, else the exit status to
 * return at once: 0 after printing the help for -h/--help, 2 after printing the error and
 * the usage on stderr. Reorders argv: common->args points at the arguments. */
int opt_parse(const struct opt_command *cmd, int argc, char **argv, void *values, struct opt_common *common);

/* The usage line, the description and every option with its help. */
void opt_usage(const struct opt_command *cmd, FILE *out);

/* The n-th option of a command in --help order (its own, the shared ones it takes, then
 * --help); NULL past the last. The man pages and the shell completions list them so. */
const struct opt_entry *opt_nth(const struct opt_command *cmd, size_t n);

/* Writes `text` for roff: backslashes and minus signs escaped, a line that would start with
 * a control character guarded, a blank line made a paragraph break. */
void opt_roff_text(const char *text, FILE *out);

/* The command's manual page, factory-NAME(1), in roff (man macros): the same synopsis,
 * description and options as opt_usage, then `see_also` (roff, may be NULL). */
void opt_man(const struct opt_command *cmd, const char *version, const char *see_also, FILE *out);

#endif
