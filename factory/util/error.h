/* error.h - the error object every fallible function fills.
 *
 * Functions return 0 on success or a negative value on failure and describe the failure in
 * a caller-provided `struct error`. The library never prints: the command layer decides how
 * to show the message.
 */
#ifndef FACTORY_ERROR_H
#define FACTORY_ERROR_H

#include <stddef.h>

enum error_code {
	ERROR_NONE = 0,
	ERROR_IO = 1,      /* a file or directory operation failed; errno_value says why */
	ERROR_INVALID = 2, /* the input is wrong; diagnostics carry the details */
	ERROR_LIMIT = 3,   /* an input exceeds a safety bound */
	ERROR_INTERNAL = 4,
	ERROR_NOT_FOUND = 5,   /* the server or the file system has no such object (HTTP 404/410) */
	ERROR_AUTH = 6,        /* authentication failed or access was refused (HTTP 401/403) */
	ERROR_CONFLICT = 7,    /* someone else changed it first (a rejected push, a moved tag) */
	ERROR_INTERRUPTED = 8, /* the user asked us to stop (SIGINT, SIGTERM) */
	ERROR_NETWORK = 9,     /* a server could not be reached or kept failing */
};

struct error {
	enum error_code code;
	int errno_value;
	char message[1024];
};

/* Sets the error and returns -1, so callers can write `return error_set(err, ...);`. */
int error_set(struct error *err, enum error_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Like error_set with ERROR_IO, appending strerror(errno) to the message. */
int error_set_errno(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Puts context in front of the cause, keeping its code: "pushing x: <cause>" (as crun's
 * crun_error_wrap), so the reason a caller can branch on survives. */
int error_wrap(struct error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A short name of the code ("not found", "authentication"), for --json and messages. */
const char *error_code_name(enum error_code code);

void error_clear(struct error *err);

#endif
