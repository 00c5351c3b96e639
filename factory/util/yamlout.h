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

/* libyaml's emitter writes no comments: these edit the text yamlout_emit made (*text,
 * *size; reallocated). Control characters in `comment` become '?', so a comment stays one
 * line. */

/* Puts `# comment` as the first line. */
void yamlout_prepend_comment(char **text, size_t *size, const char *comment);
/* Appends ` # comment` to the line of `key` inside the top-level mapping `parent` (e.g.
 * "spec", "image": the line `  image: ...`), which must hold a scalar. -1 (ERROR_INTERNAL)
 * when there is no such line. */
int yamlout_comment_line(char **text, size_t *size, const char *parent, const char *key, const char *comment,
			 struct error *err);

#endif
