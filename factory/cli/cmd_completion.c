/* factory completion bash|zsh|fish | --connectors
 *
 * The scripts are written from the command and option tables, so they complete exactly what
 * the commands take. What an option's value or a command's arguments are is read from the
 * names the help shows: FILE, DIR, CONNECTOR, RECIPE, out/<app>, COMMAND, or a list of words
 * such as bash|zsh|fish. Connector names come from the catalog when the user presses tab,
 * through `factory completion --connectors`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "commands.h"
#include "workspace.h"

struct completion_args {
	bool connectors;
};

static const struct opt_entry completion_options[] = {
	{OPT_FLAG, "connectors", 0, NULL, "print the catalog's connector names, one a line (the scripts call this)",
	 offsetof(struct completion_args, connectors), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_completion_spec = {
	.name = "completion",
	.args = "bash|zsh|fish",
	.summary = "print the shell completion script for bash, zsh or fish",
	.description = "Prints a script that completes factory's commands, each command's options, recipe\n"
		       "files (*.yaml), directories where a command takes one and the catalog's connector\n"
		       "names where an option takes one. Load it in the current shell with\n"
		       "  source <(factory completion bash)\n"
		       "or install it where the shell looks (make install does, see README.md).",
	.options = completion_options,
	.shared = OPT_CONFIG | OPT_CATALOG,
	.min_args = 0,
	.max_args = 1,
};

/* What a value or an argument is, from its name in the help. */
enum completion_kind {
	COMPLETE_NOTHING,
	COMPLETE_FILES,
	COMPLETE_DIRS,
	COMPLETE_RECIPES, /* *.yaml, and directories to get to them */
	COMPLETE_CONNECTORS,
	COMPLETE_COMMANDS,
	COMPLETE_WORDS, /* the name itself lists them: "bash|zsh|fish" */
};

static enum completion_kind kind_of(const char *name)
{
	if (!name || !*name)
		return COMPLETE_NOTHING;
	if (strstr(name, "RECIPE"))
		return COMPLETE_RECIPES;
	if (strstr(name, "CONNECTOR"))
		return COMPLETE_CONNECTORS;
	if (strstr(name, "COMMAND"))
		return COMPLETE_COMMANDS;
	if (strstr(name, "DIR") || strstr(name, "out/"))
		return COMPLETE_DIRS;
	if (strstr(name, "FILE"))
		return COMPLETE_FILES;
	if (strchr(name, '|') && strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-|") == strlen(name))
		return COMPLETE_WORDS;
	return COMPLETE_NOTHING;
}

/* `factory help` takes a command name: not a table of its own, so described here. */
static const struct opt_command help_spec = {
	.name = "help",
	.args = "COMMAND",
	.summary = "show a command's options",
	.min_args = 0,
	.max_args = 1,
};

/* Every command the scripts complete: the tables, then help. */
static const struct opt_command *nth_command(size_t i)
{
	const struct opt_command *c = cmd_spec(i);
	size_t count = 0;

	if (c)
		return c;
	while (cmd_spec(count))
		count++;
	return i == count ? &help_spec : NULL;
}

/* The word list, space-separated: "bash|zsh|fish" -> "bash zsh fish". */
static void print_words(const char *name, FILE *out)
{
	for (const char *p = name; *p; p++)
		fputc(*p == '|' ? ' ' : *p, out);
}

/* How a shell completes each kind: what the script says, the words of COMPLETE_WORDS between
 * words_open and words_close. */
struct shell_actions {
	const char *kind[COMPLETE_WORDS];
	const char *words_open, *words_close;
};

static const struct shell_actions bash_actions = {
	{
		[COMPLETE_NOTHING] = "COMPREPLY=()",
		[COMPLETE_FILES] = "_factory_files",
		[COMPLETE_DIRS] = "_factory_dirs",
		[COMPLETE_RECIPES] = "_factory_recipes",
		[COMPLETE_CONNECTORS] = "_factory_words \"$(_factory_connectors)\"",
		[COMPLETE_COMMANDS] = "_factory_words \"$_factory_commands\"",
	},
	"_factory_words '",
	"'",
};

static const struct shell_actions zsh_actions = {
	{
		[COMPLETE_NOTHING] = " ",
		[COMPLETE_FILES] = "_files",
		[COMPLETE_DIRS] = "_files -/",
		[COMPLETE_RECIPES] = "_files -g \"*.yaml\"",
		[COMPLETE_CONNECTORS] = "_factory_connectors",
		[COMPLETE_COMMANDS] = "_factory_commands",
	},
	"(",
	")",
};

static const struct shell_actions fish_actions = {
	{
		[COMPLETE_NOTHING] = " -x",
		[COMPLETE_FILES] = " -r -F",
		[COMPLETE_DIRS] = " -x -a '(__fish_complete_directories)'",
		[COMPLETE_RECIPES] = " -x -a '(__fish_complete_suffix .yaml)'",
		[COMPLETE_CONNECTORS] = " -x -a '(__factory_connectors)'",
		[COMPLETE_COMMANDS] = " -x -a '(__factory_commands)'",
	},
	" -x -a '",
	"'",
};

/* What completes a value or an argument called `name` ("DIR", "RECIPE...", "bash|zsh|fish"). */
static void print_action(const struct shell_actions *shell, const char *name, FILE *out)
{
	enum completion_kind kind = kind_of(name);

	if (kind != COMPLETE_WORDS) {
		fputs(shell->kind[kind], out);
		return;
	}
	fputs(shell->words_open, out);
	print_words(name, out);
	fputs(shell->words_close, out);
}

/* ---------------------------------------------------------------- bash */

static void completion_bash(FILE *out)
{
	const struct opt_command *c;
	const struct opt_entry *e;

	fputs("# bash completion for factory, written by `factory completion bash` from its option tables.\n"
	      "_factory_commands='",
	      out);
	for (size_t i = 0; (c = nth_command(i)); i++)
		fprintf(out, "%s%s", i ? " " : "", c->name);
	fputs("'\n"
	      "_factory_connectors() { \"${COMP_WORDS[0]:-factory}\" completion --connectors 2>/dev/null; }\n"
	      "_factory_words() { mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\"); }\n"
	      "_factory_files() { compopt -o filenames 2>/dev/null || true; mapfile -t COMPREPLY < <(compgen -f -- \"$cur\"); }\n"
	      "_factory_dirs() { compopt -o filenames 2>/dev/null || true; mapfile -t COMPREPLY < <(compgen -d -- \"$cur\"); }\n"
	      "_factory_recipes() {\n"
	      "\tcompopt -o filenames 2>/dev/null || true\n"
	      "\tmapfile -t COMPREPLY < <(compgen -d -- \"$cur\"; compgen -f -X '!*.yaml' -- \"$cur\")\n"
	      "}\n"
	      "_factory() {\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd='' i\n"
	      "\tCOMPREPLY=()\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tcase ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac\n"
	      "\tdone\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\t_factory_words \"$_factory_commands --help --version\"\n"
	      "\t\treturn 0\n"
	      "\tfi\n"
	      "\tcase $cmd in\n",
	      out);
	for (size_t i = 0; (c = nth_command(i)); i++) {
		fprintf(out, "\t%s)\n\t\tcase $prev in\n", c->name);
		for (size_t n = 0; (e = opt_nth(c, n)); n++) {
			if (!e->arg)
				continue;
			fputs("\t\t", out);
			if (e->short_name)
				fprintf(out, "-%c|", e->short_name);
			fprintf(out, "--%s) ", e->long_name);
			print_action(&bash_actions, e->arg, out);
			fputs("; return 0 ;;\n", out);
		}
		fputs("\t\tesac\n\t\tif [[ $cur == -* ]]; then\n\t\t\t_factory_words '", out);
		for (size_t n = 0; (e = opt_nth(c, n)); n++) {
			if (e->short_name)
				fprintf(out, "-%c ", e->short_name);
			fprintf(out, "--%s%s", e->long_name, opt_nth(c, n + 1) ? " " : "");
		}
		fputs("'\n\t\telse\n\t\t\t", out);
		print_action(&bash_actions, c->args, out);
		fputs("\n\t\tfi\n\t\t;;\n", out);
	}
	fputs("\tesac\n\treturn 0\n}\ncomplete -F _factory factory\n", out);
}

/* ---------------------------------------------------------------- zsh */

/* Text inside a single-quoted word: quotes closed and reopened, and a backslash before each
 * of `special`, the characters _arguments would read there (] in an explanation, : in a
 * message). */
static void zsh_text(const char *s, const char *special, FILE *out)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else if (strchr(special, *s))
			fprintf(out, "\\%c", *s);
		else
			fputc(*s, out);
	}
}

static void completion_zsh(FILE *out)
{
	const struct opt_command *c;
	const struct opt_entry *e;

	fputs("#compdef factory\n"
	      "# zsh completion for factory, written by `factory completion zsh` from its option tables.\n"
	      "_factory_connectors() {\n"
	      "\tlocal -a names\n"
	      "\tnames=(${(f)\"$(${words[1]:-factory} completion --connectors 2>/dev/null)\"})\n"
	      "\tcompadd -a names\n"
	      "}\n"
	      "_factory_commands() {\n"
	      "\tlocal -a commands\n"
	      "\tcommands=(\n",
	      out);
	for (size_t i = 0; (c = nth_command(i)); i++) {
		fprintf(out, "\t\t'%s:", c->name);
		zsh_text(c->summary, "", out);
		fputs("'\n", out);
	}
	fputs("\t)\n\t_describe command commands\n}\n"
	      "_factory() {\n"
	      "\tif (( CURRENT == 2 )); then\n"
	      "\t\t_factory_commands\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tlocal cmd=$words[2]\n"
	      "\tshift words\n"
	      "\t(( CURRENT-- ))\n"
	      "\tcase $cmd in\n",
	      out);
	for (size_t i = 0; (c = nth_command(i)); i++) {
		fprintf(out, "\t%s)\n\t\t_arguments -s", c->name);
		for (size_t n = 0; (e = opt_nth(c, n)); n++) {
			fputs(" \\\n\t\t\t", out);
			if (e->short_name)
				fprintf(out, "'(-%c --%s)'{-%c,--%s}'", e->short_name, e->long_name, e->short_name,
					e->long_name);
			else
				fprintf(out, "'--%s", e->long_name);
			fputc('[', out);
			zsh_text(e->help, "]\\", out);
			fputc(']', out);
			if (e->arg) {
				fputc(':', out);
				zsh_text(e->arg, ":\\", out);
				fputc(':', out);
				print_action(&zsh_actions, e->arg, out);
			}
			fputc('\'', out);
		}
		if (c->max_args != 0 && c->args) {
			fprintf(out, " \\\n\t\t\t'%s:", c->max_args == 1 ? "1" : "*");
			zsh_text(c->args, ":\\", out);
			fputc(':', out);
			print_action(&zsh_actions, c->args, out);
			fputc('\'', out);
		}
		fputs("\n\t\t;;\n", out);
	}
	fputs("\tesac\n}\n_factory \"$@\"\n", out);
}

/* ---------------------------------------------------------------- fish */

/* Text inside single quotes for fish. */
static void fish_text(const char *s, FILE *out)
{
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
}

static void completion_fish(FILE *out)
{
	const struct opt_command *c;
	const struct opt_entry *e;

	fputs("# fish completion for factory, written by `factory completion fish` from its option tables.\n"
	      "function __factory_connectors\n\tfactory completion --connectors 2>/dev/null\nend\n"
	      "function __factory_commands\n",
	      out);
	for (size_t i = 0; (c = nth_command(i)); i++)
		fprintf(out, "\techo %s\n", c->name);
	fputs("end\ncomplete -c factory -f\n", out);
	for (size_t i = 0; (c = nth_command(i)); i++) {
		fprintf(out, "complete -c factory -n __fish_use_subcommand -a %s -d '", c->name);
		fish_text(c->summary, out);
		fputs("'\n", out);
	}
	for (size_t i = 0; (c = nth_command(i)); i++) {
		for (size_t n = 0; (e = opt_nth(c, n)); n++) {
			fprintf(out, "complete -c factory -n '__fish_seen_subcommand_from %s'", c->name);
			if (e->short_name)
				fprintf(out, " -s %c", e->short_name);
			fprintf(out, " -l %s", e->long_name);
			if (e->arg)
				print_action(&fish_actions, e->arg, out);
			fputs(" -d '", out);
			fish_text(e->help, out);
			fputs("'\n", out);
		}
		if (c->max_args != 0 && kind_of(c->args) != COMPLETE_NOTHING) {
			fprintf(out, "complete -c factory -n '__fish_seen_subcommand_from %s'", c->name);
			print_action(&fish_actions, c->args, out);
			fputc('\n', out);
		}
	}
}

/* The catalog's names, as a recipe's `connectors:` would find them. */
static int print_connectors(const struct opt_common *common)
{
	struct workspace_options options = {.config_path = common->config, .catalog_dir = common->catalog};
	struct workspace ws = {0};
	struct diag_list diags;
	struct error err = {0};
	const char **names;
	int status = EXIT_OK;
	char *config = NULL;

	diag_list_init(&diags);
	/* factory.yaml is searched from the current directory up, as for a recipe in it
	 * (config_find starts at the directory of the path it is given). */
	if (!options.config_path)
		options.config_path = config = access("factory.yaml", R_OK) == 0 ? strdup("factory.yaml") : config_find(".");
	if (workspace_open(&ws, NULL, &options, &diags, &err)) {
		cmd_report(&diags, &err);
		status = EXIT_FAILED;
		goto out;
	}
	if (ws.catalog && (names = catalog_names(ws.catalog))) {
		for (size_t i = 0; names[i]; i++)
			printf("%s\n", names[i]);
		free(names);
	}
out:
	workspace_close(&ws);
	diag_list_free(&diags);
	free(config);
	return status;
}

int cmd_completion(int argc, char **argv)
{
	struct completion_args args = {0};
	struct opt_common common;
	const char *shell;
	int rc;

	if ((rc = opt_parse(&cmd_completion_spec, argc, argv, &args, &common)) >= 0)
		return rc;
	if (args.connectors)
		return print_connectors(&common);
	shell = common.nargs ? common.args[0] : "";
	if (strcmp(shell, "bash") == 0)
		completion_bash(stdout);
	else if (strcmp(shell, "zsh") == 0)
		completion_zsh(stdout);
	else if (strcmp(shell, "fish") == 0)
		completion_fish(stdout);
	else {
		fprintf(stderr, "factory completion: which shell: bash, zsh or fish?\n\n");
		opt_usage(&cmd_completion_spec, stderr);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
