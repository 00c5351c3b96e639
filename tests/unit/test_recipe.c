#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "digest.h"
#include "flink.h"
#include "fsutil.h"
#include "maven.h"
#include "recipe.h"
#include "registry.h"
#include "render.h"
#include "schema.h"
#include "unit.h"
#include "util.h"

static void test_deployment_names(struct unit_state *s)
{
	CHECK(s, flink_deployment_name_valid("word-count"));
	CHECK(s, flink_deployment_name_valid("a"));
	CHECK(s, flink_deployment_name_valid("abcdefghij-abcdefghij-abcdefghij-abcdefghij-x")); /* 45 */
	CHECK(s, !flink_deployment_name_valid("abcdefghij-abcdefghij-abcdefghij-abcdefghij-xy"));
	CHECK(s, !flink_deployment_name_valid("1abc"));
	CHECK(s, !flink_deployment_name_valid("abc-"));
	CHECK(s, !flink_deployment_name_valid("Word"));
	CHECK(s, !flink_deployment_name_valid("a.b"));
}

static void test_versions(struct unit_state *s)
{
	int a, b, c;
	char uri[128];

	CHECK(s, flink_version_parse("1.19.2", &a, &b, &c) && a == 1 && b == 19 && c == 2);
	CHECK(s, flink_version_parse("2.0", &a, &b, &c) && a == 2 && b == 0 && c == -1);
	CHECK(s, !flink_version_parse("1.19.", &a, &b, &c));
	CHECK(s, !flink_version_parse("1", &a, &b, &c));
	CHECK(s, !flink_version_parse("1.19.2.1", &a, &b, &c));
	CHECK(s, !flink_version_parse("v1.19", &a, &b, &c));
	CHECK(s, flink_version_supported(1, 17) && flink_version_supported(2, 2));
	CHECK(s, !flink_version_supported(1, 16) && !flink_version_supported(2, 3));
	flink_python_jar_uri(1, 19, 2, uri, sizeof(uri));
	CHECK_STR(s, uri, "local:///opt/flink/opt/flink-python-1.19.2.jar");
	flink_python_jar_uri(1, 15, 4, uri, sizeof(uri));
	CHECK_STR(s, uri, "local:///opt/flink/opt/flink-python_2.12-1.15.4.jar");
}

static void test_coordinates(struct unit_state *s)
{
	struct maven_coord c;
	struct error err = {0};
	int major, minor;

	CHECK(s, maven_coord_parse("org.apache.flink:flink-sql-connector-kafka:3.3.0-1.19", &c, &err) == 0);
	CHECK_STR(s, c.extension, "jar");
	CHECK(s, c.classifier == NULL);
	CHECK(s, maven_flink_suffix(c.version, &major, &minor) && major == 1 && minor == 19);
	maven_coord_free(&c);
	CHECK(s, maven_coord_parse("g:a:1.0:tests@zip", &c, &err) == 0);
	CHECK_STR(s, c.classifier, "tests");
	CHECK_STR(s, c.extension, "zip");
	maven_coord_free(&c);
	CHECK(s, maven_coord_parse("g:a", &c, &err) < 0);
	CHECK(s, maven_coord_parse("g:a:1:c:d", &c, &err) < 0);
	CHECK(s, maven_coord_parse("g/../x:a:1", &c, &err) < 0);
	CHECK(s, maven_coord_parse("g:a:..", &c, &err) < 0);
	CHECK(s, !maven_flink_suffix("42.7.3", &major, &minor));
}

static void test_suggestions(struct unit_state *s)
{
	const char *keys[] = {"parallelism", "upgradeMode", "state", NULL};

	CHECK_STR(s, schema_suggest("paralelism", keys), "parallelism");
	CHECK_STR(s, schema_suggest("upgrademode", keys), "upgradeMode");
	CHECK(s, schema_suggest("completely-different", keys) == NULL);
}

static void test_minimal_recipe(struct unit_state *s)
{
	const char *text = "apiVersion: factory.dev/v1alpha1\nkind: Recipe\nmetadata: {name: app}\n"
			   "flink: {version: '1.19'}\njava: {jarURI: 'local:///opt/flink/usrlib/app.jar'}\n"
			   "jobManager: {memory: 1g}\ntaskManager: {memory: 1g}\n";
	struct recipe *r = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, recipe_load_buffer(&r, "r.yaml", text, strlen(text), NULL, &render_rules, &diags, &err) == 0);
	CHECK(s, r && strcmp(r->service_account, "flink") == 0 && strcmp(r->base_image, "flink:1.19") == 0);
	CHECK(s, r && strcmp(r->namespace, "default") == 0);
	recipe_free(r);
	diag_list_free(&diags);
}

static void test_config_expand(struct unit_state *s)
{
	struct error err = {0};
	char *out = NULL;

	setenv("FACTORY_TEST_USER", "alice", 1);
	unsetenv("FACTORY_TEST_UNSET");
	CHECK(s, config_expand("${FACTORY_TEST_USER}:x-${FACTORY_TEST_USER}", &out, &err) == 0);
	CHECK_STR(s, out, "alice:x-alice");
	free(out);
	CHECK(s, config_expand("plain $HOME text", &out, &err) == 0);
	CHECK_STR(s, out, "plain $HOME text");
	free(out);
	CHECK(s, config_expand("${FACTORY_TEST_UNSET}", &out, &err) < 0 && out == NULL);
	CHECK(s, strstr(err.message, "FACTORY_TEST_UNSET is not set") != NULL);
	CHECK(s, config_expand("${unterminated", &out, &err) < 0);
}

static void test_config_defaults(struct unit_state *s)
{
	struct config *c = NULL;
	struct diag_list diags;
	struct error err = {0};

	diag_list_init(&diags);
	CHECK(s, config_load(&c, NULL, &diags, &err) == 0);
	CHECK(s, c && c->repository_count == 1);
	CHECK_STR(s, c ? c->repositories[0].url : NULL, "https://repo.maven.apache.org/maven2");
	CHECK_STR(s, c ? c->base_registry : NULL, "docker.io");
	CHECK(s, c && c->parallel_downloads >= 6);
	config_free(c);
	CHECK(s, config_load(&c, "factory.yaml", &diags, &err) == 0 && diags.count == 0);
	CHECK(s, c && c->catalog_dir && strstr(c->catalog_dir, "/connectors"));
	config_free(c);
	diag_list_free(&diags);
}

/* Loads a factory.yaml holding `signing` from a fresh directory; the diagnostics' messages
 * joined by newlines into `messages`. */
static int load_signing(const char *signing, char **dir, struct config **c, char messages[2048])
{
	struct diag_list diags;
	struct error err = {0};
	char *path, *text;
	int rc;

	if (fs_make_temp_dir("/tmp/factory-unit-config-", dir, &err))
		abort();
	path = fs_path_join(*dir, "factory.yaml");
	text = xasprintf("apiVersion: factory.dev/v1alpha1\nkind: Config\nsigning: %s\n", signing);
	if (fs_write_file_atomic(path, text, strlen(text), 0644, &err))
		abort();
	diag_list_init(&diags);
	rc = config_load(c, path, &diags, &err);
	messages[0] = '\0';
	for (size_t i = 0; i < diags.count; i++)
		snprintf(messages + strlen(messages), 2048 - strlen(messages), "%s\n", diags.items[i].message);
	diag_list_free(&diags);
	free(text);
	free(path);
	return rc;
}

static void test_config_signing(struct unit_state *s)
{
	struct config *c = NULL;
	struct error err = {0};
	char *dir = NULL, *want, *secret = NULL, messages[2048];

	CHECK(s, load_signing("{key: keys/signing.pem, passphrase: \"${FACTORY_TEST_SIGNING}\"}", &dir, &c, messages) == 0);
	want = fs_path_join(dir, "keys/signing.pem");
	CHECK_STR(s, c ? c->signing.key_path : NULL, want);
	/* The reference is kept, not the secret: a run that never signs needs no variable. */
	CHECK_STR(s, c ? c->signing.passphrase : NULL, "${FACTORY_TEST_SIGNING}");
	CHECK(s, c && c->signing.public_key_path == NULL);
	setenv("FACTORY_TEST_SIGNING", "s3cret", 1);
	CHECK(s, c && config_expand(c->signing.passphrase, &secret, &err) == 0);
	CHECK_STR(s, secret, "s3cret");
	unsetenv("FACTORY_TEST_SIGNING");
	free(secret);
	free(want);
	config_free(c);
	fs_remove_tree(dir, &err);
	free(dir);

	CHECK(s, load_signing("{publicKey: /etc/factory/signing.pub}", &dir, &c, messages) == 0);
	CHECK_STR(s, c ? c->signing.public_key_path : NULL, "/etc/factory/signing.pub");
	CHECK(s, c && !c->signing.key_path && !c->signing.passphrase);
	config_free(c);
	fs_remove_tree(dir, &err);
	free(dir);

	/* A passphrase written in the file is refused and never echoed. */
	static const char *const refused[][2] = {
		{"{key: k.pem, passphrase: Hunter2-Literal}", "signing.passphrase: write a ${NAME} reference"},
		{"{key: k.pem, passphrase: \"x${PASS}\"}", "signing.passphrase: write a ${NAME} reference"},
		{"{passphrase: \"${PASS}\"}", "there is no signing.key to decrypt"},
		{"{key: k.pem, pubKey: k.pub}", "pubKey"},
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		CHECK(s, load_signing(refused[i][0], &dir, &c, messages) < 0 && c == NULL);
		CHECK(s, strstr(messages, refused[i][1]) && !strstr(messages, "Hunter2"));
		fs_remove_tree(dir, &err);
		free(dir);
	}

	CHECK(s, config_load(&c, NULL, NULL, &err) == 0);
	CHECK(s, c && !c->signing.key_path && !c->signing.passphrase && !c->signing.public_key_path);
	config_free(c);
}

static void test_sidecars(struct unit_state *s)
{
	char hex[DIGEST_HEX_MAX];
	const char *sha1 = "1591f68ce18dfa0d74ae1b291004be025077c753";
	char with_name[128], upper[64];

	CHECK(s, digest_parse_sidecar(sha1, strlen(sha1), DIGEST_SHA1, hex) && strcmp(hex, sha1) == 0);
	snprintf(with_name, sizeof(with_name), "%s  demo-1.0.jar\n", sha1);
	CHECK(s, digest_parse_sidecar(with_name, strlen(with_name), DIGEST_SHA1, hex) && strcmp(hex, sha1) == 0);
	snprintf(upper, sizeof(upper), "  1591F68CE18DFA0D74AE1B291004BE025077C753\r\n");
	CHECK(s, digest_parse_sidecar(upper, strlen(upper), DIGEST_SHA1, hex) && strcmp(hex, sha1) == 0);
	CHECK(s, !digest_parse_sidecar(sha1, strlen(sha1), DIGEST_SHA256, hex));
	CHECK(s, !digest_parse_sidecar("<html>not found</html>", 22, DIGEST_SHA1, hex));
	CHECK(s, !digest_parse_sidecar("", 0, DIGEST_SHA1, hex));
}

static void test_repository_paths(struct unit_state *s)
{
	struct maven_coord c;
	struct error err = {0};
	char *path;

	CHECK(s, maven_coord_parse("org.apache.flink:flink-sql-connector-kafka:3.3.0-1.19", &c, &err) == 0);
	path = maven_coord_path(&c);
	CHECK_STR(s, path, "org/apache/flink/flink-sql-connector-kafka/3.3.0-1.19/flink-sql-connector-kafka-3.3.0-1.19.jar");
	free(path);
	maven_coord_free(&c);
	CHECK(s, maven_coord_parse("io.x:y:2.0:linux-x86_64@so", &c, &err) == 0);
	path = maven_coord_path(&c);
	CHECK_STR(s, path, "io/x/y/2.0/y-2.0-linux-x86_64.so");
	free(path);
	maven_coord_free(&c);
}

static void test_registry_hosts_and_locations(struct unit_state *s)
{
	struct error err = {0};
	char *u;

	CHECK(s, registry_host_is_local("localhost") && registry_host_is_local("localhost:5000"));
	CHECK(s, registry_host_is_local("127.0.0.1:5000") && registry_host_is_local("127.1.2.3"));
	CHECK(s, registry_host_is_local("[::1]:5000"));
	CHECK(s, !registry_host_is_local("localhost.example.com") && !registry_host_is_local("127.0.0.1.nip.io"));
	CHECK(s, !registry_host_is_local("localhostfoo.io:443") && !registry_host_is_local("10.0.0.1"));

	const char *req = "https://r.example:5000/v2/team/app/blobs/uploads/?mount=x";
	u = registry_resolve_location("r", req, "/v2/team/app/blobs/uploads/abc?_state=1", &err);
	CHECK_STR(s, u, "https://r.example:5000/v2/team/app/blobs/uploads/abc?_state=1");
	free(u);
	u = registry_resolve_location("r", req, "abc?_state=1", &err);
	CHECK_STR(s, u, "https://r.example:5000/v2/team/app/blobs/uploads/abc?_state=1");
	free(u);
	u = registry_resolve_location("r", req, "//storage.example/upload/1", &err);
	CHECK_STR(s, u, "https://storage.example/upload/1");
	free(u);
	u = registry_resolve_location("r", req, "https://storage.example/upload/1", &err);
	CHECK_STR(s, u, "https://storage.example/upload/1");
	free(u);
	CHECK(s, registry_resolve_location("r", req, "file:///home/u/.bashrc", &err) == NULL);
	CHECK(s, registry_resolve_location("r", req, "ftp://x/y", &err) == NULL);
}

const struct unit_test recipe_tests[] = {
	{"registry_hosts_and_locations", test_registry_hosts_and_locations},
	{"digest_sidecars", test_sidecars},
	{"maven_repository_paths", test_repository_paths},
	{"config_expand", test_config_expand},
	{"config_defaults", test_config_defaults},
	{"config_signing", test_config_signing},
	{"recipe_deployment_names", test_deployment_names},
	{"recipe_flink_versions", test_versions},
	{"recipe_maven_coordinates", test_coordinates},
	{"recipe_did_you_mean", test_suggestions},
	{"recipe_minimal", test_minimal_recipe},
	{NULL, NULL},
};
