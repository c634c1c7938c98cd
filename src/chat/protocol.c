/*
 * protocol: parsing, formatting and escaping chat messages. See protocol.h.
 * Every function here takes lengths, never relies on NUL terminators in its
 * input, and writes within the sizes it is given.
 */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

static const char challenge_before[] = "send \"/join ";
static const char welcome_start[] = "* welcome, you are ";
static const char welcome_timeout[] = "; idle timeout ";
static const char challenge_after[] = "\" to join\n";

/* True if the LENGTH bytes at TEXT are exactly WORD. */
static bool equals(const char *text, size_t length, const char *word)
{
	return length == strlen(word) && memcmp(text, word, length) == 0;
}

void chat_parse(const char *data, size_t length, struct chat_request *request)
{
	/* One line end ("\n" or "\r\n") at the very end belongs to the transport, not to the message. */
	if (length > 0 && data[length - 1] == '\n') {
		length--;
		if (length > 0 && data[length - 1] == '\r')
			length--;
	}

	*request = (struct chat_request){.kind = CHAT_MESSAGE, .argument = data, .length = length};
	if (length == 0) {
		request->kind = CHAT_EMPTY;
		return;
	}
	if (equals(data, length, "END")) {
		request->kind = CHAT_QUIT;
		return;
	}
	if (data[0] != '/')
		return;
	if (length > 1 && data[1] == '/') {
		request->argument = data + 1; /* "//text" is the message "/text" */
		request->length = length - 1;
		return;
	}

	/* A command: the word up to the first blank, then the argument, blanks trimmed. */
	size_t word = 1;
	while (word < length && data[word] != ' ' && data[word] != '\t')
		word++;
	size_t start = word, end = length;
	while (start < end && (data[start] == ' ' || data[start] == '\t'))
		start++;
	while (end > start && (data[end - 1] == ' ' || data[end - 1] == '\t'))
		end--;
	request->argument = data + start;
	request->length = end - start;

	if (equals(data, word, "/join")) {
		request->kind = CHAT_JOIN;
	} else if (equals(data, word, "/nick")) {
		request->kind = chat_name_valid(data + start, end - start) ? CHAT_NICK : CHAT_BAD_NICK;
	} else if (equals(data, word, "/who")) {
		request->kind = CHAT_WHO;
	} else if (equals(data, word, "/quit")) {
		request->kind = CHAT_QUIT;
	} else if (equals(data, word, "/ping")) {
		request->kind = CHAT_PING;
	} else {
		request->kind = CHAT_UNKNOWN;
		request->argument = data;
		request->length = word;
	}
}

bool chat_name_valid(const char *name, size_t length)
{
	if (length == 0 || length > CHAT_NAME_MAX)
		return false;
	for (size_t i = 0; i < length; i++) {
		char c = name[i];
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		bool digit = c >= '0' && c <= '9';
		/* No ':' or '>' or blanks: a name can never pass for an address or a prefix. */
		if (!letter && !digit && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

size_t chat_format_relay(const char *prefix, const char *text, size_t length, char *out,
			 size_t size)
{
	size_t prefix_length = strlen(prefix);
	size_t written = 0;
	size_t start = 0;

	/*
	 * Every line gets the prefix, so that a member cannot start a line of its
	 * own that looks like another member's, or like a server notice.
	 */
	for (;;) {
		const char *newline = memchr(text + start, '\n', length - start);
		size_t end = newline != NULL ? (size_t)(newline - text) : length;
		size_t line = end - start;
		if (size - written < prefix_length + 3 + line + 1)
			return 0;
		memcpy(out + written, prefix, prefix_length);
		written += prefix_length;
		memcpy(out + written, ">> ", 3);
		written += 3;
		memcpy(out + written, text + start, line);
		written += line;
		out[written++] = '\n';
		if (newline == NULL)
			return written;
		start = end + 1;
	}
}

/*
 * The length of the valid UTF-8 sequence at IN (at most LENGTH bytes), or 0 if
 * it is not one: no overlong forms, no surrogates, nothing past U+10FFFF.
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

bool chat_text_valid(const char *text, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)text;
	unsigned long code;

	for (size_t i = 0; i < length;) {
		if (bytes[i] == 0)
			return false;
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

size_t chat_escape(const char *in, size_t length, char *out)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *bytes = (const unsigned char *)in;
	size_t written = 0;

	for (size_t i = 0; i < length;) {
		unsigned char c = bytes[i];
		unsigned long code;
		size_t sequence;
		if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f && c != '\\')) {
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

size_t chat_welcome(const char *label, size_t members, unsigned long idle_timeout, char *out,
		    size_t size)
{
	int length = snprintf(out, size, "%s%s (%zu member%s%s%lu s)\n", welcome_start, label,
			      members, members == 1 ? "" : "s", welcome_timeout, idle_timeout);
	return length < 0 || (size_t)length >= size ? 0 : (size_t)length;
}

bool chat_welcome_timeout(const char *data, size_t length, unsigned long *idle_timeout)
{
	size_t start = sizeof welcome_start - 1, marker = sizeof welcome_timeout - 1;

	if (length < start || memcmp(data, welcome_start, start) != 0)
		return false;
	/* The last "; idle timeout " in the line (a label cannot contain ';'), then digits. */
	size_t found = 0;
	for (size_t i = start; i + marker <= length; i++)
		if (memcmp(data + i, welcome_timeout, marker) == 0)
			found = i + marker;
	if (found == 0 || found >= length || data[found] < '0' || data[found] > '9')
		return false;
	unsigned long value = 0;
	for (size_t j = found; j < length && data[j] >= '0' && data[j] <= '9'; j++) {
		if (value > 1000000)
			return false;
		value = value * 10 + (unsigned long)(data[j] - '0');
	}
	*idle_timeout = value;
	return true;
}

size_t chat_challenge(const char *token, char *out, size_t size)
{
	int length = snprintf(out, size, "%s%s%s", challenge_before, token, challenge_after);
	return length < 0 || (size_t)length >= size ? 0 : (size_t)length;
}

bool chat_challenge_token(const char *data, size_t length, char token[CHAT_TOKEN_LENGTH + 1])
{
	size_t before = sizeof challenge_before - 1, after = sizeof challenge_after - 1;

	if (length != before + CHAT_TOKEN_LENGTH + after ||
	    memcmp(data, challenge_before, before) != 0 ||
	    memcmp(data + before + CHAT_TOKEN_LENGTH, challenge_after, after) != 0)
		return false;
	for (size_t i = 0; i < CHAT_TOKEN_LENGTH; i++) {
		char c = data[before + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		token[i] = c;
	}
	token[CHAT_TOKEN_LENGTH] = '\0';
	return true;
}
