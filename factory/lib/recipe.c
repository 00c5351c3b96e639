#include "recipe.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flink.h"
#include "fsutil.h"
#include "http.h"
#include "maven.h"
#include "schema.h"
#include "util.h"

/* ---- the recipe schema ------------------------------------------------------------------ */

static const char *const modes[] = {"application", "session", NULL};
static const char *const upgrade_modes[] = {"stateless", "savepoint", "last-state", NULL};
static const char *const job_states[] = {"running", "suspended", NULL};
static const char *const backends[] = {"rocksdb", "hashmap", NULL};
static const char *const ha_kinds[] = {"kubernetes", "none", NULL};
static const char *const monitor_kinds[] = {"PodMonitor", "ServiceMonitor", "none", NULL};
static const char *const ingress_styles[] = {"ingress", "operator", NULL};
static const char *const pull_policies[] = {"Always", "IfNotPresent", "Never", NULL};

static const struct schema api_version_schema = {.type = SCHEMA_STRING,
						 .choices = (const char *const[]){RECIPE_API_VERSION, NULL}};
static const struct schema kind_schema = {.type = SCHEMA_STRING,
					  .choices = (const char *const[]){RECIPE_KIND, NULL}};
static const struct schema mode_schema = {.type = SCHEMA_STRING, .choices = modes};
static const struct schema upgrade_mode_schema = {.type = SCHEMA_STRING, .choices = upgrade_modes};
static const struct schema job_state_schema = {.type = SCHEMA_STRING, .choices = job_states};
static const struct schema backend_schema = {.type = SCHEMA_STRING, .choices = backends};
static const struct schema ha_schema = {.type = SCHEMA_STRING, .choices = ha_kinds};
static const struct schema monitor_schema = {.type = SCHEMA_STRING, .choices = monitor_kinds};
static const struct schema ingress_style_schema = {.type = SCHEMA_STRING, .choices = ingress_styles};
static const struct schema pull_policy_schema = {.type = SCHEMA_STRING, .choices = pull_policies};
static const struct schema port_schema = {.type = SCHEMA_INT, .min = 1, .max = 65535};

static const struct schema_field metadata_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"namespace", &schema_string, 0},
	{"labels", &schema_string_map, 0},
	{NULL, NULL, 0},
};

static const struct schema_field flink_fields[] = {
	{"version", &schema_string, SCHEMA_REQUIRED},
	{"image", &schema_string, 0},
	{"platform", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field owner_fields[] = {
	{"uid", &schema_nonnegative_int, 0},
	{"gid", &schema_nonnegative_int, 0},
	{NULL, NULL, 0},
};

static const struct schema_field file_fields[] = {
	{"source", &schema_string, SCHEMA_REQUIRED},
	{"destination", &schema_string, SCHEMA_REQUIRED},
	{"mode", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field image_fields[] = {
	{"registry", &schema_string, 0},
	{"repository", &schema_string, 0},
	{"tags", &schema_string_list, 0},
	{"pullPolicy", &pull_policy_schema, 0},
	{"pullSecrets", &schema_string_list, 0},
	{"env", &schema_string_map, 0},
	{"labels", &schema_string_map, 0},
	{"owner", &(const struct schema){.type = SCHEMA_OBJECT, .fields = owner_fields}, 0},
	{"files", &(const struct schema){.type = SCHEMA_LIST,
		.element = &(const struct schema){.type = SCHEMA_OBJECT, .fields = file_fields}}, 0},
	{"source", &schema_string, 0},
	{"revision", &schema_string, 0},
	{"compression", &(const struct schema){.type = SCHEMA_STRING,
		.choices = (const char *const[]){"gzip", "zstd", NULL}}, 0},
	{"fluxPolicy", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field connector_fields[] = {
	{"name", &schema_string, 0},
	{"maven", &schema_string, 0},
	{"destination", &schema_string, 0},
	{"sha256", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema connector_schema = {.type = SCHEMA_OBJECT, .fields = connector_fields};

static const struct schema_field requirement_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"version", &schema_string, SCHEMA_REQUIRED},
	{"sha256", &schema_string_list, SCHEMA_REQUIRED},
	{"file", &schema_string, 0},
	{"url", &schema_string, 0},
	{NULL, NULL, 0},
};
static const struct schema requirement_schema = {.type = SCHEMA_OBJECT, .fields = requirement_fields};

static const struct schema_field runtime_fields[] = {
	{"url", &schema_string, 0},
	{"file", &schema_string, 0},
	{"sha256", &schema_string, SCHEMA_REQUIRED},
	{"path", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field python_fields[] = {
	{"scripts", &schema_string_list, SCHEMA_REQUIRED},
	{"entry", &schema_string, 0},
	{"args", &schema_string_list, 0},
	{"executable", &schema_string, 0},
	{"mountPath", &schema_string, 0},
	{"requirements", &(const struct schema){.type = SCHEMA_LIST, .element = &requirement_schema, .or_string = true},
	 0},
	{"runtime", &(const struct schema){.type = SCHEMA_OBJECT, .fields = runtime_fields}, 0},
	{NULL, NULL, 0},
};

static const struct schema_field java_fields[] = {
	{"jarURI", &schema_string, SCHEMA_REQUIRED},
	{"entryClass", &schema_string, 0},
	{"args", &schema_string_list, 0},
	{NULL, NULL, 0},
};

static const struct schema_field savepoint_fields[] = {
	{"interval", &schema_string, 0},
	{"historyMaxCount", &schema_positive_int, 0},
	{NULL, NULL, 0},
};

static const struct schema_field job_fields[] = {
	{"parallelism", &schema_positive_int, 0},
	{"upgradeMode", &upgrade_mode_schema, 0},
	{"state", &job_state_schema, 0},
	{"allowNonRestoredState", &schema_bool, 0},
	{"initialSavepointPath", &schema_string, 0},
	{"savepoint", &(const struct schema){.type = SCHEMA_OBJECT, .fields = savepoint_fields}, 0},
	{NULL, NULL, 0},
};

static const struct schema_field session_job_fields[] = {
	{"name", &schema_string, SCHEMA_REQUIRED},
	{"jarURI", &schema_string, SCHEMA_REQUIRED},
	{"entryClass", &schema_string, 0},
	{"args", &schema_string_list, 0},
	{"parallelism", &schema_positive_int, 0},
	{"upgradeMode", &upgrade_mode_schema, 0},
	{"state", &job_state_schema, 0},
	{NULL, NULL, 0},
};
static const struct schema session_job_schema = {.type = SCHEMA_OBJECT, .fields = session_job_fields};

/* memory is required by the operator, not by the recipe: its render target says so. */
static const struct schema_field job_manager_fields[] = {
	{"memory", &schema_string, 0},
	{"cpu", &schema_number, 0},
	{"replicas", &schema_positive_int, 0},
	{"ephemeralStorage", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field task_manager_fields[] = {
	{"memory", &schema_string, 0},
	{"cpu", &schema_number, 0},
	{"replicas", &schema_positive_int, 0},
	{"ephemeralStorage", &schema_string, 0},
	{"slots", &schema_positive_int, 0},
	{NULL, NULL, 0},
};

static const struct schema_field rbac_fields[] = {
	{"create", &schema_bool, 0},
	{NULL, NULL, 0},
};

static const struct schema_field volume_fields[] = {
	{"claimName", &schema_string, SCHEMA_REQUIRED},
	{"create", &schema_bool, 0},
	{"size", &schema_string, 0},
	{"storageClass", &schema_string, 0},
	{"accessModes", &schema_string_list, 0},
	{"mountPath", &schema_string, SCHEMA_REQUIRED},
	{NULL, NULL, 0},
};

static const struct schema_field s3_fields[] = {
	{"endpoint", &schema_string, 0},
	{"pathStyleAccess", &schema_bool, 0},
	{"credentialsSecret", &schema_string, SCHEMA_REQUIRED},
	{"accessKeyField", &schema_string, 0},
	{"secretKeyField", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field state_fields[] = {
	{"backend", &backend_schema, 0},
	{"incremental", &schema_bool, 0},
	{"checkpoints", &schema_string, 0},
	{"savepoints", &schema_string, 0},
	{"checkpointInterval", &schema_string, 0},
	{"ha", &ha_schema, 0},
	{"haStorageDir", &schema_string, 0},
	{"volume", &(const struct schema){.type = SCHEMA_OBJECT, .fields = volume_fields}, 0},
	{"s3", &(const struct schema){.type = SCHEMA_OBJECT, .fields = s3_fields}, 0},
	{NULL, NULL, 0},
};

static const struct schema_field monitoring_fields[] = {
	{"prometheus", &schema_bool, 0},
	{"port", &port_schema, 0},
	{"monitor", &monitor_schema, 0},
	{"labels", &schema_string_map, 0},
	{"interval", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema_field ingress_fields[] = {
	{"style", &ingress_style_schema, 0},
	{"host", &schema_string, SCHEMA_REQUIRED},
	{"className", &schema_string, 0},
	{"path", &schema_string, 0},
	{"tlsSecret", &schema_string, 0},
	{"annotations", &schema_string_map, 0},
	{NULL, NULL, 0},
};

static const struct schema_field operator_fields[] = {
	{"watchNamespaces", &schema_string_list, 0},
	{"imagePullSecrets", &schema_string_list, 0},
	{"webhook", &schema_bool, 0},
	{NULL, NULL, 0},
};

static const struct schema_field gitops_fields[] = {
	{"url", &schema_string, SCHEMA_REQUIRED},
	{"branch", &schema_string, 0},
	{"path", &schema_string, 0},
	{NULL, NULL, 0},
};

#define OBJECT(list) (&(const struct schema){.type = SCHEMA_OBJECT, .fields = (list)})

static const struct schema_field recipe_fields[] = {
	{"apiVersion", &api_version_schema, SCHEMA_REQUIRED},
	{"kind", &kind_schema, SCHEMA_REQUIRED},
	{"metadata", OBJECT(metadata_fields), SCHEMA_REQUIRED},
	{"flink", OBJECT(flink_fields), SCHEMA_REQUIRED},
	{"image", OBJECT(image_fields), 0},
	{"connectors", &(const struct schema){.type = SCHEMA_LIST, .element = &connector_schema}, 0},
	{"python", OBJECT(python_fields), 0},
	{"java", OBJECT(java_fields), 0},
	{"mode", &mode_schema, 0},
	{"job", OBJECT(job_fields), 0},
	{"sessionJobs", &(const struct schema){.type = SCHEMA_LIST, .element = &session_job_schema}, 0},
	{"jobManager", OBJECT(job_manager_fields), SCHEMA_REQUIRED},
	{"taskManager", OBJECT(task_manager_fields), SCHEMA_REQUIRED},
	{"serviceAccount", &schema_string, 0},
	{"rbac", OBJECT(rbac_fields), 0},
	{"flinkConfiguration", &schema_string_map, 0},
	{"env", &schema_string_map, 0},
	{"state", OBJECT(state_fields), 0},
	{"monitoring", OBJECT(monitoring_fields), 0},
	{"ingress", OBJECT(ingress_fields), 0},
	{"operator", OBJECT(operator_fields), 0},
	{"gitops", OBJECT(gitops_fields), 0},
	{"templates", &schema_string, 0},
	{NULL, NULL, 0},
};

static const struct schema recipe_schema = {.type = SCHEMA_OBJECT, .fields = recipe_fields};

/* ---- reading values ---------------------------------------------------------------------- */

struct loader {
	struct recipe *recipe;
	struct diag_list *diags;
	const struct catalog *catalog;
	bool read_scripts;
	size_t errors;
};

static void fail(struct loader *ld, const struct ynode *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct loader *ld, const struct ynode *node, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(ld->diags, DIAG_ERROR, ld->recipe->file, node ? node->line : 0, node ? node->col : 0,
		 "%s", msg);
	ld->errors++;
}

static void warn(struct loader *ld, const struct ynode *node, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct loader *ld, const struct ynode *node, const char *fmt, ...)
{
	char msg[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(ld->diags, DIAG_WARNING, ld->recipe->file, node ? node->line : 0, node ? node->col : 0,
		 "%s", msg);
}

static const char *pool_take(struct recipe *recipe, char *s)
{
	char **pool = realloc(recipe->pool, (recipe->pool_count + 1) * sizeof(*pool));

	if (!pool || !s)
		abort();
	recipe->pool = pool;
	recipe->pool[recipe->pool_count++] = s;
	return s;
}

static const char *pool_printf(struct recipe *recipe, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *pool_printf(struct recipe *recipe, const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return pool_take(recipe, s);
}

/* The values below are read after the schema check, so a node of the wrong type only means
 * the schema already reported it: fall back to the default and carry on checking. */
static const char *str_at(const struct ynode *root, const char *path, const char *fallback)
{
	const struct ynode *node = ynode_at_path(root, path);

	if (!node || node->kind != YNODE_SCALAR || yscalar_is_null(node))
		return fallback;
	return node->value;
}

static long long int_at(const struct ynode *root, const char *path, long long fallback)
{
	long long v;
	return yscalar_int(ynode_at_path(root, path), &v) ? v : fallback;
}

static bool bool_at(const struct ynode *root, const char *path, bool fallback, bool *was_set)
{
	bool v;

	if (yscalar_bool(ynode_at_path(root, path), &v)) {
		if (was_set)
			*was_set = true;
		return v;
	}
	return fallback;
}

static struct str_list list_at(const struct ynode *root, const char *path)
{
	const struct ynode *node = ynode_at_path(root, path);
	struct str_list out = {0};

	if (!node || node->kind != YNODE_SEQUENCE)
		return out;
	out.items = calloc(node->count + 1, sizeof(*out.items));
	if (!out.items)
		abort();
	for (size_t i = 0; i < node->count; i++)
		if (node->values[i]->kind == YNODE_SCALAR)
			out.items[out.count++] = node->values[i]->value;
	return out;
}

static struct kv_list map_at(const struct ynode *root, const char *path)
{
	const struct ynode *node = ynode_at_path(root, path);
	struct kv_list out = {0};

	if (!node || node->kind != YNODE_MAPPING)
		return out;
	out.items = calloc(node->count + 1, sizeof(*out.items));
	if (!out.items)
		abort();
	for (size_t i = 0; i < node->count; i++) {
		if (node->values[i]->kind != YNODE_SCALAR)
			continue;
		out.items[out.count].key = node->keys[i]->value;
		out.items[out.count++].value = node->values[i]->value;
	}
	return out;
}

static const char *kv_get(const struct kv_list *list, const char *key)
{
	for (size_t i = 0; i < list->count; i++)
		if (strcmp(list->items[i].key, key) == 0)
			return list->items[i].value;
	return NULL;
}

/* ---- semantic checks --------------------------------------------------------------------- */

static bool is_hex64(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!isxdigit((unsigned char)s[n]) || isupper((unsigned char)s[n]))
			return false;
	return n == 64;
}

/* Flink's MemorySize syntax: a number, optional spaces, an optional unit. The size in bytes
 * goes to *bytes (saturating at LLONG_MAX, so an absurd size is caught by the bound). */
static bool parse_memory_size(const char *s, long long *bytes)
{
	static const struct {
		const char *name;
		int shift;
	} units[] = {{"", 0},	       {"b", 0},  {"bytes", 0}, {"k", 10},	  {"kb", 10}, {"kibibytes", 10}, {"m", 20},
		     {"mb", 20},       {"mebibytes", 20},	{"g", 30},   {"gb", 30}, {"gibibytes", 30}, {"t", 40},
		     {"tb", 40},       {"tebibytes", 40},	{"ki", 10},  {"mi", 20}, {"gi", 30},	      {"ti", 40}};
	const char *p = s;
	char unit[16];
	size_t n = 0;
	long long value = 0;

	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++)
		value = value > (LLONG_MAX - 9) / 10 ? LLONG_MAX : value * 10 + (*p - '0');
	while (*p == ' ')
		p++;
	for (; *p && n < sizeof(unit) - 1; p++)
		unit[n++] = (char)tolower((unsigned char)*p);
	unit[n] = '\0';
	if (*p)
		return false;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(unit, units[i].name) == 0) {
			*bytes = value > (LLONG_MAX >> units[i].shift) ? LLONG_MAX : value << units[i].shift;
			return true;
		}
	return false;
}

static bool is_quantity(const char *s)
{
	/* Kubernetes resource quantity, as used for PVC sizes: digits with a binary or SI suffix. */
	static const char *const suffixes[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "k", "M", "G", "T", "P", NULL};
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	for (const char *const *x = suffixes; *x; x++)
		if (strcmp(p, *x) == 0)
			return true;
	return false;
}

static bool is_duration(const char *s)
{
	/* Flink's Duration syntax (TimeUtils): a number and an optional unit. */
	static const char *const units[] = {
		"ns", "nano", "nanos", "nanosecond", "nanoseconds", "us", "micro", "micros", "microsecond",
		"microseconds", "ms", "milli", "millis", "millisecond", "milliseconds", "s", "sec", "secs",
		"second", "seconds", "m", "min", "mins", "minute", "minutes", "h", "hour", "hours", "d", "day",
		"days", NULL};
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	while (*p == ' ')
		p++;
	if (!*p)
		return true;
	for (const char *const *u = units; *u; u++)
		if (strcmp(p, *u) == 0)
			return true;
	return false;
}

static bool is_prometheus_duration(const char *s)
{
	/* Prometheus' duration: number-unit pairs in order from years to milliseconds ("1m30s"). */
	static const char *const units[] = {"y", "w", "d", "h", "m", "s", "ms"};
	size_t next = 0;
	const char *p = s;

	if (!*p)
		return false;
	while (*p) {
		size_t unit;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
		for (unit = next; unit < 7; unit++) {
			size_t len = strlen(units[unit]);
			if (strncmp(p, units[unit], len) == 0 && !(unit == 4 && p[1] == 's'))
				break;
		}
		if (unit == 7)
			return false;
		p += strlen(units[unit]);
		next = unit + 1;
	}
	return true;
}

static bool is_absolute_clean_path(const char *s)
{
	if (*s != '/' || strstr(s, "//") || strstr(s, "/./") || strstr(s, "/../"))
		return false;
	size_t len = strlen(s);
	if (len >= 2 && strcmp(s + len - 2, "/.") == 0)
		return false;
	if (len >= 3 && strcmp(s + len - 3, "/..") == 0)
		return false;
	return true;
}

/* Mounting over these would hide what the image ships. */
static bool mount_hides_flink(const char *path)
{
	static const char *const protected_dirs[] = {
		FLINK_HOME, FLINK_HOME "/conf", FLINK_HOME "/lib", FLINK_HOME "/usrlib",
		FLINK_HOME "/plugins", FLINK_HOME "/opt", FLINK_HOME "/bin", "/", NULL};
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	for (const char *const *d = protected_dirs; *d; d++)
		if (strlen(*d) == len && strncmp(*d, path, len) == 0)
			return true;
	/* Anything inside conf/ is replaced by the operator's generated configuration. */
	return strncmp(path, FLINK_HOME "/conf/", sizeof(FLINK_HOME "/conf/") - 1) == 0;
}

static bool has_scheme(const char *uri)
{
	const char *p = uri;

	if (!isalpha((unsigned char)*p))
		return false;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

static bool is_image_reference(const char *s)
{
	if (!*s || strlen(s) > 512)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-/:@", *p))
			return false;
	return !isupper((unsigned char)s[0]);
}

static bool is_tag(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
			return false;
	return true;
}

static bool is_repository_path(const char *s)
{
	/* OCI distribution: path components of lowercase alphanumerics separated by . _ __ - or /. */
	if (!*s || strlen(s) > 255 || *s == '/' || s[strlen(s) - 1] == '/')
		return false;
	for (const char *p = s; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("._-/", *p)))
			return false;
	return strstr(s, "//") == NULL;
}

/* ConfigMap data must be UTF-8 text (anything else would need binaryData). */
static bool is_utf8(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;

	while (p < end) {
		size_t extra = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : 9;
		if (extra == 9 || (size_t)(end - p) <= extra)
			return extra == 0;
		for (size_t i = 1; i <= extra; i++)
			if ((p[i] & 0xc0) != 0x80)
				return false;
		p += extra + 1;
	}
	return true;
}

static bool is_configmap_key(const char *s)
{
	if (!*s || strlen(s) > 253 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-._", *p))
			return false;
	return true;
}

/* Applies `valid` to each scalar item of the list at `path`, reporting at the item itself
 * with its index in the YAML list (non-scalar items were reported by the schema). */
static void check_list_items(struct loader *ld, const struct ynode *root, const char *path,
			     bool (*valid)(const char *), const char *what)
{
	const struct ynode *list = ynode_at_path(root, path);

	if (!list || list->kind != YNODE_SEQUENCE)
		return;
	for (size_t i = 0; i < list->count; i++) {
		const struct ynode *item = list->values[i];
		if (item->kind != YNODE_SCALAR || yscalar_is_null(item))
			continue;
		if (!valid(item->value))
			fail(ld, item, "%s[%zu]: '%s' is not %s", path, i, item->value, what);
	}
}

static bool is_namespace(const char *s)
{
	return k8s_dns_label(s, 63);
}

static void check_labels(struct loader *ld, const struct ynode *root, const char *path)
{
	const struct ynode *map = ynode_at_path(root, path);

	if (!map || map->kind != YNODE_MAPPING)
		return;
	for (size_t i = 0; i < map->count; i++) {
		const char *key = map->keys[i]->value;
		const struct ynode *value = map->values[i];
		if (!k8s_label_key(key))
			fail(ld, map->keys[i], "%s.%s: not a valid Kubernetes label key", path, key);
		if (value->kind == YNODE_SCALAR && !k8s_label_value(value->value))
			fail(ld, value, "%s.%s: '%s' is not a valid label value (63 characters of [A-Za-z0-9._-], "
				       "starting and ending alphanumeric)", path, key, value->value);
	}
}

static void load_metadata(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;

	r->name = str_at(root, "metadata.name", "");
	r->namespace = str_at(root, "metadata.namespace", "default");
	r->labels = map_at(root, "metadata.labels");
	if (!k8s_dns_label(r->namespace, 63))
		fail(ld, ynode_where(root, "metadata.namespace"),
		     "metadata.namespace: '%s' is not a valid namespace (DNS-1123 label)", r->namespace);
	check_labels(ld, root, "metadata.labels");
}

static bool base_is_local(const char *reference)
{
	return strncmp(reference, "oci:", 4) == 0 || strncmp(reference, "docker-archive:", 15) == 0;
}

static void load_flink(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *version = ynode_at_path(root, "flink.version");

	r->flink_version = str_at(root, "flink.version", NULL);
	r->platform = str_at(root, "flink.platform", "linux/amd64");
	if (r->flink_version) {
		if (!flink_version_parse(r->flink_version, &r->flink_major, &r->flink_minor, &r->flink_patch))
			fail(ld, version, "flink.version: '%s' is not a Flink version like 1.19 or 1.19.2",
			     r->flink_version);
		else if (!flink_version_supported(r->flink_major, r->flink_minor))
			fail(ld, version, "flink.version: Flink %d.%d is not supported (supported: %s)",
			     r->flink_major, r->flink_minor, flink_supported_versions());
	}
	r->base_image = str_at(root, "flink.image", NULL);
	if (!r->base_image && r->flink_version)
		r->base_image = pool_printf(r, "flink:%s", r->flink_version);
	if (r->base_image && !base_is_local(r->base_image) && !is_image_reference(r->base_image))
		fail(ld, ynode_where(root, "flink.image"), "flink.image: '%s' is not an image reference", r->base_image);
	if (strcmp(r->platform, "linux/amd64") != 0 && strcmp(r->platform, "linux/arm64") != 0 &&
	    strncmp(r->platform, "linux/", 6) != 0)
		fail(ld, ynode_where(root, "flink.platform"), "flink.platform: '%s' is not an os/arch platform such as linux/amd64",
		     r->platform);
}

/* A file the recipe names is read only where its path really leads inside the recipe's
 * directory (a symbolic link to /etc/shadow is refused), and only if it is a regular file (a
 * FIFO or /dev/zero would hang the build). */
static bool beneath(struct loader *ld, const struct ynode *node, const char *key, const char *path)
{
	struct error why = {0};

	if (fs_check_beneath(ld->recipe->dir, path, false, &why) == 0)
		return true;
	fail(ld, node, "%s: %s", key, why.message);
	return false;
}

static void load_files(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *list = ynode_at_path(root, "image.files");

	if (!list || list->kind != YNODE_SEQUENCE)
		return;
	r->files = calloc(list->count + 1, sizeof(*r->files));
	if (!r->files)
		abort();
	for (size_t i = 0; i < list->count; i++) {
		const struct ynode *item = list->values[i];
		struct recipe_file *f = &r->files[r->file_count];
		const char *mode = str_at(item, "mode", "0644");
		char *end;
		long m = strtol(mode, &end, 8);

		f->source = str_at(item, "source", NULL);
		f->destination = str_at(item, "destination", NULL);
		if (!f->source || !f->destination)
			continue;
		if (f->source[0] == '/' || strstr(f->source, "..")) {
			fail(ld, ynode_get(item, "source"), "image.files[%zu].source: '%s' must be a path inside the recipe's "
							    "directory", i, f->source);
		} else if (ld->read_scripts) {
			char key[48];
			snprintf(key, sizeof(key), "image.files[%zu].source", i);
			beneath(ld, ynode_get(item, "source"), key, f->source);
		}
		if (!is_absolute_clean_path(f->destination) || strcmp(f->destination, "/") == 0 ||
		    f->destination[strlen(f->destination) - 1] == '/')
			fail(ld, ynode_get(item, "destination"),
			     "image.files[%zu].destination: '%s' must be an absolute file path", i, f->destination);
		if (*end || end == mode || m < 0 || m > 07777)
			fail(ld, ynode_get(item, "mode"), "image.files[%zu].mode: '%s' is not an octal mode like 0644", i,
			     mode);
		f->mode = (unsigned)m;
		r->file_count++;
	}
}

/* Flux's setter marker names its ImagePolicy as <namespace>:<name>. */
static bool is_flux_policy(const char *s)
{
	const char *colon = strchr(s, ':');
	char ns[64];
	size_t len;

	if (!colon || (len = (size_t)(colon - s)) >= sizeof(ns))
		return false;
	memcpy(ns, s, len);
	ns[len] = '\0';
	return k8s_dns_label(ns, 63) && k8s_dns_subdomain(colon + 1);
}

static void load_image(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;

	r->image_registry = str_at(root, "image.registry", NULL);
	r->image_repository = str_at(root, "image.repository", NULL);
	r->image_tags = list_at(root, "image.tags");
	r->image_pull_policy = str_at(root, "image.pullPolicy", NULL);
	r->image_pull_secrets = list_at(root, "image.pullSecrets");
	if (r->image_registry && (!*r->image_registry || strchr(r->image_registry, '/') ||
				  !is_image_reference(r->image_registry)))
		fail(ld, ynode_where(root, "image.registry"), "image.registry: '%s' is not a registry host[:port]",
		     r->image_registry);
	if (r->image_repository && !is_repository_path(r->image_repository))
		fail(ld, ynode_where(root, "image.repository"),
		     "image.repository: '%s' is not a repository path (lowercase letters, digits, '.', '_', '-', '/')",
		     r->image_repository);
	if (ynode_at_path(root, "image") && !r->image_repository)
		fail(ld, ynode_where(root, "image"), "image.repository: missing required key when image is given");
	r->image_env = map_at(root, "image.env");
	r->image_labels = map_at(root, "image.labels");
	r->image_zstd = strcmp(str_at(root, "image.compression", "gzip"), "zstd") == 0;
	r->image_uid = int_at(root, "image.owner.uid", 9999);
	r->image_gid = int_at(root, "image.owner.gid", 9999);
	r->image_source = str_at(root, "image.source", NULL);
	r->image_revision = str_at(root, "image.revision", NULL);
	load_files(ld, root);
	if (r->base_image && base_is_local(r->base_image) && !r->image_repository)
		fail(ld, ynode_where(root, "flink.image"),
		     "flink.image: a base read from disk (%s) cannot be deployed as is: set image.repository "
		     "for the image factory builds", r->base_image);
	check_list_items(ld, root, "image.tags", is_tag, "a valid image tag");
	check_list_items(ld, root, "image.pullSecrets", k8s_dns_subdomain, "a valid Secret name");
	r->image_flux_policy = str_at(root, "image.fluxPolicy", NULL);
	if (r->image_flux_policy && !is_flux_policy(r->image_flux_policy))
		fail(ld, ynode_where(root, "image.fluxPolicy"),
		     "image.fluxPolicy: '%s' is not <namespace>:<name> of a Flux ImagePolicy (a DNS-1123 label, "
		     "':', a DNS-1123 subdomain)", r->image_flux_policy);
}

static void load_connectors(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *list = ynode_at_path(root, "connectors");
	char minor[16];

	if (!list || list->kind != YNODE_SEQUENCE)
		return;
	snprintf(minor, sizeof(minor), "%d.%d", r->flink_major, r->flink_minor);
	r->artifacts = calloc(list->count + 1, sizeof(*r->artifacts));
	if (!r->artifacts)
		abort();
	for (size_t i = 0; i < list->count; i++) {
		const struct ynode *item = list->values[i];
		const char *name = str_at(item, "name", NULL), *coord = str_at(item, "maven", NULL);
		const char *dest = str_at(item, "destination", NULL), *sha = str_at(item, "sha256", NULL);

		if (item->kind != YNODE_MAPPING)
			continue;
		if (!!name == !!coord) {
			fail(ld, item, "connectors[%zu]: give exactly one of 'name' (a catalog connector) or "
				       "'maven' (groupId:artifactId:version)", i);
			continue;
		}
		if (sha && !is_hex64(sha))
			fail(ld, ynode_get(item, "sha256"),
			     "connectors[%zu].sha256: expected 64 lowercase hex digits", i);
		if (dest && !flink_destination_valid(dest))
			fail(ld, ynode_get(item, "destination"),
			     "connectors[%zu].destination: '%s' is not lib, usrlib or plugins/<name>", i, dest);
		if (name) {
			const struct catalog_entry *entry = catalog_find(ld->catalog, name);
			const struct catalog_release *rel;
			if (!entry) {
				const char **names = catalog_names(ld->catalog);
				const char *hint = schema_suggest(name, names);
				fail(ld, ynode_get(item, "name"), "connectors[%zu].name: no connector '%s' in the catalog%s%s%s",
				     i, name, hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
				free(names);
				continue;
			}
			if (!r->flink_version)
				continue;
			rel = catalog_release_for(entry, minor);
			if (!rel) {
				char have[256] = "";
				size_t used = 0;
				for (size_t k = 0; k < entry->release_count && used < sizeof(have); k++)
					used += (size_t)snprintf(have + used, sizeof(have) - used, "%s%s", k ? ", " : "",
								 entry->releases[k].flink);
				fail(ld, ynode_get(item, "name"),
				     "connectors[%zu].name: connector '%s' has no release for Flink %s (it has: %s)", i,
				     name, minor, have);
				continue;
			}
			if (sha && rel->count != 1)
				fail(ld, ynode_get(item, "sha256"),
				     "connectors[%zu].sha256: connector '%s' has %zu artifacts; pin them with 'maven' entries",
				     i, name, rel->count);
			for (size_t k = 0; k < rel->count; k++) {
				struct recipe_artifact *a = &r->artifacts[r->artifact_count];
				r->artifacts = realloc(r->artifacts, (r->artifact_count + 2) * sizeof(*r->artifacts));
				if (!r->artifacts)
					abort();
				a = &r->artifacts[r->artifact_count++];
				a->catalog_name = entry->name;
				a->coordinate = rel->coordinates[k];
				a->destination = dest ? dest : entry->destination;
				a->sha256 = sha;
			}
			continue;
		}
		struct maven_coord parsed;
		struct error err = {0};
		int fmaj, fmin;
		if (maven_coord_parse(coord, &parsed, &err) < 0) {
			fail(ld, ynode_get(item, "maven"), "connectors[%zu].maven: %s", i, err.message);
			continue;
		}
		if (strstr(parsed.version, "SNAPSHOT"))
			fail(ld, ynode_get(item, "maven"),
			     "connectors[%zu].maven: '%s' is a -SNAPSHOT version; pin a release so builds are reproducible",
			     i, coord);
		if (r->flink_version && maven_flink_suffix(parsed.version, &fmaj, &fmin) &&
		    (fmaj != r->flink_major || fmin != r->flink_minor) && strstr(parsed.artifact, "flink"))
			fail(ld, ynode_get(item, "maven"),
			     "connectors[%zu].maven: %s is built for Flink %d.%d but the recipe uses Flink %d.%d", i,
			     coord, fmaj, fmin, r->flink_major, r->flink_minor);
		maven_coord_free(&parsed);
		r->artifacts = realloc(r->artifacts, (r->artifact_count + 2) * sizeof(*r->artifacts));
		if (!r->artifacts)
			abort();
		r->artifacts[r->artifact_count++] = (struct recipe_artifact){
			.coordinate = coord, .destination = dest ? dest : "usrlib", .sha256 = sha};
	}
}

static void load_scripts(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *list = ynode_at_path(root, "python.scripts");
	size_t total = 0;

	if (!list || list->kind != YNODE_SEQUENCE)
		return;
	if (list->count == 0)
		fail(ld, list, "python.scripts: list at least one script");
	r->scripts = calloc(list->count + 1, sizeof(*r->scripts));
	if (!r->scripts)
		abort();
	for (size_t i = 0; i < list->count; i++) {
		const struct ynode *item = list->values[i];
		struct recipe_script *s;
		struct error err = {0};
		char *full;

		if (item->kind != YNODE_SCALAR || yscalar_is_null(item))
			continue;
		if (item->value[0] == '/' || strstr(item->value, "..")) {
			fail(ld, item, "python.scripts[%zu]: '%s' must be a path inside the recipe's directory", i,
			     item->value);
			continue;
		}
		s = &r->scripts[r->script_count];
		s->path = item->value;
		s->key = fs_basename(item->value);
		if (!is_configmap_key(s->key)) {
			fail(ld, item, "python.scripts[%zu]: file name '%s' cannot be a ConfigMap key "
				       "(letters, digits, '-', '_', '.')", i, s->key);
			continue;
		}
		for (size_t k = 0; k < r->script_count; k++)
			if (strcmp(r->scripts[k].key, s->key) == 0) {
				fail(ld, item, "python.scripts[%zu]: another script is also named '%s'; file names must "
					       "be unique because they become ConfigMap keys", i, s->key);
				s = NULL;
				break;
			}
		if (!s)
			continue;
		if (ld->read_scripts) {
			char key[48];
			snprintf(key, sizeof(key), "python.scripts[%zu]", i);
			full = fs_path_join(r->dir, item->value);
			if (access(full, F_OK) == 0 && !beneath(ld, item, key, item->value)) {
				free(full);
				continue;
			}
			if (fs_read_file(full, RECIPE_MAX_SCRIPTS_SIZE, &s->content, &s->size, &err) < 0) {
				if (err.code == ERROR_LIMIT)
					fail(ld, item, "python.scripts[%zu]: '%s' is larger than a ConfigMap can hold "
						       "(1 MiB with its metadata): ship large code in the image instead", i,
					     item->value);
				else
					fail(ld, item, "python.scripts[%zu]: %s", i, err.message);
				free(full);
				continue;
			}
			free(full);
			if (memchr(s->content, '\0', s->size))
				fail(ld, item, "python.scripts[%zu]: '%s' is not a text file (it contains NUL bytes)", i,
				     item->value);
			else if (!is_utf8(s->content, s->size))
				fail(ld, item, "python.scripts[%zu]: '%s' is not UTF-8 text; save it as UTF-8", i, item->value);
			total += s->size;
		} else {
			s->content = strdup("");
			if (!s->content)
				abort();
		}
		r->script_count++;
	}
	if (total > RECIPE_MAX_SCRIPTS_SIZE)
		fail(ld, list, "python.scripts: the scripts add up to %zu bytes; a ConfigMap holds at most %d bytes "
			       "(1 MiB with its metadata): ship large code in the image instead", total,
		     RECIPE_MAX_SCRIPTS_SIZE);
}

/* A path the recipe names: relative, inside the recipe's directory, and (when files are
 * read) an existing regular file. */
static bool check_recipe_file(struct loader *ld, const struct ynode *node, const char *key, const char *path)
{
	char *full;
	struct stat st;
	bool ok = true;

	if (path[0] == '/' || strstr(path, "..")) {
		fail(ld, node, "%s: '%s' must be a path inside the recipe's directory", key, path);
		return false;
	}
	if (!ld->read_scripts)
		return true;
	full = fs_path_join(ld->recipe->dir, path);
	if (stat(full, &st) != 0) {
		fail(ld, node, "%s: cannot read '%s': %s", key, path, strerror(errno));
		ok = false;
	} else if (!beneath(ld, node, key, path)) {
		ok = false;
	}
	free(full);
	return ok;
}

static void load_requirements_file(struct loader *ld, const struct ynode *node)
{
	struct recipe *r = ld->recipe;

	r->requirements_file = node->value;
	check_recipe_file(ld, node, "python.requirements", r->requirements_file);
}

static void load_python_runtime(struct loader *ld, const struct ynode *root)
{
	struct recipe_python_runtime *rt = &ld->recipe->python_runtime;
	const struct ynode *node = ynode_at_path(root, "python.runtime");

	if (!node || node->kind != YNODE_MAPPING)
		return;
	rt->url = str_at(node, "url", NULL);
	rt->file = str_at(node, "file", NULL);
	rt->sha256 = str_at(node, "sha256", NULL);
	rt->path = str_at(node, "path", "/opt/python");
	if (!rt->url == !rt->file)
		fail(ld, node, "python.runtime: give either url or file (a CPython \"install_only\" tarball)");
	if (rt->url && strncmp(rt->url, "https://", 8) != 0 && strncmp(rt->url, "http://", 7) != 0)
		fail(ld, ynode_get(node, "url"), "python.runtime.url: not an http(s) URL");
	else if (rt->url && http_url_has_userinfo(rt->url))
		fail(ld, ynode_get(node, "url"), "python.runtime.url: credentials in the URL would end up in messages and "
						 "lock files");
	if (rt->file)
		check_recipe_file(ld, ynode_get(node, "file"), "python.runtime.file", rt->file);
	if (rt->sha256 && !is_hex64(rt->sha256))
		fail(ld, ynode_get(node, "sha256"), "python.runtime.sha256: expected 64 lowercase hex digits");
	if (!is_absolute_clean_path(rt->path) || strcmp(rt->path, "/") == 0 || strlen(rt->path) > RECIPE_RUNTIME_PATH_MAX ||
	    mount_hides_flink(rt->path) ||
	    strncmp(rt->path, FLINK_HOME, strlen(FLINK_HOME)) == 0)
		fail(ld, ynode_where(node, "path"), "python.runtime.path: '%s' must be an absolute directory outside %s, "
		     "at most %d characters", rt->path, FLINK_HOME, RECIPE_RUNTIME_PATH_MAX);
	if (!rt->sha256)
		rt->url = rt->file = NULL; /* reported as missing by the schema */
}

static void load_python(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *reqs;

	r->has_python = ynode_at_path(root, "python") != NULL;
	if (!r->has_python)
		return;
	load_scripts(ld, root);
	load_python_runtime(ld, root);
	r->python_args = list_at(root, "python.args");
	/* With factory's own runtime, name it: the TaskManagers must not find another Python. */
	if (r->python_runtime.sha256) {
		r->python_runtime_executable = xasprintf("%s/bin/python3", r->python_runtime.path);
		r->python_executable = str_at(root, "python.executable", r->python_runtime_executable);
	} else {
		r->python_executable = str_at(root, "python.executable", "python3");
	}
	r->python_mount_path = str_at(root, "python.mountPath", FLINK_HOME "/pyflink");
	r->python_entry = str_at(root, "python.entry", r->script_count ? r->scripts[0].key : NULL);
	if (ynode_at_path(root, "python.entry") && r->script_count) {
		bool found = false;
		for (size_t i = 0; i < r->script_count; i++)
			found |= strcmp(r->scripts[i].key, r->python_entry) == 0;
		if (!found)
			fail(ld, ynode_at_path(root, "python.entry"),
			     "python.entry: '%s' is not the file name of one of python.scripts", r->python_entry);
	}
	if (!is_absolute_clean_path(r->python_mount_path) || mount_hides_flink(r->python_mount_path))
		fail(ld, ynode_where(root, "python.mountPath"),
		     "python.mountPath: '%s' must be an absolute path that hides nothing of the image "
		     "(not /opt/flink, its conf, lib, usrlib, plugins, opt or bin)", r->python_mount_path);
	if (r->flink_version && r->flink_patch < 0)
		fail(ld, ynode_at_path(root, "flink.version"),
		     "flink.version: a PyFlink job needs the full release (e.g. %d.%d.0): the flink-python jar "
		     "in the image is named after it", r->flink_major, r->flink_minor);

	reqs = ynode_at_path(root, "python.requirements");
	if (reqs && reqs->kind == YNODE_SCALAR && !yscalar_is_null(reqs))
		load_requirements_file(ld, reqs);
	if (!reqs || reqs->kind != YNODE_SEQUENCE)
		return;
	r->requirements = calloc(reqs->count + 1, sizeof(*r->requirements));
	if (!r->requirements)
		abort();
	for (size_t i = 0; i < reqs->count; i++) {
		struct recipe_requirement *req = &r->requirements[r->requirement_count];
		const struct ynode *hashes = ynode_get(reqs->values[i], "sha256");

		req->name = str_at(reqs->values[i], "name", NULL);
		req->version = str_at(reqs->values[i], "version", NULL);
		req->sha256 = list_at(reqs->values[i], "sha256");
		req->file = str_at(reqs->values[i], "file", NULL);
		req->url = str_at(reqs->values[i], "url", NULL);
		if (!req->name || !req->version) { /* reported by the schema; this slot is reused */
			free(req->sha256.items);
			memset(req, 0, sizeof(*req));
			continue;
		}
		if (req->file && req->url)
			fail(ld, ynode_get(reqs->values[i], "url"),
			     "python.requirements[%zu]: give either file or url, not both", i);
		if (req->file && (req->file[0] == '/' || strstr(req->file, "..")))
			fail(ld, ynode_get(reqs->values[i], "file"),
			     "python.requirements[%zu].file: '%s' must be a path inside the recipe's directory", i, req->file);
		if (req->url && strncmp(req->url, "https://", 8) != 0 && strncmp(req->url, "http://", 7) != 0)
			fail(ld, ynode_get(reqs->values[i], "url"), "python.requirements[%zu].url: not an http(s) URL", i);
		else if (req->url && http_url_has_userinfo(req->url))
			fail(ld, ynode_get(reqs->values[i], "url"), "python.requirements[%zu].url: credentials in the URL "
								     "would end up in messages and lock files", i);
		if (hashes && hashes->kind == YNODE_SEQUENCE && hashes->count == 0)
			fail(ld, hashes, "python.requirements[%zu].sha256: pin at least one wheel hash", i);
		for (size_t k = 0; k < req->sha256.count; k++)
			if (!is_hex64(req->sha256.items[k]))
				fail(ld, hashes->values[k], "python.requirements[%zu].sha256[%zu]: expected 64 lowercase hex digits",
				     i, k);
		if (strpbrk(req->version, "<>=!~* ,"))
			fail(ld, ynode_get(reqs->values[i], "version"),
			     "python.requirements[%zu].version: '%s' is a range; pin one exact version", i, req->version);
		if (strcmp(req->name, "apache-flink") == 0 && r->flink_version && r->flink_patch >= 0) {
			char want[32];
			snprintf(want, sizeof(want), "%d.%d.%d", r->flink_major, r->flink_minor, r->flink_patch);
			if (strcmp(req->version, want) != 0)
				fail(ld, ynode_get(reqs->values[i], "version"),
				     "python.requirements[%zu].version: apache-flink %s does not match Flink %s", i,
				     req->version, want);
		}
		r->requirement_count++;
	}
}

static void load_job_spec(struct loader *ld, const struct ynode *node, struct recipe_job_spec *job)
{
	(void)ld;
	job->parallelism = int_at(node, "parallelism", 0);
	job->upgrade_mode = str_at(node, "upgradeMode", "stateless");
	job->state = str_at(node, "state", "running");
	job->allow_non_restored_state =
		bool_at(node, "allowNonRestoredState", false, &job->allow_non_restored_state_set);
	job->initial_savepoint_path = str_at(node, "initialSavepointPath", NULL);
}

static void load_jobs(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct ynode *sessions = ynode_at_path(root, "sessionJobs");

	r->mode = strcmp(str_at(root, "mode", "application"), "session") == 0 ? RECIPE_SESSION
									       : RECIPE_APPLICATION;
	r->has_java = ynode_at_path(root, "java") != NULL;
	load_job_spec(ld, ynode_at_path(root, "job"), &r->job);
	r->job.jar_uri = str_at(root, "java.jarURI", NULL);
	r->job.entry_class = str_at(root, "java.entryClass", NULL);
	r->job.args = list_at(root, "java.args");
	r->savepoint_interval = str_at(root, "job.savepoint.interval", NULL);
	r->savepoint_history = int_at(root, "job.savepoint.historyMaxCount", 0);
	if (r->savepoint_interval && !is_duration(r->savepoint_interval))
		fail(ld, ynode_at_path(root, "job.savepoint.interval"),
		     "job.savepoint.interval: '%s' is not a duration like 30min or 6h", r->savepoint_interval);

	if (r->mode == RECIPE_APPLICATION) {
		if (r->has_python && r->has_java)
			fail(ld, ynode_where(root, "java"), "java: an application runs one job: give either python or java");
		else if (!r->has_python && !r->has_java)
			fail(ld, root, "recipe: an application needs a job: add a 'python' or a 'java' section");
		if (sessions)
			fail(ld, sessions, "sessionJobs: only a session cluster (mode: session) runs session jobs");
		if (r->job.jar_uri && !has_scheme(r->job.jar_uri))
			fail(ld, ynode_at_path(root, "java.jarURI"),
			     "java.jarURI: '%s' needs a scheme, e.g. local:///opt/flink/usrlib/app.jar", r->job.jar_uri);
	} else {
		if (r->has_python)
			fail(ld, ynode_where(root, "python"), "python: PyFlink scripts run in application mode; a session "
							"cluster takes jobs as jarURI in sessionJobs");
		if (r->has_java)
			fail(ld, ynode_where(root, "java"), "java: a session cluster takes its jobs in sessionJobs");
		if (ynode_at_path(root, "job"))
			fail(ld, ynode_where(root, "job"), "job: a session cluster has no job of its own; configure sessionJobs");
	}

	if (!sessions || sessions->kind != YNODE_SEQUENCE)
		return;
	r->session_jobs = calloc(sessions->count + 1, sizeof(*r->session_jobs));
	if (!r->session_jobs)
		abort();
	for (size_t i = 0; i < sessions->count; i++) {
		const struct ynode *item = sessions->values[i];
		struct recipe_session_job *sj = &r->session_jobs[r->session_job_count];

		sj->name = str_at(item, "name", NULL);
		sj->node = item;
		sj->index = i;
		load_job_spec(ld, item, &sj->job);
		sj->job.jar_uri = str_at(item, "jarURI", NULL);
		sj->job.entry_class = str_at(item, "entryClass", NULL);
		sj->job.args = list_at(item, "args");
		if (!sj->name || !sj->job.jar_uri)
			continue;
		if (!k8s_dns_subdomain(sj->name))
			fail(ld, ynode_get(item, "name"), "sessionJobs[%zu].name: '%s' is not a valid Kubernetes name",
			     i, sj->name);
		for (size_t k = 0; k < r->session_job_count; k++)
			if (strcmp(r->session_jobs[k].name, sj->name) == 0)
				fail(ld, ynode_get(item, "name"), "sessionJobs[%zu].name: '%s' is used twice", i, sj->name);
		r->session_job_count++;
	}
}

static void load_resources(struct loader *ld, const struct ynode *root, const char *section,
			   struct recipe_resources *res)
{
	char path[64];
	double cpu;

	snprintf(path, sizeof(path), "%s.memory", section);
	res->memory = str_at(root, path, NULL);
	if (res->memory) {
		long long bytes = 0;
		if (!parse_memory_size(res->memory, &bytes))
			fail(ld, ynode_at_path(root, path), "%s: '%s' is not a memory size like 2048m or 2g", path,
			     res->memory);
		else if (bytes < RECIPE_MEMORY_MIN || bytes > RECIPE_MEMORY_MAX)
			/* Flink cannot start a process below its fixed overheads; no pod gets a petabyte. */
			fail(ld, ynode_at_path(root, path), "%s: '%s' is out of range: give between 128m and 1t", path,
			     res->memory);
	}
	snprintf(path, sizeof(path), "%s.cpu", section);
	if (yscalar_number(ynode_at_path(root, path), &cpu)) {
		res->cpu = cpu;
		res->cpu_set = true;
		if (cpu <= 0)
			fail(ld, ynode_at_path(root, path), "%s: must be greater than 0", path);
	}
	snprintf(path, sizeof(path), "%s.replicas", section);
	res->replicas = int_at(root, path, 0);
	snprintf(path, sizeof(path), "%s.ephemeralStorage", section);
	res->ephemeral_storage = str_at(root, path, NULL);
	if (res->ephemeral_storage && !is_quantity(res->ephemeral_storage))
		fail(ld, ynode_at_path(root, path), "%s: '%s' is not a quantity like 10Gi", path, res->ephemeral_storage);
}

static void load_cluster(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;

	load_resources(ld, root, "jobManager", &r->job_manager);
	load_resources(ld, root, "taskManager", &r->task_manager);
	r->task_slots = int_at(root, "taskManager.slots", 0);
	r->service_account = str_at(root, "serviceAccount", "flink");
	r->create_rbac = bool_at(root, "rbac.create", false, NULL);
	r->flink_configuration = map_at(root, "flinkConfiguration");
	r->env = map_at(root, "env");
	const struct ynode *env = ynode_at_path(root, "env");
	for (size_t i = 0; env && env->kind == YNODE_MAPPING && i < env->count; i++) {
		const char *k = env->keys[i]->value;
		bool ok = *k && !isdigit((unsigned char)*k);
		for (const char *p = k; *p; p++)
			ok &= isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.';
		if (!ok)
			fail(ld, env->keys[i], "env.%s: not a valid environment variable name", k);
	}
}

static void load_state(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;
	const struct kv_list *conf = &r->flink_configuration;

	r->state_backend = str_at(root, "state.backend", NULL);
	r->incremental_checkpoints = bool_at(root, "state.incremental", false, &r->incremental_set);
	r->checkpoints_dir = str_at(root, "state.checkpoints", NULL);
	r->savepoints_dir = str_at(root, "state.savepoints", NULL);
	r->checkpoint_interval = str_at(root, "state.checkpointInterval", NULL);
	r->ha = str_at(root, "state.ha", NULL);
	if (r->ha && strcmp(r->ha, "none") == 0)
		r->ha = NULL;
	r->ha_dir = str_at(root, "state.haStorageDir", NULL);

	/* Directories may also come straight from flinkConfiguration; remember where each came from
	 * so a message points at the line that set it. */
	struct dir_source {
		const char **value;
		const char *state_key;
		const char *conf_keys[2];
	} sources[] = {
		{&r->checkpoints_dir, "checkpoints", {"state.checkpoints.dir", "execution.checkpointing.dir"}},
		{&r->savepoints_dir, "savepoints", {"state.savepoints.dir", "execution.checkpointing.savepoint-dir"}},
		{&r->ha_dir, "haStorageDir", {"high-availability.storageDir", NULL}},
	};
	const struct ynode *conf_node = ynode_at_path(root, "flinkConfiguration");
	for (size_t i = 0; i < sizeof(sources) / sizeof(*sources); i++) {
		struct dir_source *src = &sources[i];
		char path[64];
		const struct ynode *node;
		const char *label = path;

		snprintf(path, sizeof(path), "state.%s", src->state_key);
		node = ynode_at_path(root, path);
		for (size_t k = 0; k < 2 && !*src->value && src->conf_keys[k]; k++) {
			*src->value = kv_get(conf, src->conf_keys[k]);
			node = ynode_get(conf_node, src->conf_keys[k]);
			label = src->conf_keys[k];
		}
		if (*src->value && !has_scheme(*src->value))
			fail(ld, node, "%s%s: '%s' needs a scheme such as s3://, file:// or hdfs://",
			     label == path ? "" : "flinkConfiguration.", label, *src->value);
	}
	if (r->ha && !r->ha_dir && r->checkpoints_dir)
		r->ha_dir = pool_printf(r, "%s/ha", r->checkpoints_dir);
	if (r->ha && !r->ha_dir)
		fail(ld, ynode_where(root, "state.ha"), "state.ha: Kubernetes HA needs a storage directory: set "
						  "state.haStorageDir or state.checkpoints");
	if (r->checkpoint_interval && !is_duration(r->checkpoint_interval))
		fail(ld, ynode_at_path(root, "state.checkpointInterval"),
		     "state.checkpointInterval: '%s' is not a duration like 60s or 5min", r->checkpoint_interval);

	r->has_volume = ynode_at_path(root, "state.volume") != NULL;
	if (r->has_volume) {
		struct recipe_volume *v = &r->volume;
		v->claim_name = str_at(root, "state.volume.claimName", "");
		v->create = bool_at(root, "state.volume.create", false, NULL);
		v->size = str_at(root, "state.volume.size", NULL);
		v->storage_class = str_at(root, "state.volume.storageClass", NULL);
		v->access_modes = list_at(root, "state.volume.accessModes");
		v->mount_path = str_at(root, "state.volume.mountPath", "");
		if (ynode_at_path(root, "state.volume.claimName") && !k8s_dns_subdomain(v->claim_name))
			fail(ld, ynode_where(root, "state.volume.claimName"), "state.volume.claimName: '%s' is not a valid name",
			     v->claim_name);
		if (ynode_at_path(root, "state.volume.mountPath") &&
		    (!is_absolute_clean_path(v->mount_path) || mount_hides_flink(v->mount_path)))
			fail(ld, ynode_where(root, "state.volume.mountPath"),
			     "state.volume.mountPath: '%s' must be an absolute path that hides nothing of the image",
			     v->mount_path);
		if (v->create && !v->size)
			fail(ld, ynode_where(root, "state.volume"), "state.volume.size: required when create is true");
		if (v->size && !is_quantity(v->size))
			fail(ld, ynode_where(root, "state.volume.size"), "state.volume.size: '%s' is not a quantity like 50Gi",
			     v->size);
		for (size_t i = 0; i < v->access_modes.count; i++) {
			const char *m = v->access_modes.items[i];
			if (strcmp(m, "ReadWriteOnce") && strcmp(m, "ReadOnlyMany") && strcmp(m, "ReadWriteMany") &&
			    strcmp(m, "ReadWriteOncePod"))
				fail(ld, ynode_at_path(root, "state.volume.accessModes")->values[i],
				     "state.volume.accessModes[%zu]: '%s' is not ReadWriteOnce, ReadOnlyMany, "
				     "ReadWriteMany or ReadWriteOncePod", i, m);
		}
	}
	r->has_s3 = ynode_at_path(root, "state.s3") != NULL;
	if (r->has_s3) {
		r->s3.endpoint = str_at(root, "state.s3.endpoint", NULL);
		r->s3.path_style_access = bool_at(root, "state.s3.pathStyleAccess", false, NULL);
		r->s3.credentials_secret = str_at(root, "state.s3.credentialsSecret", "");
		r->s3.access_key_field = str_at(root, "state.s3.accessKeyField", "access-key");
		r->s3.secret_key_field = str_at(root, "state.s3.secretKeyField", "secret-key");
		if (ynode_at_path(root, "state.s3.credentialsSecret") && !k8s_dns_subdomain(r->s3.credentials_secret))
			fail(ld, ynode_where(root, "state.s3.credentialsSecret"),
			     "state.s3.credentialsSecret: '%s' is not a valid Secret name", r->s3.credentials_secret);
	}

	bool uses_s3 = false;
	for (size_t i = 0; i < sizeof(sources) / sizeof(*sources); i++) {
		const char *dir = *sources[i].value;
		uses_s3 |= dir && (strncmp(dir, "s3://", 5) == 0 || strncmp(dir, "s3a://", 6) == 0 ||
				   strncmp(dir, "s3p://", 6) == 0);
	}
	if (uses_s3) {
		bool plugin = false;
		for (size_t i = 0; i < r->artifact_count; i++)
			plugin |= strncmp(r->artifacts[i].destination, "plugins/s3", 10) == 0;
		if (!plugin)
			warn(ld, ynode_where(root, "state"),
			     "state: S3 directories need an S3 filesystem plugin in the image: add the connector "
			     "s3-fs-presto (checkpoints) or s3-fs-hadoop");
	}
}

static void load_monitoring_and_ingress(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;

	r->metrics = ynode_at_path(root, "monitoring") != NULL &&
		     bool_at(root, "monitoring.prometheus", true, NULL);
	r->metrics_port = int_at(root, "monitoring.port", 9249);
	r->monitor_kind = str_at(root, "monitoring.monitor", "PodMonitor");
	if (!r->metrics || strcmp(r->monitor_kind, "none") == 0)
		r->monitor_kind = NULL;
	r->monitor_labels = map_at(root, "monitoring.labels");
	r->monitor_interval = str_at(root, "monitoring.interval", "30s");
	check_labels(ld, root, "monitoring.labels");
	if (ynode_at_path(root, "monitoring.interval") && !is_prometheus_duration(r->monitor_interval))
		fail(ld, ynode_at_path(root, "monitoring.interval"),
		     "monitoring.interval: '%s' is not a Prometheus duration like 30s or 1m", r->monitor_interval);

	r->has_ingress = ynode_at_path(root, "ingress") != NULL;
	if (!r->has_ingress)
		return;
	r->ingress_style = str_at(root, "ingress.style", "ingress");
	r->ingress_host = str_at(root, "ingress.host", "");
	r->ingress_class = str_at(root, "ingress.className", NULL);
	r->ingress_path = str_at(root, "ingress.path", "/");
	r->ingress_tls_secret = str_at(root, "ingress.tlsSecret", NULL);
	r->ingress_annotations = map_at(root, "ingress.annotations");
	if (ynode_at_path(root, "ingress.host") && !k8s_dns_subdomain(r->ingress_host) &&
	    !(r->ingress_host[0] == '*' && r->ingress_host[1] == '.' && k8s_dns_subdomain(r->ingress_host + 2)))
		fail(ld, ynode_where(root, "ingress.host"), "ingress.host: '%s' is not a DNS name", r->ingress_host);
	if (r->ingress_path[0] != '/')
		fail(ld, ynode_where(root, "ingress.path"), "ingress.path: '%s' must start with '/'", r->ingress_path);
	if (r->ingress_class && !k8s_dns_subdomain(r->ingress_class))
		fail(ld, ynode_where(root, "ingress.className"), "ingress.className: '%s' is not a valid name", r->ingress_class);
	if (r->ingress_tls_secret && !k8s_dns_subdomain(r->ingress_tls_secret))
		fail(ld, ynode_where(root, "ingress.tlsSecret"), "ingress.tlsSecret: '%s' is not a valid Secret name",
		     r->ingress_tls_secret);
}

static void load_operator_and_gitops(struct loader *ld, const struct ynode *root)
{
	struct recipe *r = ld->recipe;

	r->operator_watch_namespaces = list_at(root, "operator.watchNamespaces");
	r->operator_pull_secrets = list_at(root, "operator.imagePullSecrets");
	r->operator_webhook = bool_at(root, "operator.webhook", true, NULL);
	check_list_items(ld, root, "operator.watchNamespaces", is_namespace, "a valid namespace");

	r->gitops_url = str_at(root, "gitops.url", NULL);
	r->gitops_branch = str_at(root, "gitops.branch", NULL); /* NULL: factory.yaml gitops.branch */
	r->gitops_path = str_at(root, "gitops.path", NULL);
	if (r->gitops_url && !has_scheme(r->gitops_url) && !strchr(r->gitops_url, ':') && r->gitops_url[0] != '/')
		fail(ld, ynode_where(root, "gitops.url"),
		     "gitops.url: '%s' is not a Git URL (https://, ssh://, git@host:path or a local path)", r->gitops_url);
	if (ynode_at_path(root, "gitops.branch") &&
	    (strstr(r->gitops_branch, "..") || strpbrk(r->gitops_branch, " ~^:?*[\\") || r->gitops_branch[0] == '-' ||
	     r->gitops_branch[0] == '/'))
		fail(ld, ynode_where(root, "gitops.branch"), "gitops.branch: '%s' is not a valid branch name", r->gitops_branch);
	if (r->gitops_path && (r->gitops_path[0] == '/' || strstr(r->gitops_path, "..")))
		fail(ld, ynode_where(root, "gitops.path"), "gitops.path: '%s' must be a relative path inside the repository",
		     r->gitops_path);
	r->templates_dir = str_at(root, "templates", NULL);
	/* A mistyped overlay directory must not silently drop the overlay (hardening, say). */
	if (r->templates_dir && ld->read_scripts) {
		char *dir = r->templates_dir[0] == '/' ? xstrdup(r->templates_dir) : fs_path_join(r->dir, r->templates_dir);
		struct stat st;
		if (stat(dir, &st) != 0)
			fail(ld, ynode_where(root, "templates"), "templates: '%s' does not exist (%s)", r->templates_dir,
			     strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			fail(ld, ynode_where(root, "templates"), "templates: '%s' is not a directory", r->templates_dir);
		free(dir);
	}
}

static int load(struct recipe **out, const char *file, const char *data, size_t size, bool read_scripts,
		const struct catalog *catalog, const struct recipe_rules *rules, struct diag_list *diags,
		struct error *err)
{
	struct recipe *r = calloc(1, sizeof(*r));
	struct loader ld = {.recipe = r, .diags = diags, .catalog = catalog, .read_scripts = read_scripts};
	const struct ynode *root;

	*out = NULL;
	if (!r)
		abort();
	r->dir = fs_dirname(file);
	if (ydoc_load_buffer(&r->doc, file, data, size, diags, err)) {
		recipe_free(r);
		return -1;
	}
	r->file = r->doc->file;
	root = r->doc->root;
	if (schema_check(&recipe_schema, root, "", file, diags))
		ld.errors++;
	if (!root || root->kind != YNODE_MAPPING) {
		recipe_free(r);
		return error_set(err, ERROR_INVALID, "%s is not a recipe", file);
	}
	/* Keep checking after schema errors: one pass should show everything that is wrong. */
	load_metadata(&ld, root);
	load_flink(&ld, root);
	load_image(&ld, root);
	load_connectors(&ld, root);
	load_python(&ld, root);
	load_jobs(&ld, root);
	load_cluster(&ld, root);
	load_state(&ld, root);
	load_monitoring_and_ingress(&ld, root);
	load_operator_and_gitops(&ld, root);
	/* What the target operator would refuse, reported with the rest. Last, because its rules
	 * read what the loaders above computed; messages are printed sorted by position, so the
	 * order of the checks does not show. */
	if (rules && rules->check)
		rules->check(r, diags);

	if (diag_list_has_errors(diags)) {
		size_t n = diags->errors;
		recipe_free(r);
		return error_set(err, ERROR_INVALID, "%s: %zu error%s", file, n, n == 1 ? "" : "s");
	}
	*out = r;
	return 0;
}

int recipe_load(struct recipe **out, const char *path, const struct catalog *catalog,
		const struct recipe_rules *rules, struct diag_list *diags, struct error *err)
{
	char *data = NULL;
	size_t size = 0;
	int rc;

	*out = NULL;
	if (fs_read_file(path, RECIPE_MAX_SIZE, &data, &size, err))
		return -1;
	rc = load(out, path, data, size, true, catalog, rules, diags, err);
	free(data);
	return rc;
}

int recipe_load_buffer(struct recipe **out, const char *file, const char *data, size_t size,
		       const struct catalog *catalog, const struct recipe_rules *rules, struct diag_list *diags,
		       struct error *err)
{
	return load(out, file, data, size, false, catalog, rules, diags, err);
}

void recipe_free(struct recipe *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->script_count; i++)
		free(r->scripts[i].content);
	free(r->scripts);
	for (size_t i = 0; i < r->requirement_count; i++)
		free(r->requirements[i].sha256.items);
	free(r->requirements);
	for (size_t i = 0; i < r->session_job_count; i++)
		free(r->session_jobs[i].job.args.items);
	free(r->session_jobs);
	free(r->artifacts);
	free(r->labels.items);
	free(r->image_tags.items);
	free(r->image_pull_secrets.items);
	free(r->image_env.items);
	free(r->image_labels.items);
	free(r->files);
	free(r->python_args.items);
	free(r->python_runtime_executable);
	free(r->job.args.items);
	free(r->flink_configuration.items);
	free(r->env.items);
	free(r->volume.access_modes.items);
	free(r->monitor_labels.items);
	free(r->ingress_annotations.items);
	free(r->operator_watch_namespaces.items);
	free(r->operator_pull_secrets.items);
	for (size_t i = 0; i < r->pool_count; i++)
		free(r->pool[i]);
	free(r->pool);
	free(r->dir);
	ydoc_free(r->doc);
	free(r);
}

void recipe_flink_version_enum(const struct recipe *recipe, char *buf, size_t size)
{
	snprintf(buf, size, "v%d_%d", recipe->flink_major, recipe->flink_minor);
}

const char *recipe_supported_flink_versions(void)
{
	return flink_supported_versions();
}

int recipe_override_image(struct recipe *r, const struct recipe_image_override *o, struct error *err)
{
	if (o->registry && (!*o->registry || strchr(o->registry, '/') || !is_image_reference(o->registry)))
		return error_set(err, ERROR_INVALID, "registry override '%s' is not a registry host[:port]", o->registry);
	if (o->repository && !is_repository_path(o->repository))
		return error_set(err, ERROR_INVALID,
				 "repository override '%s' is not a repository path (lowercase letters, digits, '.', '_', "
				 "'-', '/')", o->repository);
	for (size_t i = 0; i < o->tag_count; i++)
		if (!is_tag(o->tags[i]))
			return error_set(err, ERROR_INVALID, "tag override '%s' is not a valid image tag", o->tags[i]);
	if (o->registry)
		r->image_registry = o->registry;
	if (o->repository)
		r->image_repository = o->repository;
	if (o->tag_count) {
		free(r->image_tags.items);
		r->image_tags.items = calloc(o->tag_count, sizeof(*r->image_tags.items));
		if (!r->image_tags.items)
			abort();
		memcpy(r->image_tags.items, o->tags, o->tag_count * sizeof(*o->tags));
		r->image_tags.count = o->tag_count;
	}
	return 0;
}

const char *recipe_image_tag(const struct recipe *r)
{
	return r->image_tags.count ? r->image_tags.items[0] : RECIPE_DEFAULT_TAG;
}

/* The recipe's own checks, for code that writes recipes (scaffold_import.c). */
bool recipe_duration_valid(const char *s)
{
	return is_duration(s);
}

bool recipe_uri_has_scheme(const char *uri)
{
	return has_scheme(uri);
}

bool recipe_mount_hides_image(const char *path)
{
	return mount_hides_flink(path);
}
