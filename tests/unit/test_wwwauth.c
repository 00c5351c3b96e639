#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "wwwauth.h"

#define CHECK_NULL(state, p) CHECK(state, (p) == NULL)

/* Docker Hub's answer to an anonymous manifest request. */
static void test_docker_hub(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
			       "scope=\"repository:library/flink:pull\"",
			       &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BEARER);
	CHECK_STR(s, c.realm, "https://auth.docker.io/token");
	CHECK_STR(s, c.service, "registry.docker.io");
	CHECK_STR(s, c.scope, "repository:library/flink:pull");
	CHECK_NULL(s, c.error);
	wwwauth_challenge_clear(&c);
}

/* distribution's htpasswd mode, ECR (a Basic challenge with a service) and a lowercase scheme. */
static void test_basic(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("Basic realm=\"Registry Realm\"", &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BASIC);
	CHECK_STR(s, c.realm, "Registry Realm");
	CHECK_NULL(s, c.service);
	wwwauth_challenge_clear(&c);

	CHECK(s, wwwauth_parse("Basic realm=\"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/\","
			       "service=\"ecr.amazonaws.com\"",
			       &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BASIC);
	CHECK_STR(s, c.service, "ecr.amazonaws.com");
	wwwauth_challenge_clear(&c);

	CHECK(s, wwwauth_parse("basic", &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BASIC);
	CHECK_NULL(s, c.realm);
	wwwauth_challenge_clear(&c);
}

/* Tokens as values (a ':' or '/' needs quotes), any case of names, optional whitespace
 * around '=' and ','. */
static void test_tokens_and_spacing(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("BEARER Realm=\"https://ghcr.io/token\" ,  SERVICE = ghcr.io,scope=\"repository:team/app:pull\","
			       "error=invalid_token",
			       &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BEARER);
	CHECK_STR(s, c.realm, "https://ghcr.io/token");
	CHECK_STR(s, c.service, "ghcr.io");
	CHECK_STR(s, c.scope, "repository:team/app:pull");
	CHECK_STR(s, c.error, "invalid_token");
	wwwauth_challenge_clear(&c);

	CHECK(s, wwwauth_parse("Bearer realm=https://h/token", &c, &err) < 0);
}

/* A quoted-string unescapes backslash pairs; an empty one is an empty value. */
static void test_escapes(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("Basic realm=\"the \\\"lab\\\" registry \\\\ \\x\", service=\"\"", &c, &err) == 0);
	CHECK_STR(s, c.realm, "the \"lab\" registry \\ x");
	CHECK_STR(s, c.service, "");
	wwwauth_challenge_clear(&c);
}

/* RFC 6750: a token lacking the scope asked for. */
static void test_error_param(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("Bearer realm=\"https://registry.example.com/service/token\",service=\"harbor-registry\","
			       "scope=\"repository:team/app:pull,push\",error=\"insufficient_scope\"",
			       &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BEARER);
	CHECK_STR(s, c.scope, "repository:team/app:pull,push");
	CHECK_STR(s, c.error, "insufficient_scope");
	wwwauth_challenge_clear(&c);
}

/* Several challenges: Bearer wins wherever it is, Basic over the rest; token68 skipped. */
static void test_several_challenges(struct unit_state *s)
{
	struct wwwauth_challenge c;
	struct error err = {0};

	CHECK(s, wwwauth_parse("Basic realm=\"basic\", Bearer realm=\"https://h/token\",service=\"h\"", &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BEARER);
	CHECK_STR(s, c.realm, "https://h/token");
	CHECK_STR(s, c.service, "h");
	wwwauth_challenge_clear(&c);

	CHECK(s, wwwauth_parse("Negotiate YIIB+w==, Basic realm=\"corp\", NTLM", &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_BASIC);
	CHECK_STR(s, c.realm, "corp");
	wwwauth_challenge_clear(&c);

	CHECK(s, wwwauth_parse("Negotiate, Digest realm=\"x\", nonce=\"abc\"", &c, &err) == 0);
	CHECK(s, c.scheme == WWWAUTH_OTHER);
	CHECK_NULL(s, c.realm);
	wwwauth_challenge_clear(&c);
}

/* What the grammar refuses; out is left cleared. */
static void test_malformed(struct unit_state *s)
{
	static const char *const bad[] = {
		"",
		" , ",
		"Bearer realm=\"https://h/token",
		"Bearer realm=\"a\\",
		"Bearer realm=\"x\" service=\"y\"",
		"Bearer realm=,service=x",
		"Bearer =x",
		"Bearer realm=\"x\", \"y\"",
		"Bearer realm=\"x\tok\x01\"",
		"Bearer;realm=x",
		NULL,
	};

	for (size_t i = 0; bad[i]; i++) {
		struct wwwauth_challenge c;
		struct error err = {0};
		if (wwwauth_parse(bad[i], &c, &err) == 0) {
			fprintf(stderr, "  accepted: '%s'\n", bad[i]);
			s->failures++;
		} else {
			CHECK(s, err.code == ERROR_INVALID);
		}
		CHECK(s, c.scheme == WWWAUTH_OTHER && !c.realm && !c.service && !c.scope && !c.error);
		wwwauth_challenge_clear(&c);
	}
}

const struct unit_test wwwauth_tests[] = {
	{"wwwauth_docker_hub", test_docker_hub},
	{"wwwauth_basic", test_basic},
	{"wwwauth_tokens_and_spacing", test_tokens_and_spacing},
	{"wwwauth_escapes", test_escapes},
	{"wwwauth_error_param", test_error_param},
	{"wwwauth_several_challenges", test_several_challenges},
	{"wwwauth_malformed", test_malformed},
	{NULL, NULL},
};
