/*
 * Unit tests of the chat server's pure parts: the token bucket (rate.h), the
 * address check (admission.h), the member list (members.h) and the options
 * (config.h). Time is passed in, so nothing here waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "chat/admission.h"
#include "chat/config.h"
#include "chat/members.h"
#include "chat/rate.h"

static struct timespec at(long seconds, long milliseconds)
{
	return (struct timespec){.tv_sec = seconds, .tv_nsec = milliseconds * 1000000L};
}

static struct address ipv4(const char *text, uint16_t port)
{
	struct address address;
	assert_int_equal(addr_parse_numeric(text, port, &address), 0);
	return address;
}

/* ---- rate ---- */

static void test_rate_burst_then_refill(void **state)
{
	(void)state;
	struct rate_bucket bucket = {0};
	/* A new bucket is full: a burst of 4 passes at once, the fifth does not. */
	for (int i = 0; i < 4; i++)
		assert_true(rate_allow(&bucket, 2, 4, at(100, 0)));
	assert_false(rate_allow(&bucket, 2, 4, at(100, 0)));
	/* At 2 a second, one token is back after half a second, not before. */
	assert_false(rate_allow(&bucket, 2, 4, at(100, 400)));
	assert_true(rate_allow(&bucket, 2, 4, at(100, 500)));
	assert_false(rate_allow(&bucket, 2, 4, at(100, 500)));
	/* A long silence refills to the burst, never past it. */
	for (int i = 0; i < 4; i++)
		assert_true(rate_allow(&bucket, 2, 4, at(1000, 0)));
	assert_false(rate_allow(&bucket, 2, 4, at(1000, 0)));
}

/* ---- admission ---- */

static void fixed_admission(struct admission *admission)
{
	unsigned char key[SIPHASH_KEY_SIZE];
	for (int i = 0; i < SIPHASH_KEY_SIZE; i++)
		key[i] = (unsigned char)(3 * i + 1);
	admission_init_with_key(admission, key);
}

static void test_token_is_checked_per_address(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address alice = ipv4("127.0.0.1", 5000), other_port = ipv4("127.0.0.1", 5001),
		       other_host = ipv4("127.0.0.2", 5000), alice_v6 = ipv4("::1", 5000);
	char token[CHAT_TOKEN_LENGTH + 1], again[CHAT_TOKEN_LENGTH + 1];

	admission_token(&admission, &alice, at(600, 0), token);
	assert_int_equal(strlen(token), CHAT_TOKEN_LENGTH);
	assert_int_equal(strspn(token, "0123456789abcdef"), CHAT_TOKEN_LENGTH);
	admission_token(&admission, &alice, at(610, 0), again);
	assert_string_equal(token, again); /* the same 30-second period */

	assert_true(admission_check(&admission, &alice, at(600, 0), token, CHAT_TOKEN_LENGTH));
	assert_false(admission_check(&admission, &other_port, at(600, 0), token, CHAT_TOKEN_LENGTH));
	assert_false(admission_check(&admission, &other_host, at(600, 0), token, CHAT_TOKEN_LENGTH));
	assert_false(admission_check(&admission, &alice_v6, at(600, 0), token, CHAT_TOKEN_LENGTH));
	assert_false(admission_check(&admission, &alice, at(600, 0), token, CHAT_TOKEN_LENGTH - 1));
	assert_false(admission_check(&admission, &alice, at(600, 0), "", 0));
	token[0] = token[0] == 'a' ? 'b' : 'a';
	assert_false(admission_check(&admission, &alice, at(600, 0), token, CHAT_TOKEN_LENGTH));
}

/* A token is good in its own period and the next, not after. */
static void test_token_expires(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address alice = ipv4("127.0.0.1", 5000);
	char token[CHAT_TOKEN_LENGTH + 1];

	admission_token(&admission, &alice, at(629, 900), token); /* late in period 20 */
	assert_true(admission_check(&admission, &alice, at(630, 0), token, CHAT_TOKEN_LENGTH));
	assert_true(admission_check(&admission, &alice, at(659, 999), token, CHAT_TOKEN_LENGTH));
	assert_false(admission_check(&admission, &alice, at(660, 0), token, CHAT_TOKEN_LENGTH));
	/* The key matters: another server cannot forge or accept this server's tokens. */
	static struct admission other;
	assert_int_equal(admission_init(&other), 0);
	assert_false(admission_check(&other, &alice, at(630, 0), token, CHAT_TOKEN_LENGTH));
}

/* Asks whether ADDRESS's datagram of 64 bytes may get a challenge at T. */
static enum admission_verdict ask(struct admission *admission, const struct address *address,
				  struct timespec t)
{
	return admission_stranger(admission, address, CHAT_PADDED_LENGTH, CHAT_CHALLENGE_LENGTH, t);
}

static struct timespec at_ns(int64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
}

/* One reply a second to an address; none while it keeps asking faster than that. */
static void test_replies_per_address(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address alice = ipv4("127.0.0.1", 5000), bob = ipv4("127.0.0.1", 5001),
		       carol = ipv4("127.0.0.1", 5002);

	assert_int_equal(ask(&admission, &alice, at(50, 0)), ADMISSION_REPLY);
	assert_int_equal(ask(&admission, &alice, at(50, 500)), ADMISSION_ADDRESS_LIMIT);
	assert_int_equal(ask(&admission, &bob, at(50, 500)), ADMISSION_REPLY);
	/* Asking again half a second early put alice's next answer off by a second. */
	assert_int_equal(ask(&admission, &alice, at(51, 500)), ADMISSION_ADDRESS_LIMIT);
	assert_int_equal(ask(&admission, &alice, at(53, 0)), ADMISSION_REPLY);
	/* A client asking once a second is answered every time. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(ask(&admission, &carol, at(60 + i, 0)), ADMISSION_REPLY);
	/* A flooding socket is answered once, then not while it floods, ... */
	struct address flood = ipv4("127.0.0.1", 6000);
	int answered = 0;
	for (int ms = 0; ms < 5000; ms += 5)
		answered += ask(&admission, &flood, at(100, 0 + ms)) == ADMISSION_REPLY;
	assert_int_equal(answered, 1);
	/* ... and again once it has been quiet for the penalty at most. */
	assert_int_equal(ask(&admission, &flood, at(107, 0)), ADMISSION_REPLY);
}

/* A reply longer than the datagram it answers is never allowed, and costs the address nothing. */
static void test_never_larger_than_the_request(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address alice = ipv4("127.0.0.1", 5000);

	assert_int_equal(admission_stranger(&admission, &alice, 37, 38, at(50, 0)), ADMISSION_TOO_SHORT);
	assert_int_equal(admission_stranger(&admission, &alice, 6, 38, at(50, 1)), ADMISSION_TOO_SHORT);
	assert_int_equal(admission_stranger(&admission, &alice, 38, 38, at(50, 2)), ADMISSION_REPLY);
	assert_int_equal(admission_proven(&admission, &alice, 23, 27, at(50, 3)), ADMISSION_TOO_SHORT);
	/* Its "server full" may follow its challenge at once; a replayed token gets no more. */
	assert_int_equal(admission_proven(&admission, &alice, 64, 27, at(50, 3)), ADMISSION_REPLY);
	assert_int_equal(admission_proven(&admission, &alice, 64, 27, at(50, 4)), ADMISSION_ADDRESS_LIMIT);
	assert_int_equal(admission_proven(&admission, &alice, 64, 27, at(51, 2)), ADMISSION_REPLY);
	assert_int_equal(admission.verdicts[ADMISSION_TOO_SHORT], 3);
	assert_int_equal(admission.verdicts[ADMISSION_REPLY], 3);
}

/* Counts the replies to COUNT addresses made by MAKE(i) all asking at T. */
static int replies_to_many(struct admission *admission, int count,
			   struct address (*make)(int i), struct timespec t)
{
	int replied = 0;
	for (int i = 0; i < count; i++) {
		struct address address = make(i);
		replied += ask(admission, &address, t) == ADMISSION_REPLY;
	}
	return replied;
}

static struct address in_192_0_2(int i)
{
	return ipv4("192.0.2.1", (uint16_t)(1000 + i));
}

static struct address in_192_0_3(int i)
{
	char text[32];
	snprintf(text, sizeof text, "192.0.3.%d", i % 250 + 1);
	return ipv4(text, (uint16_t)(1000 + i));
}

static struct address mapped_192_0_2(int i)
{
	char text[32];
	snprintf(text, sizeof text, "::ffff:192.0.2.%d", i % 250 + 1);
	struct address address = ipv4("::1", (uint16_t)(20000 + i));
	/* As a dual-stack socket shows an IPv4 peer: AF_INET6, ::ffff:a.b.c.d. */
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&address.storage;
	assert_int_equal(inet_pton(AF_INET6, text, &in6->sin6_addr), 1);
	return address;
}

static struct address in_2001_db8_1(int i)
{
	char text[64];
	snprintf(text, sizeof text, "2001:db8:0:1:%x::%x", i / 100 + 1, i % 100 + 1);
	return ipv4(text, 4000);
}

static struct address in_2001_db8_2(int i)
{
	char text[64];
	snprintf(text, sizeof text, "2001:db8:0:2::%x", i + 1);
	return ipv4(text, 4000);
}

/* One /24 or /64 gets at most its share; another prefix still gets answers. */
static void test_replies_per_prefix(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);

	assert_int_equal(replies_to_many(&admission, 3000, in_192_0_2, at(70, 0)), ADMISSION_PREFIX_RATE);
	/* The same /24 seen through a dual-stack socket shares that share. */
	assert_int_equal(replies_to_many(&admission, 100, mapped_192_0_2, at(70, 0)), 0);
	assert_int_equal(replies_to_many(&admission, 100, in_192_0_3, at(70, 0)), 100);
	assert_int_equal(replies_to_many(&admission, 3000, in_2001_db8_1, at(70, 0)), ADMISSION_PREFIX_RATE);
	assert_int_equal(replies_to_many(&admission, 100, in_2001_db8_2, at(70, 0)), 100);
}

static struct address spread(int i)
{
	char text[32];
	snprintf(text, sizeof text, "10.%d.%d.1", i / 1000, i % 1000 / 4);
	return ipv4(text, (uint16_t)(1000 + i % 4));
}

/* However many prefixes ask, all non-members together get at most the overall budget. */
static void test_replies_in_all(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	assert_int_equal(replies_to_many(&admission, 20000, spread, at(70, 0)), ADMISSION_GLOBAL_RATE);
	/* A second later there is room for a second's worth again (the same addresses are quiet since). */
	int again = replies_to_many(&admission, 20000, spread, at(71, 0));
	assert_true(again >= ADMISSION_GLOBAL_RATE - 1 && again <= ADMISSION_GLOBAL_RATE + 1);
}

static struct address crowd(int i)
{
	char text[32];
	snprintf(text, sizeof text, "10.%d.%d.%d", i / 65536 % 256, i / 256 % 256, i % 256);
	return ipv4(text, 7);
}

/*
 * With far more addresses than cells, many share cells; still no address
 * gets two replies less than a second apart (the old table answered two
 * addresses sharing a slot at every turn).
 */
static void test_shared_cells_never_loosen_the_limit(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	enum { COUNT = 60000 };
	static int64_t last_reply[COUNT];
	int64_t t = 200 * (int64_t)1000000000;
	/* Four rounds a quarter second apart, each address asking in every round. */
	for (int round = 0; round < 4; round++, t += 250000000) {
		for (int i = 0; i < COUNT; i++) {
			struct address address = crowd(i);
			if (ask(&admission, &address, at_ns(t)) != ADMISSION_REPLY)
				continue;
			if (last_reply[i] != 0)
				fail_msg("address %d answered twice within %lld ns", i,
					 (long long)(t - last_reply[i]));
			last_reply[i] = t;
		}
	}
}

/* Among 1000 flooding sockets of one host, a client of that host that asks once is answered. */
static void test_client_answered_under_a_flood(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address client = ipv4("127.0.0.1", 40000);
	int64_t start = 300 * (int64_t)1000000000, step = 50000; /* a datagram every 50 us: 20000/s */
	int flood_replies = 0, client_replies = 0;
	for (int64_t t = start, n = 0; t < start + 3 * (int64_t)1000000000; t += step, n++) {
		struct address flood = ipv4("127.0.0.1", (uint16_t)(10000 + n % 1000));
		flood_replies += ask(&admission, &flood, at_ns(t)) == ADMISSION_REPLY;
		if (n % 20000 == 10000) /* once a second, half a second into it */
			client_replies += ask(&admission, &client, at_ns(t)) == ADMISSION_REPLY;
	}
	/* Each flooding socket (20 datagrams a second) was answered once, at its first. */
	assert_int_equal(flood_replies, 1000);
	assert_int_equal(client_replies, 3);
}

/* ---- members ---- */

static void test_members(void **state)
{
	(void)state;
	struct members members;
	assert_int_equal(members_init(&members, 3), 0);
	struct address a = ipv4("127.0.0.1", 1), b = ipv4("127.0.0.1", 2), c = ipv4("::1", 1),
		       d = ipv4("127.0.0.1", 4);
	struct route first = {.socket = 0}, second = {.socket = 1};

	assert_non_null(members_add(&members, &a, &first, at(1, 0)));
	assert_non_null(members_add(&members, &b, &first, at(1, 0)));
	assert_non_null(members_add(&members, &c, &second, at(1, 0)));
	assert_true(members_full(&members));
	assert_null(members_add(&members, &d, &first, at(1, 0)));

	/* Found by family, address and port; bytes outside the address do not matter. */
	struct address probe = b;
	memset((char *)&probe.storage + sizeof(struct sockaddr_in), 0x5a,
	       sizeof probe.storage - sizeof(struct sockaddr_in));
	((struct sockaddr_in *)&probe.storage)->sin_zero[0] = 7;
	assert_ptr_equal(members_find(&members, &probe), &members.list[1]);
	assert_null(members_find(&members, &d));

	strcpy(members_find(&members, &b)->name, "bob");
	assert_ptr_equal(members_find_name(&members, "bob", 3), members_find(&members, &b));
	assert_null(members_find_name(&members, "bo", 2));
	assert_null(members_find_name(&members, "", 0)); /* the unnamed are not called "" */

	char label[ADDRESS_TEXT_MAX];
	assert_string_equal(member_label(members_find(&members, &b), label, sizeof label), "bob");
	assert_string_equal(member_label(members_find(&members, &c), label, sizeof label), "[::1]:1");

	/* Removing the first moves the last into its place; the rest stay findable. */
	members_remove(&members, members_find(&members, &a));
	assert_int_equal(members.count, 2);
	assert_null(members_find(&members, &a));
	assert_non_null(members_find(&members, &b));
	assert_int_equal(members_find(&members, &c)->route.socket, 1);
	assert_non_null(members_add(&members, &d, &first, at(2, 0)));
	members_destroy(&members);
}

/* ---- options ---- */

static enum config_result parse(struct chat_config *config, char *error, size_t size, ...)
{
	char *argv[16];
	int argc = 0;
	va_list args;
	va_start(args, size);
	argv[argc++] = (char *)"chat-server";
	for (char *arg; (arg = va_arg(args, char *)) != NULL && argc < 15;)
		argv[argc++] = arg;
	va_end(args);
	argv[argc] = NULL;
	chat_config_defaults(config);
	return chat_config_parse(config, argc, argv, error, size);
}

static void test_config(void **state)
{
	(void)state;
	struct chat_config config;
	char error[256] = "";
	char max[] = "--max-clients=2", idle[] = "--idle-timeout", one[] = "1", open[] = "--open",
	     rate[] = "--rate", zero[] = "0", message[] = "--max-message", hundred[] = "100",
	     port[] = "-p", seven[] = "7";

	assert_int_equal(parse(&config, error, sizeof error, NULL), CONFIG_OK);
	assert_int_equal(config.port, CHAT_DEFAULT_PORT);
	assert_int_equal(config.max_clients, 64);
	assert_int_equal(config.idle_timeout, 300);
	assert_int_equal(config.max_message, 4096);
	assert_int_equal(config.rate, 20);
	assert_false(config.open);

	assert_int_equal(parse(&config, error, sizeof error, max, idle, one, open, rate, zero,
			       message, hundred, port, seven, NULL),
			 CONFIG_OK);
	assert_int_equal(config.max_clients, 2);
	assert_int_equal(config.idle_timeout, 1);
	assert_true(config.open);
	assert_int_equal(config.rate, 0);
	assert_int_equal(config.max_message, 100);
	assert_int_equal(config.port, 7);

	char bad_clients[] = "--max-clients=0", big_message[] = "--max-message=65001",
	     no_idle[] = "--idle-timeout=0", open_value[] = "--open=yes", stray[] = "x";
	assert_int_equal(parse(&config, error, sizeof error, bad_clients, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--max-clients '0': out of range 1-65536");
	assert_int_equal(parse(&config, error, sizeof error, big_message, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--max-message '65001': out of range 1-65000");
	assert_int_equal(parse(&config, error, sizeof error, no_idle, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--idle-timeout '0': out of range 1-86400");
	assert_int_equal(parse(&config, error, sizeof error, open_value, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--open: takes no value");
	assert_int_equal(parse(&config, error, sizeof error, stray, NULL), CONFIG_ERROR);
	assert_string_equal(error, "'x': unexpected argument");

	/* A UDP service name is a port; -q with -v contradict; --print-port. */
	char bootps[] = "bootps", quiet[] = "-q", verbose[] = "--verbose", print[] = "--print-port",
	     tcp_only[] = "ssh-no-such", bind[] = "-b", short_ipv4[] = "127.1";
	assert_int_equal(parse(&config, error, sizeof error, port, bootps, print, NULL), CONFIG_OK);
	assert_int_equal(config.port, 67);
	assert_true(config.print_port);
	assert_int_equal(parse(&config, error, sizeof error, quiet, verbose, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--quiet and --verbose: choose one");
	assert_int_equal(parse(&config, error, sizeof error, port, tcp_only, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--port 'ssh-no-such': not a port number, nor a udp service in /etc/services");
	assert_int_equal(parse(&config, error, sizeof error, bind, short_ipv4, NULL), CONFIG_ERROR);
	assert_string_equal(error, "--bind '127.1': an IPv4 address must be a dotted quad of numbers "
				   "0-255, such as 127.0.0.1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_burst_then_refill),
		cmocka_unit_test(test_token_is_checked_per_address),
		cmocka_unit_test(test_token_expires),
		cmocka_unit_test(test_replies_per_address),
		cmocka_unit_test(test_never_larger_than_the_request),
		cmocka_unit_test(test_replies_per_prefix),
		cmocka_unit_test(test_replies_in_all),
		cmocka_unit_test(test_shared_cells_never_loosen_the_limit),
		cmocka_unit_test(test_client_answered_under_a_flood),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests_name("chat server parts", tests, NULL, NULL);
}
