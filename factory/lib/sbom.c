#include "sbom.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "digest.h"
#include "jsontext.h"
#include "util.h"
#include "wheel.h"

#define NOASSERTION "NOASSERTION"

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

/* Sets the key only when there is a value: an absent field and a null one differ to the
 * schemas, and none of the three formats wants null. */
static void put(json_t *o, const char *key, const char *s)
{
	if (s)
		json_object_set_new(o, key, jsontext_new(s));
}

static json_t *array_of(json_t *o, const char *key)
{
	json_t *a = json_object_get(o, key);

	if (!a) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	return a;
}

/* Two-space indentation and sorted keys: the same bom gives the same bytes, and a diff of two
 * builds' documents reads line by line. */
static char *render(json_t *doc, size_t *size)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS), *out;

	if (!text)
		abort();
	out = xasprintf("%s\n", text);
	free(text);
	json_decref(doc);
	*size = strlen(out);
	return out;
}

/* RFC 3339 UTC, as all three formats want it; an epoch gmtime cannot place is the Unix epoch,
 * still a valid date. */
static void timestamp(long long epoch, char out[32])
{
	time_t t = (time_t)epoch;
	struct tm tm;

	if (epoch < 0 || !gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) || strlen(out) != 20)
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* The hex of a "sha256:<hex>" digest; NULL for anything else. */
static const char *sha256_of(const char *digest)
{
	bool ok = strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71 && digest_is_hex(digest + 7, 64);

	return ok ? digest + 7 : NULL;
}

/* What stands for the documents' subject: the image, and the recipe it was built from (which
 * also decides the manifests). The SPDX namespace and the CycloneDX serial number come from
 * it, so a rebuild of the same image names its documents the same. */
static void subject_id(const struct bom *bom, char hex[65])
{
	char *s = xasprintf("%s\n%s", bom->image_manifest, bom->recipe_sha256);

	digest_sha256_hex(s, strlen(s), hex);
	free(s);
}

/* The last element of the first `len` bytes of a path ("/a/b/" -> "b"). */
static char *last_element(const char *path, size_t len)
{
	const char *start;

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (start = path + len; start > path && start[-1] != '/'; start--)
		;
	return xasprintf("%.*s", (int)(path + len - start), start);
}

static char *file_name(const char *path)
{
	return path ? last_element(path, strlen(path)) : NULL;
}

/* What the documents call the base: its registry name, else the reference without the
 * directory of a local layout or archive ("oci:/srv/images/flink:1.19" -> "flink:1.19"),
 * which names the machine rather than the image. */
static char *base_label(const struct bom *bom)
{
	const char *ref = or_empty(bom->base_reference);

	if (bom->base_name)
		return xstrdup(bom->base_name);
	if (strncmp(ref, "oci:", 4) == 0) {
		const char *spec = ref + 4, *colon = strrchr(spec, ':'); /* as base_resolve splits it */
		char *dir = last_element(spec, colon ? (size_t)(colon - spec) : strlen(spec));
		char *label = colon ? xasprintf("%s:%s", dir, colon + 1) : xstrdup(dir);

		free(dir);
		return label;
	}
	if (strncmp(ref, "docker-archive:", 15) == 0)
		return file_name(ref + 15);
	return xstrdup(ref);
}

static const char *image_title(const struct bom *bom)
{
	return bom->image_name ? bom->image_name : or_empty(bom->app);
}

/* A file:// URL (a Maven repository on disk) is a path of the build machine, not where anyone
 * else could fetch the artifact. */
static const char *public_url(const char *url)
{
	return url && strncasecmp(url, "file:", 5) != 0 ? url : NULL;
}

/* Percent-encodes as the purl spec's examples do: letters, digits and ".-_~" stay, and `keep`
 * (a qualifier value keeps ":/", as in repository_url=docker.io/library/debian); every other
 * byte of the UTF-8 string, the colon of "sha256:" in a version among them, becomes %XX. */
static void purl_add(struct strbuf *b, const char *s, const char *keep)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[4];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr(".-_~", c) ||
		    (c && strchr(keep, c))) {
			strbuf_add(b, s, 1);
			continue;
		}
		snprintf(esc, sizeof(esc), "%%%02X", c);
		strbuf_add(b, esc, 3);
	}
}

/* `qualifiers` holds `count` key, value pairs in key order (the canonical form sorts them);
 * a pair without a value is left out. */
static char *purl(const char *type, const char *namespace, const char *name, const char *version,
		  const char *const *qualifiers, size_t count)
{
	struct strbuf b = {0};
	char sep = '?';

	strbuf_add(&b, "pkg:", 4);
	strbuf_add(&b, type, strlen(type));
	strbuf_add(&b, "/", 1);
	if (namespace && *namespace) {
		purl_add(&b, namespace, "");
		strbuf_add(&b, "/", 1);
	}
	purl_add(&b, name, "");
	if (version && *version) {
		strbuf_add(&b, "@", 1);
		purl_add(&b, version, "");
	}
	for (size_t i = 0; i < count; i++) {
		const char *key = qualifiers[2 * i], *value = qualifiers[2 * i + 1];

		if (!value || !*value)
			continue;
		strbuf_add(&b, &sep, 1);
		sep = '&';
		strbuf_add(&b, key, strlen(key));
		strbuf_add(&b, "=", 1);
		purl_add(&b, value, ":/");
	}
	return b.data;
}

/* The oci type names an image by its repository's last element, lowercased, and by digest;
 * where it lives goes in repository_url. */
static char *oci_purl(const char *name, const char *digest, const char *repository_url)
{
	const char *slash = strrchr(name, '/');
	char *short_name = xstrdup(slash ? slash + 1 : name), *out;
	const char *q[] = {"repository_url", repository_url};

	short_name[strcspn(short_name, ":@")] = '\0'; /* a tag or digest of a reference */
	for (char *p = short_name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	out = purl("oci", NULL, short_name, digest, q, 1);
	free(short_name);
	return out;
}

/* The PEP 503 name, as the pypi type wants it and as pip compares them. */
static char *wheel_name(const struct bom_component *c)
{
	const char *name = or_empty(c->name);
	size_t size = strlen(name) + 1;
	char *out = malloc(size);

	if (!out)
		abort();
	python_normalize_name(name, out, size);
	return out;
}

char *sbom_component_purl(const struct bom_component *c)
{
	if (c->kind == BOM_MAVEN) {
		/* The type qualifier is the extension; "jar" is its default and left out. */
		const char *type = c->extension && strcmp(c->extension, "jar") != 0 ? c->extension : NULL;
		const char *q[] = {"classifier", c->classifier, "type", type};

		return purl("maven", c->group, or_empty(c->name), c->version, q, 2);
	}
	if (c->kind == BOM_WHEEL) {
		char *name = wheel_name(c), *out = purl("pypi", NULL, name, c->version, NULL, 0);

		free(name);
		return out;
	}
	return NULL;
}

/* NVD lists CPython as cpe:2.3:a:python:python:<version>, which is what vulnerability feeds
 * match a runtime by (it has no package URL type). A version with characters a CPE would have
 * to escape gets none rather than a wrong one. */
static char *python_cpe(const char *version)
{
	if (!version || !*version ||
	    version[strspn(version, "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")])
		return NULL;
	return xasprintf("cpe:2.3:a:python:python:%s:*:*:*:*:*:*:*", version);
}

/* SPDX and CycloneDX names: group:artifact for Maven, the normalized project for a wheel, the
 * path in the image for a file. */
static char *component_name(const struct bom_component *c)
{
	switch (c->kind) {
	case BOM_MAVEN:
		return c->group ? xasprintf("%s:%s", c->group, or_empty(c->name)) : xstrdup(or_empty(c->name));
	case BOM_WHEEL:
		return wheel_name(c);
	case BOM_FILE:
		return xstrdup(c->path ? c->path : or_empty(c->name));
	case BOM_RUNTIME:
		break;
	}
	return xstrdup(or_empty(c->name));
}

static const struct {
	const char *spdx_id;      /* SPDXRef-<this>-<index> */
	const char *spdx_purpose; /* primaryPackagePurpose */
	const char *cdx_type;
} kinds[] = {
	[BOM_MAVEN] = {"Maven", "LIBRARY", "library"},
	[BOM_WHEEL] = {"Wheel", "LIBRARY", "library"},
	/* CycloneDX's "platform" is a runtime that executes software, as CPython does. */
	[BOM_RUNTIME] = {"Runtime", "APPLICATION", "platform"},
	[BOM_FILE] = {"File", "FILE", "file"},
};

/* ---- SPDX 2.3 ---- */

/* Every package carries the fields SPDX 2.3 requires or that tools expect; factory asserts
 * nothing about licenses or copyright it has not read. */
static json_t *spdx_package(json_t *packages, const char *id, const char *name, const char *version,
			    const char *purpose)
{
	json_t *p = json_object();

	put(p, "SPDXID", id);
	put(p, "name", name);
	put(p, "versionInfo", version && *version ? version : NULL);
	put(p, "downloadLocation", NOASSERTION);
	json_object_set_new(p, "filesAnalyzed", json_false());
	put(p, "licenseConcluded", NOASSERTION);
	put(p, "licenseDeclared", NOASSERTION);
	put(p, "copyrightText", NOASSERTION);
	put(p, "primaryPackagePurpose", purpose);
	json_array_append_new(packages, p);
	return p;
}

static void spdx_checksum(json_t *p, const char *algorithm, const char *hex)
{
	if (hex && *hex)
		json_array_append_new(array_of(p, "checksums"), json_pack("{s:s, s:o}", "algorithm", algorithm,
									  "checksumValue", jsontext_new(hex)));
}

/* Takes `locator` (a purl or CPE the caller allocated). */
static void spdx_ref(json_t *p, const char *category, const char *type, char *locator)
{
	if (locator)
		json_array_append_new(array_of(p, "externalRefs"),
				      json_pack("{s:s, s:s, s:o}", "referenceCategory", category, "referenceType", type,
						"referenceLocator", jsontext_new(locator)));
	free(locator);
}

static void spdx_relate(json_t *relationships, const char *a, const char *type, const char *b)
{
	json_array_append_new(relationships, json_pack("{s:s, s:s, s:s}", "spdxElementId", a, "relationshipType", type,
						       "relatedSpdxElement", b));
}

/* The element that holds a component: its layer when factory made it, the base when the
 * layer is one of the base's. */
static char *spdx_holder(const struct bom *bom, size_t layer)
{
	if (layer >= bom->layer_count)
		return xstrdup("SPDXRef-Image");
	return bom->layers[layer].base ? xstrdup("SPDXRef-Base") : xasprintf("SPDXRef-Layer-%zu", layer);
}

static void spdx_component(json_t *packages, json_t *relationships, const struct bom *bom, size_t i)
{
	const struct bom_component *c = &bom->components[i];
	char *id = xasprintf("SPDXRef-%s-%zu", kinds[c->kind].spdx_id, i), *name = component_name(c);
	char *holder = spdx_holder(bom, c->layer);
	json_t *p = spdx_package(packages, id, name, c->version, kinds[c->kind].spdx_purpose);

	/* "the path of the directory being treated as a package" for a wheel or the runtime */
	put(p, "packageFileName", c->path ? c->path : c->file_name);
	put(p, "downloadLocation", public_url(c->download_url) ? public_url(c->download_url) : NOASSERTION);
	spdx_checksum(p, "SHA256", c->sha256);
	spdx_checksum(p, "SHA1", c->sha1);
	spdx_ref(p, "PACKAGE-MANAGER", "purl", sbom_component_purl(c));
	if (c->kind == BOM_RUNTIME)
		spdx_ref(p, "SECURITY", "cpe23Type", python_cpe(c->version));
	spdx_relate(relationships, holder, "CONTAINS", id);
	free(holder);
	free(name);
	free(id);
}

char *sbom_spdx(const struct bom *bom, size_t *size)
{
	json_t *doc = json_object(), *packages = json_array(), *relationships = json_array(), *p;
	char when[32], id[65], *label = base_label(bom), *creator;
	struct strbuf ns = {0};

	timestamp(bom->epoch, when);
	subject_id(bom, id);
	strbuf_add(&ns, "https://factory.dev/spdx/", 25);
	purl_add(&ns, or_empty(bom->app), "");
	strbuf_add(&ns, "-", 1);
	strbuf_add(&ns, id, 64);
	creator = bom->factory_version ? xasprintf("Tool: factory-%s", bom->factory_version) : xstrdup("Tool: factory");

	put(doc, "spdxVersion", "SPDX-2.3");
	put(doc, "dataLicense", "CC0-1.0");
	put(doc, "SPDXID", "SPDXRef-DOCUMENT");
	put(doc, "name", or_empty(bom->app));
	put(doc, "documentNamespace", ns.data);
	json_object_set_new(doc, "creationInfo",
			    json_pack("{s:s, s:[o]}", "created", when, "creators", jsontext_new(creator)));
	json_object_set_new(doc, "documentDescribes", json_pack("[s]", "SPDXRef-Image"));
	spdx_relate(relationships, "SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Image");

	p = spdx_package(packages, "SPDXRef-Image", image_title(bom), bom->image_manifest, "CONTAINER");
	spdx_checksum(p, "SHA256", sha256_of(bom->image_manifest));
	spdx_ref(p, "PACKAGE-MANAGER", "purl", oci_purl(image_title(bom), bom->image_manifest, bom->image_name));

	/* The image is the base with factory's layers on top: the same lineage, later. */
	p = spdx_package(packages, "SPDXRef-Base", label, bom->base_manifest, "CONTAINER");
	spdx_checksum(p, "SHA256", sha256_of(bom->base_manifest));
	spdx_ref(p, "PACKAGE-MANAGER", "purl", oci_purl(label, bom->base_manifest, bom->base_name));
	spdx_relate(relationships, "SPDXRef-Image", "DESCENDANT_OF", "SPDXRef-Base");

	for (size_t i = 0; i < bom->layer_count; i++) {
		const struct bom_layer *l = &bom->layers[i];
		char *layer_id, *name;

		if (l->base)
			continue;
		layer_id = xasprintf("SPDXRef-Layer-%zu", i);
		name = l->content ? xasprintf("layer %s", l->content) : xasprintf("layer %zu", i);
		p = spdx_package(packages, layer_id, name, l->digest, "ARCHIVE");
		spdx_checksum(p, "SHA256", sha256_of(l->digest));
		spdx_relate(relationships, "SPDXRef-Image", "CONTAINS", layer_id);
		free(name);
		free(layer_id);
	}
	for (size_t i = 0; i < bom->component_count; i++)
		spdx_component(packages, relationships, bom, i);

	json_object_set_new(doc, "packages", packages);
	json_object_set_new(doc, "relationships", relationships);
	free(creator);
	free(ns.data);
	free(label);
	return render(doc, size);
}

/* ---- CycloneDX 1.6 ---- */

static json_t *cdx_component(const char *type, const char *ref, const char *name, const char *version)
{
	json_t *c = json_object();

	put(c, "type", type);
	put(c, "bom-ref", ref);
	put(c, "name", name);
	put(c, "version", version && *version ? version : NULL);
	return c;
}

static void cdx_hash(json_t *c, const char *algorithm, const char *hex)
{
	if (hex && *hex)
		json_array_append_new(array_of(c, "hashes"),
				      json_pack("{s:s, s:o}", "alg", algorithm, "content", jsontext_new(hex)));
}

static void cdx_property(json_t *c, const char *name, const char *value)
{
	if (value)
		json_array_append_new(array_of(c, "properties"),
				      json_pack("{s:s, s:o}", "name", name, "value", jsontext_new(value)));
}

/* Takes `value` (allocated by the caller). */
static void put_owned(json_t *o, const char *key, char *value)
{
	put(o, key, value);
	free(value);
}

/* sha256 bytes shaped as an RFC 4122 UUID: version 5 (name-based, SHA) and the RFC variant,
 * as CycloneDX's serialNumber pattern requires. */
static char *serial_number(const struct bom *bom)
{
	char hex[65];
	int nibble;

	subject_id(bom, hex);
	hex[12] = '5';
	nibble = hex[16] <= '9' ? hex[16] - '0' : hex[16] - 'a' + 10; /* the hex is lowercase */
	hex[16] = "89ab"[nibble & 3];
	return xasprintf("urn:uuid:%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static json_t *cdx_bom_component(const struct bom *bom, size_t i)
{
	const struct bom_component *c = &bom->components[i];
	char *ref = xasprintf("component-%zu", i);
	char *name = c->kind == BOM_MAVEN ? xstrdup(or_empty(c->name)) : component_name(c);
	json_t *j = cdx_component(kinds[c->kind].cdx_type, ref, name, c->version);

	if (c->kind == BOM_MAVEN)
		put(j, "group", c->group);
	put_owned(j, "purl", sbom_component_purl(c));
	if (c->kind == BOM_RUNTIME)
		put_owned(j, "cpe", python_cpe(c->version));
	cdx_hash(j, "SHA-256", c->sha256);
	cdx_hash(j, "SHA-1", c->sha1);
	if (public_url(c->download_url))
		json_array_append_new(
			array_of(j, "externalReferences"),
			json_pack("{s:s, s:o}", "type", "distribution", "url", jsontext_new(c->download_url)));
	if (c->path && c->kind != BOM_FILE) /* a file's name is its path already */
		json_object_set_new(j, "evidence",
				    json_pack("{s:[{s:o}]}", "occurrences", "location", jsontext_new(c->path)));
	if (c->layer < bom->layer_count) {
		cdx_property(j, "factory:layer", bom->layers[c->layer].digest);
		cdx_property(j, "factory:layer.content", bom->layers[c->layer].content);
	}
	free(name);
	free(ref);
	return j;
}

char *sbom_cyclonedx(const struct bom *bom, size_t *size)
{
	json_t *doc = json_object(), *meta = json_object(), *tool, *image, *base, *components = json_array();
	json_t *depends = json_array();
	char when[32], *label = base_label(bom);

	timestamp(bom->epoch, when);
	put(doc, "$schema", "http://cyclonedx.org/schema/bom-1.6.schema.json");
	put(doc, "bomFormat", "CycloneDX");
	put(doc, "specVersion", "1.6");
	put_owned(doc, "serialNumber", serial_number(bom));
	json_object_set_new(doc, "version", json_integer(1));

	put(meta, "timestamp", when);
	tool = cdx_component("application", NULL, "factory", bom->factory_version);
	json_object_set_new(meta, "tools", json_pack("{s:[o]}", "components", tool));
	image = cdx_component("container", "image", image_title(bom), bom->image_manifest);
	put_owned(image, "purl", oci_purl(image_title(bom), bom->image_manifest, bom->image_name));
	cdx_hash(image, "SHA-256", sha256_of(bom->image_manifest));
	json_object_set_new(meta, "component", image);
	json_object_set_new(doc, "metadata", meta);

	base = cdx_component("container", "base", label, bom->base_manifest);
	put_owned(base, "purl", oci_purl(label, bom->base_manifest, bom->base_name));
	cdx_hash(base, "SHA-256", sha256_of(bom->base_manifest));
	json_array_append_new(components, base);
	json_array_append_new(depends, json_string("base"));
	for (size_t i = 0; i < bom->component_count; i++) {
		json_t *c = cdx_bom_component(bom, i);

		json_array_append(depends, json_object_get(c, "bom-ref"));
		json_array_append_new(components, c);
	}
	json_object_set_new(doc, "components", components);
	/* Only the image's edges are known: what a JAR or wheel needs in turn is not recorded, and
	 * CycloneDX reads a component left out of the graph as "unknown", not "none". */
	json_object_set_new(doc, "dependencies", json_pack("[{s:s, s:o}]", "ref", "image", "dependsOn", depends));
	free(label);
	return render(doc, size);
}

/* ---- in-toto Statement v1, SLSA provenance v1 ---- */

static json_t *digests(const char *sha256, const char *sha1)
{
	json_t *d = json_object();

	put(d, "sha256", sha256 && *sha256 ? sha256 : NULL);
	put(d, "sha1", sha1 && *sha1 ? sha1 : NULL);
	return d;
}

/* recipe and lock by file name and digest: the directory they sat in is the machine's. */
static json_t *parameter_file(const char *path, const char *sha256)
{
	json_t *o = json_object();

	put_owned(o, "path", file_name(path));
	put(o, "sha256", sha256);
	return o;
}

char *sbom_provenance(const struct bom *bom, size_t *size)
{
	json_t *doc = json_object(), *subjects = json_array(), *params = json_object(), *deps = json_array(), *builder;
	char when[32], *label = base_label(bom), *base_uri;

	timestamp(bom->epoch, when);
	json_array_append_new(subjects, json_pack("{s:o, s:o}", "name", jsontext_new(image_title(bom)), "digest",
						  digests(sha256_of(bom->image_manifest), NULL)));
	for (size_t i = 0; i < bom->file_count; i++)
		json_array_append_new(subjects,
				      json_pack("{s:o, s:o}", "name", jsontext_new(or_empty(bom->files[i].path)),
						"digest", digests(bom->files[i].sha256, NULL)));

	json_object_set_new(params, "recipe", parameter_file(bom->recipe_path, bom->recipe_sha256));
	if (bom->lock_path)
		json_object_set_new(params, "lock", parameter_file(bom->lock_path, bom->lock_sha256));
	put(params, "platform", bom->platform);

	base_uri = xasprintf("oci://%s", label);
	json_array_append_new(deps, json_pack("{s:o, s:o}", "uri", jsontext_new(base_uri), "digest",
					      digests(sha256_of(bom->base_manifest), NULL)));
	for (size_t i = 0; i < bom->component_count; i++) {
		const struct bom_component *c = &bom->components[i];
		char *purl_text = sbom_component_purl(c);
		json_t *d = json_object();

		/* where it came from, else what it is, else where it is in the image (a recipe file) */
		if (public_url(c->download_url))
			put(d, "uri", c->download_url);
		else
			put(d, "uri", purl_text ? purl_text : c->path);
		put(d, "name", c->file_name);
		json_object_set_new(d, "digest", digests(c->sha256, c->sha1));
		json_array_append_new(deps, d);
		free(purl_text);
	}

	builder = json_pack("{s:s}", "id", "https://factory.dev/builder");
	if (bom->factory_version)
		json_object_set_new(builder, "version",
				    json_pack("{s:o}", "factory", jsontext_new(bom->factory_version)));

	put(doc, "_type", "https://in-toto.io/Statement/v1");
	json_object_set_new(doc, "subject", subjects);
	put(doc, "predicateType", "https://slsa.dev/provenance/v1");
	json_object_set_new(doc, "predicate",
			    json_pack("{s:{s:s, s:o, s:o}, s:{s:o, s:{s:s, s:s}}}", "buildDefinition", "buildType",
				      "https://factory.dev/build/v1", "externalParameters", params,
				      "resolvedDependencies", deps, "runDetails", "builder", builder, "metadata",
				      "startedOn", when, "finishedOn", when));
	free(base_uri);
	free(label);
	return render(doc, size);
}
