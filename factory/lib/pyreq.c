/* pyreq.c - requirements files with hashes and PEP 751 lock files (see pyreq.h).
 *
 * The requirements reader follows pip's own reading of the format (req_file.py): physical
 * lines ending in a backslash are joined first, then comments ('#' at the start or after
 * whitespace) are cut, then the line splits at its first word starting with '-' into the
 * requirement and its options. Anything that would make pip build or fetch something
 * factory cannot pin is reported with its position, so a user can fix the whole file in one
 * go.
 */
#include "pyreq.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "pyversion.h"
#include "toml.h"
#include "util.h"
#include "wheel.h"

/* ---- strings and lists ---- */

static char *dup_n(const char *s, size_t n)
{
	char *out = malloc(n + 1);

	if (!out)
		abort();
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

static void *grow(void *items, size_t count, size_t *capacity, size_t size)
{
	if (count < *capacity)
		return items;
	*capacity = *capacity ? *capacity * 2 : 8;
	items = realloc(items, *capacity * size);
	if (!items)
		abort();
	return items;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_hex64(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static void normalize(const char *name, char *out, size_t size)
{
	python_normalize_name(name, out, size);
}

/* ---- PEP 508 markers ---- */

/* Names a pylock.toml marker may test with `in` (PEP 751): `extras` (none are installed)
 * and `dependency_groups` (the lock's default-groups). */
struct marker_sets {
	bool enabled;
	char **groups;
	size_t group_count;
};

enum marker_op { MOP_LT, MOP_LE, MOP_EQ, MOP_NE, MOP_GE, MOP_GT, MOP_COMPATIBLE, MOP_ARBITRARY, MOP_IN, MOP_NOT_IN };

static const char *const marker_op_text[] = {"<", "<=", "==", "!=", ">=", ">", "~=", "===", "in", "not in"};

struct marker {
	const char *s;
	size_t i;
	const struct pyreq_env *env;
	const struct marker_sets *sets;
	char python_version[32]; /* derived from python_full_version when not given */
	bool failed;
	size_t err_off;
	char msg[320];
};

struct operand {
	bool is_var;
	bool is_set;
	const char *name;  /* the variable's canonical name */
	const char *value; /* a variable's value, or the literal (owned: literal) */
	char *literal;
	size_t off;
};

static int marker_fail(struct marker *m, size_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int marker_fail(struct marker *m, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (m->failed)
		return -1;
	m->failed = true;
	m->err_off = off;
	va_start(ap, fmt);
	vsnprintf(m->msg, sizeof(m->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static void marker_ws(struct marker *m)
{
	while (is_blank(m->s[m->i]))
		m->i++;
}

static bool is_ident_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '.';
}

/* Consumes `word` when it stands alone at the cursor. */
static bool marker_word(struct marker *m, const char *word)
{
	size_t len = strlen(word);

	if (strncmp(m->s + m->i, word, len) != 0 || is_ident_char(m->s[m->i + len]))
		return false;
	m->i += len;
	return true;
}

static const char *env_value(struct marker *m, const char *name, size_t off)
{
	const struct pyreq_env *e = m->env;
	const char *v = NULL;

	if (strcmp(name, "python_version") == 0) {
		v = e->python_version;
		if (!v && e->python_full_version) {
			/* "3.11.9" -> "3.11" */
			size_t n = strcspn(e->python_full_version, ".");
			n += e->python_full_version[n] ? 1 + strcspn(e->python_full_version + n + 1, ".") : 0;
			snprintf(m->python_version, sizeof(m->python_version), "%.*s", (int)n, e->python_full_version);
			v = m->python_version;
		}
	} else if (strcmp(name, "python_full_version") == 0) {
		v = e->python_full_version;
	} else if (strcmp(name, "platform_machine") == 0) {
		v = e->platform_machine;
	} else if (strcmp(name, "sys_platform") == 0) {
		v = e->sys_platform;
	} else if (strcmp(name, "platform_system") == 0) {
		v = e->platform_system;
	} else if (strcmp(name, "os_name") == 0) {
		v = e->os_name;
	} else if (strcmp(name, "implementation_name") == 0) {
		v = e->implementation_name;
	} else if (strcmp(name, "platform_python_implementation") == 0) {
		v = e->platform_python_implementation;
	} else if (strcmp(name, "implementation_version") == 0) {
		v = e->implementation_version ? e->implementation_version : e->python_full_version;
	} else if (strcmp(name, "extra") == 0) {
		v = ""; /* a requirement set installs no extras of its own */
	} else if (strcmp(name, "platform_release") == 0 || strcmp(name, "platform_version") == 0) {
		marker_fail(m, off, "'%s' describes the kernel of the machine that will run the image; it cannot be "
				    "evaluated when building it", name);
		return NULL;
	}
	if (!v)
		marker_fail(m, off, "the target's %s is not known", name);
	return v;
}

static int marker_operand(struct marker *m, struct operand *o)
{
	/* The PEP 508 names, and the dotted spellings `packaging` still accepts. */
	static const struct {
		const char *name, *canonical;
	} vars[] = {
		{"python_version", "python_version"},
		{"python_full_version", "python_full_version"},
		{"os_name", "os_name"},
		{"sys_platform", "sys_platform"},
		{"platform_release", "platform_release"},
		{"platform_system", "platform_system"},
		{"platform_version", "platform_version"},
		{"platform_machine", "platform_machine"},
		{"platform_python_implementation", "platform_python_implementation"},
		{"implementation_name", "implementation_name"},
		{"implementation_version", "implementation_version"},
		{"extra", "extra"},
		{"extras", "extras"},
		{"dependency_groups", "dependency_groups"},
		{"os.name", "os_name"},
		{"sys.platform", "sys_platform"},
		{"platform.version", "platform_version"},
		{"platform.machine", "platform_machine"},
		{"platform.python_implementation", "platform_python_implementation"},
		{"python_implementation", "platform_python_implementation"},
	};
	char q;

	memset(o, 0, sizeof(*o));
	marker_ws(m);
	o->off = m->i;
	q = m->s[m->i];
	if (q == '\'' || q == '"') {
		const char *end = strchr(m->s + m->i + 1, q);
		if (!end)
			return marker_fail(m, o->off, "unterminated string");
		o->literal = dup_n(m->s + m->i + 1, (size_t)(end - (m->s + m->i + 1)));
		o->value = o->literal;
		m->i = (size_t)(end - m->s) + 1;
		return 0;
	}
	if (isalpha((unsigned char)q) || q == '_') {
		size_t start = m->i, len;
		while (is_ident_char(m->s[m->i]))
			m->i++;
		len = m->i - start;
		for (size_t k = 0; k < sizeof(vars) / sizeof(vars[0]); k++) {
			if (strlen(vars[k].name) != len || strncmp(vars[k].name, m->s + start, len) != 0)
				continue;
			o->is_var = true;
			o->name = vars[k].canonical;
			if (strcmp(o->name, "extras") == 0 || strcmp(o->name, "dependency_groups") == 0) {
				if (!m->sets || !m->sets->enabled)
					return marker_fail(m, start, "'%s' is a lock file marker (PEP 751), not one of PEP 508",
							   o->name);
				o->is_set = true;
				return 0;
			}
			o->value = env_value(m, o->name, start);
			return o->value ? 0 : -1;
		}
		return marker_fail(m, start, "unknown marker variable '%.*s'", (int)len, m->s + start);
	}
	if (!q)
		return marker_fail(m, o->off, "expected a marker variable or a quoted string, found the end");
	return marker_fail(m, o->off, "expected a marker variable or a quoted string, found '%c'", q);
}

static int marker_operator(struct marker *m, enum marker_op *op)
{
	/* Longer operators first: "===" before "==", "<=" before "<". */
	static const struct {
		const char *text;
		enum marker_op op;
	} ops[] = {{"===", MOP_ARBITRARY}, {"==", MOP_EQ}, {"!=", MOP_NE}, {"<=", MOP_LE},
		   {">=", MOP_GE},         {"~=", MOP_COMPATIBLE}, {"<", MOP_LT}, {">", MOP_GT}};

	marker_ws(m);
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (strncmp(m->s + m->i, ops[k].text, strlen(ops[k].text)) == 0) {
			m->i += strlen(ops[k].text);
			*op = ops[k].op;
			return 0;
		}
	}
	if (marker_word(m, "in")) {
		*op = MOP_IN;
		return 0;
	}
	if (marker_word(m, "not")) {
		marker_ws(m);
		if (marker_word(m, "in")) {
			*op = MOP_NOT_IN;
			return 0;
		}
	}
	return marker_fail(m, m->i, "expected a comparison operator (==, !=, <, <=, >, >=, ~=, ===, in, not in)");
}

static bool is_version_marker(const char *name)
{
	return strcmp(name, "python_version") == 0 || strcmp(name, "python_full_version") == 0 ||
	       strcmp(name, "implementation_version") == 0 || strcmp(name, "platform_release") == 0;
}

static int marker_compare(struct marker *m, const struct operand *l, enum marker_op op, const struct operand *r,
			  bool *out)
{
	const char *key;
	int c;

	if (!l->is_var && !r->is_var)
		return marker_fail(m, l->off, "compares two strings; one side must be a marker variable");
	if (l->is_set || r->is_set) {
		char want[256], have[256];
		if (l->is_var || !r->is_set || (op != MOP_IN && op != MOP_NOT_IN))
			return marker_fail(m, l->off, "test '%s' as \"name\" in %s", r->is_set ? r->name : l->name,
					   r->is_set ? r->name : l->name);
		*out = false;
		normalize(l->value, want, sizeof(want));
		for (size_t k = 0; strcmp(r->name, "dependency_groups") == 0 && k < m->sets->group_count; k++) {
			normalize(m->sets->groups[k], have, sizeof(have));
			if (strcmp(want, have) == 0)
				*out = true;
		}
		if (op == MOP_NOT_IN)
			*out = !*out;
		return 0;
	}
	key = l->is_var ? l->name : r->name;
	if (is_version_marker(key) && op != MOP_IN && op != MOP_NOT_IN) {
		/* As packaging does: the right side becomes a specifier when it is a valid one. */
		char *spec = xasprintf("%s%s", marker_op_text[op], r->value);
		struct error ignored = {0};
		int rc = pyversion_satisfies(l->value, spec, out, &ignored);
		free(spec);
		if (rc == 0)
			return 0;
	}
	c = strcmp(l->value, r->value);
	switch (op) {
	case MOP_LT: *out = c < 0; break;
	case MOP_LE: *out = c <= 0; break;
	case MOP_EQ: *out = c == 0; break;
	case MOP_NE: *out = c != 0; break;
	case MOP_GE: *out = c >= 0; break;
	case MOP_GT: *out = c > 0; break;
	case MOP_IN: *out = strstr(r->value, l->value) != NULL; break;
	case MOP_NOT_IN: *out = strstr(r->value, l->value) == NULL; break;
	case MOP_COMPATIBLE:
	case MOP_ARBITRARY:
		return marker_fail(m, l->off, "'%s' compares with %s, which needs versions on both sides", key,
				   marker_op_text[op]);
	}
	return 0;
}

static int marker_or(struct marker *m, int depth, bool *v);

/* Both sides of and/or are always evaluated, so that every error in a marker is found. */
static int marker_expr(struct marker *m, int depth, bool *v)
{
	struct operand l, r;
	enum marker_op op = MOP_EQ;
	int rc = -1;

	marker_ws(m);
	if (m->s[m->i] == '(') {
		size_t open = m->i++;
		/* Parentheses are the only recursion; a bound keeps hostile markers off the stack. */
		if (depth > 32)
			return marker_fail(m, open, "parentheses nested too deeply");
		if (marker_or(m, depth + 1, v))
			return -1;
		marker_ws(m);
		if (m->s[m->i] != ')')
			return marker_fail(m, open, "'(' is not closed");
		m->i++;
		return 0;
	}
	memset(&r, 0, sizeof(r));
	if (marker_operand(m, &l))
		goto out;
	if (marker_operator(m, &op) || marker_operand(m, &r) || marker_compare(m, &l, op, &r, v))
		goto out;
	rc = 0;
out:
	free(l.literal);
	free(r.literal);
	return rc;
}

static int marker_and(struct marker *m, int depth, bool *v)
{
	bool rhs;

	if (marker_expr(m, depth, v))
		return -1;
	for (;;) {
		size_t save = m->i;
		marker_ws(m);
		if (!marker_word(m, "and")) {
			m->i = save;
			return 0;
		}
		if (marker_expr(m, depth, &rhs))
			return -1;
		*v = *v && rhs;
	}
}

static int marker_or(struct marker *m, int depth, bool *v)
{
	bool rhs;

	if (marker_and(m, depth, v))
		return -1;
	for (;;) {
		size_t save = m->i;
		marker_ws(m);
		if (!marker_word(m, "or")) {
			m->i = save;
			return 0;
		}
		if (marker_and(m, depth, &rhs))
			return -1;
		*v = *v || rhs;
	}
}

/* Evaluates a whole marker; on failure m->msg and m->err_off (into `text`) say why. */
static int marker_run(struct marker *m, const char *text, const struct pyreq_env *env, const struct marker_sets *sets,
		      bool *result)
{
	memset(m, 0, sizeof(*m));
	m->s = text;
	m->env = env;
	m->sets = sets;
	*result = false;
	if (marker_or(m, 0, result))
		return -1;
	marker_ws(m);
	if (m->s[m->i])
		return marker_fail(m, m->i, "unexpected '%c' in the marker (expected 'and', 'or' or the end)",
				   m->s[m->i]);
	return 0;
}

int pyreq_marker_eval(const char *marker, const struct pyreq_env *env, bool *result, struct error *err)
{
	struct marker m;

	if (marker_run(&m, marker, env, NULL, result))
		return error_set(err, ERROR_INVALID, "marker '%s': %s (at character %zu)", marker, m.msg, m.err_off + 1);
	return 0;
}

/* ---- the set being built ---- */

struct loader {
	const struct pyreq_env *env;
	struct pyreq_set *set;
	size_t set_capacity;
	char **keys; /* set->items[i]'s PEP 503 name, for finding duplicates */
	bool full;   /* PYREQ_MAX_PACKAGES was reached (and reported) */
	struct diag_list *diags;
	/* The files being read, outermost first, to refuse include cycles. */
	char *stack_real[PYREQ_MAX_INCLUDE_DEPTH + 1];
	const char *stack_path[PYREQ_MAX_INCLUDE_DEPTH + 1];
	size_t depth;
};

static void pyreq_free_one(struct pyreq *r)
{
	free(r->name);
	free(r->version);
	for (size_t i = 0; i < r->sha256_count; i++)
		free(r->sha256[i]);
	free(r->sha256);
	free(r->url);
	for (size_t i = 0; i < r->wheel_count; i++) {
		free(r->wheels[i].filename);
		free(r->wheels[i].url);
		free(r->wheels[i].path);
	}
	free(r->wheels);
	free(r->index);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void pyreq_set_clear(struct pyreq_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		pyreq_free_one(&set->items[i]);
	free(set->items);
	memset(set, 0, sizeof(*set));
}

static void add_hash(char ***list, size_t *count, const char *hex)
{
	char lower[65];

	for (size_t i = 0; i < 64; i++)
		lower[i] = (char)tolower((unsigned char)hex[i]);
	lower[64] = '\0';
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*list)[i], lower) == 0)
			return;
	*list = realloc(*list, (*count + 1) * sizeof(**list));
	if (!*list)
		abort();
	(*list)[(*count)++] = xstrdup(lower);
}

static struct pyreq *find_package(struct loader *ld, const char *name)
{
	char want[256];

	normalize(name, want, sizeof(want));
	for (size_t i = 0; i < ld->set->count; i++)
		if (strcmp(want, ld->keys[i]) == 0)
			return &ld->set->items[i];
	return NULL;
}

/* Appends a copy of `r` (which the set then owns); refuses beyond PYREQ_MAX_PACKAGES, which
 * keeps the duplicate search small. */
static bool add_package(struct loader *ld, const struct pyreq *r, const char *file, int line, int col)
{
	char key[256];
	size_t capacity = ld->set_capacity;

	if (ld->set->count >= PYREQ_MAX_PACKAGES) {
		if (!ld->full)
			diag_add(ld->diags, DIAG_ERROR, file, line, col, "more than %d packages", PYREQ_MAX_PACKAGES);
		ld->full = true;
		return false;
	}
	ld->set->items = grow(ld->set->items, ld->set->count, &ld->set_capacity, sizeof(*ld->set->items));
	if (ld->set_capacity != capacity || !ld->keys) {
		ld->keys = realloc(ld->keys, ld->set_capacity * sizeof(*ld->keys));
		if (!ld->keys)
			abort();
	}
	normalize(r->name, key, sizeof(key));
	ld->keys[ld->set->count] = xstrdup(key);
	ld->set->items[ld->set->count++] = *r;
	return true;
}

static void env_describe(const struct pyreq_env *env, char *out, size_t size)
{
	snprintf(out, size, "Python %s on %s/%s", env->python_full_version ? env->python_full_version : "?",
		 env->sys_platform ? env->sys_platform : "?", env->platform_machine ? env->platform_machine : "?");
}

/* The last segment of a URL's path (or of a file path), percent-decoded: "torch-2.1.0%2Bcpu-..."
 * names the file "torch-2.1.0+cpu-...". */
static char *last_segment(const char *url)
{
	size_t end = strcspn(url, "?#"), start = end;
	char *out;
	size_t n = 0;

	while (start > 0 && url[start - 1] != '/')
		start--;
	out = malloc(end - start + 1);
	if (!out)
		abort();
	for (size_t i = start; i < end; i++) {
		if (url[i] == '%' && i + 2 < end && isxdigit((unsigned char)url[i + 1]) &&
		    isxdigit((unsigned char)url[i + 2])) {
			char hex[3] = {url[i + 1], url[i + 2], '\0'};
			out[n++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[n++] = url[i];
		}
	}
	out[n] = '\0';
	return out;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool is_vcs_url(const char *s)
{
	static const char *const vcs[] = {"git+", "hg+", "svn+", "bzr+", "git://", "hg://", "svn://", "bzr://"};

	for (size_t i = 0; i < sizeof(vcs) / sizeof(vcs[0]); i++)
		if (has_prefix(s, vcs[i]))
			return true;
	return false;
}

/* ---- requirements files ---- */

/* A logical line: physical lines joined at trailing backslashes, with the file position of
 * every byte so that any part of it can be reported where it was written. */
struct logical_line {
	char *text;
	int *line;
	int *col;
	size_t len, capacity;
};

static void ll_add(struct logical_line *ll, char c, int line, int col)
{
	if (ll->len + 1 >= ll->capacity) {
		ll->capacity = ll->capacity ? ll->capacity * 2 : 128;
		ll->text = realloc(ll->text, ll->capacity);
		ll->line = realloc(ll->line, ll->capacity * sizeof(int));
		ll->col = realloc(ll->col, ll->capacity * sizeof(int));
		if (!ll->text || !ll->line || !ll->col)
			abort();
	}
	ll->text[ll->len] = c;
	ll->line[ll->len] = line;
	ll->col[ll->len] = col;
	ll->len++;
	ll->text[ll->len] = '\0';
}

struct token {
	size_t start, len;
};

/* What one line says about the requirement on it. */
struct line_ctx {
	struct loader *ld;
	const char *file;
	struct logical_line *ll;
	char **sha256;
	size_t sha256_count;
	char other_hash[16]; /* a non-sha256 algorithm seen, for the message */
	bool bad_hash;       /* a malformed --hash was reported already */
};

static void at(struct line_ctx *lc, size_t off, int *line, int *col)
{
	if (lc->ll->len == 0) {
		*line = *col = 0;
		return;
	}
	if (off >= lc->ll->len)
		off = lc->ll->len - 1;
	*line = lc->ll->line[off];
	*col = lc->ll->col[off];
}

static void line_diag(struct line_ctx *lc, enum diag_severity sev, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void line_diag(struct line_ctx *lc, enum diag_severity sev, size_t off, const char *fmt, ...)
{
	char msg[1024];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	at(lc, off, &line, &col);
	diag_add(lc->ld->diags, sev, lc->file, line, col, "%s", msg);
}

static int read_requirements(struct loader *ld, const char *path, struct error *err);

static void include_file(struct line_ctx *lc, size_t off, const char *name)
{
	char *dir, *path, *real;
	struct error err = {0};

	if (strstr(name, "://")) {
		line_diag(lc, DIAG_ERROR, off, "-r %s: including requirements from a URL is not supported", name);
		return;
	}
	dir = fs_dirname(lc->file);
	path = name[0] == '/' ? xstrdup(name) : fs_path_join(dir, name);
	free(dir);
	real = realpath(path, NULL);
	if (!real) {
		line_diag(lc, DIAG_ERROR, off, "-r %s: cannot open %s", name, path);
		free(path);
		return;
	}
	for (size_t i = 0; i < lc->ld->depth; i++) {
		if (strcmp(lc->ld->stack_real[i], real) == 0) {
			char chain[1024];
			size_t n = 0;
			for (size_t k = i; k < lc->ld->depth && n < sizeof(chain); k++)
				n += (size_t)snprintf(chain + n, sizeof(chain) - n, "%s -> ", lc->ld->stack_path[k]);
			if (n < sizeof(chain))
				snprintf(chain + n, sizeof(chain) - n, "%s", path);
			line_diag(lc, DIAG_ERROR, off, "-r %s: include cycle: %s", name, chain);
			free(real);
			free(path);
			return;
		}
	}
	free(real);
	if (lc->ld->depth >= PYREQ_MAX_INCLUDE_DEPTH) {
		line_diag(lc, DIAG_ERROR, off, "-r %s: includes nested more than %d deep", name, PYREQ_MAX_INCLUDE_DEPTH);
	} else if (read_requirements(lc->ld, path, &err)) {
		line_diag(lc, DIAG_ERROR, off, "-r %s: %s", name, err.message);
	}
	free(path);
}

/* --hash=ALGO:HEX */
static void take_hash(struct line_ctx *lc, size_t off, const char *value)
{
	const char *colon = strchr(value, ':');
	size_t alen = colon ? (size_t)(colon - value) : 0;

	if (!colon) {
		line_diag(lc, DIAG_ERROR, off, "--hash %s: expected ALGORITHM:HEX, like --hash=sha256:<64 hex digits>",
			  value);
		lc->bad_hash = true;
	} else if (alen == 6 && strncmp(value, "sha256", 6) == 0) {
		if (!is_hex64(colon + 1, strlen(colon + 1))) {
			line_diag(lc, DIAG_ERROR, off, "--hash %s: a sha256 value is 64 hex digits", value);
			lc->bad_hash = true;
		} else {
			add_hash(&lc->sha256, &lc->sha256_count, colon + 1);
		}
	} else if ((alen == 6 && (strncmp(value, "sha384", 6) == 0 || strncmp(value, "sha512", 6) == 0))) {
		snprintf(lc->other_hash, sizeof(lc->other_hash), "%.*s", (int)alen, value);
	} else {
		line_diag(lc, DIAG_ERROR, off, "--hash %s: unknown hash algorithm '%.*s' (pip accepts sha256, sha384 and "
					       "sha512)", value, (int)alen, value);
		lc->bad_hash = true;
	}
}

enum opt_kind {
	OPT_HASH,
	OPT_REQUIREMENT,
	OPT_CONSTRAINT,
	OPT_EDITABLE,
	OPT_IGNORED_VALUE, /* a global option with a value: warned about and ignored */
	OPT_IGNORED_FLAG,
	OPT_NO_BINARY,
	OPT_ONLY_BINARY,
	OPT_ACCEPTED_FLAG, /* what factory does anyway */
};

static const struct {
	const char *long_name;
	const char *short_name;
	enum opt_kind kind;
} req_options[] = {
	{"--hash", NULL, OPT_HASH},
	{"--requirement", "-r", OPT_REQUIREMENT},
	{"--constraint", "-c", OPT_CONSTRAINT},
	{"--editable", "-e", OPT_EDITABLE},
	{"--index-url", "-i", OPT_IGNORED_VALUE},
	{"--extra-index-url", NULL, OPT_IGNORED_VALUE},
	{"--trusted-host", NULL, OPT_IGNORED_VALUE},
	{"--find-links", "-f", OPT_IGNORED_VALUE},
	{"--no-binary", NULL, OPT_NO_BINARY},
	{"--only-binary", NULL, OPT_ONLY_BINARY},
	{"--prefer-binary", NULL, OPT_IGNORED_FLAG},
	{"--no-index", NULL, OPT_IGNORED_FLAG},
	{"--pre", NULL, OPT_IGNORED_FLAG},
	{"--require-hashes", NULL, OPT_ACCEPTED_FLAG},
};

static bool takes_value(enum opt_kind kind)
{
	return kind != OPT_IGNORED_FLAG && kind != OPT_ACCEPTED_FLAG;
}

/* Options from tokens[first..count); `requirement` says whether a requirement precedes them. */
static void parse_options(struct line_ctx *lc, const struct token *tokens, size_t first, size_t count,
			  bool requirement)
{
	const char *text = lc->ll->text;

	for (size_t t = first; t < count; t++) {
		const char *tok = text + tokens[t].start;
		size_t len = tokens[t].len, off = tokens[t].start, name_len;
		char *name, *value = NULL;
		enum opt_kind kind;
		size_t k, nopts = sizeof(req_options) / sizeof(req_options[0]);

		if (tok[0] != '-') {
			line_diag(lc, DIAG_ERROR, off, "unexpected '%.*s' after the options", (int)len, tok);
			continue;
		}
		if (len > 1 && tok[1] == '-') {
			const char *eq = memchr(tok, '=', len);
			name_len = eq ? (size_t)(eq - tok) : len;
			for (k = 0; k < nopts; k++)
				if (strlen(req_options[k].long_name) == name_len &&
				    strncmp(req_options[k].long_name, tok, name_len) == 0)
					break;
			if (eq)
				value = dup_n(eq + 1, len - name_len - 1);
		} else {
			name_len = len < 2 ? len : 2;
			for (k = 0; k < nopts; k++)
				if (req_options[k].short_name && len >= 2 && strncmp(req_options[k].short_name, tok, 2) == 0)
					break;
			if (len > 2)
				value = dup_n(tok + 2, len - 2);
		}
		name = dup_n(tok, name_len);
		if (k == nopts) {
			line_diag(lc, DIAG_ERROR, off, "unknown option '%s'", name);
			/* A word after it is taken to be its value, not reported again. */
			if (!value && t + 1 < count && text[tokens[t + 1].start] != '-')
				t++;
			goto next;
		}
		kind = req_options[k].kind;
		if (takes_value(kind) && !value) {
			if (t + 1 >= count) {
				line_diag(lc, DIAG_ERROR, off, "%s needs a value", name);
				goto next;
			}
			t++;
			value = dup_n(text + tokens[t].start, tokens[t].len);
		} else if (!takes_value(kind) && value) {
			line_diag(lc, DIAG_ERROR, off, "%s takes no value", name);
			goto next;
		}
		switch (kind) {
		case OPT_HASH:
			if (!requirement)
				line_diag(lc, DIAG_ERROR, off, "--hash belongs on the line of its requirement");
			else
				take_hash(lc, off, value);
			break;
		case OPT_REQUIREMENT:
			include_file(lc, off, value);
			break;
		case OPT_CONSTRAINT:
			line_diag(lc, DIAG_ERROR, off, "%s %s: constraints files are not supported; pin every package in "
						       "the requirements file", name, value);
			break;
		case OPT_EDITABLE:
			line_diag(lc, DIAG_ERROR, off, "%s %s: an editable requirement is built from source; factory "
						       "needs a wheel", name, value);
			break;
		case OPT_IGNORED_VALUE:
		case OPT_IGNORED_FLAG:
			line_diag(lc, DIAG_WARNING, off, "%s is ignored: package indexes come from factory.yaml", name);
			break;
		case OPT_NO_BINARY:
			if (strcmp(value, ":none:") == 0)
				line_diag(lc, DIAG_WARNING, off, "%s %s is ignored", name, value);
			else
				line_diag(lc, DIAG_ERROR, off, "%s %s: factory installs wheels only", name, value);
			break;
		case OPT_ONLY_BINARY:
			line_diag(lc, DIAG_WARNING, off, "%s is ignored: factory installs wheels only anyway", name);
			break;
		case OPT_ACCEPTED_FLAG:
			break;
		}
	next:
		free(name);
		free(value);
	}
}

/* Is `spec` (the text after the name and extras) a single `==` pin? Sets *version. */
static bool pinned(const char *spec, char **version)
{
	size_t len = strlen(spec);
	const char *v;

	*version = NULL;
	if (len >= 2 && spec[0] == '(' && spec[len - 1] == ')') {
		spec++;
		len -= 2;
	}
	while (len && is_blank(*spec))
		spec++, len--;
	while (len && is_blank(spec[len - 1]))
		len--;
	if (len < 3 || strncmp(spec, "==", 2) != 0 || spec[2] == '=' || memchr(spec, ',', len))
		return false;
	v = spec + 2;
	while (is_blank(*v))
		v++;
	len -= (size_t)(v - spec);
	if (len == 0 || (len >= 2 && strncmp(v + len - 2, ".*", 2) == 0))
		return false;
	*version = dup_n(v, len);
	return true;
}

/* name[extras] ==version ; marker   or   name[extras] @ URL ; marker */
static void parse_requirement(struct line_ctx *lc, size_t start, size_t end)
{
	struct loader *ld = lc->ld;
	const char *text = lc->ll->text;
	char *req = dup_n(text + start, end - start), *name = NULL, *spec = NULL, *url = NULL, *version = NULL;
	char *wheel = NULL, *shown = NULL;
	static const char *const archives[] = {".whl", ".tar.gz", ".tgz", ".zip", ".tar.bz2"};
	size_t p = 0, name_end, first_len = strcspn(req, " \t;");
	size_t scheme = strspn(req, "abcdefghijklmnopqrstuvwxyz0123456789+-.");
	bool in_env = true;
	struct marker m;
	struct pyreq r, *prev;
	int line, col;

	at(lc, start, &line, &col);
	shown = dup_n(req, strcspn(req, ";"));
	for (size_t n = strlen(shown); n > 0 && is_blank(shown[n - 1]); n--)
		shown[n - 1] = '\0';

	/* What pip would treat as a VCS URL, a bare URL or a path rather than a name. */
	if (is_vcs_url(req)) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is a VCS URL: factory needs a wheel", shown);
		goto out;
	}
	if (scheme > 0 && strncmp(req + scheme, "://", 3) == 0) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is a URL without a name: write it as 'name @ URL'", shown);
		goto out;
	}
	if (req[0] == '.' || req[0] == '/' || req[0] == '~' || memchr(req, '\\', first_len) ||
	    (memchr(req, '/', first_len) && !memchr(req, '@', first_len))) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is a local path: factory needs a wheel (pin it by name, or "
						 "'name @ https://...whl')", shown);
		goto out;
	}
	for (size_t i = 0; i < sizeof(archives) / sizeof(archives[0]); i++) {
		size_t sl = strlen(archives[i]);
		if (first_len > sl && strncmp(req + first_len - sl, archives[i], sl) == 0 && !memchr(req, '@', first_len)) {
			line_diag(lc, DIAG_ERROR, start, "'%s' is a local file: factory needs a wheel it can download "
							 "and pin (write 'name==version' or 'name @ https://...whl')", shown);
			goto out;
		}
	}

	/* PEP 508 name: letters and digits, with . _ - inside. */
	if (!isalnum((unsigned char)req[p])) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is not a requirement: expected a package name", shown);
		goto out;
	}
	while (isalnum((unsigned char)req[p]) || req[p] == '.' || req[p] == '_' || req[p] == '-')
		p++;
	name_end = p;
	if (!isalnum((unsigned char)req[name_end - 1])) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is not a requirement: a package name ends with a letter or digit",
			  shown);
		goto out;
	}
	name = dup_n(req, name_end);
	while (is_blank(req[p]))
		p++;
	if (req[p] == '[') {
		size_t open = p++;
		for (;;) {
			while (is_blank(req[p]))
				p++;
			if (req[p] == ']')
				break;
			if (!isalnum((unsigned char)req[p])) {
				line_diag(lc, DIAG_ERROR, start + open, "'%s': malformed extras", shown);
				goto out;
			}
			while (isalnum((unsigned char)req[p]) || req[p] == '.' || req[p] == '_' || req[p] == '-')
				p++;
			while (is_blank(req[p]))
				p++;
			if (req[p] == ',') {
				p++;
				continue;
			}
			if (req[p] != ']') {
				line_diag(lc, DIAG_ERROR, start + open, "'%s': malformed extras", shown);
				goto out;
			}
		}
		p++;
		while (is_blank(req[p]))
			p++;
	}
	if (req[p] == '@') {
		size_t u;
		p++;
		while (is_blank(req[p]))
			p++;
		u = p;
		while (req[p] && !is_blank(req[p]))
			p++;
		url = dup_n(req + u, p - u);
		while (is_blank(req[p]))
			p++;
		if (!*url) {
			line_diag(lc, DIAG_ERROR, start, "'%s': no URL after '@'", shown);
			goto out;
		}
		if (req[p] && req[p] != ';') {
			line_diag(lc, DIAG_ERROR, start + p, "'%s': unexpected text after the URL", shown);
			goto out;
		}
	} else {
		size_t s = p;
		while (req[p] && req[p] != ';')
			p++;
		spec = dup_n(req + s, p - s);
	}
	if (req[p] == ';') {
		size_t moff = p + 1;
		if (marker_run(&m, req + moff, ld->env, NULL, &in_env)) {
			line_diag(lc, DIAG_ERROR, start + moff + m.err_off, "'%s': marker: %s", shown, m.msg);
			goto out;
		}
	}
	if (spec) {
		bool dummy;
		struct error serr = {0};
		if (pyversion_satisfies("0", spec, &dummy, &serr)) {
			line_diag(lc, DIAG_ERROR, start, "'%s': %s", shown, serr.message);
			goto out;
		}
	}
	if (!in_env)
		goto out; /* checked as far as its syntax; not for this target */

	if (url) {
		if (is_vcs_url(url)) {
			line_diag(lc, DIAG_ERROR, start, "'%s' is a VCS URL: factory needs a wheel", shown);
			goto out;
		}
		if (has_prefix(url, "file:")) {
			line_diag(lc, DIAG_ERROR, start, "'%s' is a local path: factory needs a wheel it can download",
				  shown);
			goto out;
		}
		if (!has_prefix(url, "https://") && !has_prefix(url, "http://")) {
			line_diag(lc, DIAG_ERROR, start, "'%s': factory downloads http:// and https:// URLs only", shown);
			goto out;
		}
		wheel = last_segment(url);
		{
			struct wheel_name wn;
			struct error werr = {0};
			char want[256], got[256];
			const char *frag = strchr(url, '#');
			if (strlen(wheel) < 5 || strcmp(wheel + strlen(wheel) - 4, ".whl") != 0) {
				line_diag(lc, DIAG_ERROR, start, "'%s' is not a wheel (%s): factory installs wheels only",
					  shown, wheel);
				goto out;
			}
			if (wheel_parse_filename(wheel, &wn, &werr)) {
				line_diag(lc, DIAG_ERROR, start, "'%s': %s", shown, werr.message);
				goto out;
			}
			normalize(name, want, sizeof(want));
			normalize(wn.distribution, got, sizeof(got));
			if (strcmp(want, got) != 0) {
				line_diag(lc, DIAG_ERROR, start, "'%s': the URL is a wheel of '%s', not of '%s'", shown,
					  wn.distribution, name);
				goto out;
			}
			version = xstrdup(wn.version);
			/* pip trusts a sha256 in the URL's fragment as a --hash. */
			if (frag && has_prefix(frag, "#sha256=") && is_hex64(frag + 8, strlen(frag + 8)))
				add_hash(&lc->sha256, &lc->sha256_count, frag + 8);
		}
	} else if (!pinned(spec, &version)) {
		line_diag(lc, DIAG_ERROR, start, "'%s' is not pinned with '==': factory installs exact versions "
						 "(lock with pip-compile --generate-hashes or uv pip compile --generate-hashes)",
			  shown);
		goto out;
	}
	if (lc->sha256_count == 0) {
		if (lc->bad_hash)
			; /* already reported */
		else if (lc->other_hash[0])
			line_diag(lc, DIAG_ERROR, start, "'%s' has only %s hashes: factory verifies sha256", shown,
				  lc->other_hash);
		else
			line_diag(lc, DIAG_ERROR, start, "'%s' has no --hash: factory installs only wheels pinned by "
							 "sha256 (pip-compile --generate-hashes writes them)", shown);
		goto out;
	}

	prev = find_package(ld, name);
	if (prev) {
		bool same = pyversion_compare(prev->version, version) == 0 &&
			    ((!prev->url && !url) || (prev->url && url && strcmp(prev->url, url) == 0));
		if (!same) {
			line_diag(lc, DIAG_ERROR, start, "'%s': %s is already required as %s %s%s at %s:%d", shown, name,
				  prev->name, prev->url ? "@ " : "==", prev->url ? prev->url : prev->version, prev->file,
				  prev->line);
			goto out;
		}
		/* The same pin twice: either list of hashes is accepted, as pip does. */
		for (size_t i = 0; i < lc->sha256_count; i++)
			add_hash(&prev->sha256, &prev->sha256_count, lc->sha256[i]);
		goto out;
	}
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.version = version;
	r.url = url;
	r.sha256 = lc->sha256;
	r.sha256_count = lc->sha256_count;
	r.file = xstrdup(lc->file);
	r.line = line;
	r.col = col;
	if (add_package(ld, &r, lc->file, line, col)) {
		name = version = url = NULL;
		lc->sha256 = NULL;
		lc->sha256_count = 0;
	} else {
		free(r.file);
	}
out:
	free(req);
	free(shown);
	free(name);
	free(spec);
	free(url);
	free(version);
	free(wheel);
}

static void handle_line(struct loader *ld, const char *file, struct logical_line *ll)
{
	struct line_ctx lc;
	struct token *tokens = NULL;
	size_t count = 0, capacity = 0, len = ll->len, first_option;

	memset(&lc, 0, sizeof(lc));
	lc.ld = ld;
	lc.file = file;
	lc.ll = ll;
	/* A comment starts with '#' at the start of the line or after whitespace; a '#' inside a
	 * word (a URL fragment) is not one. */
	for (size_t i = 0; i < len; i++) {
		if (ll->text[i] == '#' && (i == 0 || is_blank(ll->text[i - 1]))) {
			len = i;
			break;
		}
	}
	for (size_t i = 0; i < len;) {
		if (is_blank(ll->text[i]) || ll->text[i] == '\r') {
			i++;
			continue;
		}
		tokens = grow(tokens, count, &capacity, sizeof(*tokens));
		tokens[count].start = i;
		while (i < len && !is_blank(ll->text[i]) && ll->text[i] != '\r')
			i++;
		tokens[count].len = i - tokens[count].start;
		count++;
	}
	if (count == 0)
		goto out;
	/* The requirement is everything before the first word that starts with '-'. */
	for (first_option = 0; first_option < count; first_option++)
		if (ll->text[tokens[first_option].start] == '-')
			break;
	parse_options(&lc, tokens, first_option, count, first_option > 0);
	if (first_option > 0)
		parse_requirement(&lc, tokens[0].start,
				  tokens[first_option - 1].start + tokens[first_option - 1].len);
out:
	for (size_t i = 0; i < lc.sha256_count; i++)
		free(lc.sha256[i]);
	free(lc.sha256);
	free(tokens);
}

/* Reads one requirements file; I/O problems are returned in err for the caller to place
 * (the including line, or pyreq_load's caller for the top file). */
static int read_requirements(struct loader *ld, const char *path, struct error *err)
{
	char *data = NULL;
	size_t size = 0, pos = 0;
	struct logical_line ll = {0};
	bool joining = false;
	int lineno = 0;

	if (fs_read_file(path, PYREQ_MAX_FILE, &data, &size, err))
		return -1;
	ld->stack_real[ld->depth] = realpath(path, NULL);
	if (!ld->stack_real[ld->depth])
		ld->stack_real[ld->depth] = xstrdup(path);
	ld->stack_path[ld->depth] = path;
	ld->depth++;
	while (pos < size) {
		size_t end = pos, next, e, k;
		bool comment, cont;
		int col = 0;

		while (end < size && data[end] != '\n')
			end++;
		next = end < size ? end + 1 : end;
		e = end;
		if (e > pos && data[e - 1] == '\r')
			e--;
		lineno++;
		for (k = pos; k < e && is_blank(data[k]); k++)
			;
		comment = k < e && data[k] == '#';
		if (comment) {
			/* A comment line ends a continuation, even with a trailing backslash (as pip). */
			if (joining) {
				handle_line(ld, path, &ll);
				ll.len = 0;
				joining = false;
			}
			pos = next;
			continue;
		}
		cont = e > pos && data[e - 1] == '\\';
		if (cont)
			while (e > pos && data[e - 1] == '\\')
				e--;
		for (size_t i = pos; i < e; i++) {
			if (((unsigned char)data[i] & 0xC0) != 0x80)
				col++; /* columns count characters */
			ll_add(&ll, data[i], lineno, col);
		}
		if (!cont) {
			handle_line(ld, path, &ll);
			ll.len = 0;
		}
		joining = cont;
		pos = next;
	}
	if (joining)
		handle_line(ld, path, &ll);
	ld->depth--;
	free(ld->stack_real[ld->depth]);
	ld->stack_real[ld->depth] = NULL;
	free(ll.text);
	free(ll.line);
	free(ll.col);
	free(data);
	return 0;
}

/* ---- pylock.toml ---- */

struct lock_ctx {
	struct loader *ld;
	const char *file;
	char *dir;
	struct marker_sets sets;
};

static void lock_diag(struct lock_ctx *lk, enum diag_severity sev, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void lock_diag(struct lock_ctx *lk, enum diag_severity sev, int line, int col, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag_add(lk->ld->diags, sev, lk->file, line, col, "%s", msg);
}

/* The string value of `key`, or NULL (reported when present with another type). */
static const char *lock_string(struct lock_ctx *lk, const struct toml_node *table, const char *key, const char *where)
{
	const struct toml_entry *e = toml_get_entry(table, key);

	if (!e)
		return NULL;
	if (e->value->type != TOML_STRING) {
		lock_diag(lk, DIAG_ERROR, e->line, e->col, "%s%s must be a string, not %s", where, key,
			  toml_type_name(e->value));
		return NULL;
	}
	return e->value->text;
}

static void warn_unknown_keys(struct lock_ctx *lk, const struct toml_node *table, const char *const *known,
			      const char *where)
{
	for (size_t i = 0; i < table->count; i++) {
		bool found = false;
		for (const char *const *k = known; *k && !found; k++)
			found = strcmp(*k, table->entries[i].key) == 0;
		if (!found)
			lock_diag(lk, DIAG_WARNING, table->entries[i].line, table->entries[i].col,
				  "%sunknown key '%s' is ignored", where, table->entries[i].key);
	}
}

/* Evaluates a marker string of the lock; false (with a diagnostic) when it is bad. */
static bool lock_marker(struct lock_ctx *lk, const struct toml_node *node, const char *where, bool *result)
{
	struct marker m;

	if (!node || node->type != TOML_STRING) {
		lock_diag(lk, DIAG_ERROR, node ? node->line : 0, node ? node->col : 0, "%smarker must be a string", where);
		return false;
	}
	if (marker_run(&m, node->text, lk->ld->env, &lk->sets, result)) {
		lock_diag(lk, DIAG_ERROR, node->line, node->col, "%smarker \"%s\": %s", where, node->text, m.msg);
		return false;
	}
	return true;
}

static bool lock_requires_python(struct lock_ctx *lk, const struct toml_entry *e, const char *where)
{
	struct error err = {0};
	bool ok;
	char env[128];

	if (!e)
		return true;
	if (e->value->type != TOML_STRING) {
		lock_diag(lk, DIAG_ERROR, e->line, e->col, "%srequires-python must be a string", where);
		return false;
	}
	if (!lk->ld->env->python_full_version) {
		lock_diag(lk, DIAG_ERROR, e->line, e->col, "%srequires-python: the target's Python version is not known",
			  where);
		return false;
	}
	if (pyversion_satisfies(lk->ld->env->python_full_version, e->value->text, &ok, &err)) {
		lock_diag(lk, DIAG_ERROR, e->value->line, e->value->col, "%srequires-python: %s", where, err.message);
		return false;
	}
	if (!ok) {
		env_describe(lk->ld->env, env, sizeof(env));
		lock_diag(lk, DIAG_ERROR, e->value->line, e->value->col, "%srequires-python '%s' excludes the target (%s)",
			  where, e->value->text, env);
	}
	return ok;
}

static void lock_wheel(struct lock_ctx *lk, struct pyreq *r, const struct toml_node *w, const char *where)
{
	static const char *const known[] = {"name", "upload-time", "url", "path", "size", "hashes", NULL};
	const char *name = lock_string(lk, w, "name", where), *url = lock_string(lk, w, "url", where);
	const char *path = lock_string(lk, w, "path", where);
	const struct toml_entry *hashes = toml_get_entry(w, "hashes"), *size = toml_get_entry(w, "size");
	const struct toml_entry *upload = toml_get_entry(w, "upload-time");
	const char *sha = NULL;
	char *filename = NULL, want[256], got[256];
	struct wheel_name wn;
	struct error err = {0};
	struct pyreq_wheel *out;
	long long bytes = -1;

	if (w->type != TOML_TABLE) {
		lock_diag(lk, DIAG_ERROR, w->line, w->col, "%sa wheel must be a table, not %s", where, toml_type_name(w));
		return;
	}
	warn_unknown_keys(lk, w, known, where);
	if (!url && !path) {
		lock_diag(lk, DIAG_ERROR, w->line, w->col, "%sa wheel needs a url or a path", where);
		return;
	}
	if (url && !has_prefix(url, "https://") && !has_prefix(url, "http://")) {
		const struct toml_entry *e = toml_get_entry(w, "url");
		lock_diag(lk, DIAG_ERROR, e->value->line, e->value->col, "%swheel url '%s': factory downloads http:// and "
									 "https:// URLs only", where, url);
		return;
	}
	filename = name ? xstrdup(name) : last_segment(url ? url : path);
	if (wheel_parse_filename(filename, &wn, &err)) {
		lock_diag(lk, DIAG_ERROR, w->line, w->col, "%s%s", where, err.message);
		goto out;
	}
	normalize(wn.distribution, got, sizeof(got));
	normalize(r->name, want, sizeof(want));
	if (strcmp(want, got) != 0 || pyversion_compare(wn.version, r->version) != 0) {
		lock_diag(lk, DIAG_ERROR, w->line, w->col, "%swheel %s is not %s %s", where, filename, r->name, r->version);
		goto out;
	}
	if (size) {
		if (!toml_int(size->value, &bytes) || bytes < 0) {
			lock_diag(lk, DIAG_ERROR, size->line, size->col, "%swheel size must be a non-negative integer", where);
			goto out;
		}
	}
	if (upload && !toml_is_datetime(upload->value))
		lock_diag(lk, DIAG_ERROR, upload->line, upload->col, "%swheel upload-time must be a date-time, not %s",
			  where, toml_type_name(upload->value));
	if (!hashes || hashes->value->type != TOML_TABLE || hashes->value->count == 0) {
		lock_diag(lk, DIAG_ERROR, hashes ? hashes->line : w->line, hashes ? hashes->col : w->col,
			  "%swheel %s has no hashes: factory verifies sha256", where, filename);
		goto out;
	}
	sha = lock_string(lk, hashes->value, "sha256", where);
	if (!sha) {
		if (!toml_get(hashes->value, "sha256"))
			lock_diag(lk, DIAG_ERROR, hashes->line, hashes->col,
				  "%swheel %s has no sha256 hash (only %s): factory verifies sha256", where, filename,
				  hashes->value->entries[0].key);
		goto out;
	}
	if (!is_hex64(sha, strlen(sha))) {
		const struct toml_entry *e = toml_get_entry(hashes->value, "sha256");
		lock_diag(lk, DIAG_ERROR, e->value->line, e->value->col, "%swheel %s: sha256 '%s' is not 64 hex digits",
			  where, filename, sha);
		goto out;
	}
	r->wheels = realloc(r->wheels, (r->wheel_count + 1) * sizeof(*r->wheels));
	if (!r->wheels)
		abort();
	out = &r->wheels[r->wheel_count++];
	memset(out, 0, sizeof(*out));
	out->filename = filename;
	filename = NULL;
	out->url = url ? xstrdup(url) : NULL;
	out->path = path ? (path[0] == '/' ? xstrdup(path) : fs_path_join(lk->dir, path)) : NULL;
	for (size_t i = 0; i < 64; i++)
		out->sha256[i] = (char)tolower((unsigned char)sha[i]);
	out->sha256[64] = '\0';
	out->size = bytes;
	add_hash(&r->sha256, &r->sha256_count, out->sha256);
out:
	free(filename);
}

static void lock_package(struct lock_ctx *lk, const struct toml_node *pkg, size_t index)
{
	static const char *const known[] = {"name", "version", "marker", "requires-python", "dependencies", "vcs",
					    "directory", "archive", "index", "sdist", "wheels",
					    "attestation-identities", "tool", NULL};
	static const char *const sources[] = {"vcs", "directory", "archive"};
	static const char *const source_what[] = {"a VCS checkout", "a local directory", "an archive"};
	char where[300];
	const char *name, *version, *index_url;
	const struct toml_node *marker = toml_get(pkg, "marker"), *wheels;
	const struct toml_entry *wheels_entry;
	struct pyreq r, *prev;
	bool in_env = true, bad = false;
	size_t errors = lk->ld->diags->errors;

	memset(&r, 0, sizeof(r));
	if (pkg->type != TOML_TABLE) {
		lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col, "packages[%zu] must be a table", index);
		return;
	}
	snprintf(where, sizeof(where), "packages[%zu]: ", index);
	name = lock_string(lk, pkg, "name", where);
	if (!name) {
		if (!toml_get(pkg, "name"))
			lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col, "packages[%zu] has no name", index);
		return;
	}
	snprintf(where, sizeof(where), "package %s: ", name);
	warn_unknown_keys(lk, pkg, known, where);
	if (marker && !lock_marker(lk, marker, where, &in_env))
		return;
	if (!in_env)
		return; /* not for this target (PEP 751: skip to the next package) */
	version = lock_string(lk, pkg, "version", where);
	if (!version) {
		if (!toml_get(pkg, "version"))
			lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col, "package %s has no version: factory installs pinned "
								       "wheels only", name);
		return;
	}
	lock_requires_python(lk, toml_get_entry(pkg, "requires-python"), where);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		const struct toml_entry *e = toml_get_entry(pkg, sources[i]);
		if (e) {
			lock_diag(lk, DIAG_ERROR, e->line, e->col, "package %s comes from %s: factory installs wheels only",
				  name, source_what[i]);
			bad = true;
		}
	}
	wheels_entry = toml_get_entry(pkg, "wheels");
	wheels = wheels_entry ? wheels_entry->value : NULL;
	if (wheels && wheels->type != TOML_ARRAY) {
		lock_diag(lk, DIAG_ERROR, wheels_entry->line, wheels_entry->col, "%swheels must be an array of tables",
			  where);
		return;
	}
	if (!bad && toml_array_count(wheels) == 0) {
		if (toml_get(pkg, "sdist"))
			lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col, "package %s has only an sdist: factory installs wheels "
								       "only", name);
		else
			lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col, "package %s lists no wheels: factory installs wheels "
								       "only", name);
	}
	index_url = lock_string(lk, pkg, "index", where);
	r.name = xstrdup(name);
	r.version = xstrdup(version);
	r.index = index_url ? xstrdup(index_url) : NULL;
	r.file = xstrdup(lk->file);
	r.line = pkg->line;
	r.col = pkg->col;
	for (size_t i = 0; i < toml_array_count(wheels); i++)
		lock_wheel(lk, &r, toml_array_at(wheels, i), where);
	if (lk->ld->diags->errors > errors)
		goto out; /* reported; such a package is not installable */
	prev = find_package(lk->ld, name);
	if (prev) {
		lock_diag(lk, DIAG_ERROR, pkg->line, pkg->col,
			  "package %s is listed twice for the target (also at line %d); their markers must exclude each "
			  "other", name, prev->line);
		goto out;
	}
	if (add_package(lk->ld, &r, lk->file, pkg->line, pkg->col))
		memset(&r, 0, sizeof(r));
out:
	pyreq_free_one(&r);
}

static void lock_string_array(struct lock_ctx *lk, const struct toml_entry *e, char ***out, size_t *count)
{
	if (!e)
		return;
	if (e->value->type != TOML_ARRAY) {
		lock_diag(lk, DIAG_ERROR, e->line, e->col, "%s must be an array of strings", e->key);
		return;
	}
	for (size_t i = 0; i < e->value->count; i++) {
		const struct toml_node *s = e->value->items[i];
		if (s->type != TOML_STRING) {
			lock_diag(lk, DIAG_ERROR, s->line, s->col, "%s must be an array of strings", e->key);
			continue;
		}
		if (out) {
			*out = realloc(*out, (*count + 1) * sizeof(**out));
			if (!*out)
				abort();
			(*out)[(*count)++] = xstrdup(s->text);
		}
	}
}

static int read_lock(struct loader *ld, const char *path, struct error *err)
{
	static const char *const known[] = {"lock-version", "environments", "requires-python", "extras",
					    "dependency-groups", "default-groups", "created-by", "packages", "tool",
					    NULL};
	struct lock_ctx lk;
	struct toml_doc *doc = NULL;
	char *data = NULL;
	size_t size = 0;
	const struct toml_node *root;
	const struct toml_entry *version, *envs, *packages;
	int rc = -1;

	memset(&lk, 0, sizeof(lk));
	lk.ld = ld;
	lk.file = path;
	lk.dir = fs_dirname(path);
	lk.sets.enabled = true;
	if (fs_read_file(path, PYREQ_MAX_FILE, &data, &size, err))
		goto out;
	if (toml_parse(&doc, path, data, size, ld->diags, err)) {
		if (err->code == ERROR_INVALID)
			rc = 0; /* in diags already */
		goto out;
	}
	root = doc->root;
	warn_unknown_keys(&lk, root, known, "");

	version = toml_get_entry(root, "lock-version");
	if (!version) {
		lock_diag(&lk, DIAG_ERROR, 1, 1, "no lock-version: not a PEP 751 lock file");
	} else if (version->value->type != TOML_STRING) {
		lock_diag(&lk, DIAG_ERROR, version->line, version->col, "lock-version must be a string such as \"1.0\"");
	} else {
		const char *v = version->value->text;
		char *end;
		long major = strtol(v, &end, 10);
		if (end == v || (*end && *end != '.') || major != 1)
			lock_diag(&lk, DIAG_ERROR, version->value->line, version->value->col,
				  "lock-version \"%s\" is not supported (factory reads 1.x)", v);
		else if (strcmp(v, "1.0") != 0 && strcmp(v, "1") != 0)
			lock_diag(&lk, DIAG_WARNING, version->value->line, version->value->col,
				  "lock-version \"%s\" is newer than 1.0; keys factory does not know are ignored", v);
	}
	if (!toml_get(root, "created-by"))
		lock_diag(&lk, DIAG_WARNING, 1, 1, "no created-by (PEP 751 requires it)");
	else
		lock_string(&lk, root, "created-by", "");
	lock_string_array(&lk, toml_get_entry(root, "extras"), NULL, NULL);
	lock_string_array(&lk, toml_get_entry(root, "dependency-groups"), NULL, NULL);
	/* dependency_groups in markers is the default-groups set (PEP 751, "Installation"). */
	lock_string_array(&lk, toml_get_entry(root, "default-groups"), &lk.sets.groups, &lk.sets.group_count);
	lock_requires_python(&lk, toml_get_entry(root, "requires-python"), "");

	envs = toml_get_entry(root, "environments");
	if (envs && envs->value->type != TOML_ARRAY) {
		lock_diag(&lk, DIAG_ERROR, envs->line, envs->col, "environments must be an array of markers");
	} else if (envs && envs->value->count > 0) {
		bool any = false, all_ok = true;
		for (size_t i = 0; i < envs->value->count; i++) {
			bool v = false;
			if (!lock_marker(&lk, envs->value->items[i], "environments: ", &v))
				all_ok = false;
			any = any || v;
		}
		if (all_ok && !any) {
			char env[128];
			env_describe(ld->env, env, sizeof(env));
			lock_diag(&lk, DIAG_ERROR, envs->line, envs->col,
				  "the lock covers none of its environments for the target (%s)", env);
		}
	}

	packages = toml_get_entry(root, "packages");
	if (!packages) {
		lock_diag(&lk, DIAG_ERROR, 1, 1, "no [[packages]]: not a PEP 751 lock file");
	} else if (packages->value->type != TOML_ARRAY) {
		lock_diag(&lk, DIAG_ERROR, packages->line, packages->col, "packages must be an array of tables");
	} else {
		for (size_t i = 0; i < packages->value->count; i++)
			lock_package(&lk, packages->value->items[i], i);
	}
	rc = 0;
out:
	for (size_t i = 0; i < lk.sets.group_count; i++)
		free(lk.sets.groups[i]);
	free(lk.sets.groups);
	toml_free(doc);
	free(data);
	free(lk.dir);
	return rc;
}

/* pylock.toml, or pylock.<name>.toml (PEP 751, "File Name"). */
static bool is_lock_name(const char *path)
{
	const char *base = fs_basename(path);
	size_t len = strlen(base);

	if (strcmp(base, "pylock.toml") == 0)
		return true;
	if (len <= 12 || strncmp(base, "pylock.", 7) != 0 || strcmp(base + len - 5, ".toml") != 0)
		return false;
	return memchr(base + 7, '.', len - 12) == NULL;
}

int pyreq_load(const char *path, const struct pyreq_env *env, struct pyreq_set *out, struct diag_list *diags,
	       struct error *err)
{
	struct loader ld;
	size_t errors_before = diags->errors, added;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(&ld, 0, sizeof(ld));
	ld.env = env;
	ld.set = out;
	ld.diags = diags;
	rc = is_lock_name(path) ? read_lock(&ld, path, err) : read_requirements(&ld, path, err);
	if (rc == 0 && diags->errors > errors_before) {
		rc = error_set(err, ERROR_INVALID, "%s: the Python requirements have errors", path);
	}
	added = out->count;
	if (rc)
		pyreq_set_clear(out);
	for (size_t i = 0; i < added; i++)
		free(ld.keys[i]);
	free(ld.keys);
	return rc;
}
