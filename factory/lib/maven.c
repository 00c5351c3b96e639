#include "maven.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static bool valid_part(const char *s, const char *extra)
{
	if (!*s || *s == '.' || *s == '-')
		return false;
	for (const char *p = s; *p; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			  *p == '.' || *p == '_' || *p == '-' || (extra && strchr(extra, *p));
		if (!ok)
			return false;
	}
	return strstr(s, "..") == NULL;
}

int maven_coord_parse(const char *text, struct maven_coord *coord, struct error *err)
{
	char *copy = strdup(text), *parts[4] = {0}, *ext = NULL, *p;
	size_t n = 0;

	memset(coord, 0, sizeof(*coord));
	if (!copy)
		abort();
	p = strchr(copy, '@');
	if (p) {
		*p = '\0';
		ext = p + 1;
	}
	for (p = copy; n < 4;) {
		parts[n++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (p || n < 3) {
		free(copy);
		return error_set(err, ERROR_INVALID,
				 "'%s' is not a Maven coordinate (groupId:artifactId:version[:classifier][@ext])",
				 text);
	}
	if (!valid_part(parts[0], NULL) || !valid_part(parts[1], NULL) || !valid_part(parts[2], "+") ||
	    (parts[3] && !valid_part(parts[3], NULL)) || (ext && !valid_part(ext, NULL))) {
		free(copy);
		return error_set(err, ERROR_INVALID,
				 "'%s' has characters a Maven coordinate cannot hold (letters, digits, '.', '_', '-')",
				 text);
	}
	coord->group = strdup(parts[0]);
	coord->artifact = strdup(parts[1]);
	coord->version = strdup(parts[2]);
	coord->classifier = parts[3] ? strdup(parts[3]) : NULL;
	coord->extension = strdup(ext ? ext : "jar");
	free(copy);
	if (!coord->group || !coord->artifact || !coord->version || !coord->extension ||
	    (parts[3] && !coord->classifier))
		abort();
	return 0;
}

void maven_coord_free(struct maven_coord *coord)
{
	free(coord->group);
	free(coord->artifact);
	free(coord->version);
	free(coord->classifier);
	free(coord->extension);
	memset(coord, 0, sizeof(*coord));
}

bool maven_flink_suffix(const char *version, int *major, int *minor)
{
	const char *dash = strrchr(version, '-');
	char *end;
	long a, b;

	if (!dash || dash[1] < '0' || dash[1] > '9')
		return false;
	a = strtol(dash + 1, &end, 10);
	if (*end != '.' || end[1] < '0' || end[1] > '9')
		return false;
	b = strtol(end + 1, &end, 10);
	if (*end || a < 1 || a > 9 || b < 0 || b > 99)
		return false;
	*major = (int)a;
	*minor = (int)b;
	return true;
}

char *maven_coord_path(const struct maven_coord *coord)
{
	char *group = xstrdup(coord->group), *path;

	for (char *p = group; *p; p++)
		if (*p == '.')
			*p = '/';
	path = xasprintf("%s/%s/%s/%s-%s%s%s.%s", group, coord->artifact, coord->version, coord->artifact,
			 coord->version, coord->classifier ? "-" : "", coord->classifier ? coord->classifier : "",
			 coord->extension);
	free(group);
	return path;
}
