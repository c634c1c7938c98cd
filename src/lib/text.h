/*
 * text: bytes that will be shown to a person. UTF-8 checking, escaping of
 * what could drive a terminal, and the plural "s". Pure functions.
 */
#ifndef FORKNET_TEXT_H
#define FORKNET_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True if TEXT (LENGTH bytes) is valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF). NUL bytes are valid UTF-8.
 */
bool text_utf8_valid(const char *text, size_t length);

/* The room text_escape needs for LENGTH bytes of input, its terminating NUL included. */
#define TEXT_ESCAPE_SIZE(length) (4 * (length) + 1)

/*
 * Writes IN (LENGTH bytes) to OUT (TEXT_ESCAPE_SIZE(LENGTH) bytes) so that it
 * cannot drive a terminal: newline and tab stay; other control characters
 * (C0, DEL, and C1 as UTF-8 or as raw bytes), the bidirectional overrides
 * and isolates (U+202A-U+202E, U+2066-U+2069), bytes that are not valid
 * UTF-8, and the backslash itself are written as \xNN per byte (the
 * backslash as \\). Other valid UTF-8 text passes unchanged. Returns the
 * length written; OUT is NUL-terminated.
 */
size_t text_escape(const char *in, size_t length, char *out);

/* As text_escape, for text that must stay on one line: newline and tab are escaped too. */
size_t text_escape_line(const char *in, size_t length, char *out);

/* "s" after a count other than one. */
const char *text_plural(unsigned long long count);

/* ONE for a count of one, else MANY: text_noun(n, "child", "children"). */
const char *text_noun(unsigned long long count, const char *one, const char *many);

#endif
