/* basefacts.h - what a base image contains, as far as factory's checks need to know: its
 * Python interpreter, the flink-python jar, the JARs under lib/, usrlib/ and plugins/, and its
 * C library (glibc version, or musl), which decides the wheels that can run on it.
 *
 * Each layer is scanned once (the facts are remembered per layer digest in the cache) and the
 * layers are applied in order as a container runtime would: a whiteout (.wh.<name>) deletes
 * what lies beneath, an opaque directory (.wh..wh..opq) hides all that lower layers put in
 * it. Names are read as stored, whatever the locale (see unarchive.h).
 */
#ifndef FACTORY_BASEFACTS_H
#define FACTORY_BASEFACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "base.h"
#include "cache.h"
#include "error.h"
#include "recipe.h"

struct base_facts {
	size_t unread;   /* layers left in the registry, not looked at */
	char python[64]; /* e.g. "usr/bin/python3.11", empty when none */
	bool flink_python_jar;
	char glibc[32];  /* "2.36"; empty when unknown */
	bool musl;
	char **jars; /* "lib/x.jar", "usrlib/y.jar", "plugins/p/z.jar" */
	size_t jar_count;
};

/* Reads the facts of every layer (downloading a lazy base's layers only when the recipe's
 * checks need them: a PyFlink job does, a Java job does not). */
int base_facts_read(struct base_facts *facts, const struct base_image *base, const struct recipe *recipe,
		    struct cache *cache, struct error *err);
void base_facts_clear(struct base_facts *facts);

#endif
