#include "wwwauth.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* RFC 7230 tchar, in ASCII whatever the locale. */
static bool is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 7235 token68 characters, '=' padding aside. */
static bool is_token68(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("-._~+/", c));
}

/* What a quoted-string may hold, escaped or not: HTAB, SP, VCHAR, obs-text. */
static bool is_qtext(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static size_t token_length(const char *p)
{
	size_t n = 0;

	while (is_tchar((unsigned char)p[n]))
		n++;
	return n;
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

static int syntax_error(struct error *err, const char *header, const char *at, const char *what)
{
	return error_set(err, ERROR_INVALID, "WWW-Authenticate: %s at byte %zu", what, (size_t)(at - header));
}

/* Reads the quoted-string at *pp (on its opening quote) into a malloc'd, unescaped copy. */
static int read_quoted(const char *header, const char **pp, char **out, struct error *err)
{
	const char *p = *pp + 1;
	struct strbuf value = {0};

	while (*p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c == '\\') {
			c = (unsigned char)p[1];
			if (!is_qtext(c)) {
				free(value.data);
				return syntax_error(err, header, p, c ? "a control character escaped" : "an unterminated quoted string");
			}
			p += 2;
		} else if (is_qtext(c)) {
			p++;
		} else {
			free(value.data);
			return syntax_error(err, header, p, c ? "a control character in a quoted string"
							     : "an unterminated quoted string");
		}
		strbuf_add(&value, &c, 1);
	}
	*pp = p + 1;
	*out = value.data ? value.data : xstrdup("");
	return 0;
}

/* Keeps the value of a parameter factory uses; the first of a repeated name wins (RFC 7235
 * allows each name once per challenge). Takes ownership of value. */
static void store_param(struct wwwauth_challenge *c, const char *name, size_t n, char *value)
{
	char **slot = name_is(name, n, "realm")	  ? &c->realm
		      : name_is(name, n, "service") ? &c->service
		      : name_is(name, n, "scope")   ? &c->scope
		      : name_is(name, n, "error")   ? &c->error
						    : NULL;

	if (slot && !*slot)
		*slot = value;
	else
		free(value);
}

/* Reads the auth-params of one challenge from *pp (on the first name). Stops at the end of
 * the header or in front of the next challenge's scheme: after a comma, a token that is not
 * followed by '=' starts a new challenge. */
static int parse_params(const char *header, const char **pp, struct wwwauth_challenge *c, struct error *err)
{
	const char *p = *pp;

	for (;;) {
		const char *name = p;
		size_t n = token_length(p);
		char *value = NULL;

		if (!n)
			return syntax_error(err, header, p, "a parameter name expected");
		p = skip_ows(p + n);
		if (*p != '=')
			return syntax_error(err, header, p, "'=' expected after a parameter name");
		p = skip_ows(p + 1);
		if (*p == '"') {
			if (read_quoted(header, &p, &value, err))
				return -1;
		} else {
			size_t v = token_length(p);
			if (!v)
				return syntax_error(err, header, p, "a parameter value expected");
			value = xasprintf("%.*s", (int)v, p);
			p += v;
		}
		store_param(c, name, n, value);
		p = skip_ows(p);
		if (*p && *p != ',')
			return syntax_error(err, header, p, "',' expected between parameters");
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		n = token_length(p);
		if (!*p || !n || *skip_ows(p + n) != '=')
			break;
	}
	*pp = p;
	return 0;
}

static enum wwwauth_scheme scheme_of(const char *name, size_t n)
{
	if (name_is(name, n, "Bearer"))
		return WWWAUTH_BEARER;
	if (name_is(name, n, "Basic"))
		return WWWAUTH_BASIC;
	return WWWAUTH_OTHER;
}

/* Bearer beats Basic, Basic beats anything else, and the first of a scheme wins. */
static void keep_better(struct wwwauth_challenge *best, struct wwwauth_challenge *c)
{
	if (c->scheme > best->scheme) {
		wwwauth_challenge_clear(best);
		*best = *c;
		memset(c, 0, sizeof(*c));
	} else {
		wwwauth_challenge_clear(c);
	}
}

int wwwauth_parse(const char *header, struct wwwauth_challenge *out, struct error *err)
{
	struct wwwauth_challenge c = {0};
	const char *p = header;
	bool any = false;

	memset(out, 0, sizeof(*out));
	for (;;) {
		size_t n;

		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		n = token_length(p);
		if (!n) {
			syntax_error(err, header, p, "an authentication scheme expected");
			goto fail;
		}
		c.scheme = scheme_of(p, n);
		any = true;
		p += n;
		if (*p == ' ' || *p == '\t') {
			const char *data = skip_ows(p), *end = data;
			while (is_token68((unsigned char)*end))
				end++;
			if (end > data) {
				while (*end == '=')
					end++;
				end = skip_ows(end);
			}
			if (end > data && (*end == ',' || !*end)) {
				p = end; /* a token68 (Negotiate's blob): nothing factory reads */
			} else if (*data && *data != ',') {
				p = data;
				if (parse_params(header, &p, &c, err))
					goto fail;
			} else {
				p = data;
			}
		} else if (*p && *p != ',') {
			syntax_error(err, header, p, "a space or ',' expected after the scheme");
			goto fail;
		}
		keep_better(out, &c);
	}
	if (!any) {
		error_set(err, ERROR_INVALID, "WWW-Authenticate holds no challenge");
		goto fail;
	}
	return 0;
fail:
	wwwauth_challenge_clear(&c);
	wwwauth_challenge_clear(out);
	return -1;
}

void wwwauth_challenge_clear(struct wwwauth_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	free(c->error);
	memset(c, 0, sizeof(*c));
}
