/* factory inspect IMAGE_LAYOUT: what an image is made of, layer by layer. */
#include <archive_entry.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fsutil.h"
#include "output.h"
#include "oci.h"
#include "unarchive.h"

#define JSON_MAX (4 * 1024 * 1024)

struct inspect_args {
	bool no_files;
};

static const struct opt_entry inspect_options[] = {
	{OPT_FLAG, "no-files", 0, NULL, "list the layers only, not the files in each",
	 offsetof(struct inspect_args, no_files), 0, 0},
	{OPT_END, NULL, 0, NULL, NULL, 0, 0, 0},
};

const struct opt_command cmd_inspect_spec = {
	.name = "inspect",
	.args = "IMAGE_LAYOUT_DIR",
	.summary = "show an image layout's layers, digests and files",
	.description = "Shows the image of an OCI image layout (out/<app>/image): its manifest and config\n"
		       "digests, then each layer with its size, media type, the step that made it and the\n"
		       "files it adds (mode, owner, size, path).",
	.options = inspect_options,
	.shared = OPT_JSON,
	.min_args = 1,
	.max_args = 1,
};

static const char *text_or(const json_t *value, const char *fallback)
{
	const char *s = json_string_value(value);
	return s ? s : fallback;
}

static json_t *load_json(const char *dir, const char *digest, struct error *err)
{
	char *path, *data = NULL;
	size_t size = 0;
	json_t *j = NULL;
	json_error_t jerr;

	if (digest && !oci_digest_valid(digest)) {
		error_set(err, ERROR_INVALID, "'%s' is not a sha256 digest", digest);
		return NULL;
	}
	path = digest ? fs_path_join(dir, "blobs/sha256") : fs_path_join(dir, "index.json");
	if (digest) {
		char *blob = fs_path_join(path, digest + 7);
		free(path);
		path = blob;
	}
	if (fs_read_file(path, JSON_MAX, &data, &size, err) == 0) {
		j = json_loadb(data, size, 0, &jerr);
		if (!j)
			error_set(err, ERROR_INVALID, "%s is not JSON: %s", path, jerr.text);
	}
	free(data);
	free(path);
	return j;
}

/* Names are printed as stored (UTF-8 or legacy bytes); only control characters are escaped
 * (\ooo, as tar -t does), so a hostile name cannot drive the terminal. */
static void print_name(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\%03o", *p);
		else
			putchar(*p);
	}
}

/* The mode as ls shows it, without the trailing space libarchive adds. */
static void mode_text(struct archive_entry *e, char *buf, size_t size)
{
	size_t n;

	snprintf(buf, size, "%s", archive_entry_strmode(e));
	n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

static bool blob_present(const char *dir, const char *digest)
{
	char *blobs = fs_path_join(dir, "blobs/sha256"), *path = fs_path_join(blobs, digest + 7);
	bool present = access(path, F_OK) == 0;

	free(path);
	free(blobs);
	return present;
}

/* Lists every entry of a layer, on stdout or into `files` (--json); 0 when the blob is not in
 * the layout (a lazy base layer), with *present false. */
static int list_files(const char *dir, const char *digest, json_t *files, bool *present, struct diag_list *diags,
		      struct error *err)
{
	char *blobs = fs_path_join(dir, "blobs/sha256"), *path = fs_path_join(blobs, digest + 7);
	struct unarchive u = {0};
	struct archive_entry *e;
	int rc = 0, r;

	*present = blob_present(dir, digest);
	if (!*present) {
		if (!files)
			printf("      (not in the layout: left in the base's registry)\n");
		goto out;
	}
	rc = unarchive_open(&u, path, UNARCHIVE_TAR, digest, err);
	while (rc == 0 && (r = unarchive_next(&u, &e, err)) != 0) {
		const char *symlink, *hardlink;
		if (r < 0) {
			rc = -1;
			break;
		}
		symlink = unarchive_symlink(&u, e);
		hardlink = unarchive_hardlink(&u, e);
		if (files) {
			json_t *f = json_object();
			char mode[32];
			mode_text(e, mode, sizeof(mode));
			json_object_set_new(f, "path", output_json_text(unarchive_path(&u, e)));
			json_object_set_new(f, "mode", json_string(mode));
			json_object_set_new(f, "uid", json_integer((json_int_t)archive_entry_uid(e)));
			json_object_set_new(f, "gid", json_integer((json_int_t)archive_entry_gid(e)));
			json_object_set_new(f, "size", json_integer((json_int_t)archive_entry_size(e)));
			if (symlink)
				json_object_set_new(f, "symlink", output_json_text(symlink));
			if (hardlink)
				json_object_set_new(f, "hardlink", output_json_text(hardlink));
			json_array_append_new(files, f);
			continue;
		}
		printf("      %s %5lld:%-5lld %10lld /", archive_entry_strmode(e), (long long)archive_entry_uid(e),
		       (long long)archive_entry_gid(e), (long long)archive_entry_size(e));
		print_name(unarchive_path(&u, e));
		if (symlink || hardlink) {
			printf(symlink ? " -> " : " link to /");
			print_name(symlink ? symlink : hardlink);
		}
		putchar('\n');
	}
	if (rc == 0 && u.warnings) {
		if (files)
			diag_add(diags, DIAG_WARNING, digest, 0, 0, "%s%s", u.first_warning, u.warnings > 1 ? " (and more)" : "");
		else
			fprintf(stderr, "factory: warning: layer %s: %s%s\n", digest, u.first_warning,
				u.warnings > 1 ? " (and more)" : "");
	}
out:
	unarchive_close(&u);
	free(path);
	free(blobs);
	return rc;
}

int cmd_inspect(int argc, char **argv)
{
	struct inspect_args args = {0};
	struct opt_common common;
	struct output out;
	struct diag_list diags;
	struct error err = {0};
	json_t *index = NULL, *manifest = NULL, *config = NULL, *layers, *history, *l, *layer_list = NULL;
	const char *dir, *manifest_digest, *tag, *config_digest;
	size_t i, h = 0;
	int status;

	if ((status = opt_parse(&cmd_inspect_spec, argc, argv, &args, &common)) >= 0)
		return status;
	output_init(&out, cmd_inspect_spec.name, &common);
	diag_list_init(&diags);
	status = EXIT_FAILED;
	dir = common.args[0];
	output_set(&out, "layout", output_json_text(dir));
	/* Null until known, so that a failure has the same fields. */
	output_set(&out, "digest", NULL);
	output_set(&out, "tag", NULL);
	output_set(&out, "config", NULL);
	output_set(&out, "layers", NULL);
	index = load_json(dir, NULL, &err);
	manifest_digest = json_string_value(json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "digest"));
	tag = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "annotations"),
		"org.opencontainers.image.ref.name"));
	if (index && !manifest_digest)
		error_set(&err, ERROR_INVALID, "%s/index.json names no manifest", dir);
	if (manifest_digest)
		manifest = load_json(dir, manifest_digest, &err);
	config_digest = json_string_value(json_object_get(json_object_get(manifest, "config"), "digest"));
	if (manifest)
		config = load_json(dir, config_digest, &err);
	if (!config)
		goto out;
	status = EXIT_OK;
	if (out.json) {
		json_t *c = json_object();
		json_object_set_new(c, "digest", json_string(config_digest));
		json_object_set_new(c, "os", output_json_text(text_or(json_object_get(config, "os"), NULL)));
		json_object_set_new(c, "architecture",
				    output_json_text(text_or(json_object_get(config, "architecture"), NULL)));
		json_object_set_new(c, "created", output_json_text(text_or(json_object_get(config, "created"), NULL)));
		output_set(&out, "digest", json_string(manifest_digest));
		output_set(&out, "tag", output_json_text(tag));
		output_set(&out, "config", c);
		layer_list = json_array();
	} else {
		printf("image     %s%s%s\n", manifest_digest, tag ? "  tag " : "", tag ? tag : "");
		printf("config    %s  %s/%s  created %s\n", config_digest, text_or(json_object_get(config, "os"), "?"),
		       text_or(json_object_get(config, "architecture"), "?"),
		       text_or(json_object_get(config, "created"), "?"));
	}
	layers = json_object_get(manifest, "layers");
	history = json_object_get(config, "history");
	json_array_foreach(layers, i, l) {
		const char *created_by = NULL, *digest = json_string_value(json_object_get(l, "digest"));
		json_t *files = NULL;
		bool present = true;

		if (*cmd_interrupted()) {
			error_set(&err, ERROR_INTERRUPTED, "interrupted");
			status = EXIT_FAILED;
			break;
		}
		/* history entries marked empty_layer have no layer of their own */
		while (h < json_array_size(history)) {
			json_t *entry = json_array_get(history, h++);
			if (json_is_true(json_object_get(entry, "empty_layer")))
				continue;
			created_by = json_string_value(json_object_get(entry, "created_by"));
			break;
		}
		if (layer_list)
			files = args.no_files ? NULL : json_array();
		else
			printf("layer %zu   %s  %lld bytes  %s\n          %s\n", i + 1, digest,
			       (long long)json_integer_value(json_object_get(l, "size")),
			       json_string_value(json_object_get(l, "mediaType")), created_by ? created_by : "");
		if (!args.no_files && digest && oci_digest_valid(digest) &&
		    list_files(dir, digest, layer_list ? files : NULL, &present, &diags, &err)) {
			fflush(stdout);
			status = EXIT_FAILED;
			json_decref(files);
			break;
		}
		if (layer_list) {
			json_t *o = json_object();
			if (args.no_files)
				present = digest && oci_digest_valid(digest) && blob_present(dir, digest);
			json_object_set_new(o, "digest", output_json_text(digest));
			json_object_set_new(o, "size", json_integer(json_integer_value(json_object_get(l, "size"))));
			json_object_set_new(o, "mediaType", output_json_text(json_string_value(json_object_get(l, "mediaType"))));
			json_object_set_new(o, "createdBy", output_json_text(created_by));
			json_object_set_new(o, "inLayout", json_boolean(present));
			json_object_set_new(o, "files", files ? files : json_null());
			json_array_append_new(layer_list, o);
		}
	}
	output_set(&out, "layers", layer_list);
out:
	status = output_finish(&out, status, &diags, &err);
	diag_list_free(&diags);
	json_decref(config);
	json_decref(manifest);
	json_decref(index);
	return status;
}
