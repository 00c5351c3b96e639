#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bom.h"
#include "digest.h"
#include "sbom.h"
#include "unit.h"
#include "util.h"

#define EPOCH_TEXT "2023-11-14T22:13:20Z"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A stand-in digest: the sha256 of a label, so every input has its own. */
static void fake_sha256(const char *label, char hex[65])
{
	digest_sha256_hex(label, strlen(label), hex);
}

static void fake_digest(const char *label, char digest[72])
{
	char hex[65];

	fake_sha256(label, hex);
	snprintf(digest, 72, "sha256:%s", hex);
}

static void add_layer(struct bom *bom, const char *label, const char *content)
{
	struct bom_layer *l = &bom->layers[bom->layer_count++];

	fake_digest(label, l->digest);
	l->size = 1000 + (long long)bom->layer_count;
	l->media_type = xstrdup("application/vnd.oci.image.layer.v1.tar+gzip");
	l->base = content == NULL;
	l->content = dup_or_null(content);
}

struct component_spec {
	enum bom_kind kind;
	const char *group, *name, *version, *classifier, *file_name, *path, *url;
	bool sha1;
	size_t layer;
};

static void add_component(struct bom *bom, const struct component_spec *s)
{
	struct bom_component *c = &bom->components[bom->component_count++];

	c->kind = s->kind;
	c->group = dup_or_null(s->group);
	c->name = xstrdup(s->name);
	c->version = dup_or_null(s->version);
	c->classifier = dup_or_null(s->classifier);
	c->extension = s->kind == BOM_MAVEN ? xstrdup("jar") : NULL;
	c->file_name = xstrdup(s->file_name);
	c->path = xstrdup(s->path);
	c->download_url = dup_or_null(s->url);
	fake_sha256(s->file_name, c->sha256);
	if (s->sha1)
		snprintf(c->sha1, sizeof(c->sha1), "%.40s", c->sha256);
	c->layer = s->layer;
}

/* A PyFlink job with a Kafka connector, as `factory build` would describe it: three base
 * layers, then the runtime, connectors, wheels and files layers. */
static void sample(struct bom *bom, const char *image_label)
{
	static const struct component_spec components[] = {
		{BOM_RUNTIME, NULL, "python", "3.11.9", NULL,
		 "cpython-3.11.9+20240726-x86_64-unknown-linux-gnu-install_only.tar.gz", "/opt/python",
		 "https://github.com/indygreg/python-build-standalone/releases/download/20240726/"
		 "cpython-3.11.9+20240726-x86_64-unknown-linux-gnu-install_only.tar.gz",
		 false, 3},
		{BOM_MAVEN, "org.apache.flink", "flink-sql-connector-kafka", "3.2.0-1.19", NULL,
		 "flink-sql-connector-kafka-3.2.0-1.19.jar", "/opt/flink/lib/flink-sql-connector-kafka-3.2.0-1.19.jar",
		 "https://repo.maven.apache.org/maven2/org/apache/flink/flink-sql-connector-kafka/3.2.0-1.19/"
		 "flink-sql-connector-kafka-3.2.0-1.19.jar",
		 true, 4},
		/* from a repository on the build machine: its file:// URL must not appear */
		{BOM_MAVEN, "com.github.luben", "zstd-jni", "1.5.6-3", "linux_amd64",
		 "zstd-jni-1.5.6-3-linux_amd64.jar", "/opt/flink/lib/zstd-jni-1.5.6-3-linux_amd64.jar",
		 "file:///home/ci/.m2/repository/com/github/luben/zstd-jni/1.5.6-3/zstd-jni-1.5.6-3-linux_amd64.jar",
		 true, 4},
		{BOM_WHEEL, NULL, "Typing_Extensions", "4.12.2", NULL, "typing_extensions-4.12.2-py3-none-any.whl",
		 "/opt/python/lib/python3.11/site-packages",
		 "https://files.pythonhosted.org/packages/26/9f/typing_extensions-4.12.2-py3-none-any.whl", false, 5},
		{BOM_WHEEL, NULL, "confluent-kafka", "2.5.0", NULL,
		 "confluent_kafka-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl",
		 "/opt/python/lib/python3.11/site-packages",
		 "https://files.pythonhosted.org/packages/8c/1e/"
		 "confluent_kafka-2.5.0-cp311-cp311-manylinux_2_28_x86_64.whl",
		 false, 5},
		{BOM_FILE, NULL, "/opt/flink/usrlib/job.py", NULL, NULL, "job.py", "/opt/flink/usrlib/job.py", NULL,
		 false, 6},
	};
	static const char *const files[] = {"manifests/flinkdeployment.yaml",
					    "manifests/configmap-pyflink-kafka-5h7k2tm9bd.yaml"};

	memset(bom, 0, sizeof(*bom));
	bom->app = xstrdup("pyflink-kafka");
	bom->namespace = xstrdup("streaming");
	bom->recipe_path = xstrdup("/home/ci/work/recipes/pyflink-kafka.yaml");
	fake_sha256("recipe", bom->recipe_sha256);
	bom->lock_path = xstrdup("/home/ci/work/recipes/factory.lock");
	fake_sha256("lock", bom->lock_sha256);
	bom->base_reference = xstrdup("flink:1.19.2");
	bom->base_name = xstrdup("docker.io/library/flink");
	fake_digest("base manifest", bom->base_manifest);
	bom->platform = xstrdup("linux/amd64");
	bom->image_name = xstrdup("registry.example.com/data/pyflink-kafka");
	fake_digest(image_label, bom->image_manifest);
	fake_digest("image config", bom->image_config);
	bom->tags = calloc(1, sizeof(*bom->tags));
	bom->tags[bom->tag_count++] = xstrdup("1.0.0");

	bom->layers = calloc(7, sizeof(*bom->layers));
	add_layer(bom, "base 0", NULL);
	add_layer(bom, "base 1", NULL);
	add_layer(bom, "base 2", NULL);
	add_layer(bom, "runtime layer", "python-runtime");
	add_layer(bom, "connectors layer", "connectors");
	add_layer(bom, "wheels layer", "wheels");
	add_layer(bom, "files layer", "files");

	bom->components = calloc(sizeof(components) / sizeof(components[0]), sizeof(*bom->components));
	for (size_t i = 0; i < sizeof(components) / sizeof(components[0]); i++)
		add_component(bom, &components[i]);
	bom->files = calloc(2, sizeof(*bom->files));
	for (size_t i = 0; i < 2; i++) {
		bom->files[i].path = xstrdup(files[i]);
		fake_sha256(files[i], bom->files[i].sha256);
	}
	bom->file_count = 2;
	bom->epoch = 1700000000;
	bom->factory_version = xstrdup("0.1.0");
}

typedef char *(*render_fn)(const struct bom *bom, size_t *size);

static json_t *parse(struct unit_state *s, render_fn fn, const struct bom *bom)
{
	size_t size = 0;
	char *doc = fn(bom, &size);
	json_error_t jerr;
	json_t *j = json_loadb(doc, size, 0, &jerr);

	CHECK(s, j != NULL);
	free(doc);
	return j;
}

/* A sample bom and its three documents, parsed. */
struct docs {
	struct bom bom;
	json_t *spdx, *cdx, *prov;
};

static void docs_render(struct unit_state *s, struct docs *d)
{
	d->spdx = parse(s, sbom_spdx, &d->bom);
	d->cdx = parse(s, sbom_cyclonedx, &d->bom);
	d->prov = parse(s, sbom_provenance, &d->bom);
}

static void docs_open(struct unit_state *s, struct docs *d, const char *image_label)
{
	sample(&d->bom, image_label);
	docs_render(s, d);
}

static void docs_close(struct docs *d)
{
	json_decref(d->spdx);
	json_decref(d->cdx);
	json_decref(d->prov);
	bom_clear(&d->bom);
}

/* The element of an array whose `key` is `value`. */
static json_t *find(const json_t *array, const char *key, const char *value)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v) {
		const char *got = json_string_value(json_object_get(v, key));
		if (got && strcmp(got, value) == 0)
			return v;
	}
	return NULL;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void test_byte_identical(struct unit_state *s)
{
	render_fn fns[] = {sbom_spdx, sbom_cyclonedx, sbom_provenance};
	struct bom a, b;

	sample(&a, "image manifest");
	sample(&b, "image manifest");
	for (size_t i = 0; i < 3; i++) {
		size_t n1 = 0, n2 = 0, n3 = 0;
		char *d1 = fns[i](&a, &n1), *d2 = fns[i](&a, &n2), *d3 = fns[i](&b, &n3);

		CHECK(s, n1 > 0 && n1 == strlen(d1));
		CHECK(s, n1 == n2 && memcmp(d1, d2, n1) == 0);
		CHECK(s, n1 == n3 && memcmp(d1, d3, n1) == 0); /* another bom of the same content */
		CHECK(s, d1[n1 - 1] == '\n' && d1[n1 - 2] == '}');
		CHECK(s, strncmp(d1, "{\n  \"", 5) == 0); /* two-space indentation */
		/* no path of the build machine: not the recipe's directory, not a file:// repository */
		CHECK(s, !strstr(d1, "/home/ci") && !strstr(d1, "file:"));
		free(d1);
		free(d2);
		free(d3);
	}
	bom_clear(&a);
	bom_clear(&b);
}

static json_t *package(const struct docs *d, const char *spdx_id)
{
	return find(json_object_get(d->spdx, "packages"), "SPDXID", spdx_id);
}

static json_t *component(const struct docs *d, const char *bom_ref)
{
	return find(json_object_get(d->cdx, "components"), "bom-ref", bom_ref);
}

/* The first external reference of an SPDX package: its purl, or the runtime's CPE. */
static const char *locator(const json_t *package)
{
	return str(json_array_get(json_object_get(package, "externalRefs"), 0), "referenceLocator");
}

static json_t *dependency(const struct docs *d, size_t i)
{
	json_t *def = json_object_get(json_object_get(d->prov, "predicate"), "buildDefinition");

	return json_array_get(json_object_get(def, "resolvedDependencies"), i);
}

static void test_purls(struct unit_state *s)
{
	struct docs d;
	char image_hex[65], base_hex[65], *want;

	docs_open(s, &d, "image manifest");
	fake_sha256("image manifest", image_hex);
	fake_sha256("base manifest", base_hex);

	/* The purl specification's canonical form: the colon of a digest stays, a slash inside a
	 * qualifier value is encoded (its oci test vectors build exactly this). */
	want = xasprintf("pkg:oci/pyflink-kafka@sha256%%3A%s?repository_url=registry.example.com/data/pyflink-kafka",
			 image_hex);
	CHECK_STR(s, locator(package(&d, "SPDXRef-Image")), want);
	CHECK_STR(s, str(json_object_get(json_object_get(d.cdx, "metadata"), "component"), "purl"), want);
	free(want);
	want = xasprintf("pkg:oci/flink@sha256%%3A%s?repository_url=docker.io/library/flink", base_hex);
	CHECK_STR(s, str(component(&d, "base"), "purl"), want);
	CHECK_STR(s, locator(package(&d, "SPDXRef-Base")), want);
	free(want);

	CHECK_STR(s, str(component(&d, "component-1"), "purl"),
		  "pkg:maven/org.apache.flink/flink-sql-connector-kafka@3.2.0-1.19");
	CHECK_STR(s, str(component(&d, "component-2"), "purl"),
		  "pkg:maven/com.github.luben/zstd-jni@1.5.6-3?classifier=linux_amd64");
	CHECK_STR(s, str(component(&d, "component-3"), "purl"), "pkg:pypi/typing-extensions@4.12.2");
	CHECK_STR(s, str(component(&d, "component-3"), "name"), "typing-extensions");
	CHECK_STR(s, str(package(&d, "SPDXRef-Maven-2"), "name"), "com.github.luben:zstd-jni");
	CHECK_STR(s, locator(package(&d, "SPDXRef-Wheel-3")), "pkg:pypi/typing-extensions@4.12.2");
	CHECK_STR(s, locator(package(&d, "SPDXRef-Runtime-0")), "cpe:2.3:a:python:python:3.11.9:*:*:*:*:*:*:*");
	CHECK_STR(s, str(component(&d, "component-0"), "cpe"), "cpe:2.3:a:python:python:3.11.9:*:*:*:*:*:*:*");
	CHECK(s, !json_object_get(component(&d, "component-0"), "purl"));
	/* the JAR from a file:// repository has no download location */
	CHECK_STR(s, str(package(&d, "SPDXRef-Maven-2"), "downloadLocation"), "NOASSERTION");
	CHECK(s, !json_object_get(component(&d, "component-2"), "externalReferences"));
	docs_close(&d);
}

static void check_purl(struct unit_state *s, const struct bom_component *c, const char *want)
{
	char *got = sbom_component_purl(c);

	CHECK_STR(s, got, want);
	free(got);
}

/* Percent-encoding and qualifiers as the purl specification has them. */
static void test_purl_encoding(struct unit_state *s)
{
	struct bom_component c = {.kind = BOM_MAVEN, .group = "org.example", .name = "native"};

	c.version = "1.0+build.7";
	c.classifier = "linux x86";
	c.extension = "tar.gz";
	check_purl(s, &c, "pkg:maven/org.example/native@1.0%2Bbuild.7?classifier=linux%20x86&type=tar.gz");
	c.classifier = NULL;
	check_purl(s, &c, "pkg:maven/org.example/native@1.0%2Bbuild.7?type=tar.gz");
	c.extension = "jar";
	c.version = "2.0";
	check_purl(s, &c, "pkg:maven/org.example/native@2.0");
	c = (struct bom_component){.kind = BOM_WHEEL, .name = "Zope.Interface__x", .version = "6.0"};
	check_purl(s, &c, "pkg:pypi/zope-interface-x@6.0");
	c = (struct bom_component){.kind = BOM_RUNTIME, .name = "python", .version = "3.11.9"};
	CHECK(s, sbom_component_purl(&c) == NULL);
	c.kind = BOM_FILE;
	CHECK(s, sbom_component_purl(&c) == NULL);
}

/* Named by content: the same image gives the same serial number and namespace, another
 * image others. */
static void test_serial_number(struct unit_state *s)
{
	struct docs a, b, c;
	const char *serial;

	docs_open(s, &a, "image manifest");
	docs_open(s, &b, "image manifest");
	docs_open(s, &c, "another image manifest");
	serial = str(a.cdx, "serialNumber");
	CHECK(s, serial && strlen(serial) == 45 && strncmp(serial, "urn:uuid:", 9) == 0);
	CHECK(s, serial && serial[9 + 14] == '5' && strchr("89ab", serial[9 + 19])); /* version 5, RFC variant */
	CHECK_STR(s, str(b.cdx, "serialNumber"), serial);
	CHECK(s, serial && strcmp(str(c.cdx, "serialNumber"), serial) != 0);
	CHECK(s, strncmp(str(a.spdx, "documentNamespace"), "https://factory.dev/spdx/pyflink-kafka-", 39) == 0);
	CHECK_STR(s, str(b.spdx, "documentNamespace"), str(a.spdx, "documentNamespace"));
	CHECK(s, strcmp(str(a.spdx, "documentNamespace"), str(c.spdx, "documentNamespace")) != 0);
	docs_close(&a);
	docs_close(&b);
	docs_close(&c);
}

static void test_timestamps(struct unit_state *s)
{
	struct docs d;
	json_t *meta;

	docs_open(s, &d, "image manifest");
	CHECK_STR(s, str(json_object_get(d.spdx, "creationInfo"), "created"), EPOCH_TEXT);
	CHECK_STR(s, str(json_object_get(d.cdx, "metadata"), "timestamp"), EPOCH_TEXT);
	meta = json_object_get(json_object_get(json_object_get(d.prov, "predicate"), "runDetails"), "metadata");
	CHECK_STR(s, str(meta, "startedOn"), EPOCH_TEXT);
	CHECK_STR(s, str(meta, "finishedOn"), EPOCH_TEXT);
	docs_close(&d);
}

static bool related(const struct docs *d, const char *a, const char *type, const char *b)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(d->spdx, "relationships"), i, r) {
		if (strcmp(str(r, "spdxElementId"), a) == 0 && strcmp(str(r, "relationshipType"), type) == 0 &&
		    strcmp(str(r, "relatedSpdxElement"), b) == 0)
			return true;
	}
	return false;
}

/* Which layer holds what: SPDX relationships, CycloneDX properties. */
static void test_layers(struct unit_state *s)
{
	struct docs d;
	json_t *props, *image_deps;

	docs_open(s, &d, "image manifest");
	CHECK(s, related(&d, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image"));
	CHECK(s, related(&d, "SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-Base"));
	CHECK(s, related(&d, "SPDXRef-Image", "CONTAINS", "SPDXRef-Layer-4"));
	CHECK(s, !related(&d, "SPDXRef-Image", "CONTAINS", "SPDXRef-Layer-0")); /* a base layer */
	CHECK(s, related(&d, "SPDXRef-Layer-4", "CONTAINS", "SPDXRef-Maven-1"));
	CHECK(s, related(&d, "SPDXRef-Layer-3", "CONTAINS", "SPDXRef-Runtime-0"));
	CHECK(s, related(&d, "SPDXRef-Layer-6", "CONTAINS", "SPDXRef-File-5"));
	/* 1 image + 1 base + 4 own layers + 6 components */
	CHECK(s, json_array_size(json_object_get(d.spdx, "packages")) == 12);

	props = json_object_get(component(&d, "component-4"), "properties");
	CHECK_STR(s, str(find(props, "name", "factory:layer"), "value"), d.bom.layers[5].digest);
	CHECK_STR(s, str(find(props, "name", "factory:layer.content"), "value"), "wheels");
	image_deps = json_array_get(json_object_get(d.cdx, "dependencies"), 0);
	CHECK_STR(s, str(image_deps, "ref"), "image");
	CHECK(s, json_array_size(json_object_get(image_deps, "dependsOn")) == 7); /* the base, 6 components */
	docs_close(&d);
}

static void test_provenance(struct unit_state *s)
{
	struct docs d;
	json_t *params;
	char hex[65];

	docs_open(s, &d, "image manifest");
	params = json_object_get(json_object_get(json_object_get(d.prov, "predicate"), "buildDefinition"),
				 "externalParameters");
	fake_sha256("image manifest", hex);
	CHECK_STR(s, str(d.prov, "_type"), "https://in-toto.io/Statement/v1");
	CHECK(s, json_array_size(json_object_get(d.prov, "subject")) == 3); /* the image and two manifests */
	CHECK_STR(s, str(json_object_get(json_array_get(json_object_get(d.prov, "subject"), 0), "digest"), "sha256"),
		  hex);
	CHECK_STR(s, str(json_object_get(params, "recipe"), "path"), "pyflink-kafka.yaml");
	CHECK_STR(s, str(json_object_get(params, "lock"), "path"), "factory.lock");
	CHECK_STR(s, str(params, "platform"), "linux/amd64");
	CHECK(s, dependency(&d, 6) && !dependency(&d, 7)); /* the base and 6 components */
	CHECK_STR(s, str(dependency(&d, 0), "uri"), "oci://docker.io/library/flink");
	/* the JAR from a file:// repository is named by its purl, with both digests */
	CHECK_STR(s, str(dependency(&d, 3), "uri"), "pkg:maven/com.github.luben/zstd-jni@1.5.6-3?classifier=linux_amd64");
	CHECK(s, json_object_size(json_object_get(dependency(&d, 3), "digest")) == 2);
	CHECK_STR(s, str(dependency(&d, 6), "uri"), "/opt/flink/usrlib/job.py");
	docs_close(&d);
}

/* A base from a local layout is named without its directory; bytes that are not UTF-8 (a
 * hostile file name) are written as \ooo rather than dropping the key. */
static void test_local_base_and_odd_names(struct unit_state *s)
{
	struct docs d;
	size_t size;
	char *doc, hex[65], *want;

	sample(&d.bom, "image manifest");
	free(d.bom.base_reference);
	free(d.bom.base_name);
	d.bom.base_reference = xstrdup("oci:/srv/images/Flink-Layout:1.19");
	d.bom.base_name = NULL;
	free(d.bom.image_name);
	d.bom.image_name = NULL;
	free(d.bom.components[5].path);
	d.bom.components[5].path = xstrdup("/opt/flink/usrlib/caf\xe9.py");
	docs_render(s, &d);
	fake_sha256("base manifest", hex);

	CHECK_STR(s, str(package(&d, "SPDXRef-Base"), "name"), "Flink-Layout:1.19");
	want = xasprintf("pkg:oci/flink-layout@sha256%%3A%s", hex);
	CHECK_STR(s, str(component(&d, "base"), "purl"), want);
	free(want);
	CHECK_STR(s, str(dependency(&d, 0), "uri"), "oci://Flink-Layout:1.19");
	/* without an image name the image is the app, and its purl has no repository_url */
	want = xasprintf("pkg:oci/pyflink-kafka@sha256%%3A%s", d.bom.image_manifest + 7);
	CHECK_STR(s, str(json_object_get(json_object_get(d.cdx, "metadata"), "component"), "purl"), want);
	free(want);
	CHECK_STR(s, str(package(&d, "SPDXRef-File-5"), "name"), "/opt/flink/usrlib/caf\\351.py");
	CHECK_STR(s, str(component(&d, "component-5"), "name"), "/opt/flink/usrlib/caf\\351.py");
	doc = sbom_spdx(&d.bom, &size);
	CHECK(s, !strstr(doc, "/srv/images"));
	free(doc);
	docs_close(&d);
}

const struct unit_test sbom_tests[] = {
	{"sbom_byte_identical", test_byte_identical},
	{"sbom_purls", test_purls},
	{"sbom_purl_encoding", test_purl_encoding},
	{"sbom_serial_number", test_serial_number},
	{"sbom_timestamps", test_timestamps},
	{"sbom_layers", test_layers},
	{"sbom_provenance", test_provenance},
	{"sbom_local_base_and_odd_names", test_local_base_and_odd_names},
	{NULL, NULL},
};
