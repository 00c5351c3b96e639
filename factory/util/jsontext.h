/* jsontext.h - JSON strings from C strings that need not be UTF-8.
 *
 * jansson refuses a string that is not UTF-8 (a legacy or hostile file name), and a key set
 * to that refusal silently disappears from the document. Here the bytes that do not decode
 * are written as \ooo instead, the way factory's human output shows them, so every document
 * keeps its shape.
 */
#ifndef FACTORY_JSONTEXT_H
#define FACTORY_JSONTEXT_H

#include <jansson.h>

/* A JSON string of s (bytes that are not UTF-8 as \ooo); JSON null for NULL. */
json_t *jsontext_new(const char *s);

#endif
