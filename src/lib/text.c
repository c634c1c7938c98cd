/*
 * text: UTF-8 checking and terminal-safe escaping. See text.h.
 */
#include "text.h"

#include <string.h>

/*
 * The length of the valid UTF-8 sequence of two or more bytes at IN (at most
 * LENGTH bytes), or 0 if there is none there: no overlong forms, no
 * surrogates, nothing past U+10FFFF (the Unicode Standard's table 3-7).
 * *CODE gets the code point.
 */
static size_t utf8_sequence(const unsigned char *in, size_t length, unsigned long *code)
{
	unsigned char first = in[0];
	size_t size;
	unsigned long value, minimum;

	if (first >= 0xc2 && first <= 0xdf) {
		size = 2;
		value = first & 0x1f;
		minimum = 0x80;
	} else if (first >= 0xe0 && first <= 0xef) {
		size = 3;
		value = first & 0x0f;
		minimum = 0x800;
	} else if (first >= 0xf0 && first <= 0xf4) {
		size = 4;
		value = first & 0x07;
		minimum = 0x10000;
	} else {
		return 0;
	}
	if (length < size)
		return 0;
	for (size_t i = 1; i < size; i++) {
		if ((in[i] & 0xc0) != 0x80)
			return 0;
		value = (value << 6) | (in[i] & 0x3f);
	}
	if (value < minimum || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff))
		return 0;
	*code = value;
	return size;
}

bool text_utf8_valid(const char *text, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)text;
	unsigned long code;

	for (size_t i = 0; i < length;) {
		if (bytes[i] < 0x80) {
			i++;
			continue;
		}
		size_t sequence = utf8_sequence(bytes + i, length - i, &code);
		if (sequence == 0)
			return false;
		i += sequence;
	}
	return true;
}

/*
 * True for code points that steer a terminal rather than show: the C1
 * controls, and the bidirectional overrides and isolates, which can make text
 * read differently from what it is ("Trojan Source").
 */
static bool is_hidden_control(unsigned long code)
{
	return (code >= 0x80 && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) ||
	       (code >= 0x2066 && code <= 0x2069);
}

/* text_escape and text_escape_line: ONE_LINE escapes newline and tab too. */
static size_t escape(const char *in, size_t length, char *out, bool one_line)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bytes = (const unsigned char *)in;
	size_t written = 0;

	for (size_t i = 0; i < length;) {
		unsigned char c = bytes[i];
		unsigned long code;
		size_t sequence;
		if (((c == '\n' || c == '\t') && !one_line) || (c >= 0x20 && c < 0x7f && c != '\\')) {
			out[written++] = (char)c;
			i++;
		} else if (c == '\\') {
			out[written++] = '\\';
			out[written++] = '\\';
			i++;
		} else if (c >= 0x80 && (sequence = utf8_sequence(bytes + i, length - i, &code)) > 0 &&
			   !is_hidden_control(code)) {
			memcpy(out + written, bytes + i, sequence); /* printable UTF-8 text */
			written += sequence;
			i += sequence;
		} else {
			/* A control character, a C1 control, or a byte that is not UTF-8. */
			out[written++] = '\\';
			out[written++] = 'x';
			out[written++] = hex[c >> 4];
			out[written++] = hex[c & 0x0f];
			i++;
		}
	}
	out[written] = '\0';
	return written;
}

size_t text_escape(const char *in, size_t length, char *out)
{
	return escape(in, length, out, false);
}

size_t text_escape_line(const char *in, size_t length, char *out)
{
	return escape(in, length, out, true);
}

const char *text_plural(unsigned long long count)
{
	return count == 1 ? "" : "s";
}

const char *text_noun(unsigned long long count, const char *one, const char *many)
{
	return count == 1 ? one : many;
}
