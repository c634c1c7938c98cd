/*
 * fuzz_addr: a libFuzzer target for the address functions (src/lib/addr.h)
 * that judge the host and port an operator or a peer gives, and for the text
 * that addresses are logged as.
 *
 * An input is read two ways.
 *
 * As text: it is cut at NUL bytes into at most STRINGS_MAX strings, each
 * copied to a block of exactly its size (so that reading past the NUL is
 * seen), and for each:
 *   - addr_host_kind agrees with an oracle written here: HOST_IPV4 exactly
 *     when inet_pton(AF_INET) takes the text; HOST_IPV6 exactly when the text
 *     (inside brackets, which need a ':') is an address inet_pton(AF_INET6)
 *     takes, and, when it has a zone ("%lo"), only if the address part is
 *     one and the zone is not empty; HOST_NAME exactly for a name by the
 *     RFC 1123 rules as addr.h states them (labels of 1 to 63 letters,
 *     digits, '-' inside, '_'; at most 253 bytes and one trailing dot; the
 *     last label not all digits) that is not an old-style IPv4 address
 *     inet_aton would take ("127.1", "0x7f000001");
 *   - addr_parse_numeric succeeds exactly when addr_host_kind says IPv4 or
 *     IPv6; what it gives has the address the oracle's inet_pton gives, the
 *     port asked for, the length of its family, and is IPv4 for an
 *     IPv4-mapped address; on failure errno is EINVAL;
 *   - addr_parse_port agrees with an oracle: decimal digits only, any number
 *     of leading zeros, 0 to 65535; EINVAL for what is not a number, ERANGE
 *     for a number past 65535; the port is untouched on failure.
 * Two addresses that parsed are addr_equal exactly when the oracle says so.
 *
 * As a socket address: the first bytes make one, of family AF_INET,
 * AF_INET6, AF_INET6 with a v4-mapped address, or anything else, with port,
 * scope and flow label taken from the input, and a second one that differs
 * from it in one field the input picks. For those and for every address
 * that parsed:
 *   - addr_equal is symmetric, reflexive for both families, and agrees with
 *     an oracle (same family, address, port, and scope for IPv6; the flow
 *     label does not count);
 *   - addr_unmap turns a v4-mapped address into the IPv4 address it carries,
 *     with its port and nothing else, and leaves every other address as it
 *     was, byte for byte;
 *   - addr_format writes a NUL-terminated text shorter than ADDRESS_TEXT_MAX,
 *     "A.B.C.D:PORT" for IPv4 and v4-mapped addresses, "[ADDR]:PORT" or
 *     "[ADDR%ZONE]:PORT" for IPv6, the port in decimal without leading zeros;
 *     cut short in a smaller buffer it is its own beginning, NUL-terminated;
 *     and the text, its port split off, parses back (addr_parse_port and
 *     addr_parse_numeric) to an address addr_equal to the unmapped original
 *     (this found that a zone was written by interface name on addresses
 *     that are not link-local, where no resolver takes a name back);
 *   - addr_host_problem gives a reason exactly when addr_host_kind refuses;
 *     addr_parse_service agrees with addr_parse_port on digits and says
 *     ENOENT for what is neither a number nor a possible service name.
 * A broken invariant prints which one and calls abort(), which libFuzzer
 * reports as a crash and keeps the input.
 *
 * Run: make fuzz [FUZZ_SECONDS=60], or by hand
 *   build-fuzz/fuzz_addr -max_total_time=60 DIR tests/fuzz/corpus/addr
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/addr.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* At most this many strings are taken from one input. */
#define STRINGS_MAX 8

/* Bytes of input that make the raw socket addresses. */
#define RAW_SIZE 32

/* ---- the oracles ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A host name by the rules addr.h states; TEXT is not an address. */
static bool name_valid(const char *text)
{
	size_t length = strlen(text);

	if (length > 0 && text[length - 1] == '.')
		length--;
	if (length == 0 || length > 253)
		return false;
	size_t label_length = 0;
	bool label_digits = true;
	char previous = '.';
	/* A '.' is imagined after the last label, so that it is judged as the others. */
	for (size_t i = 0; i <= length; i++) {
		char c = i < length ? text[i] : '.';
		if (c == '.') {
			if (label_length == 0 || label_length > 63 || previous == '-')
				return false;
			if (i == length && label_digits)
				return false;
			label_length = 0;
			label_digits = true;
		} else {
			if (label_length == 0 && c == '-')
				return false;
			if (!is_letter(c) && !is_digit(c) && c != '-' && c != '_')
				return false;
			label_digits = label_digits && is_digit(c);
			label_length++;
		}
		previous = c;
	}
	return true;
}

/* What the oracle makes of a text that may be an IPv6 address. */
struct ipv6_text {
	bool plausible;       /* brackets right, address part taken by inet_pton, zone not empty */
	bool exact;           /* no zone: PLAUSIBLE is the whole answer */
	struct in6_addr addr; /* the address part, when plausible */
};

static struct ipv6_text judge_ipv6(const char *text)
{
	struct ipv6_text judged = {.plausible = false, .exact = true};
	size_t length = strlen(text);
	char inner[256];

	if (text[0] == '[') {
		if (length < 3 || text[length - 1] != ']')
			return judged;
		length -= 2;
		text++;
	}
	if (length >= sizeof inner)
		return judged; /* far longer than any address with any zone */
	memcpy(inner, text, length);
	inner[length] = '\0';
	if (strchr(inner, ':') == NULL)
		return judged;
	char *zone = strchr(inner, '%');
	if (zone != NULL) {
		judged.exact = false;
		*zone = '\0';
		if (zone[1] == '\0')
			return judged;
	}
	judged.plausible = inet_pton(AF_INET6, inner, &judged.addr) == 1;
	return judged;
}

static enum host_kind expected_kind(const char *text, bool *exact)
{
	struct in_addr ipv4;

	*exact = true;
	if (text[0] == '\0')
		return HOST_INVALID;
	if (inet_pton(AF_INET, text, &ipv4) == 1)
		return HOST_IPV4;
	if (text[0] == '[' || strchr(text, ':') != NULL) {
		struct ipv6_text judged = judge_ipv6(text);
		*exact = judged.exact || !judged.plausible;
		return judged.plausible ? HOST_IPV6 : HOST_INVALID;
	}
	if (inet_aton(text, &ipv4) != 0)
		return HOST_INVALID;
	return name_valid(text) ? HOST_NAME : HOST_INVALID;
}

/* The oracle for addr_parse_port: 0, or the errno it must give. */
static int expected_port(const char *text, uint16_t *port)
{
	unsigned long value = 0;
	bool too_big = false;

	if (text[0] == '\0')
		return EINVAL;
	for (const char *c = text; *c != '\0'; c++) {
		if (!is_digit(*c))
			return EINVAL;
		value = value * 10 + (unsigned long)(*c - '0');
		if (value > 65535) {
			too_big = true;
			value = 65536; /* stays past the range, never wraps */
		}
	}
	if (too_big)
		return ERANGE;
	*port = (uint16_t)value;
	return 0;
}

static bool is_v4_mapped(const struct address *address)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return address->storage.ss_family == AF_INET6 &&
	       memcmp(in6->sin6_addr.s6_addr, prefix, sizeof prefix) == 0;
}

/* The oracle for addr_equal. */
static bool expected_equal(const struct address *a, const struct address *b)
{
	if (a->storage.ss_family != b->storage.ss_family)
		return false;
	if (a->storage.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->storage;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->storage;
		return x->sin_port == y->sin_port &&
		       memcmp(&x->sin_addr, &y->sin_addr, sizeof x->sin_addr) == 0;
	}
	if (a->storage.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->storage;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->storage;
		return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

/* ---- addresses as values ---- */

static void check_equal(const struct address *a, const struct address *b)
{
	bool equal = addr_equal(a, b);
	CHECK(equal == addr_equal(b, a));
	CHECK(equal == expected_equal(a, b));
	int family = a->storage.ss_family;
	if (family == AF_INET || family == AF_INET6)
		CHECK(addr_equal(a, a));
}

static void check_unmap(const struct address *original)
{
	struct address address;
	memcpy(&address, original, sizeof address);
	addr_unmap(&address);
	if (!is_v4_mapped(original)) {
		CHECK(memcmp(&address, original, sizeof address) == 0);
		return;
	}
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&original->storage;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address.storage;
	CHECK(address.storage.ss_family == AF_INET);
	CHECK(address.length == sizeof(struct sockaddr_in));
	CHECK(in4->sin_port == in6->sin6_port);
	CHECK(memcmp(&in4->sin_addr, &in6->sin6_addr.s6_addr[12], 4) == 0);
	/* Nothing of the IPv6 address is left behind: the rest is zero. */
	const unsigned char *bytes = (const unsigned char *)&address.storage;
	for (size_t i = offsetof(struct sockaddr_in, sin_zero); i < sizeof address.storage; i++)
		CHECK(bytes[i] == 0);
}

static void check_format(const struct address *address)
{
	char text[ADDRESS_TEXT_MAX], wide[4 * ADDRESS_TEXT_MAX];
	int family = address->storage.ss_family;

	memset(text, 'X', sizeof text);
	CHECK(addr_format(address, text, sizeof text) == text);
	CHECK(memchr(text, '\0', sizeof text) != NULL);
	/* In a far larger buffer the text is the same: it was not cut. */
	memset(wide, 'X', sizeof wide);
	addr_format(address, wide, sizeof wide);
	CHECK(memchr(wide, '\0', sizeof wide) != NULL);
	size_t length = strlen(wide);
	CHECK(length < ADDRESS_TEXT_MAX && length > 0);
	CHECK(strcmp(text, wide) == 0);

	/* Cut short, it is its own beginning. */
	size_t room = 1 + (size_t)addr_port(address) % length;
	char *small = malloc(room);
	CHECK(small != NULL);
	memset(small, 'X', room);
	addr_format(address, small, room);
	CHECK(small[room - 1] == '\0' && strlen(small) == room - 1);
	CHECK(memcmp(small, text, room - 1) == 0);
	free(small);

	if (family != AF_INET && family != AF_INET6) {
		CHECK(strncmp(text, "(unknown address family ", 24) == 0);
		return;
	}

	/* The port: after the last ':', decimal, as addr_port says. */
	char *colon = strrchr(text, ':');
	CHECK(colon != NULL && colon > text);
	const char *port_text = colon + 1;
	uint16_t port = 0;
	CHECK(expected_port(port_text, &port) == 0);
	CHECK(port == addr_port(address));
	CHECK(port_text[0] != '0' || port_text[1] == '\0');
	uint16_t parsed_port = 0;
	CHECK(addr_parse_port(port_text, &parsed_port) == 0 && parsed_port == port);

	/* The host: brackets exactly for IPv6 that is not v4-mapped. */
	*colon = '\0';
	bool bracketed = family == AF_INET6 && !is_v4_mapped(address);
	size_t host_length = strlen(text);
	if (bracketed) {
		CHECK(text[0] == '[' && text[host_length - 1] == ']');
	} else {
		struct in_addr ipv4;
		CHECK(inet_pton(AF_INET, text, &ipv4) == 1);
	}

	struct address back, unmapped;
	CHECK(addr_parse_numeric(text, port, &back) == 0);
	memcpy(&unmapped, address, sizeof unmapped);
	addr_unmap(&unmapped);
	CHECK(addr_equal(&back, &unmapped));
}

/* ---- raw socket addresses ---- */

static uint32_t read_u32(const uint8_t *bytes)
{
	return (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
	       (uint32_t)bytes[3] << 24;
}

/*
 * Makes a socket address of RAW_SIZE bytes of input: byte 0 picks the kind
 * (its low two bits) and whether the scope is small enough to name an
 * interface (bit 4); then family (2 bytes, for the fourth kind), port (2),
 * address (16, or its first 4 for IPv4), scope (4), flow label (4).
 */
static void make_address(const uint8_t *raw, struct address *out)
{
	memset(out, 0, sizeof *out);
	unsigned kind = raw[0] & 3;
	uint16_t port = (uint16_t)(raw[3] | raw[4] << 8);
	if (kind == 0) {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
		in4->sin_family = AF_INET;
		in4->sin_port = port;
		memcpy(&in4->sin_addr, raw + 5, 4);
		out->length = sizeof *in4;
	} else if (kind == 1 || kind == 2) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->storage;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = port;
		memcpy(&in6->sin6_addr, raw + 5, 16);
		if (kind == 2) {
			memset(&in6->sin6_addr, 0, 10);
			memset(&in6->sin6_addr.s6_addr[10], 0xff, 2);
		}
		uint32_t scope = read_u32(raw + 21);
		in6->sin6_scope_id = raw[0] & 0x10 ? scope % 8 : scope;
		in6->sin6_flowinfo = read_u32(raw + 25);
		out->length = sizeof *in6;
	} else {
		out->storage.ss_family = (sa_family_t)(raw[1] | raw[2] << 8);
		memcpy((char *)&out->storage + 2, raw + 3, RAW_SIZE - 3);
		out->length = (socklen_t)(raw[29] % (sizeof out->storage + 1));
	}
}

/* A copy of ADDRESS with one field (picked by CHANGE) made different by VALUE. */
static void make_other(const struct address *address, uint8_t change, uint8_t value,
		       struct address *out)
{
	memcpy(out, address, sizeof *out);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&out->storage;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->storage;
	int family = out->storage.ss_family;
	uint8_t delta = value != 0 ? value : 1;
	switch (change % 6) {
	case 0: /* the same */
		break;
	case 1: /* the port */
		if (family == AF_INET)
			in4->sin_port ^= delta;
		else if (family == AF_INET6)
			in6->sin6_port ^= delta;
		break;
	case 2: /* a byte of the address */
		if (family == AF_INET)
			((uint8_t *)&in4->sin_addr)[value % 4] ^= delta;
		else if (family == AF_INET6)
			in6->sin6_addr.s6_addr[value % 16] ^= delta;
		break;
	case 3: /* the scope */
		if (family == AF_INET6)
			in6->sin6_scope_id ^= delta;
		break;
	case 4: /* the flow label, which does not count */
		if (family == AF_INET6)
			in6->sin6_flowinfo ^= delta;
		break;
	default: /* the family */
		out->storage.ss_family = family == AF_INET ? AF_INET6 : AF_INET;
		break;
	}
}

static void check_raw(const uint8_t *raw)
{
	struct address address, other;
	make_address(raw, &address);
	make_other(&address, raw[30], raw[31], &other);

	check_equal(&address, &other);
	check_unmap(&address);
	check_unmap(&other);
	check_format(&address);
	check_format(&other);
}

/* ---- strings ---- */

static void check_port(const char *text)
{
	uint16_t expected = 0, port = 0xbeef;
	int wanted = expected_port(text, &expected);

	errno = 0;
	int result = addr_parse_port(text, &port);
	if (wanted == 0) {
		CHECK(result == 0 && port == expected);
	} else {
		CHECK(result == -1 && errno == wanted);
		CHECK(port == 0xbeef);
	}

	/*
	 * As a port or service name: a number is what addr_parse_port says (what
	 * is not one, ENOENT); a word with a character no service name has is
	 * ENOENT without a look-up. (Real names are looked up in the database,
	 * which is too slow to do for every input.)
	 */
	uint16_t service = 0xbeef;
	if (text[0] != '\0' && strspn(text, "0123456789") == strlen(text)) {
		errno = 0;
		result = addr_parse_service(text, "tcp", &service);
		if (wanted == 0)
			CHECK(result == 0 && service == expected);
		else
			CHECK(result == -1 && errno == wanted);
	} else if (text[0] == '\0' || strspn(text, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
						  "0123456789-_.") != strlen(text)) {
		errno = 0;
		CHECK(addr_parse_service(text, "tcp", &service) == -1 && errno == ENOENT);
		CHECK(service == 0xbeef);
	}
}

/* Checks TEXT as a host; returns true, with *ADDRESS, when it parsed as a numeric one. */
static bool check_host(const char *text, uint16_t port, struct address *address)
{
	bool exact;
	enum host_kind wanted = expected_kind(text, &exact);
	enum host_kind kind = addr_host_kind(text);

	CHECK(kind == HOST_INVALID || kind == HOST_IPV4 || kind == HOST_IPV6 || kind == HOST_NAME);
	const char *problem = addr_host_problem(text);
	CHECK((problem == NULL) == (kind != HOST_INVALID));
	CHECK(problem == NULL || (problem[0] != '\0' && strchr(problem, '\n') == NULL));
	if (exact)
		CHECK(kind == wanted);
	else
		CHECK(kind == HOST_INVALID || kind == HOST_IPV6); /* a zone the system may refuse */

	errno = 0;
	int result = addr_parse_numeric(text, port, address);
	CHECK(result == 0 || result == -1);
	CHECK((result == 0) == (kind == HOST_IPV4 || kind == HOST_IPV6));
	if (result != 0) {
		CHECK(errno == EINVAL);
		return false;
	}

	CHECK(addr_port(address) == port);
	if (kind == HOST_IPV4) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address->storage;
		struct in_addr ipv4;
		CHECK(inet_pton(AF_INET, text, &ipv4) == 1);
		CHECK(address->storage.ss_family == AF_INET);
		CHECK(address->length == sizeof *in4);
		CHECK(in4->sin_addr.s_addr == ipv4.s_addr);
		return true;
	}
	struct ipv6_text judged = judge_ipv6(text);
	CHECK(judged.plausible);
	struct address carried;
	memset(&carried, 0, sizeof carried);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&carried.storage;
	in6->sin6_family = AF_INET6;
	in6->sin6_addr = judged.addr;
	if (is_v4_mapped(&carried)) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address->storage;
		CHECK(address->storage.ss_family == AF_INET);
		CHECK(address->length == sizeof *in4);
		CHECK(memcmp(&in4->sin_addr, &judged.addr.s6_addr[12], 4) == 0);
	} else {
		const struct sockaddr_in6 *parsed = (const struct sockaddr_in6 *)&address->storage;
		CHECK(address->storage.ss_family == AF_INET6);
		CHECK(address->length == sizeof *parsed);
		CHECK(memcmp(&parsed->sin6_addr, &judged.addr, sizeof judged.addr) == 0);
		if (judged.exact)
			CHECK(parsed->sin6_scope_id == 0);
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= RAW_SIZE)
		check_raw(data);

	/* The port the hosts are parsed with: the first two bytes. */
	uint16_t port = size >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	struct address parsed[STRINGS_MAX];
	size_t parsed_count = 0;

	size_t at = 0;
	for (size_t count = 0; count < STRINGS_MAX && at <= size; count++) {
		const uint8_t *nul = memchr(data + at, '\0', size - at);
		size_t length = nul != NULL ? (size_t)(nul - (data + at)) : size - at;
		char *text = malloc(length + 1);
		CHECK(text != NULL);
		memcpy(text, data + at, length);
		text[length] = '\0';

		check_port(text);
		if (check_host(text, port, &parsed[parsed_count])) {
			check_unmap(&parsed[parsed_count]);
			check_format(&parsed[parsed_count]);
			parsed_count++;
		}
		free(text);
		at += length + 1;
	}
	for (size_t i = 1; i < parsed_count; i++)
		check_equal(&parsed[i - 1], &parsed[i]);
	return 0;
}
