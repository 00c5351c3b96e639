/* factory - Flink images and Kubernetes manifests from one recipe. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "http.h"

#ifndef FACTORY_VERSION
#define FACTORY_VERSION "0.1.0"
#endif
#ifndef FACTORY_COMMIT
#define FACTORY_COMMIT ""
#endif

/* The one piece of process-wide state: whether the user asked us to stop. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

const volatile sig_atomic_t *cmd_interrupted(void)
{
	return &interrupted;
}

const char *cmd_version(void)
{
	return FACTORY_VERSION;
}

/* What main sets up before a command runs. */
enum command_setup {
	SETUP_HTTP = 1u << 0, /* libcurl's process-wide init, before any thread starts */
};

struct command {
	const struct opt_command *spec;
	int (*run)(int argc, char **argv);
	unsigned setup; /* enum command_setup bits */
};

static const struct command commands[] = {
	{&cmd_init_spec, cmd_init, 0},
	{&cmd_fetch_spec, cmd_fetch, SETUP_HTTP},
	{&cmd_lock_spec, cmd_lock, SETUP_HTTP},
	{&cmd_build_spec, cmd_build, SETUP_HTTP},
	{&cmd_push_spec, cmd_push, SETUP_HTTP},
	{&cmd_publish_spec, cmd_publish, 0},
	{&cmd_pull_spec, cmd_pull, SETUP_HTTP},
	{&cmd_inspect_spec, cmd_inspect, 0},
	{&cmd_render_spec, cmd_render, 0},
	{&cmd_validate_spec, cmd_validate, 0},
	{&cmd_verify_spec, cmd_verify, SETUP_HTTP}, /* verify RECIPE may fetch what the cache lacks */
	{&cmd_diff_spec, cmd_diff, SETUP_HTTP},     /* so may the build diff compares */
	{&cmd_completion_spec, cmd_completion, 0},
	{NULL, NULL, 0},
};

const struct opt_command *cmd_spec(size_t i)
{
	return i < sizeof(commands) / sizeof(commands[0]) ? commands[i].spec : NULL;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: factory <command> [options] ARGS\n"
		     "       factory help <command> | --version\n\ncommands:\n");
	for (const struct command *c = commands; c->spec; c++)
		fprintf(out, "  %-10s %s\n", c->spec->name, c->spec->summary);
	fprintf(out, "\nRun 'factory help <command>' or 'factory <command> --help' for a command's options.\n");
}

static const struct command *find_command(const char *name)
{
	for (const struct command *c = commands; c->spec; c++)
		if (strcmp(name, c->spec->name) == 0)
			return c;
	return NULL;
}

/* SEE ALSO of every page: factory(1), the two file formats, each command's page. */
static void man_see_also(const char *self, FILE *out)
{
	if (self)
		fputs(".BR factory (1),\n", out);
	fputs(".BR factory\\-recipe (5),\n.BR factory.yaml (5)", out);
	for (const struct command *c = commands; c->spec; c++)
		if (!self || strcmp(self, c->spec->name) != 0)
			fprintf(out, ",\n.BR factory\\-%s (1)", c->spec->name);
	fputc('\n', out);
}

/* factory(1): the commands, how help and the manual are generated, the exit codes. */
static void man_factory(FILE *out)
{
	fprintf(out, ".TH FACTORY 1 \"\" \"factory %s\" \"factory manual\"\n.nh\n", FACTORY_VERSION);
	fputs(".SH NAME\nfactory \\- Flink images and Kubernetes manifests from one recipe\n"
	      ".SH SYNOPSIS\n.nf\n\\fBfactory\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR] \\fIARGS\\fR\n"
	      "\\fBfactory help\\fR [\\fICOMMAND\\fR]\n\\fBfactory help \\-\\-man\\fR [\\fICOMMAND\\fR]\n"
	      "\\fBfactory help \\-\\-commands\\fR\n\\fBfactory \\-\\-version\\fR\n.fi\n"
	      ".SH DESCRIPTION\nfactory reads a recipe (see\n.BR factory\\-recipe (5))\n"
	      "and the settings in factory.yaml (see\n.BR factory.yaml (5)),\n"
	      "resolves every input to an exact digest, assembles the OCI image of a Flink job without a\n"
	      "container engine and renders the Kubernetes manifests that deploy it.\n"
	      ".PP\nEach command has its own page,\n.BR factory\\-COMMAND (1),\n"
	      "and prints the same text with \\fB\\-\\-help\\fR.\n"
	      "\\fBfactory help \\-\\-man\\fR prints this page in roff, \\fBfactory help \\-\\-man\\fR \\fICOMMAND\\fR\n"
	      "a command's, from the option tables the help comes from;\n"
	      "\\fBfactory help \\-\\-commands\\fR lists the command names, one a line.\n"
	      ".SH COMMANDS\n",
	      out);
	for (const struct command *c = commands; c->spec; c++) {
		fprintf(out, ".TP\n.BR factory\\-%s (1)\n", c->spec->name);
		opt_roff_text(c->spec->summary, out);
	}
	fputs(".SH FILES\n.TP\n.I factory.yaml\nthe settings, found beside the recipe or in a directory above it "
	      "(or \\fB\\-\\-config\\fR, \\fB$FACTORY_CONFIG\\fR)\n"
	      ".TP\n.I PREFIX/share/factory/connectors\nthe installed connector catalog, used when neither "
	      "\\fB\\-\\-catalog\\fR nor factory.yaml names one\n"
	      ".SH EXIT STATUS\n0 on success, 1 when the input is invalid or an operation failed, 2 for a usage "
	      "error, 130 when interrupted.\n.SH SEE ALSO\n",
	      out);
	man_see_also(NULL, out);
}

/* factory help --man [COMMAND] | --commands: what the build makes the manual pages with. */
static int help_generated(int argc, char **argv)
{
	const struct command *c = NULL;

	if (strcmp(argv[2], "--commands") == 0 && argc == 3) {
		for (c = commands; c->spec; c++)
			printf("%s\n", c->spec->name);
		return EXIT_OK;
	}
	if (strcmp(argv[2], "--man") == 0 && argc == 3) {
		man_factory(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[2], "--man") == 0 && argc == 4 && (c = find_command(argv[3]))) {
		char *see_also = NULL;
		size_t size = 0;
		FILE *mem = open_memstream(&see_also, &size);
		if (!mem)
			return EXIT_FAILED;
		man_see_also(c->spec->name, mem);
		fclose(mem);
		opt_man(c->spec, FACTORY_VERSION, see_also, stdout);
		free(see_also);
		return EXIT_OK;
	}
	fprintf(stderr, "usage: factory help --man [COMMAND] | --commands\n");
	return EXIT_USAGE;
}

static int help(int argc, char **argv)
{
	const struct command *c;

	if (argc >= 3 && argv[2][0] == '-')
		return help_generated(argc, argv);
	if (argc < 3) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc > 3 || !(c = find_command(argv[2]))) {
		fprintf(stderr, "factory: '%s' is not a command\n", argv[2]);
		usage(stderr);
		return EXIT_USAGE;
	}
	opt_usage(c->spec, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const struct command *c;
	struct sigaction sa;
	int status;

	/* A peer that goes away (a credential helper, a server) must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
		return help(argc, argv);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("factory %s%s%s%s\n", FACTORY_VERSION, FACTORY_COMMIT[0] ? " (commit " : "", FACTORY_COMMIT,
		       FACTORY_COMMIT[0] ? ")" : "");
		return EXIT_OK;
	}
	if (!(c = find_command(argv[1]))) {
		fprintf(stderr, "factory: '%s' is not a command\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((c->setup & SETUP_HTTP) && http_global_init() < 0) {
		fprintf(stderr, "factory: error: cannot initialise libcurl\n");
		return EXIT_FAILED;
	}
	status = c->run(argc - 1, argv + 1);
	if (c->setup & SETUP_HTTP)
		http_global_cleanup();
	/* Whatever the command made of it, a run the user stopped ends as one. */
	return interrupted && status != EXIT_OK ? EXIT_INTERRUPTED : status;
}
