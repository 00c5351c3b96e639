/* pyversion.c - PEP 440 versions and specifiers.
 *
 * Versions are parsed with the normalisations PEP 440 allows (case, a leading "v", "alpha"
 * for "a", "-1" for ".post1", optional separators and numbers), and ordered and matched the
 * way the `packaging` library does, because pip uses `packaging` to evaluate markers and
 * requires-python: a target must be judged here exactly as pip would judge it. Pre-releases
 * always match (pip evaluates markers and requires-python with prereleases=True).
 */
#include "pyversion.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Bounds for one version: real ones are far shorter, and fixed arrays keep parsing free of
 * allocation. */
#define PV_MAX_TEXT 256
#define PV_MAX_RELEASE 32

enum pv_pre { PV_PRE_NONE = -1, PV_PRE_A = 0, PV_PRE_B = 1, PV_PRE_RC = 2 };

struct pv {
	unsigned long long epoch;
	unsigned long long release[PV_MAX_RELEASE];
	size_t release_count;
	int pre; /* enum pv_pre */
	unsigned long long pre_num;
	bool has_post;
	unsigned long long post;
	bool has_dev;
	unsigned long long dev;
	char local[PV_MAX_TEXT]; /* lower case, segments joined by '.'; "" when there is none */
};

static bool is_sep(char c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool read_num(const char **p, unsigned long long *out)
{
	const char *s = *p;
	unsigned long long v = 0;

	if (!is_digit(*s))
		return false;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (ULLONG_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

/* A word such as "post" with its optional separator before and number after ("1.0-post.2"). */
static bool read_tagged(const char **p, const char *word, unsigned long long *num)
{
	const char *q = *p;
	size_t len = strlen(word);

	if (is_sep(*q))
		q++;
	if (strncmp(q, word, len) != 0)
		return false;
	q += len;
	*num = 0;
	if (is_sep(*q) && is_digit(q[1]))
		q++;
	if (is_digit(*q) && !read_num(&q, num))
		return false;
	*p = q;
	return true;
}

static bool pv_parse(const char *text, struct pv *v)
{
	/* Longer spellings first, so "preview" is not read as "pre" followed by "view". */
	static const struct {
		const char *word;
		int kind;
	} pre_words[] = {{"alpha", PV_PRE_A}, {"beta", PV_PRE_B}, {"preview", PV_PRE_RC}, {"pre", PV_PRE_RC},
			 {"rc", PV_PRE_RC},     {"a", PV_PRE_A},     {"b", PV_PRE_B},          {"c", PV_PRE_RC}};
	static const char *const post_words[] = {"post", "rev", "r"};
	char buf[PV_MAX_TEXT];
	const char *p;
	size_t len, n = 0;
	unsigned long long num;

	memset(v, 0, sizeof(*v));
	v->pre = PV_PRE_NONE;
	if (!text)
		return false;
	while (is_space(*text))
		text++;
	len = strlen(text);
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return false;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)text[i]);
	buf[len] = '\0';

	p = buf;
	if (*p == 'v')
		p++;
	if (!read_num(&p, &num))
		return false;
	if (*p == '!') {
		v->epoch = num;
		p++;
		if (!read_num(&p, &num))
			return false;
	}
	v->release[v->release_count++] = num;
	while (*p == '.' && is_digit(p[1])) {
		p++;
		if (v->release_count == PV_MAX_RELEASE || !read_num(&p, &num))
			return false;
		v->release[v->release_count++] = num;
	}

	for (size_t i = 0; i < sizeof(pre_words) / sizeof(pre_words[0]); i++) {
		if (read_tagged(&p, pre_words[i].word, &v->pre_num)) {
			v->pre = pre_words[i].kind;
			break;
		}
	}

	if (*p == '-' && is_digit(p[1])) {
		p++;
		if (!read_num(&p, &v->post))
			return false;
		v->has_post = true;
	} else {
		for (size_t i = 0; i < sizeof(post_words) / sizeof(post_words[0]); i++) {
			if (read_tagged(&p, post_words[i], &v->post)) {
				v->has_post = true;
				break;
			}
		}
	}

	if (read_tagged(&p, "dev", &v->dev))
		v->has_dev = true;

	if (*p == '+') {
		p++;
		for (;;) {
			size_t seg = 0;
			while (isalnum((unsigned char)*p) && n + 1 < sizeof(v->local)) {
				v->local[n++] = *p++;
				seg++;
			}
			if (seg == 0)
				return false;
			if (!is_sep(*p))
				break;
			v->local[n++] = '.';
			p++;
		}
		v->local[n] = '\0';
	}
	return *p == '\0';
}

static int cmp_ull(unsigned long long a, unsigned long long b)
{
	return a < b ? -1 : a > b;
}

static int cmp_int(int a, int b)
{
	return a < b ? -1 : a > b;
}

static int cmp_release(const struct pv *a, const struct pv *b)
{
	size_t n = a->release_count > b->release_count ? a->release_count : b->release_count;
	int c;

	if ((c = cmp_ull(a->epoch, b->epoch)))
		return c;
	/* Missing components are zeros: 1.0 == 1.0.0. */
	for (size_t i = 0; i < n; i++) {
		unsigned long long x = i < a->release_count ? a->release[i] : 0;
		unsigned long long y = i < b->release_count ? b->release[i] : 0;
		if ((c = cmp_ull(x, y)))
			return c;
	}
	return 0;
}

/* Where the pre-release part puts a version: a bare dev release (1.0.dev1) sorts before the
 * pre-releases of its release, a version without pre-release after them. */
static int pre_rank(const struct pv *v)
{
	if (v->pre != PV_PRE_NONE)
		return 0;
	return !v->has_post && v->has_dev ? -1 : 1;
}

/* Ordering without the local label. */
static int cmp_public(const struct pv *a, const struct pv *b)
{
	int c;

	if ((c = cmp_release(a, b)))
		return c;
	if ((c = cmp_int(pre_rank(a), pre_rank(b))))
		return c;
	if (pre_rank(a) == 0) {
		if ((c = cmp_int(a->pre, b->pre)) || (c = cmp_ull(a->pre_num, b->pre_num)))
			return c;
	}
	/* No post-release sorts before any post-release... */
	if ((c = cmp_int(a->has_post, b->has_post)))
		return c;
	if (a->has_post && (c = cmp_ull(a->post, b->post)))
		return c;
	/* ...and no dev release after any dev release. */
	if ((c = cmp_int(b->has_dev, a->has_dev)))
		return c;
	if (a->has_dev && (c = cmp_ull(a->dev, b->dev)))
		return c;
	return 0;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_digit(s[i]))
			return false;
	return true;
}

/* Local labels: none sorts first; segment by segment, numbers by value and above words,
 * words alphabetically; a label that is a prefix of another sorts first. */
static int cmp_local(const char *a, const char *b)
{
	if (!*a || !*b)
		return cmp_int(*a != '\0', *b != '\0');
	for (;;) {
		size_t la = strcspn(a, "."), lb = strcspn(b, ".");
		bool na = all_digits(a, la), nb = all_digits(b, lb);
		int c;

		if (na && nb) {
			const char *x = a, *y = b;
			size_t lx = la, ly = lb;
			while (lx > 1 && *x == '0')
				x++, lx--;
			while (ly > 1 && *y == '0')
				y++, ly--;
			c = lx != ly ? cmp_ull(lx, ly) : memcmp(x, y, lx);
		} else if (na != nb) {
			c = na ? 1 : -1;
		} else {
			c = memcmp(a, b, la < lb ? la : lb);
			if (!c)
				c = cmp_ull(la, lb);
		}
		if (c)
			return c < 0 ? -1 : 1;
		a += la;
		b += lb;
		if (!*a || !*b)
			return cmp_int(*a != '\0', *b != '\0');
		a++;
		b++;
	}
}

int pyversion_compare(const char *a, const char *b)
{
	struct pv va, vb;
	bool pa = pv_parse(a, &va), pb = pv_parse(b, &vb);
	int c;

	if (pa && pb) {
		c = cmp_public(&va, &vb);
		return c ? c : cmp_local(va.local, vb.local);
	}
	if (pa != pb)
		return pa ? -1 : 1;
	c = strcmp(a ? a : "", b ? b : "");
	return c < 0 ? -1 : c > 0;
}

enum pv_op { OP_COMPATIBLE, OP_EQ, OP_NE, OP_LE, OP_GE, OP_LT, OP_GT, OP_ARBITRARY };

struct pv_clause {
	enum pv_op op;
	bool wildcard;
	struct pv version;
	char text[PV_MAX_TEXT]; /* the version as written, for === */
};

static bool is_prerelease(const struct pv *v)
{
	return v->pre != PV_PRE_NONE || v->has_dev;
}

/* ==1.2.* : the same epoch, and the candidate's release (padded with zeros) starts with 1.2;
 * the candidate's pre/post/dev parts and local label do not matter. */
static bool prefix_matches(const struct pv *cand, const struct pv *prefix)
{
	if (cand->epoch != prefix->epoch)
		return false;
	for (size_t i = 0; i < prefix->release_count; i++) {
		unsigned long long c = i < cand->release_count ? cand->release[i] : 0;
		if (c != prefix->release[i])
			return false;
	}
	return true;
}

static bool clause_matches(const struct pv_clause *cl, const char *text, const struct pv *cand, bool parsed)
{
	const struct pv *spec = &cl->version;
	struct pv prefix;

	if (cl->op == OP_ARBITRARY) {
		size_t len;
		while (is_space(*text))
			text++;
		len = strlen(text);
		while (len > 0 && is_space(text[len - 1]))
			len--;
		return len == strlen(cl->text) && strncasecmp(text, cl->text, len) == 0;
	}
	if (!parsed)
		return false;
	switch (cl->op) {
	case OP_EQ:
	case OP_NE: {
		bool eq;
		if (cl->wildcard)
			eq = prefix_matches(cand, spec);
		else if (spec->local[0])
			eq = cmp_public(cand, spec) == 0 && cmp_local(cand->local, spec->local) == 0;
		else
			eq = cmp_public(cand, spec) == 0; /* the candidate's local label is ignored */
		return cl->op == OP_EQ ? eq : !eq;
	}
	case OP_LE:
		return cmp_public(cand, spec) <= 0;
	case OP_GE:
		return cmp_public(cand, spec) >= 0;
	case OP_LT:
		/* <3.1 does not admit 3.1.0a1 unless the bound is itself a pre-release. */
		if (cmp_public(cand, spec) >= 0)
			return false;
		return is_prerelease(spec) || !is_prerelease(cand) || cmp_release(cand, spec) != 0;
	case OP_GT:
		/* >3.1 does not admit 3.1.post1 (unless the bound is a post-release) nor 3.1+local. */
		if (cmp_public(cand, spec) <= 0)
			return false;
		if (!spec->has_post && cand->has_post && cmp_release(cand, spec) == 0)
			return false;
		return !(cand->local[0] && cmp_release(cand, spec) == 0);
	case OP_COMPATIBLE:
		/* ~=2.2.post3 means >=2.2.post3, ==2.*. */
		if (cmp_public(cand, spec) < 0)
			return false;
		prefix = *spec;
		prefix.release_count--;
		return prefix_matches(cand, &prefix);
	case OP_ARBITRARY:
		break;
	}
	return false;
}

static int clause_parse(const char *clause, struct pv_clause *cl, struct error *err)
{
	static const struct {
		const char *text;
		enum pv_op op;
	} ops[] = {{"===", OP_ARBITRARY}, {"~=", OP_COMPATIBLE}, {"==", OP_EQ}, {"!=", OP_NE},
		   {"<=", OP_LE},         {">=", OP_GE},         {"<", OP_LT},  {">", OP_GT}};
	const char *p = clause;
	size_t len;
	const char *why = NULL;

	memset(cl, 0, sizeof(*cl));
	for (size_t i = 0;; i++) {
		if (i == sizeof(ops) / sizeof(ops[0]))
			return error_set(err, ERROR_INVALID, "'%s' is not a version specifier: no comparison operator",
					 clause);
		if (strncmp(p, ops[i].text, strlen(ops[i].text)) == 0) {
			cl->op = ops[i].op;
			p += strlen(ops[i].text);
			break;
		}
	}
	while (is_space(*p))
		p++;
	len = strlen(p);
	if (len == 0)
		return error_set(err, ERROR_INVALID, "'%s' is not a version specifier: no version", clause);
	if (len >= sizeof(cl->text))
		return error_set(err, ERROR_INVALID, "'%.40s...' is not a version specifier: too long", clause);
	memcpy(cl->text, p, len + 1);
	if (cl->op == OP_ARBITRARY) {
		if (strpbrk(cl->text, " \t"))
			why = "spaces in the version";
		goto out;
	}
	if ((cl->op == OP_EQ || cl->op == OP_NE) && len > 2 && strcmp(cl->text + len - 2, ".*") == 0) {
		cl->wildcard = true;
		cl->text[len - 2] = '\0';
	}
	if (!pv_parse(cl->text, &cl->version)) {
		why = "not a PEP 440 version";
	} else if (cl->wildcard && (cl->version.pre != PV_PRE_NONE || cl->version.has_post || cl->version.has_dev ||
				    cl->version.local[0])) {
		why = "'.*' follows a release number only";
	} else if (cl->op != OP_EQ && cl->op != OP_NE && cl->version.local[0]) {
		why = "a local version label is allowed with == and != only";
	} else if (cl->op == OP_COMPATIBLE && cl->version.release_count < 2) {
		why = "~= needs at least two release numbers";
	}
out:
	if (why)
		return error_set(err, ERROR_INVALID, "'%s' is not a version specifier: %s", clause, why);
	return 0;
}

int pyversion_satisfies(const char *version, const char *specifiers, bool *result, struct error *err)
{
	struct pv cand;
	struct pv_clause cl;
	bool parsed = pv_parse(version, &cand), all = true;
	const char *p = specifiers ? specifiers : "";

	*result = false;
	/* Empty clauses are skipped, as packaging does (">=3.8," is accepted). */
	while (*p) {
		char clause[PV_MAX_TEXT + 8];
		size_t len = strcspn(p, ",");
		const char *start = p, *end = p + len;

		p = *end ? end + 1 : end;
		while (start < end && is_space(*start))
			start++;
		while (end > start && is_space(end[-1]))
			end--;
		if (start == end)
			continue;
		if ((size_t)(end - start) >= sizeof(clause))
			return error_set(err, ERROR_INVALID, "'%.40s...' is not a version specifier: too long", start);
		memcpy(clause, start, (size_t)(end - start));
		clause[end - start] = '\0';
		if (clause_parse(clause, &cl, err))
			return -1;
		if (!clause_matches(&cl, version ? version : "", &cand, parsed))
			all = false;
	}
	*result = all;
	return 0;
}
