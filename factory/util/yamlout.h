/* yamlout.h - JSON values emitted as YAML, structurally.
 *
 * Output goes through libyaml's emitter, never through string pasting, so no value can
 * change the document's shape. Strings that a YAML 1.1 or 1.2 reader would take for another
 * type ("true", "1.20", "0x1f", "2024-01-01", "~") are quoted; multi-line strings use block
 * style when libyaml allows it. Keys keep their insertion order, so output is stable.
 */
#ifndef FACTORY_YAMLOUT_H
#define FACTORY_YAMLOUT_H

#include <jansson.h>
#include <stddef.h>

#include "error.h"

/* Emits `value` as one YAML document into a malloc'd buffer. */
int yamlout_emit(const json_t *value, char **out, size_t *size, struct error *err);

#endif
