/*
 * protocol: parsing, formatting and escaping chat messages. See protocol.h.
 * Every function here takes lengths, never relies on NUL terminators in its
 * input, and writes within the sizes it is given.
 */
#include "protocol.h"

#include <stdio.h>
#include <string.h>

#include "../lib/text.h"

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

bool chat_text_valid(const char *text, size_t length)
{
	return (length == 0 || memchr(text, '\0', length) == NULL) && text_utf8_valid(text, length);
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

/*
 * Writes the LENGTH bytes of COMMAND, blanks up to CHAT_PADDED_LENGTH - 1
 * bytes, and a newline into OUT (SIZE bytes, a NUL after them). Returns
 * CHAT_PADDED_LENGTH, or 0 if it does not fit.
 */
static size_t padded(const char *command, size_t length, char *out, size_t size)
{
	if (length > CHAT_PADDED_LENGTH - 1 || size < CHAT_PADDED_LENGTH + 1)
		return 0;
	memcpy(out, command, length);
	memset(out + length, ' ', CHAT_PADDED_LENGTH - 1 - length);
	out[CHAT_PADDED_LENGTH - 1] = '\n';
	out[CHAT_PADDED_LENGTH] = '\0';
	return CHAT_PADDED_LENGTH;
}

size_t chat_format_join(const char *token, char *out, size_t size)
{
	static const char join[] = "/join";
	char command[CHAT_PADDED_LENGTH];

	if (token == NULL)
		return padded(join, sizeof join - 1, out, size);
	size_t token_length = strlen(token);
	if (sizeof join + token_length > sizeof command)
		return 0;
	memcpy(command, join, sizeof join - 1);
	command[sizeof join - 1] = ' ';
	memcpy(command + sizeof join, token, token_length);
	return padded(command, sizeof join + token_length, out, size);
}

size_t chat_format_ping(char *out, size_t size)
{
	return padded("/ping", 5, out, size);
}

size_t chat_format_nick(const char *name, char *out, size_t size)
{
	size_t length = strlen(name);

	if (!chat_name_valid(name, length))
		return 0;
	int written = snprintf(out, size, "/nick %s\n", name);
	return written < 0 || (size_t)written >= size ? 0 : (size_t)written;
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
