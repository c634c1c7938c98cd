/*
 * test_addr: unit tests of socket addresses as values (src/lib/addr.h).
 *
 * What is checked:
 *   - addr_host_kind: IPv4 only as a strict dotted quad; IPv6 with or without
 *     brackets and with a zone; host names per RFC 1123 (letters, digits,
 *     inner hyphens, labels of 1..63, at most 253 characters, one trailing
 *     dot allowed, and a last label that is not all digits, so that nothing
 *     in the form of an IPv4 address is taken for a name);
 *   - addr_parse_port and addr_parse_numeric, errors included;
 *   - addr_format, including IPv4-mapped IPv6 shown as IPv4 and zones;
 *   - addr_equal: family, address, port and scope matter, padding and
 *     garbage in unused bytes do not;
 *   - addr_resolve with numeric hosts and "localhost" only (the tests run
 *     without a network), addr_any, addr_family, addr_port, addr_set_port.
 *
 * Run: build/tests/unit/test_addr
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "lib/addr.h"

/* ---- helpers ---- */

/* Expects addr_host_kind(TEXT) to be KIND, naming TEXT if not. */
static void check_kind(const char *text, enum host_kind kind)
{
	enum host_kind got = addr_host_kind(text);
	if (got != kind)
		print_error("addr_host_kind(\"%s\") = %d, expected %d\n", text, (int)got,
			    (int)kind);
	assert_int_equal(got, kind);
}

/* A string of COUNT copies of C in BUF (SIZE bytes). */
static char *repeat(char *buf, size_t size, char c, size_t count)
{
	assert_true(count < size);
	memset(buf, c, count);
	buf[count] = '\0';
	return buf;
}

/* Parses TEXT with PORT, which must succeed. */
static struct address numeric(const char *text, uint16_t port)
{
	struct address address;
	int status = addr_parse_numeric(text, port, &address);
	if (status != 0)
		print_error("addr_parse_numeric(\"%s\") failed\n", text);
	assert_int_equal(status, 0);
	return address;
}

/* Checks that addr_format gives EXPECTED for ADDRESS. */
static void check_format(const struct address *address, const char *expected)
{
	char buf[ADDRESS_TEXT_MAX];
	memset(buf, 'x', sizeof buf);
	char *result = addr_format(address, buf, sizeof buf);
	assert_ptr_equal(result, buf);
	assert_string_equal(buf, expected);
}

/* An IPv4 address built field by field over storage filled with FILL bytes. */
static struct address ipv4_over(unsigned char fill, const char *host, uint16_t port)
{
	struct address address;
	memset(&address, fill, sizeof address);
	struct sockaddr_in *in4 = (struct sockaddr_in *)&address.storage;
	in4->sin_family = AF_INET;
	in4->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, host, &in4->sin_addr), 1);
	address.length = sizeof *in4;
	return address;
}

/* An IPv6 address built field by field over storage filled with FILL bytes. */
static struct address ipv6_over(unsigned char fill, const char *host, uint16_t port,
				uint32_t scope, uint32_t flowinfo)
{
	struct address address;
	memset(&address, fill, sizeof address);
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address.storage;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	in6->sin6_flowinfo = htonl(flowinfo);
	in6->sin6_scope_id = scope;
	assert_int_equal(inet_pton(AF_INET6, host, &in6->sin6_addr), 1);
	address.length = sizeof *in6;
	return address;
}

/* True for 127.0.0.0/8 and ::1. */
static bool is_loopback(const struct address *address)
{
	if (addr_family(address) == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address->storage;
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr_family(address) == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address->storage;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

/* ---- addr_host_kind ---- */

static void test_host_kind_ipv4(void **state)
{
	(void)state;
	check_kind("127.0.0.1", HOST_IPV4);
	check_kind("0.0.0.0", HOST_IPV4);
	check_kind("255.255.255.255", HOST_IPV4);
	check_kind("10.20.30.40", HOST_IPV4);
}

/* Only the strict dotted quad: the short and out-of-range forms inet_aton takes are not IPv4. */
static void test_host_kind_ipv4_invalid(void **state)
{
	(void)state;
	check_kind("1.2.3", HOST_INVALID);
	check_kind("127.1", HOST_INVALID);
	check_kind("2130706433", HOST_INVALID);
	check_kind("300.1.2.3", HOST_INVALID);
	check_kind("1.2.3.256", HOST_INVALID);
	check_kind("1.2.3.4.5", HOST_INVALID);
	check_kind("1.2.3.4.", HOST_INVALID);
	check_kind(".1.2.3.4", HOST_INVALID);
	check_kind("1..2.3", HOST_INVALID);
	check_kind("1.2.3.4:80", HOST_INVALID);
	check_kind("[1.2.3.4]", HOST_INVALID);
	check_kind("1.2.3.-4", HOST_INVALID);
	check_kind(" 1.2.3.4", HOST_INVALID);
	check_kind("1.2.3.4 ", HOST_INVALID);
}

static void test_host_kind_ipv6(void **state)
{
	(void)state;
	check_kind("::1", HOST_IPV6);
	check_kind("::", HOST_IPV6);
	check_kind("[::1]", HOST_IPV6);
	check_kind("[::]", HOST_IPV6);
	check_kind("2001:db8::1", HOST_IPV6);
	check_kind("2001:db8:0:0:0:0:0:1", HOST_IPV6);
	check_kind("::ffff:127.0.0.1", HOST_IPV6);
	check_kind("[::ffff:127.0.0.1]", HOST_IPV6);
	check_kind("fe80::1%lo", HOST_IPV6);
	check_kind("[fe80::1%lo]", HOST_IPV6);
	check_kind("fe80::1%1", HOST_IPV6);
}

static void test_host_kind_ipv6_invalid(void **state)
{
	(void)state;
	check_kind("[::1", HOST_INVALID);
	check_kind("::1]", HOST_INVALID);
	check_kind("[]", HOST_INVALID);
	check_kind("[", HOST_INVALID);
	check_kind("[::1]:80", HOST_INVALID);
	check_kind(":::1", HOST_INVALID);
	check_kind("1::2::3", HOST_INVALID);
	check_kind("2001:db8::g", HOST_INVALID);
	check_kind("1:2:3:4:5:6:7:8:9", HOST_INVALID);
	check_kind("fe80::1%", HOST_INVALID);
	check_kind("[localhost]", HOST_INVALID);
}

static void test_host_kind_names(void **state)
{
	char name[300];
	char label[80];
	(void)state;

	check_kind("localhost", HOST_NAME);
	check_kind("localhost.", HOST_NAME); /* one trailing dot: the root */
	check_kind("example.com", HOST_NAME);
	check_kind("EXAMPLE.Com", HOST_NAME);
	check_kind("a", HOST_NAME);
	check_kind("a-b.c-d", HOST_NAME);
	check_kind("a--b", HOST_NAME);
	check_kind("xn--bcher-kva.example", HOST_NAME);
	check_kind("3com.com", HOST_NAME); /* RFC 1123 allows a leading digit */
	check_kind("123.example", HOST_NAME);
	check_kind("1.2.3.example", HOST_NAME);

	/* A label of 63 characters is the longest allowed. */
	snprintf(name, sizeof name, "%s.example", repeat(label, sizeof label, 'a', 63));
	check_kind(name, HOST_NAME);

	/* A name of 253 characters (63 + 63 + 63 + 61 and three dots) is the longest... */
	char a[64], b[64], c[64], d[64];
	snprintf(name, sizeof name, "%s.%s.%s.%s", repeat(a, sizeof a, 'a', 63),
		 repeat(b, sizeof b, 'b', 63), repeat(c, sizeof c, 'c', 63),
		 repeat(d, sizeof d, 'd', 61));
	assert_int_equal(strlen(name), 253);
	check_kind(name, HOST_NAME);
	/* ...and it may still carry its trailing dot. */
	strcat(name, ".");
	check_kind(name, HOST_NAME);
}

static void test_host_kind_bad_names(void **state)
{
	char name[300];
	char label[80];
	(void)state;

	check_kind("", HOST_INVALID);
	check_kind(".", HOST_INVALID);
	check_kind("..", HOST_INVALID);
	check_kind("-a", HOST_INVALID);
	check_kind("a-", HOST_INVALID);
	check_kind("a.-b", HOST_INVALID);
	check_kind("a-.b", HOST_INVALID);
	check_kind("a..b", HOST_INVALID);
	check_kind(".a", HOST_INVALID);
	check_kind("a b", HOST_INVALID);
	check_kind("a/b", HOST_INVALID);
	check_kind("a*", HOST_INVALID);
	check_kind("b\xc3\xbc" "cher", HOST_INVALID); /* not ASCII: IDNs must be given as xn-- */
	check_kind("a\tb", HOST_INVALID);

	/* A label of 64 characters, alone or among others. */
	repeat(label, sizeof label, 'a', 64);
	check_kind(label, HOST_INVALID);
	snprintf(name, sizeof name, "x.%s.example", label);
	check_kind(name, HOST_INVALID);

	/* A name of 254 characters, with or without a trailing dot. */
	char a[64], b[64], c[64], d[64];
	snprintf(name, sizeof name, "%s.%s.%s.%s", repeat(a, sizeof a, 'a', 63),
		 repeat(b, sizeof b, 'b', 63), repeat(c, sizeof c, 'c', 63),
		 repeat(d, sizeof d, 'd', 62));
	assert_int_equal(strlen(name), 254);
	check_kind(name, HOST_INVALID);
	strcat(name, ".");
	check_kind(name, HOST_INVALID);
}

/*
 * One trailing dot is the root; a second one leaves an empty label, as in
 * "a..b". (A trailing "." of a resolvable name is not tried with the
 * resolver: glibc's /etc/hosts lookup does not strip it.)
 */
static void test_host_kind_two_trailing_dots(void **state)
{
	(void)state;
	check_kind("a..", HOST_INVALID);
	check_kind("localhost..", HOST_INVALID);
	check_kind("a.b..", HOST_INVALID);
	check_kind("a...", HOST_INVALID);
}

/*
 * RFC 1123 section 2.1: a host name is never in the dotted-decimal form,
 * because its highest-level label is never all digits (RFC 3696 section 2
 * says the same of top-level domains). Were these names, they would be
 * resolved by getaddrinfo, which parses them with inet_aton: "0x7f.1" would
 * become 127.0.0.1 through the back door the strict dotted quad closes.
 */
static void test_host_kind_numeric_last_label(void **state)
{
	(void)state;
	check_kind("0x7f.0.0.1", HOST_INVALID);
	check_kind("0x7f.1", HOST_INVALID);
	check_kind("a.1", HOST_INVALID);
	check_kind("example.123", HOST_INVALID);
	check_kind("example.123.", HOST_INVALID);
}

/* ---- addr_parse_port ---- */

static void test_parse_port(void **state)
{
	uint16_t port = 1;
	(void)state;

	assert_int_equal(addr_parse_port("0", &port), 0);
	assert_int_equal(port, 0);
	assert_int_equal(addr_parse_port("80", &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(addr_parse_port("65535", &port), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(addr_parse_port("09000", &port), 0);
	assert_int_equal(port, 9000);
}

static void test_parse_port_errors(void **state)
{
	static const struct {
		const char *text;
		int error;
	} cases[] = {
		{"65536", ERANGE}, {"100000", ERANGE}, {"99999999999999999999999", ERANGE},
		{"", EINVAL},      {"12a", EINVAL},    {"-1", EINVAL},
		{"+1", EINVAL},    {" 1", EINVAL},     {"1 ", EINVAL},
		{"0x50", EINVAL},  {"http", EINVAL},
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint16_t port = 4242;
		errno = 0;
		int status = addr_parse_port(cases[i].text, &port);
		if (status != -1 || errno != cases[i].error)
			print_error("addr_parse_port(\"%s\") = %d, errno %d\n", cases[i].text,
				    status, errno);
		assert_int_equal(status, -1);
		assert_int_equal(errno, cases[i].error);
		assert_int_equal(port, 4242); /* untouched on failure */
	}
}

/* ---- addr_parse_numeric ---- */

static void test_parse_numeric_ipv4(void **state)
{
	(void)state;
	struct address address = numeric("127.0.0.1", 9000);
	assert_int_equal(addr_family(&address), AF_INET);
	assert_int_equal(address.length, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&address), 9000);
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&address.storage;
	assert_int_equal(ntohl(in4->sin_addr.s_addr), 0x7f000001);
}

static void test_parse_numeric_ipv6(void **state)
{
	(void)state;
	static const char *const spellings[] = {"::1", "[::1]", "0:0:0:0:0:0:0:1"};

	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		struct address address = numeric(spellings[i], 443);
		assert_int_equal(addr_family(&address), AF_INET6);
		assert_int_equal(address.length, sizeof(struct sockaddr_in6));
		assert_int_equal(addr_port(&address), 443);
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address.storage;
		assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
		assert_int_equal(in6->sin6_scope_id, 0);
	}
}

static void test_parse_numeric_zone(void **state)
{
	(void)state;
	unsigned index = if_nametoindex("lo");
	if (index == 0)
		skip(); /* no loopback interface by that name here */

	static const char *const spellings[] = {"fe80::1%lo", "[fe80::1%lo]"};
	for (size_t i = 0; i < sizeof spellings / sizeof spellings[0]; i++) {
		struct address address = numeric(spellings[i], 1);
		assert_int_equal(addr_family(&address), AF_INET6);
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address.storage;
		assert_true(IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr));
		assert_int_equal(in6->sin6_scope_id, index);
		assert_int_equal(addr_port(&address), 1);
	}
}

static void test_parse_numeric_errors(void **state)
{
	static const char *const bad[] = {
		"",          "localhost", "1.2.3",      "300.1.2.3", "[127.0.0.1]", "[::1",
		"::1]",      "[]",        "[::1]:80",   ":::1",      "1.2.3.4:80",  "example.com",
		" 127.0.0.1",
	};
	char long_text[200];
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct address address;
		errno = 0;
		int status = addr_parse_numeric(bad[i], 80, &address);
		if (status != -1)
			print_error("addr_parse_numeric(\"%s\") succeeded\n", bad[i]);
		assert_int_equal(status, -1);
		assert_int_equal(errno, EINVAL);
	}

	/* Longer than any address: rejected, not overflowing a buffer. */
	struct address address;
	repeat(long_text, sizeof long_text, '1', sizeof long_text - 1);
	assert_int_equal(addr_parse_numeric(long_text, 80, &address), -1);
	snprintf(long_text, sizeof long_text, "[::%0150d]", 1);
	assert_int_equal(addr_parse_numeric(long_text, 80, &address), -1);
}

/* ---- addr_format ---- */

static void test_format(void **state)
{
	(void)state;
	struct address address = numeric("127.0.0.1", 9000);
	check_format(&address, "127.0.0.1:9000");
	address = numeric("::1", 9000);
	check_format(&address, "[::1]:9000");
	address = numeric("[2001:db8:0:0:0:0:0:1]", 0);
	check_format(&address, "[2001:db8::1]:0");
	address = numeric("255.255.255.255", 65535);
	check_format(&address, "255.255.255.255:65535");
	address = numeric("0.0.0.0", 0);
	check_format(&address, "0.0.0.0:0");
}

/* A dual-stack socket sees IPv4 peers as ::ffff:a.b.c.d: they are shown as IPv4. */
static void test_format_ipv4_mapped(void **state)
{
	(void)state;
	struct address address = ipv6_over(0, "::ffff:127.0.0.1", 5000, 0, 0);
	assert_int_equal(addr_family(&address), AF_INET6);
	check_format(&address, "127.0.0.1:5000");
	address = ipv6_over(0, "::ffff:192.0.2.7", 80, 0, 0);
	check_format(&address, "192.0.2.7:80");
}

/* Parsing a mapped address gives the IPv4 address it carries, so it binds and connects as IPv4. */
static void test_parse_unmaps_ipv4_mapped(void **state)
{
	(void)state;
	struct address address = numeric("::ffff:127.0.0.1", 7);
	assert_int_equal(addr_family(&address), AF_INET);
	assert_int_equal(address.length, sizeof(struct sockaddr_in));
	struct address plain = numeric("127.0.0.1", 7);
	assert_true(addr_equal(&address, &plain));
	address = numeric("[::ffff:10.1.2.3]", 8);
	check_format(&address, "10.1.2.3:8");
	address = ipv6_over(0, "::ffff:10.1.2.3", 9, 0, 0);
	addr_unmap(&address);
	assert_int_equal(addr_family(&address), AF_INET);
	check_format(&address, "10.1.2.3:9");
	address = numeric("::1", 9);
	addr_unmap(&address); /* not mapped: unchanged */
	assert_int_equal(addr_family(&address), AF_INET6);
}

/* Underscores are not RFC 1123, but /etc/hosts and container networks use them: names they are. */
static void test_host_kind_underscore(void **state)
{
	(void)state;
	assert_int_equal(addr_host_kind("a_b"), HOST_NAME);
	assert_int_equal(addr_host_kind("my_host.example"), HOST_NAME);
	assert_int_equal(addr_host_kind("_service._tcp.example"), HOST_NAME);
}

static void test_format_zone(void **state)
{
	(void)state;
	struct address address;
	if (if_nametoindex("lo") != 0) {
		address = numeric("fe80::1%lo", 22);
		check_format(&address, "[fe80::1%lo]:22");
	}
	/*
	 * Outside link-local addresses a zone is shown by its number, even when
	 * it names an interface: the resolver takes a name back only on
	 * link-local ones, and what is shown must be usable as -b again.
	 */
	unsigned loopback = if_nametoindex("lo");
	if (loopback != 0) {
		char expected[64];
		address = ipv6_over(0, "::1", 22, loopback, 0);
		snprintf(expected, sizeof expected, "[::1%%%u]:22", loopback);
		check_format(&address, expected);
		char text[ADDRESS_TEXT_MAX];
		addr_format(&address, text, sizeof text);
		*strrchr(text, ':') = '\0';
		struct address back;
		assert_int_equal(addr_parse_numeric(text, 22, &back), 0);
		assert_true(addr_equal(&back, &address));
	}
	/* A scope that names no interface is shown by its number. */
	unsigned unused = 4000000000u;
	char name[IF_NAMESIZE];
	if (if_indextoname(unused, name) == NULL) {
		address = ipv6_over(0, "fe80::2", 22, unused, 0);
		check_format(&address, "[fe80::2%4000000000]:22");
	}
}

/* The longest text fits in ADDRESS_TEXT_MAX; a small buffer is truncated but terminated. */
static void test_format_sizes(void **state)
{
	char buf[ADDRESS_TEXT_MAX];
	(void)state;

	struct address address = ipv6_over(0, "1111:2222:3333:4444:5555:6666:7777:8888", 65535,
					   4294967295u, 0);
	char name[IF_NAMESIZE];
	if (if_indextoname(4294967295u, name) == NULL) {
		addr_format(&address, buf, sizeof buf);
		assert_string_equal(buf,
				    "[1111:2222:3333:4444:5555:6666:7777:8888%4294967295]:65535");
	}

	address = numeric("127.0.0.1", 9000);
	char small[8];
	memset(small, 'x', sizeof small);
	assert_ptr_equal(addr_format(&address, small, sizeof small), small);
	assert_string_equal(small, "127.0.0");
}

static void test_format_unknown_family(void **state)
{
	char buf[ADDRESS_TEXT_MAX];
	(void)state;

	struct address address;
	memset(&address, 0, sizeof address);
	address.storage.ss_family = AF_UNIX;
	address.length = sizeof(struct sockaddr_un);
	addr_format(&address, buf, sizeof buf);
	/* Not an address: whatever the wording, one terminated line, and no port. */
	assert_true(strlen(buf) > 0);
	assert_null(strchr(buf, '\n'));
	assert_int_equal(addr_port(&address), 0);
}

/* ---- addr_equal ---- */

static void test_equal_ipv4(void **state)
{
	(void)state;
	struct address a = numeric("127.0.0.1", 80);
	struct address b = numeric("127.0.0.1", 80);
	assert_true(addr_equal(&a, &b));
	assert_true(addr_equal(&a, &a));

	b = numeric("127.0.0.2", 80);
	assert_false(addr_equal(&a, &b));
	b = numeric("127.0.0.1", 81);
	assert_false(addr_equal(&a, &b));
	assert_false(addr_equal(&b, &a));
}

static void test_equal_ipv6(void **state)
{
	(void)state;
	struct address a = numeric("::1", 80);
	struct address b = numeric("[0:0:0:0:0:0:0:1]", 80);
	assert_true(addr_equal(&a, &b));

	b = numeric("::2", 80);
	assert_false(addr_equal(&a, &b));
	b = numeric("::1", 8080);
	assert_false(addr_equal(&a, &b));

	/* Same link-local address on two interfaces: two different addresses. */
	a = ipv6_over(0, "fe80::1", 80, 1, 0);
	b = ipv6_over(0, "fe80::1", 80, 2, 0);
	assert_false(addr_equal(&a, &b));
	b = ipv6_over(0, "fe80::1", 80, 1, 0);
	assert_true(addr_equal(&a, &b));
}

/* 127.0.0.1 and ::ffff:127.0.0.1 (as a dual-stack socket reports it) are different address values. */
static void test_equal_family_differs(void **state)
{
	(void)state;
	struct address a = numeric("127.0.0.1", 80);
	struct address b = ipv6_over(0, "::ffff:127.0.0.1", 80, 0, 0);
	assert_false(addr_equal(&a, &b));
	assert_false(addr_equal(&b, &a));

	/* All-zero addresses of the two families, too. */
	a = numeric("0.0.0.0", 0);
	b = numeric("::", 0);
	assert_false(addr_equal(&a, &b));
}

/*
 * Only family, address, port (and scope) count: sin_zero, the rest of the
 * storage and the IPv6 flow label may hold anything (accept() and
 * getaddrinfo fill them in differently).
 */
static void test_equal_ignores_unused_bytes(void **state)
{
	(void)state;
	struct address a = ipv4_over(0x00, "192.0.2.1", 443);
	struct address b = ipv4_over(0xa5, "192.0.2.1", 443);
	assert_true(addr_equal(&a, &b));
	struct address c = ipv4_over(0xff, "192.0.2.1", 443);
	assert_true(addr_equal(&b, &c));
	struct address parsed = numeric("192.0.2.1", 443);
	assert_true(addr_equal(&parsed, &c));
	c = ipv4_over(0xff, "192.0.2.1", 444);
	assert_false(addr_equal(&b, &c));

	a = ipv6_over(0x00, "2001:db8::5", 443, 0, 0);
	b = ipv6_over(0x5a, "2001:db8::5", 443, 0, 0x12345);
	assert_true(addr_equal(&a, &b));
	parsed = numeric("2001:db8::5", 443);
	assert_true(addr_equal(&parsed, &b));
	b = ipv6_over(0x5a, "2001:db8::6", 443, 0, 0x12345);
	assert_false(addr_equal(&a, &b));
}

/* ---- addr_any, addr_family, addr_port, addr_set_port ---- */

static void test_any(void **state)
{
	(void)state;
	struct address address;

	memset(&address, 0xee, sizeof address);
	addr_any(AF_INET, 7, &address);
	assert_int_equal(addr_family(&address), AF_INET);
	assert_int_equal(address.length, sizeof(struct sockaddr_in));
	assert_int_equal(addr_port(&address), 7);
	check_format(&address, "0.0.0.0:7");
	struct address parsed = numeric("0.0.0.0", 7);
	assert_true(addr_equal(&address, &parsed));

	memset(&address, 0xee, sizeof address);
	addr_any(AF_INET6, 0, &address);
	assert_int_equal(addr_family(&address), AF_INET6);
	assert_int_equal(address.length, sizeof(struct sockaddr_in6));
	assert_int_equal(addr_port(&address), 0);
	check_format(&address, "[::]:0");
	parsed = numeric("::", 0);
	assert_true(addr_equal(&address, &parsed));
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&address.storage;
	assert_int_equal(in6->sin6_scope_id, 0);
}

static void test_port_get_set(void **state)
{
	(void)state;
	struct address v4 = numeric("10.0.0.1", 0);
	struct address v6 = numeric("2001:db8::1", 0);
	static const uint16_t ports[] = {0, 1, 80, 255, 256, 9000, 32768, 65535};

	for (size_t i = 0; i < sizeof ports / sizeof ports[0]; i++) {
		addr_set_port(&v4, ports[i]);
		addr_set_port(&v6, ports[i]);
		assert_int_equal(addr_port(&v4), ports[i]);
		assert_int_equal(addr_port(&v6), ports[i]);
		/* In network byte order, where the socket calls expect it. */
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&v4.storage;
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&v6.storage;
		assert_int_equal(ntohs(in4->sin_port), ports[i]);
		assert_int_equal(ntohs(in6->sin6_port), ports[i]);
	}
	/* Setting the port changes nothing else. */
	addr_set_port(&v4, 1234);
	check_format(&v4, "10.0.0.1:1234");
	addr_set_port(&v6, 1234);
	check_format(&v6, "[2001:db8::1]:1234");
	assert_int_equal(addr_family(&v4), AF_INET);
	assert_int_equal(addr_family(&v6), AF_INET6);
}

/* ---- addr_resolve ---- */

static void test_resolve_numeric(void **state)
{
	struct address out[4];
	size_t count = 99;
	(void)state;

	assert_int_equal(addr_resolve("127.0.0.1", 9000, SOCK_STREAM, false, out, 4, &count), 0);
	assert_int_equal(count, 1);
	struct address expected = numeric("127.0.0.1", 9000);
	assert_true(addr_equal(&out[0], &expected));
	assert_int_equal(out[0].length, sizeof(struct sockaddr_in));

	count = 99;
	assert_int_equal(addr_resolve("[::1]", 53, SOCK_DGRAM, true, out, 4, &count), 0);
	assert_int_equal(count, 1);
	expected = numeric("::1", 53);
	assert_true(addr_equal(&out[0], &expected));
	check_format(&out[0], "[::1]:53");

	count = 99;
	assert_int_equal(addr_resolve("0.0.0.0", 0, SOCK_STREAM, true, out, 1, &count), 0);
	assert_int_equal(count, 1);
	check_format(&out[0], "0.0.0.0:0");
}

static void test_resolve_invalid(void **state)
{
	struct address out[2];
	static const char *const bad[] = {"", "a..b", "-a", "300.1.2.3", "[::1", "1.2.3"};
	(void)state;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t count = 99;
		int status = addr_resolve(bad[i], 80, SOCK_STREAM, false, out, 2, &count);
		if (status == 0)
			print_error("addr_resolve(\"%s\") succeeded\n", bad[i]);
		assert_int_not_equal(status, 0);
		assert_int_equal(count, 0);
		/* An EAI_ code, which gai_strerror can name. */
		assert_non_null(gai_strerror(status));
	}
}

/* Only the strict dotted quad is IPv4: not even through the resolver. */
static void test_resolve_no_inet_aton_forms(void **state)
{
	struct address out[2];
	static const char *const loose[] = {"0x7f.0.0.1", "0x7f.1", "127.1"};
	(void)state;

	for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
		size_t count = 99;
		int status = addr_resolve(loose[i], 80, SOCK_STREAM, false, out, 2, &count);
		if (status == 0) {
			char text[ADDRESS_TEXT_MAX];
			print_error("addr_resolve(\"%s\") gave %s\n", loose[i],
				    addr_format(&out[0], text, sizeof text));
		}
		assert_int_not_equal(status, 0);
		assert_int_equal(count, 0);
	}
}

/*
 * "localhost" is resolved through /etc/hosts, whatever it holds here: at
 * least one loopback address, each with the port, none twice (getaddrinfo
 * gives one entry per socket type when SOCKTYPE is 0).
 */
static void test_resolve_localhost(void **state)
{
	static const int socktypes[] = {SOCK_STREAM, SOCK_DGRAM, 0};
	(void)state;

	for (size_t t = 0; t < sizeof socktypes / sizeof socktypes[0]; t++) {
		for (int passive = 0; passive <= 1; passive++) {
			struct address out[16];
			size_t count = 99;
			int status = addr_resolve("localhost", 4321, socktypes[t], passive != 0,
						  out, 16, &count);
			if (status != 0)
				print_error("addr_resolve(localhost): %s\n", gai_strerror(status));
			assert_int_equal(status, 0);
			assert_true(count >= 1 && count <= 16);
			for (size_t i = 0; i < count; i++) {
				assert_true(is_loopback(&out[i]));
				assert_int_equal(addr_port(&out[i]), 4321);
				for (size_t j = 0; j < i; j++)
					assert_false(addr_equal(&out[i], &out[j]));
			}
		}
	}
}

static void test_resolve_respects_max(void **state)
{
	struct address out[2];
	(void)state;

	memset(out, 0x77, sizeof out);
	size_t count = 99;
	assert_int_equal(addr_resolve("localhost", 80, 0, false, out, 1, &count), 0);
	assert_int_equal(count, 1);
	assert_true(is_loopback(&out[0]));
	/* Nothing written past MAX. */
	const unsigned char *after = (const unsigned char *)&out[1];
	for (size_t i = 0; i < sizeof out[1]; i++)
		assert_int_equal(after[i], 0x77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_kind_ipv4),
		cmocka_unit_test(test_host_kind_ipv4_invalid),
		cmocka_unit_test(test_host_kind_ipv6),
		cmocka_unit_test(test_host_kind_ipv6_invalid),
		cmocka_unit_test(test_host_kind_names),
		cmocka_unit_test(test_host_kind_bad_names),
		cmocka_unit_test(test_host_kind_underscore),
		cmocka_unit_test(test_parse_unmaps_ipv4_mapped),
		cmocka_unit_test(test_host_kind_two_trailing_dots),
		cmocka_unit_test(test_host_kind_numeric_last_label),
		cmocka_unit_test(test_parse_port),
		cmocka_unit_test(test_parse_port_errors),
		cmocka_unit_test(test_parse_numeric_ipv4),
		cmocka_unit_test(test_parse_numeric_ipv6),
		cmocka_unit_test(test_parse_numeric_zone),
		cmocka_unit_test(test_parse_numeric_errors),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_ipv4_mapped),
		cmocka_unit_test(test_format_zone),
		cmocka_unit_test(test_format_sizes),
		cmocka_unit_test(test_format_unknown_family),
		cmocka_unit_test(test_equal_ipv4),
		cmocka_unit_test(test_equal_ipv6),
		cmocka_unit_test(test_equal_family_differs),
		cmocka_unit_test(test_equal_ignores_unused_bytes),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_port_get_set),
		cmocka_unit_test(test_resolve_numeric),
		cmocka_unit_test(test_resolve_invalid),
		cmocka_unit_test(test_resolve_no_inet_aton_forms),
		cmocka_unit_test(test_resolve_localhost),
		cmocka_unit_test(test_resolve_respects_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
