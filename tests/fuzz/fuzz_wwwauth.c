/* libFuzzer entry point for the WWW-Authenticate parser (wwwauth_parse): any header must end
 * in a challenge or an error, never in a crash, a leak, undefined behaviour or a hang. What
 * it reads back holds no control character but HTAB, and the chosen challenge written out
 * again (values quoted and escaped) parses to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "util.h"
#include "wwwauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_value(const char *v)
{
	for (; v && *v; v++)
		if (((unsigned char)*v < 0x20 && *v != '\t') || *v == 0x7f)
			__builtin_trap();
}

static void add_param(struct strbuf *b, const char *name, const char *value)
{
	if (!value)
		return;
	strbuf_add(b, ", ", 2);
	strbuf_add(b, name, strlen(name));
	strbuf_add(b, "=\"", 2);
	for (const char *v = value; *v; v++) {
		if (*v == '"' || *v == '\\')
			strbuf_add(b, "\\", 1);
		strbuf_add(b, v, 1);
	}
	strbuf_add(b, "\"", 1);
}

static void check_round_trip(const struct wwwauth_challenge *c)
{
	struct strbuf b = {0};
	struct wwwauth_challenge again;
	struct error err = {0};
	const char *scheme = c->scheme == WWWAUTH_BEARER ? "bearer" : "BASIC";

	strbuf_add(&b, scheme, strlen(scheme));
	strbuf_add(&b, " x=y", 4);
	add_param(&b, "Realm", c->realm);
	add_param(&b, "SERVICE", c->service);
	add_param(&b, "scope", c->scope);
	add_param(&b, "error", c->error);
	if (wwwauth_parse(b.data, &again, &err) != 0 || again.scheme != c->scheme || !same(again.realm, c->realm) ||
	    !same(again.service, c->service) || !same(again.scope, c->scope) || !same(again.error, c->error))
		__builtin_trap();
	wwwauth_challenge_clear(&again);
	free(b.data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A header value reaches the parser as a C string, as http_transfer_header returns it. */
	char *header = malloc(size + 1);
	struct wwwauth_challenge c;
	struct error err = {0};

	if (!header)
		abort();
	memcpy(header, data, size);
	header[size] = '\0';
	if (wwwauth_parse(header, &c, &err) == 0) {
		if (c.scheme == WWWAUTH_OTHER) {
			if (c.realm || c.service || c.scope || c.error)
				__builtin_trap();
		} else if (c.scheme == WWWAUTH_BASIC || c.scheme == WWWAUTH_BEARER) {
			check_value(c.realm);
			check_value(c.service);
			check_value(c.scope);
			check_value(c.error);
			check_round_trip(&c);
		} else {
			__builtin_trap();
		}
	} else if (err.code != ERROR_INVALID || !err.message[0] || c.scheme != WWWAUTH_OTHER || c.realm || c.service ||
		   c.scope || c.error) {
		__builtin_trap();
	}
	wwwauth_challenge_clear(&c);
	free(header);
	return 0;
}
