/* factory diff RECIPE: what a build would change, before anything is written or pushed. */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "commands.h"
#include "diff.h"
#include "fsutil.h"
#include "gitops.h"
#include "output.h"
#include "util.h"

struct diff_args {
	const char *output;
	const char *against;
};

static const struct opt_entry diff_options_table[] = {
	{OPT_STRING, "against", 0, "out/<app>|git",
	 "compare with this bundle (default: DIR/<app>), or with the recipe's gitops repository",
	 offsetof(struct diff_args, against), 0, 0},
	{OPT_STRING, "output", 'o', "DIR", "where bundles are (default: out)", offsetof(struct diff_args, output), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_diff_spec = {
	.name = "diff",
	.args = "RECIPE",
	.summary = "show what a build would change in the bundle, writing nothing",
	.description = "Builds the recipe into a scratch directory (fetching into the cache what it lacks,\n"
		       "leaving factory.lock and DIR as they are) and compares the result with the bundle\n"
		       "DIR/<app> (or --against out/<app>): each Kubernetes object of manifests/ field by\n"
		       "field ('~ FILE Kind/name PATH: FROM -> TO'), objects added (+) and removed (-), the\n"
		       "image manifest digest and tags, each layer that differs with the inputs it gained,\n"
		       "lost or changed, and the blobs and bytes a push would send. --against git compares\n"
		       "the manifests with those at the tip of the recipe's gitops branch and path instead\n"
		       "(fetched, nothing committed; the image is not compared). Exit 0 when nothing\n"
		       "would change, 1 when something would, 2 on trouble (as diff(1)). Timestamps come\n"
		       "from SOURCE_DATE_EPOCH, as for a build.",
	.options = diff_options_table,
	.shared = OPT_CONFIG | OPT_CATALOG | OPT_QUIET | OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

/* A value for a human line: a script is its number of lines, a mapping or list compact JSON. */
static char *value_text(const json_t *v)
{
	if (!v)
		return xstrdup("(none)");
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		size_t lines = 0;
		if (!strchr(s, '\n') && !str_has_control(s))
			return xstrdup(s);
		for (const char *p = s; *p; p++)
			lines += *p == '\n';
		return xasprintf("(%zu line%s, %zu bytes)", lines, lines == 1 ? "" : "s", json_string_length(v));
	}
	{
		char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *out;
		if (!text)
			abort();
		if (strlen(text) <= 120)
			return text;
		out = xasprintf("%.117s...", text);
		free(text);
		return out;
	}
}

static const char *text_or(const json_t *v, const char *otherwise)
{
	return json_string_value(v) ? json_string_value(v) : otherwise;
}

static void print_objects(const json_t *objects)
{
	size_t i, k;
	json_t *o, *f;

	json_array_foreach(objects, i, o) {
		const char *change = json_string_value(json_object_get(o, "change"));
		const char *file = text_or(json_object_get(o, "file"), "?");
		const char *kind = json_string_value(json_object_get(o, "kind"));
		const char *name = json_string_value(json_object_get(o, "name"));
		/* "Kind/name", or what the object has of it (a kustomization has no name) */
		char *label = kind && name ? xasprintf(" %s/%s", kind, name) : xasprintf("%s%s", kind ? " " : "", kind ? kind : "");
		if (strcmp(change, "changed") != 0)
			printf("%c %s%s\n", strcmp(change, "added") == 0 ? '+' : '-', file, label);
		json_array_foreach(json_object_get(o, "fields"), k, f) {
			char *from = value_text(json_object_get(f, "from")), *to = value_text(json_object_get(f, "to"));
			printf("~ %s%s %s: %s -> %s\n", file, label, json_string_value(json_object_get(f, "path")), from, to);
			free(from);
			free(to);
		}
		free(label);
	}
}

static void print_count(bool *first, size_t n, char sign, const char *what)
{
	if (!n)
		return;
	printf("%s%c%zu %s%s", *first ? "" : ", ", sign, n, what, n == 1 ? "" : "s");
	*first = false;
}

static void print_image(const json_t *image)
{
	const json_t *tags = json_object_get(image, "tags"), *push = json_object_get(image, "push");
	char bytes[32];
	size_t i;
	json_t *l;

	if (!json_is_object(image) ||
	    (json_equal(json_object_get(image, "from"), json_object_get(image, "to")) && json_is_null(tags)))
		return;
	if (json_equal(json_object_get(image, "from"), json_object_get(image, "to")))
		printf("image: %s (unchanged)\n", text_or(json_object_get(image, "to"), "(none)"));
	else
		printf("image: %s -> %s\n", text_or(json_object_get(image, "from"), "(none)"),
		       text_or(json_object_get(image, "to"), "(none)"));
	if (json_is_object(tags)) {
		const json_t *a = json_object_get(tags, "from"), *b = json_object_get(tags, "to");
		char *from = a && !json_is_null(a) ? value_text(a) : xstrdup("(none)");
		char *to = b && !json_is_null(b) ? value_text(b) : xstrdup("(none)");
		printf("  tags: %s -> %s\n", from, to);
		free(from);
		free(to);
	}
	json_array_foreach(json_object_get(image, "layers"), i, l) {
		const json_t *inputs = json_object_get(l, "inputs");
		const char *change = json_string_value(json_object_get(l, "change"));
		bool first = true;
		printf("  layer %lld %s: %s", json_integer_value(json_object_get(l, "index")),
		       text_or(json_object_get(l, "content"), "?"), change);
		if (inputs) {
			printf(" (");
			print_count(&first, json_array_size(json_object_get(inputs, "added")), '+', "file");
			print_count(&first, json_array_size(json_object_get(inputs, "removed")), '-', "file");
			print_count(&first, json_array_size(json_object_get(inputs, "changed")), '~', "file");
			if (first)
				printf("same inputs");
			printf(")");
		}
		printf(", %lld -> %lld bytes\n",
		       (long long)json_integer_value(json_object_get(json_object_get(l, "from"), "size")),
		       (long long)json_integer_value(json_object_get(json_object_get(l, "to"), "size")));
	}
	output_human_size((double)json_integer_value(json_object_get(push, "bytes")), bytes, sizeof(bytes));
	printf("  push: %lld blob%s, %s", (long long)json_integer_value(json_object_get(push, "blobs")),
	       json_integer_value(json_object_get(push, "blobs")) == 1 ? "" : "s", bytes);
	json_array_foreach(json_object_get(push, "tags"), i, l)
		printf("%s%s", i ? ", " : "; tags ", json_string_value(l));
	printf("\n");
}

/* The build against the manifests the recipe's gitops repository holds at its branch's tip. */
static int diff_git(const struct build_result *built, json_t **report, struct diag_list *diags, struct error *err)
{
	const struct recipe *r = built->recipe;
	const struct config *config = built->workspace.config;
	struct gitops_target target = {
		.url = r->gitops_url,
		.branch = r->gitops_branch ? r->gitops_branch : config->git_branch,
		.path = r->gitops_path,
		.app = r->name,
	};
	struct gitops_options options = {.config = config, .interrupted = cmd_interrupted()};
	struct diff_files files = {json_object(), diags};
	int rc;

	if (!r->gitops_url)
		rc = error_set(err, ERROR_INVALID, "%s has no gitops.url: no repository to compare with", r->file);
	else
		rc = gitops_read_files(&target, &options, diff_add_file, &files, err) ||
				     diff_report(files.files, NULL, built->app_dir, report, diags, err)
			     ? -1
			     : 0;
	json_decref(files.files);
	return rc;
}

/* The recipe built into a scratch directory, then compared with its bundle or its gitops
 * repository. */
static int diff_recipe(const char *recipe, const struct diff_args *args, const struct opt_common *common,
		       json_t **report, struct diag_list *diags, struct error *err)
{
	struct build_options o = {
		.recipe_path = recipe,
		.stages = BUILD_FETCH | BUILD_ASSEMBLE | BUILD_RENDER,
		.plan_mode = PLAN_FETCH,
		.lock_read_only = true,
		.scratch = true,
		.interrupted = cmd_interrupted(),
		.version = cmd_version(),
	};
	struct build_result built = {0};
	char *against = NULL;
	int rc;

	o.workspace.config_path = common->config;
	o.workspace.catalog_dir = common->catalog;
	rc = cmd_source_date_epoch(&o.epoch, err) || build_run(&built, &o, diags, err) ? -1 : 0;
	if (rc == 0 && args->against && strcmp(args->against, "git") == 0) {
		rc = diff_git(&built, report, diags, err);
	} else if (rc == 0) {
		against = args->against ? xstrdup(args->against)
					: fs_path_join(args->output ? args->output : "out", built.recipe->name);
		rc = diff_bundles(against, built.app_dir, report, diags, err);
	}
	build_result_clear(&built);
	free(against);
	return rc;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_args args = {0};
	struct opt_common common;
	struct output out;
	struct diag_list diags;
	struct error err = {0};
	json_t *report = NULL;
	bool changed = false;
	int status, rc;

	if ((status = opt_parse(&cmd_diff_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_diff_spec.name, &common);
	diag_list_init(&diags);
	rc = diff_recipe(common.args[0], &args, &common, &report, &diags, &err);
	if (rc == 0) {
		const char *key;
		json_t *value;
		changed = json_is_true(json_object_get(report, "changed"));
		json_object_foreach(report, key, value)
			output_set(&out, key, json_incref(value));
		if (!out.json && !out.quiet) {
			print_objects(json_object_get(report, "objects"));
			print_image(json_object_get(report, "image"));
			if (!changed)
				printf("no changes\n");
		}
	}
	status = output_finish(&out, rc == 0 ? EXIT_OK : EXIT_TROUBLE, &diags, &err);
	json_decref(report);
	diag_list_free(&diags);
	return status == EXIT_OK && changed ? EXIT_DIFFERENT : status;
}
