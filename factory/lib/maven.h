/* maven.h - Maven coordinates and the repository layout. */
#ifndef FACTORY_MAVEN_H
#define FACTORY_MAVEN_H

#include <stdbool.h>

#include "error.h"

/* groupId:artifactId:version[:classifier][@extension] */
struct maven_coord {
	char *group;
	char *artifact;
	char *version;
	char *classifier; /* NULL when absent */
	char *extension;  /* "jar" unless given */
};

/* Parses and checks a coordinate. Every part is restricted to characters that are safe in a
 * URL path and a file name, so a coordinate can never climb out of a repository or cache. */
int maven_coord_parse(const char *text, struct maven_coord *coord, struct error *err);
void maven_coord_free(struct maven_coord *coord);

/* The artifact's path in a repository: group/as/dirs/artifact/version/artifact-version[-classifier].ext;
 * malloc'd. */
char *maven_coord_path(const struct maven_coord *coord);

/* The Flink minor a connector release was built for, from the `-<major>.<minor>` suffix of
 * its version ("3.3.0-1.19" -> 1, 19). False when the version has no such suffix. */
bool maven_flink_suffix(const char *version, int *major, int *minor);

#endif
