/* factory - Flink images and Kubernetes manifests from one recipe. */
#include <signal.h>
#include <stdio.h>
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
	{NULL, NULL, 0},
};

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

static int help(int argc, char **argv)
{
	const struct command *c;

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
