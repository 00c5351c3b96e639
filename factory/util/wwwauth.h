/* wwwauth.h - WWW-Authenticate challenges (RFC 7235, section 4.1).
 *
 * A header holds one or more challenges: a scheme, then either a token68 or a comma-separated
 * list of name=value auth-params, a value being a token or a quoted-string with backslash
 * escapes. Scheme and parameter names are case-insensitive. Registries answer with Bearer
 * (a token service to ask) or Basic; a header offering both is read for Bearer.
 */
#ifndef FACTORY_WWWAUTH_H
#define FACTORY_WWWAUTH_H

#include "error.h"

enum wwwauth_scheme {
	WWWAUTH_OTHER = 0, /* only schemes factory does not speak (Negotiate, Digest ...) */
	WWWAUTH_BASIC,
	WWWAUTH_BEARER,
};

/* The chosen challenge's parameters, unescaped and malloc'd; NULL when absent. */
struct wwwauth_challenge {
	enum wwwauth_scheme scheme;
	char *realm;
	char *service;
	char *scope;
	char *error; /* "invalid_token", "insufficient_scope" (RFC 6750) */
};

/* Parses a whole header value and fills `out` from its Bearer challenge, else its Basic one
 * (scheme WWWAUTH_OTHER and no parameters when it has neither). A header that does not follow
 * the grammar fails with ERROR_INVALID and leaves `out` cleared. */
int wwwauth_parse(const char *header, struct wwwauth_challenge *out, struct error *err);
void wwwauth_challenge_clear(struct wwwauth_challenge *challenge);

#endif
