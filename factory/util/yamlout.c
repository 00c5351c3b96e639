#include "yamlout.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct buffer {
	char *data;
	size_t size;
	size_t capacity;
};

static int write_handler(void *ctx, unsigned char *data, size_t size)
{
	struct buffer *buf = ctx;

	if (buf->size + size + 1 > buf->capacity) {
		size_t cap = (buf->size + size + 1) * 2;
		char *p = realloc(buf->data, cap);
		if (!p)
			return 0;
		buf->data = p;
		buf->capacity = cap;
	}
	memcpy(buf->data + buf->size, data, size);
	buf->size += size;
	buf->data[buf->size] = '\0';
	return 1;
}

/* True when a plain scalar with this text would not be read back as this string. */
static int needs_quotes(const char *s)
{
	static const char *const reserved[] = {
		"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off",
		"Off", "OFF", ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf",
		"+.INF", ".nan", ".NaN", ".NAN", "<<", "=", NULL};
	const char *numberish = "0123456789abcdefABCDEFxXoO_.:+-";

	for (const char *const *r = reserved; *r; r++)
		if (strcmp(s, *r) == 0)
			return 1;
	/* Numbers in any YAML 1.1 or 1.2 spelling (1.20, 0x1F, 1_000, 1:20, 1e3) and timestamps
	 * (2024-01-01, 2024-05-01T10:00:00Z, "2024-05-01 10:00:00"): anything that starts like
	 * a number is quoted rather than guessed about. */
	if (strchr("0123456789+.", s[0]) || (s[0] == '-' && s[strspn(s, numberish)] == '\0'))
		return 1;
	return 0;
}

static int emit_scalar(yaml_emitter_t *em, const char *text, size_t len, yaml_scalar_style_t style,
		       int plain_ok)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, plain_ok, 1,
					  style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int emit_string(yaml_emitter_t *em, const char *s, size_t len)
{
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (memchr(s, '\n', len))
		style = YAML_LITERAL_SCALAR_STYLE;
	else if (strlen(s) != len || needs_quotes(s))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	return emit_scalar(em, s, len, style, style == YAML_ANY_SCALAR_STYLE);
}

static int emit_value(yaml_emitter_t *em, const json_t *v)
{
	yaml_event_t ev;
	char num[64];

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *child;
		int flow = json_object_size(v) == 0;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
							 flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_object_foreach((json_t *)v, key, child) {
			if (emit_string(em, key, strlen(key)) || emit_value(em, child))
				return -1;
		}
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *child;
		int flow = json_array_size(v) == 0;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
							  flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE) ||
		    !yaml_emitter_emit(em, &ev))
			return -1;
		json_array_foreach(v, i, child) {
			if (emit_value(em, child))
				return -1;
		}
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
			return -1;
		return 0;
	}
	case JSON_STRING:
		return emit_string(em, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE, 1);
	case JSON_REAL: {
		double d = json_real_value(v);
		/* The shortest text that reads back as the same double, independent of locale. */
		for (int precision = 1; precision <= 17; precision++) {
			snprintf(num, sizeof(num), "%.*g", precision, d);
			if (strtod(num, NULL) == d)
				break;
		}
		if (!strpbrk(num, ".e") && isfinite(d))
			strcat(num, ".0");
		return emit_scalar(em, num, strlen(num), YAML_PLAIN_SCALAR_STYLE, 1);
	}
	case JSON_TRUE:
		return emit_scalar(em, "true", 4, YAML_PLAIN_SCALAR_STYLE, 1);
	case JSON_FALSE:
		return emit_scalar(em, "false", 5, YAML_PLAIN_SCALAR_STYLE, 1);
	default:
		return emit_scalar(em, "null", 4, YAML_PLAIN_SCALAR_STYLE, 1);
	}
}

int yamlout_emit(const json_t *value, char **out, size_t *size, struct error *err)
{
	struct buffer buf = {0};
	yaml_emitter_t em;
	yaml_event_t ev;
	int rc = -1;

	*out = NULL;
	*size = 0;
	if (!yaml_emitter_initialize(&em))
		return error_set(err, ERROR_INTERNAL, "cannot initialise the YAML emitter");
	yaml_emitter_set_output(&em, write_handler, &buf);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1); /* never fold long lines: values stay greppable */
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_break(&em, YAML_LN_BREAK);
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(&em, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(&em, &ev))
		goto out;
	if (emit_value(&em, value))
		goto out;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&em, &ev))
		goto out;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&em, &ev))
		goto out;
	rc = 0;
out:
	if (rc) {
		error_set(err, ERROR_INTERNAL, "cannot emit YAML: %s", em.problem ? em.problem : "out of memory");
		free(buf.data);
	} else {
		*out = buf.data;
		*size = buf.size;
	}
	yaml_emitter_delete(&em);
	return rc;
}

/* ---- comments ------------------------------------------------------------------------------ */

static void splice(char **text, size_t *size, size_t at, const char *insert, size_t len)
{
	char *p = realloc(*text, *size + len + 1);

	if (!p)
		abort();
	memmove(p + at + len, p + at, *size - at + 1);
	memcpy(p + at, insert, len);
	*text = p;
	*size += len;
}

/* `prefix`, then the comment with its control characters replaced, then `suffix`. */
static char *comment_text(const char *prefix, const char *comment, const char *suffix)
{
	size_t n = strlen(prefix), c = strlen(comment);
	char *out = malloc(n + c + strlen(suffix) + 1);

	if (!out)
		abort();
	memcpy(out, prefix, n);
	for (size_t i = 0; i < c; i++)
		out[n + i] = (unsigned char)comment[i] < 0x20 || comment[i] == 0x7f ? '?' : comment[i];
	strcpy(out + n + c, suffix);
	return out;
}

void yamlout_prepend_comment(char **text, size_t *size, const char *comment)
{
	char *line = comment_text("# ", comment, "\n");

	splice(text, size, 0, line, strlen(line));
	free(line);
}

int yamlout_comment_line(char **text, size_t *size, const char *parent, const char *key, const char *comment,
			 struct error *err)
{
	size_t plen = strlen(parent), klen = strlen(key);
	bool inside = false;

	for (size_t at = 0; at < *size;) {
		char *line = *text + at, *nl = memchr(line, '\n', *size - at);
		size_t len = nl ? (size_t)(nl - line) : *size - at;
		if (len && line[0] != ' ' && line[0] != '#') {
			/* a top-level key (blank lines, which a block scalar may hold, are none): the
			 * block of `parent` starts, or it ended */
			inside = len == plen + 1 && strncmp(line, parent, plen) == 0 && line[plen] == ':';
		} else if (inside && len > klen + 4 && strncmp(line, "  ", 2) == 0 && strncmp(line + 2, key, klen) == 0 &&
			   strncmp(line + 2 + klen, ": ", 2) == 0 && !strchr("|>", line[klen + 4])) {
			char *add = comment_text(" # ", comment, "");
			splice(text, size, at + len, add, strlen(add));
			free(add);
			return 0;
		}
		at += len + 1;
	}
	return error_set(err, ERROR_INTERNAL, "cannot comment %s.%s: no such line in the YAML text", parent, key);
}
