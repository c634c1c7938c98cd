/*
 * test_server_accept: unit tests of server_accept (src/server/server.h), the
 * one place where every model takes a connection, over real loopback TCP
 * sockets opened by listeners_open.
 *
 * What is checked:
 *   - a connection to a listener on a wildcard (0.0.0.0 or ::) gets the
 *     address the client really reached (127.0.0.1 or ::1, with the port)
 *     as its local address, not the wildcard; on a listener bound to one
 *     address, that address;
 *   - the peer is the client's own address (the port it connected from);
 *   - no byte counter and no cancel descriptor come with it, and a service
 *     counting bytes on such a connection (connection_count) does nothing;
 *   - nothing waiting: SERVER_ACCEPT_EMPTY, and the accepted descriptor is
 *     close-on-exec.
 *
 * Run: build/tests/unit/test_server_accept
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/addr.h"
#include "lib/listeners.h"
#include "server/server.h"

/* Connects a blocking client to TEXT (a numeric address) at PORT; returns its socket. */
static int connect_to(const char *text, uint16_t port)
{
	struct address target;
	assert_int_equal(addr_parse_numeric(text, port, &target), 0);
	int fd = socket(addr_family(&target), SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&target.storage, target.length), 0);
	return fd;
}

/*
 * Opens SERVER's listeners on BIND (NULL: every address, IPv4 and IPv6) at
 * a free port, connects to CONNECT_TO and accepts; checks local and peer.
 */
static void accept_one(const char *bind, const char *connect_to_text, const char *local_text)
{
	struct server server;
	struct failure failure;
	memset(&server, 0, sizeof server);
	server.signal_fd = server.stop_fd = -1;
	if (listeners_open(&server.listeners, SOCK_STREAM, bind, 0, &failure) != 0) {
		if (strchr(connect_to_text, ':') != NULL)
			skip(); /* no IPv6 on this machine's loopback */
		fail_msg("listeners_open: %s", failure.text);
	}
	/*
	 * The listener of CONNECT_TO's family; with BIND NULL, that may be one
	 * dual-stack IPv6 socket taking IPv4 too (its connections' addresses
	 * come IPv4-mapped, ::ffff:127.0.0.1, and must come out plain).
	 */
	struct address target;
	assert_int_equal(addr_parse_numeric(connect_to_text, 0, &target), 0);
	size_t index = 0;
	for (size_t i = 0; i < server.listeners.count; i++)
		if (addr_family(&server.listeners.addresses[i]) == addr_family(&target))
			index = i;
	uint16_t port = addr_port(&server.listeners.addresses[index]);
	int client = connect_to(connect_to_text, port);
	struct pollfd pfd = {.fd = server.listeners.fds[index], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);

	struct connection conn;
	memset(&conn, 0xff, sizeof conn); /* whatever it held must be overwritten */
	assert_int_equal(server_accept(&server, index, &conn), SERVER_ACCEPTED);
	assert_true(conn.fd >= 0);
	assert_true(fcntl(conn.fd, F_GETFD) & FD_CLOEXEC);
	assert_null(conn.bytes);
	assert_int_equal(conn.cancel_fd, -1);
	connection_count(&conn, 100); /* no counter: nothing to add to, and no crash */

	char text[ADDRESS_TEXT_MAX], expected[ADDRESS_TEXT_MAX];
	struct address local;
	assert_int_equal(addr_parse_numeric(local_text, port, &local), 0);
	assert_string_equal(addr_format(&conn.local, text, sizeof text),
			    addr_format(&local, expected, sizeof expected));

	struct address mine;
	mine.length = sizeof mine.storage;
	assert_int_equal(getsockname(client, (struct sockaddr *)&mine.storage, &mine.length), 0);
	addr_unmap(&mine);
	assert_string_equal(addr_format(&conn.peer, text, sizeof text),
			    addr_format(&mine, expected, sizeof expected));
	assert_int_equal(server.accepted, 1);

	/* Nothing more waits. */
	assert_int_equal(server_accept(&server, index, &conn), SERVER_ACCEPT_EMPTY);

	assert_int_equal(close(client), 0);
	for (size_t i = 0; i < server.listeners.count; i++)
		assert_int_equal(close(server.listeners.fds[i]), 0);
}

static void test_wildcard_ipv4_gives_the_real_address(void **state)
{
	(void)state;
	accept_one("0.0.0.0", "127.0.0.1", "127.0.0.1");
}

static void test_wildcard_ipv6_gives_the_real_address(void **state)
{
	(void)state;
	accept_one("::", "::1", "::1");
}

static void test_every_address_gives_the_real_address(void **state)
{
	(void)state;
	accept_one(NULL, "127.0.0.1", "127.0.0.1");
}

static void test_bound_address_is_the_local_one(void **state)
{
	(void)state;
	accept_one("127.0.0.1", "127.0.0.1", "127.0.0.1");
}

static void test_counter_counts_when_there_is_one(void **state)
{
	(void)state;
	uint64_t bytes = 5;
	struct connection conn = {.fd = -1, .bytes = &bytes, .cancel_fd = -1};
	connection_count(&conn, 7);
	assert_int_equal(bytes, 12);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wildcard_ipv4_gives_the_real_address),
		cmocka_unit_test(test_wildcard_ipv6_gives_the_real_address),
		cmocka_unit_test(test_every_address_gives_the_real_address),
		cmocka_unit_test(test_bound_address_is_the_local_one),
		cmocka_unit_test(test_counter_counts_when_there_is_one),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
