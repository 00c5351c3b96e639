/* pyversion.h - Python package versions and version specifiers (PEP 440).
 *
 * Used to evaluate environment markers (python_version >= "3.9") and requires-python
 * constraints against a target interpreter; knows nothing about packages or images.
 */
#ifndef FACTORY_PYVERSION_H
#define FACTORY_PYVERSION_H

#include <stdbool.h>

#include "error.h"

/* PEP 440 ordering of two versions ("1.0.post1" < "1.1a1" < "1.1"); -1, 0, 1. Unparsable versions compare as strings after parsable ones. */
int pyversion_compare(const char *a, const char *b);

/* Whether `version` satisfies a PEP 440 specifier set such as ">=3.8, <4", "==3.11.*", "~=3.9", "!=3.10.*", "===x"; an empty set is satisfied. Returns -1 (with err naming the bad clause) when the set cannot be parsed. */
int pyversion_satisfies(const char *version, const char *specifiers, bool *result, struct error *err);

#endif
