/* factory init [DIR] [--pyflink | --java] [--from FLINKDEPLOYMENT [--scripts CONFIGMAP]] [--force] */
#include <stdio.h>

#include "commands.h"
#include "output.h"
#include "scaffold.h"

struct init_args {
	bool pyflink;
	bool java;
	const char *from;
	const char *scripts;
	bool force;
};

static const struct opt_entry init_options_table[] = {
	{OPT_FLAG, "pyflink", 0, NULL, "a PyFlink job: python.scripts and jobs/main.py (the default)",
	 offsetof(struct init_args, pyflink), 0, 0},
	{OPT_FLAG, "java", 0, NULL, "a Java job: java.jarURI and a connector from the catalog",
	 offsetof(struct init_args, java), 0, 0},
	{OPT_STRING, "from", 0, "FILE", "import this FlinkDeployment (flink.apache.org/v1beta1) instead",
	 offsetof(struct init_args, from), 0, 0},
	{OPT_STRING, "scripts", 0, "FILE", "with --from: the ConfigMap holding the PyFlink scripts",
	 offsetof(struct init_args, scripts), 0, 0},
	{OPT_FLAG, "force", 'f', NULL, "overwrite files that exist", offsetof(struct init_args, force), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_init_spec = {
	.name = "init",
	.args = "[DIR]",
	.summary = "write a starter recipe, or one imported from a FlinkDeployment",
	.description = "Writes DIR/recipe.yaml (DIR defaults to .): a commented starter recipe, with\n"
		       "jobs/main.py for --pyflink, and DIR/factory.yaml unless one exists. With --from,\n"
		       "the recipe is made from a hand-written FlinkDeployment (and with --scripts its\n"
		       "scripts from the ConfigMap's data, into DIR/jobs/); what has no recipe key is\n"
		       "listed as not carried over. A file that exists is an error unless --force.",
	.options = init_options_table,
	.shared = OPT_QUIET | OPT_JSON,
	.min_args = 0,
	.max_args = 1,
};

int cmd_init(int argc, char **argv)
{
	struct init_args args = {0};
	struct opt_common common;
	struct output out;
	struct scaffold s = {0};
	struct diag_list diags;
	struct error err = {0};
	const char *dir;
	int status = EXIT_OK, rc;

	if ((rc = opt_parse(&cmd_init_spec, argc, argv, &args, &common)) >= 0)
		return rc;
	if (args.pyflink && args.java) {
		fprintf(stderr, "factory: --pyflink and --java exclude each other\n");
		return EXIT_USAGE;
	}
	if (args.from && (args.pyflink || args.java)) {
		fprintf(stderr, "factory: --from takes the kind of job from the FlinkDeployment\n");
		return EXIT_USAGE;
	}
	if (args.scripts && !args.from) {
		fprintf(stderr, "factory: --scripts needs --from\n");
		return EXIT_USAGE;
	}
	dir = common.nargs ? common.args[0] : ".";
	output_init(&out, cmd_init_spec.name, &common);
	diag_list_init(&diags);
	if (args.from)
		rc = scaffold_import(&s, args.from, args.scripts, &diags, &err);
	else
		rc = scaffold_starter(&s, dir, NULL, args.java ? SCAFFOLD_JAVA : SCAFFOLD_PYFLINK, &err);
	if (rc == 0)
		rc = scaffold_write(&s, dir, args.force, &err);
	if (rc)
		status = EXIT_FAILED;
	if (out.json) {
		json_t *files = json_array(), *dropped = json_array(), *notes = json_array();
		for (size_t i = 0; i < s.file_count; i++) {
			json_t *f = json_object();
			json_object_set_new(f, "path", output_json_text(s.files[i].path));
			json_object_set_new(f, "written", json_boolean(s.files[i].written));
			json_array_append_new(files, f);
		}
		for (size_t i = 0; i < s.dropped_count; i++) {
			json_t *d = json_object();
			json_object_set_new(d, "path", output_json_text(s.dropped[i].path));
			json_object_set_new(d, "line", json_integer(s.dropped[i].line));
			json_array_append_new(dropped, d);
		}
		for (size_t i = 0; i < s.note_count; i++)
			json_array_append_new(notes, output_json_text(s.notes[i]));
		output_set(&out, "dir", output_json_text(dir));
		output_set(&out, "app", output_json_text(s.name));
		output_set(&out, "files", files);
		output_set(&out, "notCarriedOver", dropped);
		output_set(&out, "notes", notes);
	} else {
		for (size_t i = 0; i < s.dropped_count; i++)
			fprintf(stderr, "factory: not carried over: %s (line %d)\n", s.dropped[i].path, s.dropped[i].line);
		for (size_t i = 0; i < s.note_count; i++)
			fprintf(stderr, "factory: note: %s\n", s.notes[i]);
		if (!common.quiet && status == EXIT_OK)
			for (size_t i = 0; i < s.file_count; i++)
				printf("%s %s/%s\n", s.files[i].written ? "wrote" : "kept ", dir, s.files[i].path);
	}
	status = output_finish(&out, status, &diags, &err);
	diag_list_free(&diags);
	scaffold_free(&s);
	return status;
}
