/* factory inspect IMAGE_LAYOUT: what an image is made of, layer by layer. */
#include <archive_entry.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "fsutil.h"
#include "oci.h"
#include "unarchive.h"

#define JSON_MAX (4 * 1024 * 1024)

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

/* Lists every entry of a layer; 0 when the blob is not in the layout (a lazy base layer). */
static int list_files(const char *dir, const char *digest, struct error *err)
{
	char *blobs = fs_path_join(dir, "blobs/sha256"), *path = fs_path_join(blobs, digest + 7);
	struct unarchive u = {0};
	struct archive_entry *e;
	int rc = 0, r;

	if (access(path, F_OK) != 0) {
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
		printf("      %s %5lld:%-5lld %10lld /", archive_entry_strmode(e), (long long)archive_entry_uid(e),
		       (long long)archive_entry_gid(e), (long long)archive_entry_size(e));
		print_name(unarchive_path(&u, e));
		if (symlink || hardlink) {
			printf(symlink ? " -> " : " link to /");
			print_name(symlink ? symlink : hardlink);
		}
		putchar('\n');
	}
	if (rc == 0 && u.warnings)
		fprintf(stderr, "factory: warning: layer %s: %s%s\n", digest, u.first_warning,
			u.warnings > 1 ? " (and more)" : "");
out:
	unarchive_close(&u);
	free(path);
	free(blobs);
	return rc;
}

int cmd_inspect(int argc, char **argv)
{
	struct error err = {0};
	json_t *index = NULL, *manifest = NULL, *config = NULL, *layers, *history, *l;
	const char *dir, *manifest_digest, *tag;
	size_t i, h = 0;
	int files = 1, status = EXIT_OK;

	if (argc >= 2 && strcmp(argv[1], "--no-files") == 0) {
		files = 0;
		argv++;
		argc--;
	}
	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: factory inspect [--no-files] IMAGE_LAYOUT_DIR\n");
		return argc == 2 ? EXIT_OK : EXIT_USAGE;
	}
	dir = argv[1];
	index = load_json(dir, NULL, &err);
	manifest_digest = json_string_value(json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "digest"));
	tag = json_string_value(json_object_get(
		json_object_get(json_array_get(json_object_get(index, "manifests"), 0), "annotations"),
		"org.opencontainers.image.ref.name"));
	if (index && !manifest_digest)
		error_set(&err, ERROR_INVALID, "%s/index.json names no manifest", dir);
	if (manifest_digest)
		manifest = load_json(dir, manifest_digest, &err);
	if (manifest)
		config = load_json(dir, json_string_value(json_object_get(json_object_get(manifest, "config"), "digest")),
				   &err);
	if (!config) {
		fprintf(stderr, "factory: error: %s\n", err.message);
		json_decref(index);
		json_decref(manifest);
		return EXIT_FAILED;
	}
	printf("image     %s%s%s\n", manifest_digest, tag ? "  tag " : "", tag ? tag : "");
	printf("config    %s  %s/%s  created %s\n",
	       json_string_value(json_object_get(json_object_get(manifest, "config"), "digest")),
	       text_or(json_object_get(config, "os"), "?"), text_or(json_object_get(config, "architecture"), "?"),
	       text_or(json_object_get(config, "created"), "?"));
	layers = json_object_get(manifest, "layers");
	history = json_object_get(config, "history");
	json_array_foreach(layers, i, l) {
		const char *created_by = NULL;
		/* history entries marked empty_layer have no layer of their own */
		while (h < json_array_size(history)) {
			json_t *entry = json_array_get(history, h++);
			if (json_is_true(json_object_get(entry, "empty_layer")))
				continue;
			created_by = json_string_value(json_object_get(entry, "created_by"));
			break;
		}
		printf("layer %zu   %s  %lld bytes  %s\n          %s\n", i + 1,
		       json_string_value(json_object_get(l, "digest")),
		       (long long)json_integer_value(json_object_get(l, "size")),
		       json_string_value(json_object_get(l, "mediaType")), created_by ? created_by : "");
		if (files && json_string_value(json_object_get(l, "digest")) &&
		    oci_digest_valid(json_string_value(json_object_get(l, "digest"))) &&
		    list_files(dir, json_string_value(json_object_get(l, "digest")), &err)) {
			fflush(stdout);
			fprintf(stderr, "factory: error: %s\n", err.message);
			status = EXIT_FAILED;
			break;
		}
	}
	json_decref(config);
	json_decref(manifest);
	json_decref(index);
	return status;
}
