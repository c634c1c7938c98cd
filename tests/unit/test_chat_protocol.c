/*
 * test_chat_protocol: unit tests of the chat's pure protocol functions
 * (src/chat/protocol.h).
 *
 * What is checked:
 *   - chat_parse: every command (/join, /nick, /who, /quit, /ping, and the
 *     line END as /quit); arguments trimmed of blanks and tabs; extra words
 *     after /who, /quit and /ping ignored; unknown commands give the command
 *     word; "//text" is the message "/text"; one trailing "\n" or "\r\n"
 *     (and only one) is not part of the message; empty datagrams; binary
 *     data and NUL bytes, by length, the argument pointing into the input;
 *     END only as the whole datagram; /nick with valid and invalid names;
 *   - chat_name_valid at its boundaries and for every byte value;
 *   - chat_format_relay: every line prefixed, so that no member can forge
 *     a line of its own; empty text and text ending in a newline; every
 *     buffer size from 0 to beyond the exact fit, with guard bytes after it;
 *   - text_escape: which bytes pass and how the others are written; UTF-8
 *     at its edges (C1 controls, overlong forms, surrogates, > U+10FFFF,
 *     truncated sequences); the size bound; and, over many pseudo-random
 *     inputs, agreement with a reference written from Unicode's table of
 *     well-formed sequences, output free of control characters, and
 *     reversibility;
 *   - chat_challenge and chat_challenge_token: the round trip, and what is
 *     not a challenge;
 *   - chat_welcome and chat_welcome_timeout: the line, its round trip, buffer
 *     sizes, and lines that are not a welcome (a relayed copy included).
 *
 * Every input is copied into a block of exactly its size, so that the
 * sanitizer build (make SANITIZE=1) catches a read past its end.
 *
 * Run: build/tests/unit/test_chat_protocol
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/protocol.h"
#include "lib/text.h"

/* Guard bytes after each output buffer: the functions must never write there. */
#define GUARD 32
#define GUARD_BYTE 0x5a

/* ---- helpers ---- */

/* A copy of DATA in a block of exactly LENGTH bytes (1 if LENGTH is 0). */
static char *exact_copy(const char *data, size_t length)
{
	char *copy = malloc(length > 0 ? length : 1);
	assert_non_null(copy);
	if (length > 0)
		memcpy(copy, data, length);
	return copy;
}

/* Prints a byte string readably, for failure messages. */
static void print_bytes(const char *label, const char *bytes, size_t length)
{
	char text[600];
	size_t used = 0;
	for (size_t i = 0; i < length && used + 8 < sizeof text; i++) {
		unsigned char c = (unsigned char)bytes[i];
		if (c == '\n')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\n");
		else if (c == '\r')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\r");
		else if (c == '\t')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\t");
		else if (c == '\\')
			used += (size_t)snprintf(text + used, sizeof text - used, "\\\\");
		else if (c < 32 || c > 126)
			used += (size_t)snprintf(text + used, sizeof text - used, "\\x%02x", c);
		else
			text[used++] = (char)c;
	}
	text[used] = '\0';
	print_error("%s\"%s\" (%zu bytes)\n", label, text, length);
}

static const char *kind_name(enum chat_kind kind)
{
	switch (kind) {
	case CHAT_MESSAGE:
		return "CHAT_MESSAGE";
	case CHAT_EMPTY:
		return "CHAT_EMPTY";
	case CHAT_JOIN:
		return "CHAT_JOIN";
	case CHAT_NICK:
		return "CHAT_NICK";
	case CHAT_BAD_NICK:
		return "CHAT_BAD_NICK";
	case CHAT_WHO:
		return "CHAT_WHO";
	case CHAT_QUIT:
		return "CHAT_QUIT";
	case CHAT_PING:
		return "CHAT_PING";
	case CHAT_UNKNOWN:
		return "CHAT_UNKNOWN";
	}
	return "(not a kind)";
}

/* A small deterministic generator (xorshift32), so that a failure can be replayed. */
static uint32_t next_random(uint32_t *seed)
{
	uint32_t x = *seed;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*seed = x;
	return x;
}

/* ---- chat_parse ---- */

/*
 * Parses INPUT (LENGTH bytes) and expects KIND with ARGUMENT (ARGUMENT_LENGTH
 * bytes). The argument must lie within the input, never in a copy.
 */
static void check_parse(const char *input, size_t length, enum chat_kind kind,
			const char *argument, size_t argument_length)
{
	char *data = exact_copy(input, length);
	struct chat_request request;
	memset(&request, 0xa5, sizeof request); /* every field must be set */
	chat_parse(data, length, &request);

	uintptr_t begin = (uintptr_t)data, at = (uintptr_t)request.argument;
	bool inside = at >= begin && at <= begin + length && request.length <= length &&
		      at - begin <= length - request.length;
	bool same = inside && request.kind == kind && request.length == argument_length &&
		    memcmp(request.argument, argument, argument_length) == 0;
	if (!same) {
		print_bytes("chat_parse of ", input, length);
		print_error("  expected %s with\n", kind_name(kind));
		print_bytes("    ", argument, argument_length);
		print_error("  got %s with\n", kind_name(request.kind));
		if (inside)
			print_bytes("    ", request.argument, request.length);
		else
			print_error("    an argument outside the input (offset %td, %zu bytes)\n",
				    (ptrdiff_t)(at - begin), request.length);
	}
	/* Freed before asserting: a failed assertion does not come back here. */
	free(data);
	if (!inside)
		fail_msg("the argument of a %s lies outside the input", kind_name(request.kind));
	assert_int_equal(request.kind, kind);
	assert_int_equal(request.length, argument_length);
	assert_true(same);
}

/* The same for string literals, which may hold NUL bytes. */
#define CHECK_PARSE(input, kind, argument) \
	check_parse(input, sizeof(input) - 1, kind, argument, sizeof(argument) - 1)

/* Parses INPUT and returns the offset of its argument in it (the input must parse). */
static size_t argument_offset(const char *input, size_t length)
{
	char *data = exact_copy(input, length);
	struct chat_request request;
	chat_parse(data, length, &request);
	size_t offset = (size_t)(request.argument - data);
	free(data);
	return offset;
}

static void test_parse_commands(void **state)
{
	(void)state;
	CHECK_PARSE("/join 9f3c0a1e", CHAT_JOIN, "9f3c0a1e");
	CHECK_PARSE("/nick alice", CHAT_NICK, "alice");
	CHECK_PARSE("/who", CHAT_WHO, "");
	CHECK_PARSE("/quit", CHAT_QUIT, "");
	CHECK_PARSE("/ping", CHAT_PING, "");
	CHECK_PARSE("END", CHAT_QUIT, "END");
	/* The same with the line end a terminal or netcat adds. */
	CHECK_PARSE("/join 9f3c0a1e\n", CHAT_JOIN, "9f3c0a1e");
	CHECK_PARSE("/nick alice\r\n", CHAT_NICK, "alice");
	CHECK_PARSE("/who\n", CHAT_WHO, "");
	CHECK_PARSE("/quit\r\n", CHAT_QUIT, "");
	CHECK_PARSE("/ping\n", CHAT_PING, "");
	/* A token may be empty or wrong: checking it is the server's job. */
	CHECK_PARSE("/join", CHAT_JOIN, "");
	CHECK_PARSE("/join ", CHAT_JOIN, "");
	CHECK_PARSE("/join not-a-token!", CHAT_JOIN, "not-a-token!");
}

static void test_parse_trims_blanks(void **state)
{
	(void)state;
	CHECK_PARSE("/join \t 9f3c0a1e \t ", CHAT_JOIN, "9f3c0a1e");
	CHECK_PARSE("/join\t9f3c0a1e", CHAT_JOIN, "9f3c0a1e");
	CHECK_PARSE("/nick   bob   \n", CHAT_NICK, "bob");
	CHECK_PARSE("/nick\tbob\t\r\n", CHAT_NICK, "bob");
	/* Blanks inside the argument stay. */
	CHECK_PARSE("/join a b", CHAT_JOIN, "a b");
	CHECK_PARSE("/join  a \t b  ", CHAT_JOIN, "a \t b");
	/* Only blanks and tabs are trimmed. */
	CHECK_PARSE("/join \va\f", CHAT_JOIN, "\va\f");

	/* Words after a command that takes none do not change what it is. */
	CHECK_PARSE("/who extra", CHAT_WHO, "extra");
	CHECK_PARSE("/who  extra words \n", CHAT_WHO, "extra words");
	CHECK_PARSE("/quit now", CHAT_QUIT, "now");
	CHECK_PARSE("/ping 12345", CHAT_PING, "12345");
	CHECK_PARSE("/who \t ", CHAT_WHO, "");

	/* The trimmed argument still points into the datagram. */
	assert_int_equal(argument_offset("/join   token  ", 15), 8);
	assert_int_equal(argument_offset("/nick\tbob", 9), 6);
}

static void test_parse_unknown(void **state)
{
	(void)state;
	CHECK_PARSE("/frob", CHAT_UNKNOWN, "/frob");
	CHECK_PARSE("/frob with words\n", CHAT_UNKNOWN, "/frob");
	CHECK_PARSE("/frob\twith a tab", CHAT_UNKNOWN, "/frob");
	CHECK_PARSE("/", CHAT_UNKNOWN, "/");
	CHECK_PARSE("/\n", CHAT_UNKNOWN, "/");
	CHECK_PARSE("/ nick bob", CHAT_UNKNOWN, "/");
	/* A command is its whole word, spelled exactly, in lower case. */
	CHECK_PARSE("/nickname bob", CHAT_UNKNOWN, "/nickname");
	CHECK_PARSE("/whom", CHAT_UNKNOWN, "/whom");
	CHECK_PARSE("/qui", CHAT_UNKNOWN, "/qui");
	CHECK_PARSE("/JOIN 9f3c0a1e", CHAT_UNKNOWN, "/JOIN");
	CHECK_PARSE("/Who", CHAT_UNKNOWN, "/Who");
	CHECK_PARSE("/END", CHAT_UNKNOWN, "/END");
	CHECK_PARSE("/who\0", CHAT_UNKNOWN, "/who\0");
	CHECK_PARSE("/quit\0 now", CHAT_UNKNOWN, "/quit\0");
	CHECK_PARSE("/\x1b[2J", CHAT_UNKNOWN, "/\x1b[2J");
	/* The argument of an unknown command starts the datagram. */
	assert_int_equal(argument_offset("/frob x", 7), 0);
}

static void test_parse_double_slash(void **state)
{
	(void)state;
	CHECK_PARSE("//text", CHAT_MESSAGE, "/text");
	CHECK_PARSE("//text\n", CHAT_MESSAGE, "/text");
	CHECK_PARSE("//nick bob", CHAT_MESSAGE, "/nick bob");
	CHECK_PARSE("//quit", CHAT_MESSAGE, "/quit");
	CHECK_PARSE("//", CHAT_MESSAGE, "/");
	CHECK_PARSE("//\r\n", CHAT_MESSAGE, "/");
	CHECK_PARSE("///x", CHAT_MESSAGE, "//x");
	/* Only the first slash goes, and the message is not copied. */
	assert_int_equal(argument_offset("//text", 6), 1);
}

static void test_parse_messages(void **state)
{
	(void)state;
	CHECK_PARSE("hello", CHAT_MESSAGE, "hello");
	CHECK_PARSE("hello, world\n", CHAT_MESSAGE, "hello, world");
	CHECK_PARSE(" /who", CHAT_MESSAGE, " /who");
	CHECK_PARSE("x/quit", CHAT_MESSAGE, "x/quit");
	CHECK_PARSE("   ", CHAT_MESSAGE, "   ");
	CHECK_PARSE("\t", CHAT_MESSAGE, "\t");
	CHECK_PARSE("two\nlines", CHAT_MESSAGE, "two\nlines");
	CHECK_PARSE("* alice joined", CHAT_MESSAGE, "* alice joined");
	assert_int_equal(argument_offset("hello", 5), 0);
}

/* One "\n" or "\r\n" at the very end is the line end; only one is removed. */
static void test_parse_line_ends(void **state)
{
	(void)state;
	CHECK_PARSE("hello\n", CHAT_MESSAGE, "hello");
	CHECK_PARSE("hello\r\n", CHAT_MESSAGE, "hello");
	CHECK_PARSE("hello\n\n", CHAT_MESSAGE, "hello\n");
	CHECK_PARSE("hello\r\n\r\n", CHAT_MESSAGE, "hello\r\n");
	CHECK_PARSE("hello\r\r\n", CHAT_MESSAGE, "hello\r");
	CHECK_PARSE("hello\n\r\n", CHAT_MESSAGE, "hello\n");
	CHECK_PARSE("\n\n", CHAT_MESSAGE, "\n");
	CHECK_PARSE("\r\n\r\n", CHAT_MESSAGE, "\r\n");
	CHECK_PARSE("\n\r\n", CHAT_MESSAGE, "\n");
	/* A line end inside the text is text. */
	CHECK_PARSE("a\nb\n", CHAT_MESSAGE, "a\nb");
	CHECK_PARSE("a\r\nb", CHAT_MESSAGE, "a\r\nb");
	/* After a command, a second line end is part of the argument. */
	CHECK_PARSE("/who\n\n", CHAT_UNKNOWN, "/who\n");
	CHECK_PARSE("/nick bob\n\n", CHAT_BAD_NICK, "bob\n");
}

/*
 * protocol.h: 'A line end at its end ("\n" or "\r\n") is not part of it.'
 * A carriage return alone is not a line end, so it stays in the message.
 */
static void test_parse_lone_carriage_return(void **state)
{
	(void)state;
	CHECK_PARSE("hello\r", CHAT_MESSAGE, "hello\r");
	CHECK_PARSE("\r", CHAT_MESSAGE, "\r");
	CHECK_PARSE("END\r", CHAT_MESSAGE, "END\r");
	CHECK_PARSE("/nick bob\r", CHAT_BAD_NICK, "bob\r");
}

static void test_parse_empty(void **state)
{
	(void)state;
	CHECK_PARSE("", CHAT_EMPTY, "");
	CHECK_PARSE("\n", CHAT_EMPTY, "");
	CHECK_PARSE("\r\n", CHAT_EMPTY, "");
	/* Whatever the kind, the argument is inside the input: here at its start. */
	assert_int_equal(argument_offset("\n", 1), 0);
}

static void test_parse_end_exact(void **state)
{
	(void)state;
	/* END is /quit; its argument, which no one uses, is the word itself. */
	CHECK_PARSE("END", CHAT_QUIT, "END");
	CHECK_PARSE("END\n", CHAT_QUIT, "END");
	CHECK_PARSE("END\r\n", CHAT_QUIT, "END");
	CHECK_PARSE("ENDX", CHAT_MESSAGE, "ENDX");
	CHECK_PARSE(" END", CHAT_MESSAGE, " END");
	CHECK_PARSE("END ", CHAT_MESSAGE, "END ");
	CHECK_PARSE("END\t", CHAT_MESSAGE, "END\t");
	CHECK_PARSE("end", CHAT_MESSAGE, "end");
	CHECK_PARSE("End", CHAT_MESSAGE, "End");
	CHECK_PARSE("EN", CHAT_MESSAGE, "EN");
	CHECK_PARSE("END\n\n", CHAT_MESSAGE, "END\n");
	CHECK_PARSE("END\nEND", CHAT_MESSAGE, "END\nEND");
	CHECK_PARSE("END\0", CHAT_MESSAGE, "END\0");
	CHECK_PARSE("\0END", CHAT_MESSAGE, "\0END");
}

static void test_parse_binary(void **state)
{
	(void)state;
	CHECK_PARSE("hi\0there", CHAT_MESSAGE, "hi\0there");
	CHECK_PARSE("\0", CHAT_MESSAGE, "\0");
	CHECK_PARSE("\0\0\n", CHAT_MESSAGE, "\0\0");
	CHECK_PARSE("\0/who", CHAT_MESSAGE, "\0/who");
	CHECK_PARSE("\xff\xfe\x00\x01", CHAT_MESSAGE, "\xff\xfe\x00\x01");
	CHECK_PARSE("\x1b[2J\x1b]0;x\x07", CHAT_MESSAGE, "\x1b[2J\x1b]0;x\x07");
	CHECK_PARSE("/join \0\xff", CHAT_JOIN, "\0\xff");

	/* All 256 byte values, twice over, are one message of 512 bytes. */
	char all[512];
	for (size_t i = 0; i < sizeof all; i++)
		all[i] = (char)(255 - i % 256); /* ends in 0x00, so no line end is removed */
	check_parse(all, sizeof all, CHAT_MESSAGE, all, sizeof all);
	assert_int_equal(argument_offset(all, sizeof all), 0);

	/* The largest datagram, all NUL bytes but its line end. */
	char *large = calloc(CHAT_DATAGRAM_MAX, 1);
	assert_non_null(large);
	large[CHAT_DATAGRAM_MAX - 1] = '\n';
	check_parse(large, CHAT_DATAGRAM_MAX, CHAT_MESSAGE, large, CHAT_DATAGRAM_MAX - 1);
	free(large);
}

/* Parses "/nick " followed by NAME (LENGTH bytes) and a line end. */
static void check_nick(const char *name, size_t length, enum chat_kind kind)
{
	char datagram[64];
	assert_true(length + 7 <= sizeof datagram);
	memcpy(datagram, "/nick ", 6);
	memcpy(datagram + 6, name, length);
	datagram[6 + length] = '\n';
	check_parse(datagram, length + 7, kind, name, length);
}

static void test_parse_nick(void **state)
{
	char name[32];
	(void)state;

	CHECK_PARSE("/nick", CHAT_BAD_NICK, "");
	CHECK_PARSE("/nick ", CHAT_BAD_NICK, "");
	CHECK_PARSE("/nick \t \n", CHAT_BAD_NICK, "");
	CHECK_PARSE("/nick a", CHAT_NICK, "a");
	CHECK_PARSE("/nick Alice.B_9-x", CHAT_NICK, "Alice.B_9-x");
	CHECK_PARSE("/nick 42", CHAT_NICK, "42");
	CHECK_PARSE("/nick ...", CHAT_NICK, "...");

	memset(name, 'n', sizeof name);
	check_nick(name, CHAT_NAME_MAX, CHAT_NICK);
	check_nick(name, CHAT_NAME_MAX + 1, CHAT_BAD_NICK);
	check_nick(name, 30, CHAT_BAD_NICK);

	/* Names that could pass for an address, a prefix, or drive a terminal. */
	CHECK_PARSE("/nick a:b", CHAT_BAD_NICK, "a:b");
	CHECK_PARSE("/nick 127.0.0.1:9001", CHAT_BAD_NICK, "127.0.0.1:9001");
	CHECK_PARSE("/nick bob>>", CHAT_BAD_NICK, "bob>>");
	CHECK_PARSE("/nick [::1]", CHAT_BAD_NICK, "[::1]");
	CHECK_PARSE("/nick bob smith", CHAT_BAD_NICK, "bob smith");
	CHECK_PARSE("/nick bob\tsmith", CHAT_BAD_NICK, "bob\tsmith");
	CHECK_PARSE("/nick bo\x1b[31mb", CHAT_BAD_NICK, "bo\x1b[31mb");
	CHECK_PARSE("/nick bob\x7f", CHAT_BAD_NICK, "bob\x7f");
	CHECK_PARSE("/nick bob\0", CHAT_BAD_NICK, "bob\0");
	CHECK_PARSE("/nick \0", CHAT_BAD_NICK, "\0");
	CHECK_PARSE("/nick bob\r\r\n", CHAT_BAD_NICK, "bob\r");
	CHECK_PARSE("/nick *", CHAT_BAD_NICK, "*");
	CHECK_PARSE("/nick b\\b", CHAT_BAD_NICK, "b\\b");
	CHECK_PARSE("/nick \xc3\xa9mile", CHAT_BAD_NICK, "\xc3\xa9mile");
}

/* ---- chat_name_valid ---- */

static void check_name(const char *name, size_t length, bool valid)
{
	char *copy = exact_copy(name, length);
	bool got = chat_name_valid(copy, length);
	if (got != valid)
		print_bytes(valid ? "should be a valid name: " : "should not be a valid name: ",
			    name, length);
	assert_int_equal(got, valid);
	free(copy);
}

static void test_name_valid(void **state)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._-";
	char name[CHAT_NAME_MAX + 8];
	(void)state;

	check_name("", 0, false);
	check_name("x", 1, true);
	memset(name, 'Z', sizeof name);
	check_name(name, CHAT_NAME_MAX - 1, true);
	check_name(name, CHAT_NAME_MAX, true);
	check_name(name, CHAT_NAME_MAX + 1, false);
	check_name(name, sizeof name, false);

	/* Every byte value, alone and at the end of an otherwise valid name. */
	for (int c = 0; c < 256; c++) {
		char byte = (char)c;
		bool valid = memchr(allowed, c, sizeof allowed - 1) != NULL;
		check_name(&byte, 1, valid);
		memset(name, 'a', CHAT_NAME_MAX);
		name[CHAT_NAME_MAX - 1] = byte;
		check_name(name, CHAT_NAME_MAX, valid);
	}

	/* Only LENGTH bytes count: no NUL terminator is needed or looked for. */
	check_name("bob:", 3, true);
	check_name("bob\0", 4, false);
}

/* ---- chat_format_relay ---- */

/*
 * Formats TEXT (LENGTH bytes) with PREFIX into buffers of every size from 0 to
 * two bytes past EXPECTED_LENGTH: too small gives 0, big enough gives
 * EXPECTED; nothing is ever written at or past the size given.
 */
static void check_relay(const char *prefix, const char *text, size_t length,
			const char *expected, size_t expected_length)
{
	char *input = exact_copy(text, length);
	size_t total = expected_length + 2 + GUARD;
	char *buffer = malloc(total);
	assert_non_null(buffer);

	for (size_t size = 0; size <= expected_length + 2; size++) {
		memset(buffer, GUARD_BYTE, total);
		size_t written = chat_format_relay(prefix, input, length, buffer, size);
		size_t want = size >= expected_length ? expected_length : 0;
		if (written != want || (want > 0 && memcmp(buffer, expected, want) != 0)) {
			print_error("chat_format_relay(\"%s\", ..., size %zu):\n", prefix, size);
			print_bytes("  text     ", text, length);
			print_bytes("  expected ", expected, want);
			print_bytes("  got      ", buffer, written <= size ? written : size);
		}
		assert_int_equal(written, want);
		assert_memory_equal(buffer, expected, want);
		for (size_t i = size; i < total; i++) {
			if ((unsigned char)buffer[i] != GUARD_BYTE)
				fail_msg("chat_format_relay wrote byte %zu of a %zu-byte buffer", i,
					 size);
		}
	}
	free(buffer);
	free(input);
}

/* The same for string literals. */
#define CHECK_RELAY(prefix, text, expected) \
	check_relay(prefix, text, sizeof(text) - 1, expected, sizeof(expected) - 1)

static void test_relay_single_line(void **state)
{
	(void)state;
	CHECK_RELAY("bob", "hello", "bob>> hello\n");
	CHECK_RELAY("127.0.0.1:40000", "hi there", "127.0.0.1:40000>> hi there\n");
	CHECK_RELAY("[::1]:5000", "hi", "[::1]:5000>> hi\n");
	CHECK_RELAY("", "hi", ">> hi\n");
	CHECK_RELAY("bob", "a\0b", "bob>> a\0b\n");
	CHECK_RELAY("bob", "a\rb", "bob>> a\rb\n");
}

/* Every line gets the prefix, so a message cannot start a line of its own. */
static void test_relay_multi_line(void **state)
{
	(void)state;
	CHECK_RELAY("alice", "hi\n* bob left", "alice>> hi\nalice>> * bob left\n");
	CHECK_RELAY("alice", "hi\nbob>> I owe alice 100 euros",
		    "alice>> hi\nalice>> bob>> I owe alice 100 euros\n");
	CHECK_RELAY("alice", "hi\n! server going away", "alice>> hi\nalice>> ! server going away\n");
	CHECK_RELAY("10.0.0.1:9", "one\ntwo\nthree", "10.0.0.1:9>> one\n10.0.0.1:9>> two\n10.0.0.1:9>> three\n");
	CHECK_RELAY("p", "a\r\nb", "p>> a\r\np>> b\n");
	CHECK_RELAY("p", "a\n\nb", "p>> a\np>> \np>> b\n");
	CHECK_RELAY("p", "\nx", "p>> \np>> x\n");
}

/*
 * Empty text is one empty line; so is what follows a final newline (chat_parse
 * removes one line end first, so the server only sees this for "x\n\n").
 */
static void test_relay_empty_lines(void **state)
{
	(void)state;
	CHECK_RELAY("bob", "", "bob>> \n");
	CHECK_RELAY("bob", "hi\n", "bob>> hi\nbob>> \n");
	CHECK_RELAY("bob", "\n", "bob>> \nbob>> \n");
	CHECK_RELAY("bob", "\n\n", "bob>> \nbob>> \nbob>> \n");
}

/* A text of almost CHAT_DATAGRAM_MAX bytes: the output fits exactly, or not at all. */
static void test_relay_large(void **state)
{
	(void)state;
	static const char prefix[] = "bob";
	size_t overhead = sizeof prefix - 1 + 4; /* "bob>> " and "\n" */
	size_t length = CHAT_DATAGRAM_MAX - overhead;
	char *text = malloc(length);
	char *out = malloc(CHAT_DATAGRAM_MAX);
	assert_non_null(text);
	assert_non_null(out);
	memset(text, 'x', length);

	assert_int_equal(chat_format_relay(prefix, text, length, out, CHAT_DATAGRAM_MAX),
			 CHAT_DATAGRAM_MAX);
	assert_memory_equal(out, "bob>> xxx", 9);
	assert_int_equal(out[CHAT_DATAGRAM_MAX - 1], '\n');
	assert_int_equal(chat_format_relay(prefix, text, length, out, CHAT_DATAGRAM_MAX - 1), 0);

	/* One newline more adds a whole prefix, and it no longer fits. */
	text[length / 2] = '\n';
	assert_int_equal(chat_format_relay(prefix, text, length, out, CHAT_DATAGRAM_MAX), 0);
	free(out);
	free(text);
}

/*
 * The reference: the prefix and ">> " at the start and after every newline,
 * and a newline at the end. Returns the length written to OUT.
 */
static size_t reference_relay(const char *prefix, const char *text, size_t length, char *out)
{
	size_t prefix_length = strlen(prefix), written = 0;
	memcpy(out, prefix, prefix_length);
	memcpy(out + prefix_length, ">> ", 3);
	written = prefix_length + 3;
	for (size_t i = 0; i < length; i++) {
		out[written++] = text[i];
		if (text[i] == '\n') {
			memcpy(out + written, prefix, prefix_length);
			memcpy(out + written + prefix_length, ">> ", 3);
			written += prefix_length + 3;
		}
	}
	out[written++] = '\n';
	return written;
}

static void test_relay_random(void **state)
{
	static const char alphabet[] = {'a', 'b', '\n', '\n', '\r', '\0', '*', ' ', '>', '\x1b'};
	static const char *const prefixes[] = {"bob", "", "[2001:db8::1]:65535", "x"};
	uint32_t seed = 0x9e3779b9;
	(void)state;

	for (int round = 0; round < 400; round++) {
		char text[40];
		char expected[40 * 24 + 24];
		size_t length = next_random(&seed) % (sizeof text + 1);
		for (size_t i = 0; i < length; i++)
			text[i] = alphabet[next_random(&seed) % sizeof alphabet];
		const char *prefix = prefixes[round % 4];
		size_t expected_length = reference_relay(prefix, text, length, expected);
		check_relay(prefix, text, length, expected, expected_length);
	}
}

/* ---- text_escape ---- */

/*
 * A reference for well-formed UTF-8, written from the Unicode Standard's
 * table 3-7 rather than by decoding: the length of the well-formed sequence
 * of two or more bytes at BYTES (at most LENGTH), or 0.
 */
static size_t reference_sequence(const unsigned char *bytes, size_t length)
{
	static const struct {
		unsigned char first_low, first_high, second_low, second_high;
		size_t size;
	} forms[] = {
		{0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
		{0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3},
		{0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
		{0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};
	for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		if (bytes[0] < forms[f].first_low || bytes[0] > forms[f].first_high)
			continue;
		size_t size = forms[f].size;
		if (length < size || bytes[1] < forms[f].second_low ||
		    bytes[1] > forms[f].second_high)
			return 0;
		for (size_t i = 2; i < size; i++)
			if (bytes[i] < 0x80 || bytes[i] > 0xbf)
				return 0;
		return size;
	}
	return 0;
}

/* True for the two-byte form of a C1 control, U+0080 to U+009F. */
static bool is_c1_sequence(const unsigned char *bytes, size_t size)
{
	return size == 2 && bytes[0] == 0xc2 && bytes[1] <= 0x9f;
}

/*
 * True for the three-byte forms of the bidirectional overrides and isolates:
 * U+202A to U+202E (e2 80 aa..ae) and U+2066 to U+2069 (e2 81 a6..a9).
 */
static bool is_bidi_sequence(const unsigned char *bytes, size_t size)
{
	return size == 3 && bytes[0] == 0xe2 &&
	       ((bytes[1] == 0x80 && bytes[2] >= 0xaa && bytes[2] <= 0xae) ||
		(bytes[1] == 0x81 && bytes[2] >= 0xa6 && bytes[2] <= 0xa9));
}

/* The reference escaper: what protocol.h says, byte by byte. */
static size_t reference_escape(const char *in, size_t length, char *out)
{
	const unsigned char *bytes = (const unsigned char *)in;
	size_t written = 0;
	for (size_t i = 0; i < length;) {
		unsigned char c = bytes[i];
		size_t size = c >= 0x80 ? reference_sequence(bytes + i, length - i) : 0;
		if (c == '\\') {
			written += (size_t)sprintf(out + written, "\\\\");
			i++;
		} else if ((c >= 0x20 && c <= 0x7e) || c == '\n' || c == '\t') {
			out[written++] = (char)c;
			i++;
		} else if (size > 0 && !is_c1_sequence(bytes + i, size) &&
			   !is_bidi_sequence(bytes + i, size)) {
			memcpy(out + written, bytes + i, size);
			written += size;
			i += size;
		} else {
			written += (size_t)sprintf(out + written, "\\x%02x", c);
			i++;
		}
	}
	out[written] = '\0';
	return written;
}

/*
 * The property that matters to a terminal: OUT (LENGTH bytes) is well-formed
 * UTF-8 with no control character but newline and tab: no other C0, no DEL,
 * no C1 in either form. Prints and fails otherwise.
 */
static void check_harmless(const char *in, size_t in_length, const char *out, size_t length)
{
	const unsigned char *bytes = (const unsigned char *)out;
	for (size_t i = 0; i < length;) {
		unsigned char c = bytes[i];
		size_t size = 1;
		bool harmless;
		if (c < 0x80) {
			harmless = (c >= 0x20 && c != 0x7f) || c == '\n' || c == '\t';
		} else {
			size = reference_sequence(bytes + i, length - i);
			harmless = size > 0 && !is_c1_sequence(bytes + i, size);
		}
		if (!harmless) {
			print_bytes("text_escape of ", in, in_length);
			print_bytes("  gave ", out, length);
			fail_msg("byte %zu (0x%02x) of the output can drive a terminal", i, c);
		}
		i += size > 0 ? size : 1;
	}
}

/*
 * Undoes the escaping of IN (LENGTH bytes) into OUT: "\\" is a backslash and
 * "\xNN" the byte NN. Returns the length, or (size_t)-1 if IN is not what
 * text_escape writes.
 */
static size_t unescape(const char *in, size_t length, char *out)
{
	size_t written = 0;
	for (size_t i = 0; i < length;) {
		if (in[i] != '\\') {
			out[written++] = in[i++];
		} else if (i + 1 < length && in[i + 1] == '\\') {
			out[written++] = '\\';
			i += 2;
		} else if (i + 3 < length && in[i + 1] == 'x') {
			unsigned value = 0;
			for (size_t j = i + 2; j < i + 4; j++) {
				const char *digit = memchr("0123456789abcdef", in[j], 16);
				if (digit == NULL)
					return (size_t)-1;
				value = value * 16 + (unsigned)(digit - "0123456789abcdef");
			}
			out[written++] = (char)value;
			i += 4;
		} else {
			return (size_t)-1;
		}
	}
	return written;
}

/*
 * Escapes IN (LENGTH bytes) into a buffer of exactly TEXT_ESCAPE_SIZE(LENGTH)
 * bytes followed by guard bytes, and expects EXPECTED (a C string). Also
 * checks the property above and that the escaping can be undone.
 */
static void check_escape_bytes(const char *in, size_t length, const char *expected)
{
	char *input = exact_copy(in, length);
	size_t size = TEXT_ESCAPE_SIZE(length);
	char *out = malloc(size + GUARD);
	char *back = malloc(length + 1);
	assert_non_null(out);
	assert_non_null(back);
	memset(out, GUARD_BYTE, size + GUARD);

	size_t written = text_escape(input, length, out);
	size_t expected_length = strlen(expected);
	if (written != expected_length || memcmp(out, expected, expected_length) != 0) {
		print_bytes("text_escape of ", in, length);
		print_bytes("  expected ", expected, expected_length);
		print_bytes("  got      ", out, written < size ? written : size);
	}
	assert_true(written < size);
	assert_int_equal(written, expected_length);
	assert_memory_equal(out, expected, expected_length);
	assert_int_equal(out[written], '\0');
	for (size_t i = size; i < size + GUARD; i++)
		if ((unsigned char)out[i] != GUARD_BYTE)
			fail_msg("text_escape wrote byte %zu of a %zu-byte buffer", i, size);
	check_harmless(in, length, out, written);
	assert_int_equal(unescape(out, written, back), length);
	assert_memory_equal(back, in, length);

	free(back);
	free(out);
	free(input);
}

/* The same for string literals; EXPECTED must hold no NUL byte. */
#define CHECK_ESCAPE(in, expected) check_escape_bytes(in, sizeof(in) - 1, expected)

/* Text that passes unchanged. */
#define CHECK_UNCHANGED(in) check_escape_bytes(in, sizeof(in) - 1, in)

static void test_escape_ascii(void **state)
{
	char printable[96];
	(void)state;

	CHECK_UNCHANGED("");
	CHECK_UNCHANGED("hello, world");
	CHECK_UNCHANGED("two\nlines\tand a tab");
	CHECK_UNCHANGED("\n\n\t");
	/* Every printable byte but the backslash. */
	size_t count = 0;
	for (int c = 0x20; c < 0x7f; c++)
		if (c != '\\')
			printable[count++] = (char)c;
	printable[count] = '\0';
	check_escape_bytes(printable, count, printable);
}

static void test_escape_controls(void **state)
{
	(void)state;
	CHECK_ESCAPE("\x1b", "\\x1b");
	CHECK_ESCAPE("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
	CHECK_ESCAPE("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");
	CHECK_ESCAPE("\0", "\\x00");
	CHECK_ESCAPE("a\0b", "a\\x00b");
	CHECK_ESCAPE("\x7f", "\\x7f");
	CHECK_ESCAPE("\r", "\\x0d");
	CHECK_ESCAPE("line\r\n", "line\\x0d\n");
	CHECK_ESCAPE("\b\v\f", "\\x08\\x0b\\x0c");
	CHECK_ESCAPE("\x1f", "\\x1f");
	CHECK_ESCAPE("\\", "\\\\");
	CHECK_ESCAPE("a\\x1b", "a\\\\x1b"); /* the text "\x1b" is not ESC once shown */
	CHECK_ESCAPE("\\\\", "\\\\\\\\");

	/* Every C0 control but newline and tab, in lower-case hex. */
	for (int c = 0; c < 0x20; c++) {
		char byte = (char)c, expected[8];
		if (c == '\n' || c == '\t')
			snprintf(expected, sizeof expected, "%c", c);
		else
			snprintf(expected, sizeof expected, "\\x%02x", c);
		check_escape_bytes(&byte, 1, expected);
	}
}

static void test_escape_utf8(void **state)
{
	(void)state;
	CHECK_UNCHANGED("\xc3\xa9");         /* é */
	CHECK_UNCHANGED("caf\xc3\xa9 \xe2\x82\xac 5"); /* café € 5 */
	CHECK_UNCHANGED("\xf0\x9f\x98\x80"); /* U+1F600 */
	CHECK_UNCHANGED("\xc2\xa0");         /* U+00A0, the first code point after C1 */
	CHECK_UNCHANGED("\xdf\xbf");         /* U+07FF */
	CHECK_UNCHANGED("\xe0\xa0\x80");     /* U+0800 */
	CHECK_UNCHANGED("\xed\x9f\xbf");     /* U+D7FF, just before the surrogates */
	CHECK_UNCHANGED("\xee\x80\x80");     /* U+E000, just after them */
	CHECK_UNCHANGED("\xef\xbf\xbd");     /* U+FFFD */
	CHECK_UNCHANGED("\xf0\x90\x80\x80"); /* U+10000 */
	CHECK_UNCHANGED("\xf4\x8f\xbf\xbf"); /* U+10FFFF, the last code point */
}

/* C1 controls are escaped whether written as UTF-8 or as raw bytes. */
static void test_escape_c1(void **state)
{
	(void)state;
	CHECK_ESCAPE("\xc2\x9b", "\\xc2\\x9b");     /* U+009B, CSI */
	CHECK_ESCAPE("\xc2\x9b" "31m", "\\xc2\\x9b" "31m");
	CHECK_ESCAPE("\xc2\x80", "\\xc2\\x80");     /* U+0080 */
	CHECK_ESCAPE("\xc2\x9f", "\\xc2\\x9f");     /* U+009F */
	CHECK_ESCAPE("\xc2\x85", "\\xc2\\x85");     /* U+0085, NEL */
	CHECK_ESCAPE("\x9b", "\\x9b");
	CHECK_ESCAPE("\x9b" "31m", "\\x9b" "31m");
	CHECK_ESCAPE("\x80\x9f", "\\x80\\x9f");

	/* Every raw byte from 0x80 on is escaped when alone. */
	for (int c = 0x80; c < 0x100; c++) {
		char byte = (char)c, expected[8];
		snprintf(expected, sizeof expected, "\\x%02x", c);
		check_escape_bytes(&byte, 1, expected);
	}
}

static void test_escape_invalid_utf8(void **state)
{
	(void)state;
	/* Overlong forms. */
	CHECK_ESCAPE("\xc0\x80", "\\xc0\\x80");
	CHECK_ESCAPE("\xc1\xbf", "\\xc1\\xbf");
	CHECK_ESCAPE("\xc0\x9b", "\\xc0\\x9b");
	CHECK_ESCAPE("\xe0\x80\x80", "\\xe0\\x80\\x80");
	CHECK_ESCAPE("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");
	CHECK_ESCAPE("\xf0\x80\x80\x80", "\\xf0\\x80\\x80\\x80");
	CHECK_ESCAPE("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");
	/* Surrogates. */
	CHECK_ESCAPE("\xed\xa0\x80", "\\xed\\xa0\\x80");
	CHECK_ESCAPE("\xed\xbf\xbf", "\\xed\\xbf\\xbf");
	/* Past U+10FFFF, and lead bytes that never start a sequence. */
	CHECK_ESCAPE("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");
	CHECK_ESCAPE("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
	CHECK_ESCAPE("\xf8\x88\x80\x80\x80", "\\xf8\\x88\\x80\\x80\\x80");
	CHECK_ESCAPE("\xfe\xff", "\\xfe\\xff");
	/* Truncated at the end of the input. */
	CHECK_ESCAPE("\xc3", "\\xc3");
	CHECK_ESCAPE("a\xe2\x82", "a\\xe2\\x82");
	CHECK_ESCAPE("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	CHECK_ESCAPE("\xf0\x9f", "\\xf0\\x9f");
	/* Cut short by another byte: what follows is read afresh. */
	CHECK_ESCAPE("\xe2\x82" "A", "\\xe2\\x82" "A");
	CHECK_ESCAPE("\xe2\xc3\xa9", "\\xe2\xc3\xa9");
	CHECK_ESCAPE("\xf0\x9f\x98\n", "\\xf0\\x9f\\x98\n");
	CHECK_ESCAPE("\xc3\x1b", "\\xc3\\x1b");
	/* A stray continuation byte before a good sequence. */
	CHECK_ESCAPE("\xa9\xc3\xa9", "\\xa9\xc3\xa9");
}

/* The worst case fills TEXT_ESCAPE_SIZE(n) exactly, terminator included. */
static void test_escape_bound(void **state)
{
	static const unsigned char worst[] = {0x00, 0x1b, 0x7f, 0x80, 0x9b, 0xff, 0xc0, 0xc2};
	(void)state;

	for (size_t w = 0; w < sizeof worst; w++) {
		size_t length = 1000;
		char *in = malloc(length);
		char *out = malloc(TEXT_ESCAPE_SIZE(length));
		assert_non_null(in);
		assert_non_null(out);
		memset(in, worst[w], length);
		assert_int_equal(text_escape(in, length, out), TEXT_ESCAPE_SIZE(length) - 1);
		assert_int_equal(out[TEXT_ESCAPE_SIZE(length) - 1], '\0');
		free(out);
		free(in);
	}
	/* And so does a C1 control as UTF-8: 2 bytes in, 8 out. */
	CHECK_ESCAPE("\xc2\x9b\xc2\x9b", "\\xc2\\x9b\\xc2\\x9b");
}

/* Writes code point CODE as UTF-8 into OUT; returns its length. */
static size_t encode_utf8(uint32_t code, unsigned char *out)
{
	if (code < 0x80) {
		out[0] = (unsigned char)code;
		return 1;
	}
	if (code < 0x800) {
		out[0] = (unsigned char)(0xc0 | code >> 6);
		out[1] = (unsigned char)(0x80 | (code & 0x3f));
		return 2;
	}
	if (code < 0x10000) {
		out[0] = (unsigned char)(0xe0 | code >> 12);
		out[1] = (unsigned char)(0x80 | (code >> 6 & 0x3f));
		out[2] = (unsigned char)(0x80 | (code & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | code >> 18);
	out[1] = (unsigned char)(0x80 | (code >> 12 & 0x3f));
	out[2] = (unsigned char)(0x80 | (code >> 6 & 0x3f));
	out[3] = (unsigned char)(0x80 | (code & 0x3f));
	return 4;
}

/* A random code point that is not a surrogate, of 2, 3 or 4 bytes in UTF-8. */
static uint32_t random_code_point(uint32_t *seed)
{
	for (;;) {
		uint32_t code;
		switch (next_random(seed) % 3) {
		case 0:
			code = 0x80 + next_random(seed) % (0x800 - 0x80);
			break;
		case 1:
			code = 0x800 + next_random(seed) % (0x10000 - 0x800);
			break;
		default:
			code = 0x10000 + next_random(seed) % (0x110000 - 0x10000);
			break;
		}
		if (code < 0xd800 || code > 0xdfff)
			return code;
	}
}

/* Appends to IN (at LENGTH) one random piece that escaping finds interesting. */
static size_t random_piece(uint32_t *seed, unsigned char *in, size_t length)
{
	static const unsigned char edges[] = {0x00, 0x1b, 0x7f, 0x80, 0x9b, 0x9f, 0xa0, 0xbf,
					      0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0,
					      0xf4, 0xf5, 0xff, '\\', '\n', '\t', '\r'};
	unsigned char sequence[4];
	size_t size;

	switch (next_random(seed) % 8) {
	case 0: /* any byte */
		in[length] = (unsigned char)next_random(seed);
		return 1;
	case 1: /* printable ASCII */
		in[length] = (unsigned char)(0x20 + next_random(seed) % 0x5f);
		return 1;
	case 2: /* a byte at an edge */
		in[length] = edges[next_random(seed) % sizeof edges];
		return 1;
	case 3: /* a C1 control as UTF-8 */
		in[length] = 0xc2;
		in[length + 1] = (unsigned char)(0x80 + next_random(seed) % 0x20);
		return 2;
	case 4: /* a sequence cut short */
		size = encode_utf8(random_code_point(seed), sequence);
		size = 1 + next_random(seed) % (size - 1);
		memcpy(in + length, sequence, size);
		return size;
	default: /* a whole valid sequence */
		size = encode_utf8(random_code_point(seed), sequence);
		memcpy(in + length, sequence, size);
		return size;
	}
}

/* Many pseudo-random inputs: the same output as the reference, harmless, reversible. */
static void test_escape_random(void **state)
{
	uint32_t seed = 0x51ed270b;
	(void)state;

	for (int round = 0; round < 20000; round++) {
		unsigned char in[80];
		char expected[TEXT_ESCAPE_SIZE(sizeof in)];
		size_t length = 0, pieces = next_random(&seed) % 20;
		for (size_t p = 0; p < pieces; p++)
			length += random_piece(&seed, in, length);
		assert_true(length <= sizeof in);
		reference_escape((const char *)in, length, expected);
		check_escape_bytes((const char *)in, length, expected);
	}
}

/* ---- the challenge ---- */

static void test_challenge_round_trip(void **state)
{
	static const char *const tokens[] = {"9f3c0a1e5d7b2468", "0000000000000000", "ffffffffffffffff",
						    "0123abcd4567ef89"};
	(void)state;

	for (size_t t = 0; t < sizeof tokens / sizeof tokens[0]; t++) {
		char line[128], expected[128], token[CHAT_TOKEN_LENGTH + 1];
		int expected_length =
			snprintf(expected, sizeof expected, "send \"/join %s\" to join\n", tokens[t]);
		size_t length = chat_challenge(tokens[t], line, sizeof line);
		assert_int_equal(length, (size_t)expected_length);
		assert_string_equal(line, expected);
		assert_true(length <= 64); /* the issue: a challenge is at most 64 bytes */

		char *copy = exact_copy(line, length);
		memset(token, 'X', sizeof token);
		assert_true(chat_challenge_token(copy, length, token));
		assert_string_equal(token, tokens[t]);
		free(copy);

		/* What a person types back is the join command with the token. */
		char reply[32];
		int reply_length = snprintf(reply, sizeof reply, "/join %s\n", token);
		check_parse(reply, (size_t)reply_length, CHAT_JOIN, tokens[t], CHAT_TOKEN_LENGTH);
	}
}

/* The challenge fits exactly, or gives 0, never writing past SIZE. */
static void test_challenge_sizes(void **state)
{
	static const char expected[] = "send \"/join 9f3c0a1e5d7b2468\" to join\n";
	size_t length = sizeof expected - 1;
	char buffer[sizeof expected + GUARD];
	(void)state;

	for (size_t size = 1; size <= sizeof expected + 2; size++) {
		memset(buffer, GUARD_BYTE, sizeof buffer);
		size_t written = chat_challenge("9f3c0a1e5d7b2468", buffer, size);
		if (size > length) {
			assert_int_equal(written, length);
			assert_string_equal(buffer, expected);
		} else {
			assert_int_equal(written, 0);
		}
		for (size_t i = size; i < sizeof buffer; i++)
			if ((unsigned char)buffer[i] != GUARD_BYTE)
				fail_msg("chat_challenge wrote byte %zu of a %zu-byte buffer", i, size);
	}
}

/* Expects DATA (LENGTH bytes) not to be taken for a challenge. */
static void check_not_challenge(const char *data, size_t length)
{
	char token[CHAT_TOKEN_LENGTH + 1];
	char *copy = exact_copy(data, length);
	if (chat_challenge_token(copy, length, token))
		print_bytes("taken for a challenge: ", data, length);
	assert_false(chat_challenge_token(copy, length, token));
	free(copy);
}

#define CHECK_NOT_CHALLENGE(data) check_not_challenge(data, sizeof(data) - 1)

static void test_challenge_rejects(void **state)
{
	(void)state;
	CHECK_NOT_CHALLENGE("");
	CHECK_NOT_CHALLENGE("\n");
	CHECK_NOT_CHALLENGE("send \"/join ");
	CHECK_NOT_CHALLENGE("hello, world\n");
	/* Tokens of the wrong length. */
	CHECK_NOT_CHALLENGE("send \"/join \" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b24680\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b24689f3c0a1e5d7b2468\" to join\n");
	/* Not lower-case hex. */
	CHECK_NOT_CHALLENGE("send \"/join 9F3C0A1E5D7B2468\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246E\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246g\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e 5d7b246\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246\0\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246\x1b\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246\xc3\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246/\" to join\n"); /* '0' - 1 */
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246:\" to join\n"); /* '9' + 1 */
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b246`\" to join\n"); /* 'a' - 1 */
	/* The line end: missing, doubled, or another one. */
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to join");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to join\n\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to join\r\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to join\r");
	/* Text around it, or the words changed. */
	CHECK_NOT_CHALLENGE("x send \"/join 9f3c0a1e5d7b2468\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to join\nhi");
	CHECK_NOT_CHALLENGE("bob>> send \"/join 9f3c0a1e5d7b2468\" to join\n");
	CHECK_NOT_CHALLENGE("Send \"/join 9f3c0a1e5d7b2468\" to join\n");
	CHECK_NOT_CHALLENGE("send '/join 9f3c0a1e' to join\n");
	CHECK_NOT_CHALLENGE("send \"/join 9f3c0a1e5d7b2468\" to joi\n\n");
	CHECK_NOT_CHALLENGE("send \"/join  9f3c0a1e5d7b2468\" to join\n");
	CHECK_NOT_CHALLENGE("send \"/nick 9f3c0a1e5d7b2468\" to join\n");
}

/* Only LENGTH bytes are read: a challenge followed by more bytes in memory still counts. */
static void test_challenge_by_length(void **state)
{
	static const char data[] = "send \"/join 0a1b2c3d4e5f6a7b\" to join\ntrailing bytes";
	char token[CHAT_TOKEN_LENGTH + 1];
	(void)state;

	assert_true(chat_challenge_token(data, 38, token));
	assert_string_equal(token, "0a1b2c3d4e5f6a7b");
	assert_false(chat_challenge_token(data, 39, token));
	assert_false(chat_challenge_token(data, 37, token));
}

/* ---- the welcome line ---- */

static void test_welcome_line(void **state)
{
	char line[128];
	(void)state;

	static const char alice[] = "* welcome, you are alice (1 member; idle timeout 300 s)\n";
	assert_int_equal(chat_welcome("alice", 1, 300, line, sizeof line), sizeof alice - 1);
	assert_string_equal(line, alice);
	chat_welcome("[::1]:5000", 64, 86400, line, sizeof line);
	assert_string_equal(line,
			    "* welcome, you are [::1]:5000 (64 members; idle timeout 86400 s)\n");
	chat_welcome("10.0.0.1:9", 0, 1, line, sizeof line);
	assert_string_equal(line, "* welcome, you are 10.0.0.1:9 (0 members; idle timeout 1 s)\n");
}

/* The line fits exactly, or gives 0, never writing past SIZE. */
static void test_welcome_sizes(void **state)
{
	static const char expected[] = "* welcome, you are bob (2 members; idle timeout 60 s)\n";
	size_t length = sizeof expected - 1;
	char buffer[sizeof expected + GUARD];
	(void)state;

	for (size_t size = 1; size <= sizeof expected + 2; size++) {
		memset(buffer, GUARD_BYTE, sizeof buffer);
		size_t written = chat_welcome("bob", 2, 60, buffer, size);
		if (size > length) {
			assert_int_equal(written, length);
			assert_string_equal(buffer, expected);
		} else {
			assert_int_equal(written, 0);
		}
		for (size_t i = size; i < sizeof buffer; i++)
			if ((unsigned char)buffer[i] != GUARD_BYTE)
				fail_msg("chat_welcome wrote byte %zu of a %zu-byte buffer", i, size);
	}
}

/* Reads the idle timeout from DATA (LENGTH bytes), or returns false. */
static bool welcome_timeout(const char *data, size_t length, unsigned long *timeout)
{
	char *copy = exact_copy(data, length);
	bool found = chat_welcome_timeout(copy, length, timeout);
	free(copy);
	return found;
}

#define WELCOME_TIMEOUT(data, timeout) welcome_timeout(data, sizeof(data) - 1, timeout)

static void test_welcome_round_trip(void **state)
{
	static const unsigned long timeouts[] = {1, 9, 10, 300, 3600, 86400};
	static const char *const labels[] = {"alice", "[2001:db8::1]:65535", "127.0.0.1:9001", "x"};
	(void)state;

	for (size_t t = 0; t < sizeof timeouts / sizeof timeouts[0]; t++) {
		for (size_t l = 0; l < sizeof labels / sizeof labels[0]; l++) {
			char line[128];
			unsigned long timeout = 0;
			size_t length = chat_welcome(labels[l], t, timeouts[t], line, sizeof line);
			assert_true(length > 0);
			assert_true(welcome_timeout(line, length, &timeout));
			assert_int_equal(timeout, timeouts[t]);
			/* Without its line end, as chat_parse would hand it on. */
			timeout = 0;
			size_t shorter = length > 0 ? length - 1 : 0;
			assert_true(welcome_timeout(line, shorter, &timeout));
			assert_int_equal(timeout, timeouts[t]);
		}
	}
}

static void test_welcome_rejects(void **state)
{
	unsigned long timeout = 0;
	(void)state;

	assert_false(WELCOME_TIMEOUT("", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are ", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout ", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout -5 s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout  5 s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle time 5 s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* Welcome, you are bob (1 member; idle timeout 5 s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* alice joined; idle timeout 5 s\n", &timeout));
	/* Another member's text, relayed, carries a prefix: it is no welcome. */
	assert_false(WELCOME_TIMEOUT("mallory>> * welcome, you are bob (1 member; idle timeout 1 s)\n",
				     &timeout));
	/* A number too large for any timeout is refused, not wrapped. */
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout "
				     "184467440737095516170 s)\n", &timeout));
	assert_false(WELCOME_TIMEOUT("* welcome, you are bob (1 member; idle timeout 99999999999 s)\n",
				     &timeout));
	/* The marker must lie after the fixed start, not overlap it. */
	assert_false(WELCOME_TIMEOUT("* welcome, you are", &timeout));
}

/* The last "; idle timeout " counts, and only LENGTH bytes are read. */
static void test_welcome_details(void **state)
{
	static const char line[] = "* welcome, you are bob (1 member; idle timeout 300 s)\n";
	unsigned long timeout = 0;
	(void)state;

	assert_true(WELCOME_TIMEOUT("* welcome, you are a; idle timeout 1 (1 member; idle timeout 42 s)\n",
				    &timeout));
	assert_int_equal(timeout, 42);
	/* Cut inside the number: the digits that are there. */
	size_t digits = 47;
	assert_memory_equal(line + digits, "300", 3);
	assert_true(welcome_timeout(line, digits + 2, &timeout));
	assert_int_equal(timeout, 30);
	assert_false(welcome_timeout(line, digits, &timeout));
}

/* Messages must be text: valid UTF-8 without NUL; controls such as ESC are text (clients escape them). */
/* chat_text_valid over a string literal, by its size (NUL bytes inside count). */
#define TEXT_VALID(literal) chat_text_valid(literal, sizeof(literal) - 1)

static void test_text_valid(void **state)
{
	(void)state;
	assert_true(TEXT_VALID(""));
	assert_true(TEXT_VALID("hello"));
	assert_true(TEXT_VALID("\x1b[31mred\x07"));
	assert_true(TEXT_VALID("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	assert_true(TEXT_VALID("\xc2\x9b")); /* C1 as UTF-8: text, escaped on display */
	assert_false(TEXT_VALID("a\0b"));
	assert_false(TEXT_VALID("\x9b"));             /* a lone continuation byte */
	assert_false(TEXT_VALID("\xc0\x80"));         /* overlong NUL */
	assert_false(TEXT_VALID("\xed\xa0\x80"));     /* a surrogate */
	assert_false(TEXT_VALID("\xf4\x90\x80\x80")); /* past U+10FFFF */
	assert_false(TEXT_VALID("\xe2\x82"));         /* cut short */
	assert_false(TEXT_VALID("ok\xff"));
	/* Only LENGTH bytes count: what follows is not looked at. */
	assert_true(chat_text_valid("ok\xff", 2));
}

/* Bidirectional overrides and isolates would make text read other than it is: escaped. */
static void test_escape_bidi(void **state)
{
	(void)state;
	char out[TEXT_ESCAPE_SIZE(64)];
	static const char override[] = "a\xe2\x80\xae" "b";   /* U+202E RIGHT-TO-LEFT OVERRIDE */
	text_escape(override, sizeof override - 1, out);
	assert_string_equal(out, "a\\xe2\\x80\\xaeb");
	static const char isolate[] = "\xe2\x81\xa6x\xe2\x81\xa9"; /* U+2066 ... U+2069 */
	text_escape(isolate, sizeof isolate - 1, out);
	assert_string_equal(out, "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
	/* Their neighbours are ordinary text: U+2029 and U+202F, U+2065 and U+206A. */
	static const char neighbours[] = "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa";
	text_escape(neighbours, sizeof neighbours - 1, out);
	assert_string_equal(out, neighbours);
}

/* ---- what a client sends: padded requests and /nick ---- */

/* The challenge is CHAT_CHALLENGE_LENGTH bytes, and every padded request has room for it. */
static void test_challenge_length(void **state)
{
	(void)state;
	char out[128];
	assert_int_equal(chat_challenge("0123456789abcdef", out, sizeof out), CHAT_CHALLENGE_LENGTH);
	assert_true(CHAT_PADDED_LENGTH >= CHAT_CHALLENGE_LENGTH);
}

/* Padded requests: exactly CHAT_PADDED_LENGTH bytes, read back by the server as the command. */
static void test_padded_requests(void **state)
{
	(void)state;
	char out[CHAT_PADDED_LENGTH + 1];
	struct chat_request request;

	memset(out, 'X', sizeof out);
	assert_int_equal(chat_format_join(NULL, out, sizeof out), CHAT_PADDED_LENGTH);
	assert_memory_equal(out, "/join ", 6);
	for (size_t i = 5; i < CHAT_PADDED_LENGTH - 1; i++)
		assert_int_equal(out[i], ' ');
	assert_int_equal(out[CHAT_PADDED_LENGTH - 1], '\n');
	assert_int_equal(out[CHAT_PADDED_LENGTH], '\0');
	chat_parse(out, CHAT_PADDED_LENGTH, &request);
	assert_int_equal(request.kind, CHAT_JOIN);
	assert_int_equal(request.length, 0);

	assert_int_equal(chat_format_join("0123456789abcdef", out, sizeof out), CHAT_PADDED_LENGTH);
	chat_parse(out, CHAT_PADDED_LENGTH, &request);
	assert_int_equal(request.kind, CHAT_JOIN);
	assert_int_equal(request.length, CHAT_TOKEN_LENGTH);
	assert_memory_equal(request.argument, "0123456789abcdef", CHAT_TOKEN_LENGTH);

	assert_int_equal(chat_format_ping(out, sizeof out), CHAT_PADDED_LENGTH);
	chat_parse(out, CHAT_PADDED_LENGTH, &request);
	assert_int_equal(request.kind, CHAT_PING);

	/* Too small a buffer, or a token too long for the padding: 0, nothing claimed. */
	assert_int_equal(chat_format_join(NULL, out, CHAT_PADDED_LENGTH), 0);
	char long_token[CHAT_PADDED_LENGTH];
	memset(long_token, 'a', sizeof long_token - 1);
	long_token[sizeof long_token - 1] = '\0';
	assert_int_equal(chat_format_join(long_token, out, sizeof out), 0);
	long_token[CHAT_PADDED_LENGTH - 7] = '\0'; /* "/join " and the newline: the longest that fits */
	assert_int_equal(chat_format_join(long_token, out, sizeof out), CHAT_PADDED_LENGTH);
	assert_int_equal(out[CHAT_PADDED_LENGTH - 1], '\n');
}

/*
 * "/nick NAME\n" for names of every length up to the longest, into a buffer
 * of exactly CHAT_NICK_LINE_SIZE: the length returned is what was written,
 * never more; invalid names and a short buffer give 0.
 */
static void test_nick_line(void **state)
{
	(void)state;
	char name[CHAT_NAME_MAX + 2];
	for (size_t length = 1; length <= CHAT_NAME_MAX + 1; length++) {
		for (size_t i = 0; i < length; i++)
			name[i] = (char)('a' + i % 26);
		name[length] = '\0';
		char out[CHAT_NICK_LINE_SIZE + 8];
		memset(out, 'X', sizeof out);
		size_t written = chat_format_nick(name, out, CHAT_NICK_LINE_SIZE);
		if (length > CHAT_NAME_MAX) {
			assert_int_equal(written, 0);
			continue;
		}
		assert_int_equal(written, 6 + length + 1);
		assert_memory_equal(out, "/nick ", 6);
		assert_memory_equal(out + 6, name, length);
		assert_int_equal(out[6 + length], '\n');
		assert_int_equal(out[written], '\0');
		for (size_t i = CHAT_NICK_LINE_SIZE; i < sizeof out; i++)
			assert_int_equal(out[i], 'X'); /* nothing past the buffer it was given */
	}
	assert_int_equal(chat_format_nick("bad name", name, sizeof name), 0);
	assert_int_equal(chat_format_nick("", name, sizeof name), 0);
	char small[8];
	assert_int_equal(chat_format_nick("alice", small, sizeof small), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_valid),
		cmocka_unit_test(test_escape_bidi),
		cmocka_unit_test(test_parse_commands),
		cmocka_unit_test(test_parse_trims_blanks),
		cmocka_unit_test(test_parse_unknown),
		cmocka_unit_test(test_parse_double_slash),
		cmocka_unit_test(test_parse_messages),
		cmocka_unit_test(test_parse_line_ends),
		cmocka_unit_test(test_parse_lone_carriage_return),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_end_exact),
		cmocka_unit_test(test_parse_binary),
		cmocka_unit_test(test_parse_nick),
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_relay_single_line),
		cmocka_unit_test(test_relay_multi_line),
		cmocka_unit_test(test_relay_empty_lines),
		cmocka_unit_test(test_relay_large),
		cmocka_unit_test(test_relay_random),
		cmocka_unit_test(test_escape_ascii),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_utf8),
		cmocka_unit_test(test_escape_c1),
		cmocka_unit_test(test_escape_invalid_utf8),
		cmocka_unit_test(test_escape_bound),
		cmocka_unit_test(test_escape_random),
		cmocka_unit_test(test_challenge_round_trip),
		cmocka_unit_test(test_challenge_sizes),
		cmocka_unit_test(test_challenge_rejects),
		cmocka_unit_test(test_challenge_by_length),
		cmocka_unit_test(test_welcome_line),
		cmocka_unit_test(test_welcome_sizes),
		cmocka_unit_test(test_welcome_round_trip),
		cmocka_unit_test(test_welcome_rejects),
		cmocka_unit_test(test_welcome_details),
		cmocka_unit_test(test_challenge_length),
		cmocka_unit_test(test_padded_requests),
		cmocka_unit_test(test_nick_line),
	};
	return cmocka_run_group_tests_name("chat protocol", tests, NULL, NULL);
}
