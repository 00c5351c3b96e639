/* factory publish out/<app>: commit and push a bundle's manifests to its GitOps repository. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "commands.h"
#include "gitops.h"
#include "output.h"
#include "workspace.h"

struct publish_args {
	bool dry_run;
	bool branch_per_change;
};

static const struct opt_entry publish_options_table[] = {
	{OPT_FLAG, "dry-run", 'n', NULL, "show per file what would change; commit and push nothing",
	 offsetof(struct publish_args, dry_run), 0, 0},
	{OPT_FLAG, "branch-per-change", 0, NULL, "push to a new branch factory/<app>-<commit> started from the target branch",
	 offsetof(struct publish_args, branch_per_change), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_publish_spec = {
	.name = "publish",
	.args = "out/<app>",
	.summary = "commit and push a bundle's manifests to its GitOps repository (out/<app>)",
	.description = "Makes the recipe's gitops.path (default: the app's name) on gitops.branch hold exactly\n"
		       "the bundle's manifests, as one commit, and pushes it (never forced; when the branch moved\n"
		       "meanwhile the change is re-applied on the new tip). Nothing is committed when the branch\n"
		       "already holds them. The target comes from the bundle's bundle.json; the author, default\n"
		       "branch and credentials from factory.yaml gitops. Commit dates are SOURCE_DATE_EPOCH when\n"
		       "set, so the same tip and bundle give the same commit.",
	.options = publish_options_table,
	.shared = OPT_CONFIG | OPT_QUIET | OPT_JSON, /* no -v: libgit2 does its own HTTP */
	.min_args = 1,
	.max_args = 1,
};

int cmd_publish(int argc, char **argv)
{
	struct publish_args args = {0};
	struct opt_common common;
	struct output out;
	struct workspace_options ws_options = {0};
	struct workspace ws = {0};
	struct gitops_options publish = {.interrupted = cmd_interrupted()};
	struct gitops_result result = {0};
	struct diag_list diags;
	struct error err = {0};
	const char *app_dir, *epoch = getenv("SOURCE_DATE_EPOCH");
	int status;

	if ((status = opt_parse(&cmd_publish_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_publish_spec.name, &common);
	app_dir = common.args[0];
	ws_options.config_path = common.config;
	publish.dry_run = args.dry_run;
	publish.branch_per_change = args.branch_per_change;
	publish.epoch_set = epoch && *epoch;
	diag_list_init(&diags);
	status = EXIT_FAILED;
	if (cmd_source_date_epoch(&publish.epoch, &err) == 0 &&
	    workspace_open(&ws, app_dir, &ws_options, &diags, &err) == 0) {
		publish.config = ws.config;
		output_activity(&out, args.dry_run ? "comparing with the repository" : "publishing");
		if (gitops_publish_bundle(app_dir, &publish, &result, &err) == 0)
			status = EXIT_OK;
	}
	output_end_progress(&out);
	output_set(&out, "appDir", output_json_text(app_dir));
	output_set(&out, "dryRun", json_boolean(args.dry_run));
	output_set(&out, "published", output_json_published(&result));
	if (status == EXIT_OK)
		output_print_published(&out, &result, args.dry_run);
	status = output_finish(&out, status, &diags, &err);
	gitops_result_clear(&result);
	workspace_close(&ws);
	diag_list_free(&diags);
	return status;
}
