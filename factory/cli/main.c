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

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"fetch", cmd_fetch, "download and verify the recipe's connectors and JARs into the cache"},
	{"lock", cmd_lock, "resolve every artifact again and rewrite factory.lock"},
	{"build", cmd_build, "fetch, assemble the OCI image (no container engine) and render the manifests"},
	{"push", cmd_push, "push a built bundle's image to its registry (out/<app>)"},
	{"pull", cmd_pull, "pull an image into the cache"},
	{"inspect", cmd_inspect, "show an image layout's layers, digests and files"},
	{"render", cmd_render, "write the Kubernetes manifests of a recipe to out/<app>/manifests"},
	{"validate", cmd_validate, "check a recipe and report every problem"},
	{NULL, NULL, NULL},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: factory <command> [options] RECIPE\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'factory <command> --help' for a command's options.\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa;

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
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("factory %s%s%s%s\n", FACTORY_VERSION, FACTORY_COMMIT[0] ? " (commit " : "", FACTORY_COMMIT,
		       FACTORY_COMMIT[0] ? ")" : "");
		return EXIT_OK;
	}
	for (const struct command *c = commands; c->name; c++) {
		int status;
		if (strcmp(argv[1], c->name) != 0)
			continue;
		if (http_global_init() < 0) {
			fprintf(stderr, "factory: error: cannot initialise libcurl\n");
			return EXIT_FAILED;
		}
		status = c->run(argc - 1, argv + 1);
		http_global_cleanup();
		return interrupted && status != EXIT_OK ? EXIT_INTERRUPTED : status;
	}
	fprintf(stderr, "factory: '%s' is not a command\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
