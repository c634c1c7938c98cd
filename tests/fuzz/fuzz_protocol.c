/*
 * fuzz_protocol: a libFuzzer target for the chat's protocol functions
 * (src/chat/protocol.h), the code that reads datagrams from the network and
 * makes other members' text safe to print.
 *
 * Each input is one datagram, handed in a block of exactly its size (as
 * libFuzzer does), to:
 *   - chat_parse: the argument lies within the datagram; a name accepted by
 *     /nick is a valid name and a refused one is not; a message that starts
 *     with '/' came from "//"; an unknown command is the datagram's first
 *     word; adding a line end ("\n", or "\r\n") changes nothing;
 *   - chat_format_relay, into a buffer of CHAT_DATAGRAM_MAX bytes and into a
 *     tiny one: the length is exactly what the lines need, or 0 when they do
 *     not fit; every line starts with the prefix and ">> " and ends in "\n",
 *     and taking the prefixes away gives back the text;
 *   - text_escape: at most TEXT_ESCAPE_SIZE(n) - 1 bytes, NUL-terminated, no
 *     byte a terminal takes as a control (C0 but newline and tab, DEL, C1 in
 *     either form), well-formed UTF-8, and the escaping can be undone;
 *   - chat_challenge_token: a token is 8 lower-case hex digits, and
 *     chat_challenge gives back the datagram; a well-formed challenge is
 *     never refused;
 *   - chat_welcome_timeout: only a line that starts as a welcome is one, and
 *     chat_welcome's line, whatever its label, reads back its timeout.
 * A broken invariant prints which one and calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 *
 * Run: make fuzz [FUZZ_SECONDS=60], or by hand
 *   build-fuzz/fuzz_protocol -max_total_time=60 DIR tests/fuzz/corpus/protocol
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/protocol.h"
#include "lib/text.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* A global buffer: AddressSanitizer puts a red zone after it, too. */
static char relay[CHAT_DATAGRAM_MAX];

/* ---- chat_parse ---- */

static bool same_request(const struct chat_request *a, const char *a_data,
			 const struct chat_request *b, const char *b_data)
{
	return a->kind == b->kind && a->length == b->length &&
	       a->argument - a_data == b->argument - b_data;
}

static void check_parse(const char *text, size_t size)
{
	struct chat_request request;
	chat_parse(text, size, &request);

	uintptr_t begin = (uintptr_t)text, at = (uintptr_t)request.argument;
	CHECK(at >= begin && at <= begin + size);
	CHECK(request.length <= size && at - begin <= size - request.length);

	const char *argument = request.argument;
	switch (request.kind) {
	case CHAT_EMPTY:
		CHECK(request.length == 0 && size <= 2);
		break;
	case CHAT_MESSAGE:
		CHECK(request.length > 0);
		CHECK(argument == text || argument == text + 1);
		if (argument[0] == '/')
			CHECK(argument == text + 1 && text[0] == '/');
		break;
	case CHAT_NICK:
		CHECK(chat_name_valid(argument, request.length));
		CHECK(request.length >= 1 && request.length <= CHAT_NAME_MAX);
		break;
	case CHAT_BAD_NICK:
		CHECK(!chat_name_valid(argument, request.length));
		break;
	case CHAT_UNKNOWN:
		CHECK(argument == text && request.length > 0 && text[0] == '/');
		CHECK(memchr(argument, ' ', request.length) == NULL);
		break;
	case CHAT_JOIN:
	case CHAT_WHO:
	case CHAT_QUIT:
	case CHAT_PING:
		CHECK(text[0] == '/' || text[0] == 'E');
		break;
	default:
		CHECK(!"a kind that does not exist");
	}

	/* The same datagram with a line end added reads the same. */
	if (size > 0 && text[size - 1] == '\n')
		return;
	char *longer = malloc(size + 2);
	CHECK(longer != NULL);
	memcpy(longer, text, size);
	struct chat_request other;
	memcpy(longer + size, "\r\n", 2);
	chat_parse(longer, size + 2, &other);
	CHECK(same_request(&request, text, &other, longer));
	if (size == 0 || text[size - 1] != '\r') {
		longer[size] = '\n';
		chat_parse(longer, size + 1, &other);
		CHECK(same_request(&request, text, &other, longer));
	}
	free(longer);
}

/* ---- chat_format_relay ---- */

/* The length of TEXT relayed with a prefix of PREFIX_LENGTH bytes. */
static size_t relay_length(size_t prefix_length, const char *text, size_t size)
{
	size_t newlines = 0;
	for (size_t i = 0; i < size; i++)
		newlines += text[i] == '\n';
	/* Each line: prefix, ">> ", its bytes, "\n"; the text's newlines end all lines but the last. */
	return (newlines + 1) * (prefix_length + 4) + size - newlines;
}

/* OUT (LENGTH bytes) must be TEXT's lines, each as "PREFIX>> line\n". */
static void check_relay_lines(const char *prefix, const char *text, size_t size, const char *out,
			      size_t length)
{
	size_t prefix_length = strlen(prefix);
	size_t at = 0, start = 0;
	for (;;) {
		CHECK(length - at >= prefix_length + 4);
		CHECK(memcmp(out + at, prefix, prefix_length) == 0);
		CHECK(memcmp(out + at + prefix_length, ">> ", 3) == 0);
		at += prefix_length + 3;
		const char *newline = memchr(text + start, '\n', size - start);
		size_t end = newline != NULL ? (size_t)(newline - text) : size;
		CHECK(length - at > end - start);
		CHECK(memcmp(out + at, text + start, end - start) == 0);
		at += end - start;
		CHECK(out[at] == '\n');
		at++;
		if (newline == NULL)
			break;
		start = end + 1;
	}
	CHECK(at == length);
}

static void check_relay(const char *prefix, const char *text, size_t size, char *out,
			size_t room)
{
	size_t needed = relay_length(strlen(prefix), text, size);
	size_t written = chat_format_relay(prefix, text, size, out, room);
	CHECK(written == (needed <= room ? needed : 0));
	if (written > 0)
		check_relay_lines(prefix, text, size, out, written);
}

/* ---- text_escape ---- */

/*
 * The length of the well-formed UTF-8 sequence of two or more bytes at BYTES
 * (at most LENGTH), after the Unicode Standard's table 3-7; 0 if there is none.
 */
static size_t sequence_length(const unsigned char *bytes, size_t length)
{
	unsigned char first = bytes[0], low = 0x80, high = 0xbf;
	size_t size;

	if (first >= 0xc2 && first <= 0xdf)
		size = 2;
	else if (first >= 0xe0 && first <= 0xef)
		size = 3;
	else if (first >= 0xf0 && first <= 0xf4)
		size = 4;
	else
		return 0;
	if (first == 0xe0)
		low = 0xa0; /* no overlong forms */
	else if (first == 0xed)
		high = 0x9f; /* no surrogates */
	else if (first == 0xf0)
		low = 0x90; /* no overlong forms */
	else if (first == 0xf4)
		high = 0x8f; /* nothing past U+10FFFF */
	if (length < size || bytes[1] < low || bytes[1] > high)
		return 0;
	for (size_t i = 2; i < size; i++)
		if (bytes[i] < 0x80 || bytes[i] > 0xbf)
			return 0;
	return size;
}

/* OUT (LENGTH bytes) holds nothing a terminal would obey. */
static void check_harmless(const char *out, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)out;
	for (size_t i = 0; i < length;) {
		unsigned char c = bytes[i];
		if (c < 0x80) {
			CHECK(c >= 0x20 || c == '\n' || c == '\t');
			CHECK(c != 0x7f);
			i++;
			continue;
		}
		size_t size = sequence_length(bytes + i, length - i);
		CHECK(size > 0);
		CHECK(!(size == 2 && c == 0xc2 && bytes[i + 1] <= 0x9f)); /* C1 as UTF-8 */
		i += size;
	}
}

/* The value of hex digit C, or -1. */
static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Undoing the escaping of OUT (LENGTH bytes) gives back TEXT (SIZE bytes). */
static void check_reversible(const char *out, size_t length, const char *text, size_t size)
{
	size_t at = 0;
	for (size_t i = 0; i < length; at++) {
		CHECK(at < size);
		if (out[i] != '\\') {
			CHECK(out[i] == text[at]);
			i++;
		} else if (length - i >= 2 && out[i + 1] == '\\') {
			CHECK(text[at] == '\\');
			i += 2;
		} else {
			CHECK(length - i >= 4 && out[i + 1] == 'x');
			int high = hex_value(out[i + 2]), low = hex_value(out[i + 3]);
			CHECK(high >= 0 && low >= 0);
			CHECK((unsigned char)text[at] == (unsigned)(high * 16 + low));
			i += 4;
		}
	}
	CHECK(at == size);
}

static void check_escape(const char *text, size_t size)
{
	char *out = malloc(TEXT_ESCAPE_SIZE(size));
	CHECK(out != NULL);
	size_t length = text_escape(text, size, out);
	CHECK(length <= TEXT_ESCAPE_SIZE(size) - 1);
	CHECK(out[length] == '\0');
	CHECK(strlen(out) == length);
	check_harmless(out, length);
	check_reversible(out, length, text, size);
	free(out);
}

/* ---- the server's lines ---- */

static void check_challenge(const char *text, size_t size)
{
	char token[CHAT_TOKEN_LENGTH + 1], line[64];
	bool found = chat_challenge_token(text, size, token);
	if (found) {
		CHECK(token[CHAT_TOKEN_LENGTH] == '\0');
		for (size_t i = 0; i < CHAT_TOKEN_LENGTH; i++)
			CHECK(hex_value(token[i]) >= 0);
		CHECK(chat_challenge(token, line, sizeof line) == size);
		CHECK(memcmp(line, text, size) == 0);
	}

	/* Where the token would be, read as one: if that makes the datagram, it is a challenge. */
	static const size_t token_at = sizeof "send \"/join " - 1;
	if (size < token_at + CHAT_TOKEN_LENGTH)
		return;
	char candidate[CHAT_TOKEN_LENGTH + 1];
	bool hex = true;
	for (size_t i = 0; i < CHAT_TOKEN_LENGTH; i++) {
		candidate[i] = text[token_at + i];
		hex = hex && hex_value(candidate[i]) >= 0;
	}
	candidate[CHAT_TOKEN_LENGTH] = '\0';
	if (hex && chat_challenge(candidate, line, sizeof line) == size &&
	    memcmp(line, text, size) == 0)
		CHECK(found);
}

static void check_welcome(const char *text, size_t size)
{
	static const char start[] = "* welcome, you are ";
	unsigned long timeout = 0;
	if (chat_welcome_timeout(text, size, &timeout)) {
		CHECK(size >= sizeof start - 1 && memcmp(text, start, sizeof start - 1) == 0);
		CHECK(timeout < 100000000); /* refused rather than wrapped */
	}

	/* Any label (here the input up to a NUL, at most 100 bytes) reads back its timeout. */
	char label[101], line[256];
	size_t label_length = 0;
	while (label_length < size && label_length < sizeof label - 1 && text[label_length] != '\0') {
		label[label_length] = text[label_length];
		label_length++;
	}
	label[label_length] = '\0';
	unsigned long sent = 1 + (unsigned long)size % 86400, read = 0;
	size_t length = chat_welcome(label, size, sent, line, sizeof line);
	CHECK(length > 0);
	CHECK(chat_welcome_timeout(line, length, &read));
	CHECK(read == sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	check_parse(text, size);

	/*
	 * Text by chat_text_valid's rule has no NUL, and escaping it leaves every
	 * byte of 0x80 and above in place: valid UTF-8 is never escaped, except C1.
	 */
	if (chat_text_valid(text, size)) {
		CHECK(memchr(text, 0, size) == NULL);
		for (size_t i = 0; i < size; i++)
			CHECK(!((unsigned char)text[i] >= 0xf5 || (unsigned char)text[i] == 0xc0 ||
				(unsigned char)text[i] == 0xc1));
	}

	check_relay("alice", text, size, relay, sizeof relay);
	/* A tiny buffer, of a size the input picks, allocated exactly. */
	size_t tiny = size % 24;
	char *small = malloc(tiny > 0 ? tiny : 1);
	CHECK(small != NULL);
	check_relay("[::1]:9", text, size, small, tiny);
	free(small);

	check_escape(text, size);
	check_challenge(text, size);
	check_welcome(text, size);
	return 0;
}
