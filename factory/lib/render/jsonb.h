/* jsonb.h - building JSON objects for rendering without checking every call.
 *
 * Rendered objects are small and built from values the recipe has already validated, so the
 * only way jansson can fail here is running out of memory: these wrappers abort then, which
 * keeps each builder a plain sequence of "set this key" lines.
 */
#ifndef FACTORY_RENDER_JSONB_H
#define FACTORY_RENDER_JSONB_H

#include <jansson.h>
#include <stdlib.h>

#include "recipe.h"

static inline json_t *jsonb_must(json_t *value)
{
	if (!value)
		abort();
	return value;
}

static inline json_t *jsonb_object(void)
{
	return jsonb_must(json_object());
}

static inline json_t *jsonb_array(void)
{
	return jsonb_must(json_array());
}

/* Takes the reference to `value`. */
static inline void jsonb_set(json_t *object, const char *key, json_t *value)
{
	if (json_object_set_new(object, key, value))
		abort();
}

static inline void jsonb_set_str(json_t *object, const char *key, const char *value)
{
	jsonb_set(object, key, jsonb_must(json_string(value)));
}

/* Takes the reference to `value`. */
static inline void jsonb_push(json_t *array, json_t *value)
{
	if (json_array_append_new(array, value))
		abort();
}

static inline void jsonb_push_str(json_t *array, const char *value)
{
	jsonb_push(array, jsonb_must(json_string(value)));
}

static inline json_t *jsonb_strings(const struct str_list *list)
{
	json_t *array = jsonb_array();

	for (size_t i = 0; i < list->count; i++)
		jsonb_push_str(array, list->items[i]);
	return array;
}

/* Sets `key` only when `value` holds something; an empty array or object is dropped, as
 * Kubernetes objects leave out empty lists rather than carrying `[]`. */
static inline void jsonb_set_nonempty(json_t *object, const char *key, json_t *value)
{
	if ((json_is_array(value) && json_array_size(value) == 0) ||
	    (json_is_object(value) && json_object_size(value) == 0))
		json_decref(value);
	else
		jsonb_set(object, key, value);
}

#endif
