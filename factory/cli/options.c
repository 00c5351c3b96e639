#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"

#define USAGE_WIDTH 100 /* the synopsis wraps here */
#define HELP_COLUMN 24  /* where option help starts */

/* The shared options, in the order the help lists them. Their values live in struct
 * opt_common, so their offsets are into it. */
static const struct {
	unsigned bit;
	struct opt_entry entry;
} shared_options[] = {
	{OPT_CONFIG,
	 {OPT_STRING, "config", 0, "FILE", "factory.yaml to use (default: $FACTORY_CONFIG, else the nearest one)",
	  offsetof(struct opt_common, config), 0, 0}},
	{OPT_CATALOG,
	 {OPT_STRING, "catalog", 0, "DIR", "connector catalog (default: factory.yaml's, else the installed one)",
	  offsetof(struct opt_common, catalog), 0, 0}},
	{OPT_QUIET, {OPT_FLAG, "quiet", 'q', NULL, "print only errors", offsetof(struct opt_common, quiet), 0, 0}},
	{OPT_VERBOSE,
	 {OPT_FLAG, "verbose", 'v', NULL, "show each HTTP request and its status on stderr (never a credential)",
	  offsetof(struct opt_common, verbose), 0, 0}},
	{OPT_JSON,
	 {OPT_FLAG, "json", 0, NULL, "print one JSON document on stdout, also on failure",
	  offsetof(struct opt_common, json), 0, 0}},
};

static const struct opt_entry help_option = {OPT_FLAG, "help", 'h', NULL, "show this help and exit", 0, 0, 0};

/* Every option of a command in help order: its own, the shared ones it takes, then --help.
 * `*base` tells the caller where the value goes: 0 the command's struct, 1 opt_common, 2 none. */
static const struct opt_entry *nth_option(const struct opt_command *cmd, size_t n, int *base)
{
	size_t own = 0;

	while (cmd->options && cmd->options[own].type != OPT_END)
		own++;
	if (n < own) {
		*base = 0;
		return &cmd->options[n];
	}
	n -= own;
	for (size_t i = 0; i < sizeof(shared_options) / sizeof(shared_options[0]); i++) {
		if (!(cmd->shared & shared_options[i].bit))
			continue;
		if (n-- == 0) {
			*base = 1;
			return &shared_options[i].entry;
		}
	}
	if (n == 0) {
		*base = 2;
		return &help_option;
	}
	return NULL;
}

static void option_name(const struct opt_entry *e, char *buf, size_t size)
{
	if (e->short_name)
		snprintf(buf, size, "-%c/--%s", e->short_name, e->long_name);
	else
		snprintf(buf, size, "--%s", e->long_name);
}

static void synopsis(const struct opt_command *cmd, FILE *out)
{
	const char *lead = "usage: factory ";
	size_t col = strlen(lead) + strlen(cmd->name), indent = col + 1;
	const struct opt_entry *e;
	int base;

	fprintf(out, "%s%s", lead, cmd->name);
	for (size_t n = 0; (e = nth_option(cmd, n, &base)); n++) {
		char item[96];
		if (base == 2)
			continue; /* -h is in the list below, not worth the synopsis' room */
		if (e->short_name)
			snprintf(item, sizeof(item), "[-%c%s%s]", e->short_name, e->arg ? " " : "", e->arg ? e->arg : "");
		else
			snprintf(item, sizeof(item), "[--%s%s%s]", e->long_name, e->arg ? " " : "", e->arg ? e->arg : "");
		if (col + 1 + strlen(item) > USAGE_WIDTH) {
			fprintf(out, "\n%*s", (int)indent, "");
			col = indent;
		} else {
			fputc(' ', out);
			col++;
		}
		fputs(item, out);
		col += strlen(item);
	}
	if (cmd->args && *cmd->args) {
		if (col + 1 + strlen(cmd->args) > USAGE_WIDTH)
			fprintf(out, "\n%*s", (int)indent, "");
		else
			fputc(' ', out);
		fputs(cmd->args, out);
	}
	fputc('\n', out);
}

void opt_usage(const struct opt_command *cmd, FILE *out)
{
	const struct opt_entry *e;
	int base;

	synopsis(cmd, out);
	if (cmd->description)
		fprintf(out, "\n%s\n", cmd->description);
	fputc('\n', out);
	for (size_t n = 0; (e = nth_option(cmd, n, &base)); n++) {
		char left[64], flag[4] = "  ";
		int len;
		if (e->short_name)
			snprintf(flag, sizeof(flag), "-%c", e->short_name);
		len = snprintf(left, sizeof(left), "  %s%s--%s%s%s", flag, e->short_name ? ", " : "  ", e->long_name,
			       e->arg ? " " : "", e->arg ? e->arg : "");
		if (len >= HELP_COLUMN - 1)
			fprintf(out, "%s\n%*s%s\n", left, HELP_COLUMN, "", e->help);
		else
			fprintf(out, "%-*s%s\n", HELP_COLUMN, left, e->help);
	}
}

static int usage_error(const struct opt_command *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(const struct opt_command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "factory %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\n", stderr);
	opt_usage(cmd, stderr);
	return EXIT_USAGE;
}

/* Stores one option's value. `value` is NULL for a flag. */
static int store(const struct opt_command *cmd, const struct opt_entry *e, int base, const char *value,
		 void *values, struct opt_common *common)
{
	char *slot = base == 0 ? (char *)values : (char *)common, name[80];

	if (base == 2)
		return -2; /* --help */
	slot += e->offset;
	switch (e->type) {
	case OPT_FLAG:
		*(bool *)(void *)slot = true;
		return -1;
	case OPT_STRING:
		*(const char **)(void *)slot = value;
		return -1;
	case OPT_LIST: {
		struct opt_list *list = (struct opt_list *)(void *)slot;
		if (list->count == OPT_LIST_MAX) {
			option_name(e, name, sizeof(name));
			return usage_error(cmd, "%s: given more than %d times", name, OPT_LIST_MAX);
		}
		list->items[list->count++] = value;
		return -1;
	}
	case OPT_INT: {
		char *end;
		long n;
		errno = 0;
		n = strtol(value, &end, 10);
		if (errno || end == value || *end || n < e->min || n > e->max) {
			option_name(e, name, sizeof(name));
			return usage_error(cmd, "%s: '%s' is not a whole number from %d to %d", name, value, e->min,
					   e->max);
		}
		*(int *)(void *)slot = (int)n;
		return -1;
	}
	default:
		return -1;
	}
}

static const struct opt_entry *find_long(const struct opt_command *cmd, const char *name, size_t len, int *base)
{
	const struct opt_entry *e;

	for (size_t n = 0; (e = nth_option(cmd, n, base)); n++)
		if (strlen(e->long_name) == len && strncmp(e->long_name, name, len) == 0)
			return e;
	return NULL;
}

static const struct opt_entry *find_short(const struct opt_command *cmd, char c, int *base)
{
	const struct opt_entry *e;

	for (size_t n = 0; (e = nth_option(cmd, n, base)); n++)
		if (e->short_name == c)
			return e;
	return NULL;
}

/* One argument that starts with "-": returns -1 to go on, -2 for --help, else an exit status.
 * `*i` moves past a separate value. */
static int parse_option(const struct opt_command *cmd, int argc, char **argv, int *i, void *values,
			struct opt_common *common)
{
	const char *a = argv[*i];
	const struct opt_entry *e;
	char name[80];
	int base, rc;

	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		if (!(e = find_long(cmd, a + 2, len, &base)))
			return usage_error(cmd, "unknown option '%.*s'", (int)(len + 2), a);
		if (!e->arg) {
			if (eq)
				return usage_error(cmd, "option '--%s' takes no value", e->long_name);
			return store(cmd, e, base, NULL, values, common);
		}
		if (eq)
			return store(cmd, e, base, eq + 1, values, common);
		if (*i + 1 >= argc)
			return usage_error(cmd, "option '--%s' needs a value (%s)", e->long_name, e->arg);
		return store(cmd, e, base, argv[++*i], values, common);
	}
	for (const char *p = a + 1; *p; p++) {
		if (!(e = find_short(cmd, *p, &base)))
			return usage_error(cmd, "unknown option '-%c'", *p);
		if (!e->arg) {
			if ((rc = store(cmd, e, base, NULL, values, common)) != -1)
				return rc;
			continue;
		}
		option_name(e, name, sizeof(name));
		if (p[1])
			return store(cmd, e, base, p + 1, values, common);
		if (*i + 1 >= argc)
			return usage_error(cmd, "option '%s' needs a value (%s)", name, e->arg);
		return store(cmd, e, base, argv[++*i], values, common);
	}
	return -1;
}

int opt_parse(const struct opt_command *cmd, int argc, char **argv, void *values, struct opt_common *common)
{
	int kept = 1, rc;
	bool options_done = false;

	memset(common, 0, sizeof(*common));
	/* Arguments are moved down over the options already read: argv[1..kept) are arguments. */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (options_done || a[0] != '-' || a[1] == '\0') {
			argv[kept++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		rc = parse_option(cmd, argc, argv, &i, values, common);
		if (rc == -2) {
			opt_usage(cmd, stdout);
			return EXIT_OK;
		}
		if (rc != -1)
			return rc;
	}
	common->args = argv + 1;
	common->nargs = kept - 1;
	if (common->nargs < cmd->min_args)
		return usage_error(cmd, "missing %s", cmd->args);
	if (cmd->max_args >= 0 && common->nargs > cmd->max_args)
		return usage_error(cmd, "unexpected argument '%s'", common->args[cmd->max_args]);
	return -1;
}

const struct opt_entry *opt_nth(const struct opt_command *cmd, size_t n)
{
	int base;

	return nth_option(cmd, n, &base);
}

/* Backslashes and minus signs escaped (a plain "-" is a hyphen to roff). */
static void roff_char(char c, FILE *out)
{
	if (c == '\\')
		fputs("\\e", out);
	else if (c == '-')
		fputs("\\-", out);
	else
		fputc(c, out);
}

void opt_roff_text(const char *text, FILE *out)
{
	bool line_start = true;

	for (const char *p = text; *p; p++) {
		if (line_start && *p == '\n') {
			fputs(".PP\n", out); /* a blank line: a new paragraph */
			continue;
		}
		if (line_start && (*p == '.' || *p == '\''))
			fputs("\\&", out);
		line_start = *p == '\n';
		roff_char(*p, out);
	}
	if (!line_start)
		fputc('\n', out);
}

/* A word within a line. */
static void roff_word(const char *s, FILE *out)
{
	for (; *s; s++)
		roff_char(*s, out);
}

/* " DIR" after an option's name, italic; nothing for a flag. */
static void man_option_arg(const struct opt_entry *e, FILE *out)
{
	if (!e->arg)
		return;
	fputs(" \\fI", out);
	roff_word(e->arg, out);
	fputs("\\fR", out);
}

/* "-o, --output DIR" in roff: names bold, the argument italic. */
static void man_option_name(const struct opt_entry *e, FILE *out)
{
	if (e->short_name)
		fprintf(out, "\\fB\\-%c\\fR, ", e->short_name);
	fputs("\\fB\\-\\-", out);
	roff_word(e->long_name, out);
	fputs("\\fR", out);
	man_option_arg(e, out);
	fputc('\n', out);
}

void opt_man(const struct opt_command *cmd, const char *version, const char *see_also, FILE *out)
{
	const struct opt_entry *e;
	char upper[64];
	size_t i;

	for (i = 0; cmd->name[i] && i + 1 < sizeof(upper); i++)
		upper[i] = (char)(cmd->name[i] >= 'a' && cmd->name[i] <= 'z' ? cmd->name[i] - 'a' + 'A' : cmd->name[i]);
	upper[i] = '\0';
	fprintf(out, ".TH FACTORY\\-%s 1 \"\" \"factory %s\" \"factory manual\"\n.nh\n", upper, version);
	fprintf(out, ".SH NAME\nfactory\\-%s \\- ", cmd->name);
	opt_roff_text(cmd->summary, out);
	/* The synopsis of --help, one item a line for roff to fill: [-o DIR] ... ARGS */
	fprintf(out, ".SH SYNOPSIS\n.B factory %s\n", cmd->name);
	for (size_t n = 0; (e = opt_nth(cmd, n)); n++) {
		if (e == &help_option)
			continue;
		fputs("[\\fB\\-", out);
		if (e->short_name)
			fputc(e->short_name, out);
		else {
			fputs("\\-", out);
			roff_word(e->long_name, out);
		}
		fputs("\\fR", out);
		man_option_arg(e, out);
		fputs("]\n", out);
	}
	if (cmd->args && *cmd->args)
		opt_roff_text(cmd->args, out);
	if (cmd->description) {
		fprintf(out, ".SH DESCRIPTION\n");
		opt_roff_text(cmd->description, out);
	}
	fprintf(out, ".SH OPTIONS\n");
	for (size_t n = 0; (e = opt_nth(cmd, n)); n++) {
		fprintf(out, ".TP\n");
		man_option_name(e, out);
		opt_roff_text(e->help, out);
	}
	if (see_also)
		fprintf(out, ".SH SEE ALSO\n%s", see_also);
}
