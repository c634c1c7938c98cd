/*
 * failure: what went wrong, as a value. See failure.h.
 */
#include "failure.h"

#include <stdarg.h>
#include <stdio.h>

int failure_set(struct failure *failure, enum failure_kind kind, const char *format, ...)
{
	va_list args;

	failure->kind = kind;
	failure->logged = false;
	va_start(args, format);
	/* A longer text is cut: it is one line for a person to read. */
	(void)vsnprintf(failure->text, sizeof failure->text, format, args);
	va_end(args);
	return -1;
}

int failure_logged(struct failure *failure, enum failure_kind kind)
{
	failure->kind = kind;
	failure->logged = true;
	failure->text[0] = '\0';
	return -1;
}
