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

static void test_replies_per_address(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	struct address alice = ipv4("127.0.0.1", 5000), bob = ipv4("127.0.0.1", 5001);

	assert_true(admission_may_reply(&admission, &alice, false, at(50, 0)));
	assert_false(admission_may_reply(&admission, &alice, false, at(50, 500)));
	assert_true(admission_may_reply(&admission, &bob, false, at(50, 500)));
	assert_false(admission_may_reply(&admission, &alice, false, at(50, 999)));
	assert_true(admission_may_reply(&admission, &alice, false, at(51, 0)));
	/* An address that proved itself may have a second reply within the second. */
	assert_true(admission_may_reply(&admission, &alice, true, at(51, 1)));
	assert_false(admission_may_reply(&admission, &alice, false, at(51, 2)));
}

/* However many addresses ask, at most ADMISSION_REPLIES_PER_SECOND get replies in a second. */
static void test_replies_in_all(void **state)
{
	(void)state;
	static struct admission admission;
	fixed_admission(&admission);
	int replied = 0;
	for (int i = 0; i < 1000; i++) {
		struct address forged = ipv4("192.0.2.1", (uint16_t)(1000 + i));
		if (admission_may_reply(&admission, &forged, false, at(70, 0)))
			replied++;
	}
	assert_int_equal(replied, ADMISSION_REPLIES_PER_SECOND);
	/* A second later, there is room for as many again, and not more. */
	replied = 0;
	for (int i = 0; i < 1000; i++) {
		struct address forged = ipv4("192.0.2.2", (uint16_t)(1000 + i));
		if (admission_may_reply(&admission, &forged, false, at(71, 0)))
			replied++;
	}
	assert_int_equal(replied, ADMISSION_REPLIES_PER_SECOND);
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_burst_then_refill),
		cmocka_unit_test(test_token_is_checked_per_address),
		cmocka_unit_test(test_token_expires),
		cmocka_unit_test(test_replies_per_address),
		cmocka_unit_test(test_replies_in_all),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests_name("chat server parts", tests, NULL, NULL);
}
