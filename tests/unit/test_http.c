#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "unit.h"

static void check_redact(struct unit_state *s, const char *url, const char *want)
{
	char *got = http_url_redact(url);
	CHECK_STR(s, got, want);
	free(got);
}

/* What -v shows of a URL: never the userinfo, never a query value, never a fragment. */
static void test_url_redact(struct unit_state *s)
{
	check_redact(s, "https://repo.example.com/maven2/a/b.jar", "https://repo.example.com/maven2/a/b.jar");
	check_redact(s, "https://user:s3cret@repo.example.com:8443/p", "https://repo.example.com:8443/p");
	check_redact(s, "http://tok@h/p?x=1", "http://h/p?x=***");
	check_redact(s, "https://h/v2/r/blobs/uploads/u?_state=abc&digest=sha256:01",
		     "https://h/v2/r/blobs/uploads/u?_state=***&digest=***");
	check_redact(s, "https://h/token?service=reg&scope=repository:a:pull&scope=b",
		     "https://h/token?service=***&scope=***&scope=***");
	check_redact(s, "https://h/p?flag&k=&=v#frag", "https://h/p?flag&k=***&=***");
	check_redact(s, "https://h?a=b@c", "https://h?a=***");
	check_redact(s, "https://h/p@q", "https://h/p@q");
	check_redact(s, "file:///srv/maven/a.jar", "file:///srv/maven/a.jar");
	check_redact(s, "", "");
}

const struct unit_test http_tests[] = {
	{"http_url_redact", test_url_redact},
	{NULL, NULL},
};
