#include "bundle.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "yamlout.h"

static int write_files(const struct render_output *output, const char *dir, struct error *err)
{
	for (size_t i = 0; i < output->count; i++) {
		char *path = fs_path_join(dir, output->files[i].name);
		char *parent = fs_dirname(path);
		char *text = NULL;
		size_t size = 0;
		int rc = fs_mkdir_p(parent, err);

		if (rc == 0)
			rc = yamlout_emit(output->files[i].object, &text, &size, err);
		if (rc == 0)
			rc = fs_write_file_atomic(path, text, size, 0644, err);
		free(text);
		free(parent);
		free(path);
		if (rc)
			return -1;
	}
	return 0;
}

int bundle_write_manifests(const struct render_output *output, const char *app_dir, struct error *err)
{
	char *target = fs_path_join(app_dir, "manifests");
	char *prefix = fs_path_join(app_dir, ".manifests.");
	char *staged = NULL;
	sigset_t block, saved;
	int rc = -1;

	if (fs_mkdir_p(app_dir, err))
		goto out;
	/* Hold off SIGINT/SIGTERM while the staging directory exists, so an interrupt lands after
	 * we have either swapped it in or removed it — never leaving a half-written directory. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &saved);
	if (fs_make_temp_dir(prefix, &staged, err) == 0) {
		rc = write_files(output, staged, err);
		if (rc == 0)
			rc = fs_replace_dir(staged, target, err);
		if (rc) {
			struct error ignored = {0};
			fs_remove_tree(staged, &ignored);
		}
	}
	sigprocmask(SIG_SETMASK, &saved, NULL);
out:
	free(staged);
	free(prefix);
	free(target);
	return rc;
}
