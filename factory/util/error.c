#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(struct error *err, enum error_code code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	err->errno_value = 0;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int error_set_errno(struct error *err, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	if (!err)
		return -1;
	err->code = ERROR_IO;
	err->errno_value = saved;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	len = strlen(err->message);
	/* A full disk is the one cause whose remedy is not in the message already. */
	snprintf(err->message + len, sizeof(err->message) - len, ": %s%s", strerror(saved),
		 saved == ENOSPC || saved == EDQUOT ? " (free space on that file system, or write elsewhere)" : "");
	errno = saved;
	return -1;
}

int error_wrap(struct error *err, const char *fmt, ...)
{
	char context[512], cause[sizeof(err->message)];
	size_t n, c;
	va_list ap;

	if (!err)
		return -1;
	va_start(ap, fmt);
	vsnprintf(context, sizeof(context), fmt, ap);
	va_end(ap);
	memcpy(cause, err->message, sizeof(cause));
	/* context, ": ", then as much of the cause as fits */
	n = strlen(context);
	c = strnlen(cause, sizeof(cause) - 1);
	if (c > sizeof(err->message) - n - 3)
		c = sizeof(err->message) - n - 3;
	memcpy(err->message, context, n);
	memcpy(err->message + n, ": ", 2);
	memcpy(err->message + n + 2, cause, c);
	err->message[n + 2 + c] = '\0';
	if (err->code == ERROR_NONE)
		err->code = ERROR_INTERNAL;
	return -1;
}

const char *error_code_name(enum error_code code)
{
	static const char *const names[] = {
		[ERROR_NONE] = "none",       [ERROR_IO] = "io",           [ERROR_INVALID] = "invalid",
		[ERROR_LIMIT] = "limit",     [ERROR_INTERNAL] = "internal", [ERROR_NOT_FOUND] = "not-found",
		[ERROR_AUTH] = "auth",       [ERROR_CONFLICT] = "conflict", [ERROR_INTERRUPTED] = "interrupted",
		[ERROR_NETWORK] = "network",
	};
	return (size_t)code < sizeof(names) / sizeof(names[0]) && names[code] ? names[code] : "unknown";
}

void error_clear(struct error *err)
{
	if (!err)
		return;
	err->code = ERROR_NONE;
	err->errno_value = 0;
	err->message[0] = '\0';
}
