/*
 * Integration tests of `forknet chat-server` and `forknet chat`: the real
 * binary on loopback with port 0. Members are either UDP sockets of the test,
 * which answer the server's challenge themselves, or real `forknet chat`
 * clients; they are checked by every datagram they receive, by the client's
 * standard output, exit status and error lines, and by the processes left
 * behind (none).
 *
 * "Nothing else arrived" is shown with a fence rather than a long wait: each
 * member sends /who, and the server, which handles datagrams in the order
 * they come and sends to one address in order, must answer with the member
 * list as the very next datagram. A short quiet window is kept on top, for
 * anything the kernel might deliver out of that order.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#define T HARNESS_TIMEOUT_MS
/* How long "nothing else arrives" is watched after a fence. */
#define QUIET_MS 100
/* Room for any datagram, with one byte to spare to see one that is too long. */
#define DATAGRAM_ROOM 65537
#define MEMBERS_MAX 8
#define STORM_SOCKETS 200
/*
 * What a client pads its datagrams to before it is a member: the server
 * never answers a non-member with more bytes than it sent (admission.h), and
 * its challenge is 38 bytes.
 */
#define PADDED 64
#define CHALLENGE_BYTES 38
#define BAD_NAME "! bad name: use 1 to 24 letters, digits, '.', '_' or '-'\n"

/* One member played by the test: a UDP socket connected to the server. */
struct member {
	int fd;
	char address[64]; /* how the server shows it: "127.0.0.1:PORT" or "[::1]:PORT" */
	char label[64];   /* how the server shows it now: its name once it has one, else its address */
};

/* What a `forknet chat` client has written to its standard output so far. */
struct output {
	char text[65536];
	size_t length;
};

static const struct spawn_options piped = {.stdin_pipe = true, .stdout_pipe = true, .nproc_limit = -1};

/* The --idle-timeout of the server last started, as its welcome lines show it. */
static unsigned long idle_timeout = 300;

static char datagram[DATAGRAM_ROOM];

/* Starts `forknet chat-server -b HOST -p 0 EXTRA...` (no -b if HOST is NULL) and waits until it listens. */
static struct process *start_chat_server(const char *host, const char *const *extra)
{
	const char *args[24] = {"-b", host, "-p", "0"};
	int count = 4;
	if (host == NULL) {
		args[0] = "-p";
		args[1] = "0";
		count = 2;
	}
	idle_timeout = 300;
	for (int i = 0; extra != NULL && extra[i] != NULL && count < 23; i++) {
		args[count++] = extra[i];
		if (strcmp(extra[i], "--idle-timeout") == 0 && extra[i + 1] != NULL)
			idle_timeout = strtoul(extra[i + 1], NULL, 10);
	}
	args[count] = NULL;
	return harness_start_command("chat-server", args);
}

/*
 * Kills SERVER (SIGKILL: it forgets every member) and starts a new one on
 * 127.0.0.1 at the same port, with --max-clients MAX_CLIENTS unless NULL.
 */
static struct process *restart_chat_server(struct process *server, const char *max_clients)
{
	char port[16];
	snprintf(port, sizeof port, "%u", server->port);
	assert_int_equal(kill(server->pid, SIGKILL), 0);
	assert_true(harness_wait_exit(server, T));
	const char *args[] = {"-b", "127.0.0.1", "-p", port, "--max-clients", max_clients, NULL};
	if (max_clients == NULL)
		args[4] = NULL;
	return harness_start_command("chat-server", args);
}

/* Starts `forknet chat [-n NAME] [EXTRA] 127.0.0.1 PORT` with its input and output piped. */
static struct process *start_client(uint16_t port, const char *name, const char *extra)
{
	char text[16];
	const char *args[8] = {"chat"};
	int count = 1;
	snprintf(text, sizeof text, "%u", port);
	if (name != NULL) {
		args[count++] = "-n";
		args[count++] = name;
	}
	if (extra != NULL)
		args[count++] = extra;
	args[count++] = "127.0.0.1";
	args[count++] = text;
	args[count] = NULL;
	return harness_spawn(args, &piped);
}

/* A new member socket on HOST for SERVER (not joined yet). */
static struct member member_open(const char *host, const struct process *server)
{
	struct member member;
	member.fd = harness_udp_socket(host, server->port);
	uint16_t port = harness_local_port(member.fd);
	if (strchr(host, ':') != NULL)
		snprintf(member.address, sizeof member.address, "[%s]:%u", host, port);
	else
		snprintf(member.address, sizeof member.address, "%s:%u", host, port);
	snprintf(member.label, sizeof member.label, "%s", member.address);
	return member;
}

static void send_bytes(const struct member *member, const void *data, size_t length)
{
	if (!harness_udp_send(member->fd, data, length))
		fail_msg("%s: send %zu bytes: %s", member->address, length, strerror(errno));
}

static void send_text(const struct member *member, const char *text)
{
	send_bytes(member, text, strlen(text));
}

/* Sends TEXT (no line end) padded with blanks and a newline to PADDED bytes, as the client does. */
static void send_padded(const struct member *member, const char *text)
{
	char padded[PADDED];
	size_t length = strlen(text);
	assert_true(length < PADDED);
	memcpy(padded, text, length);
	memset(padded + length, ' ', PADDED - 1 - length);
	padded[PADDED - 1] = '\n';
	send_bytes(member, padded, PADDED);
}

/* The next datagram for MEMBER (into `datagram`); fails the test if none comes in time. */
static size_t receive(const struct member *member)
{
	long length = harness_udp_receive(member->fd, datagram, sizeof datagram - 1, T);
	if (length < 0)
		fail_msg("%s: no datagram within %d ms (%s)", member->label, T, strerror(errno));
	assert_true((size_t)length < sizeof datagram);
	datagram[length] = '\0';
	return (size_t)length;
}

/* The next datagram for MEMBER must be exactly EXPECTED (LENGTH bytes). */
static void expect_bytes(const struct member *member, const char *expected, size_t length)
{
	size_t got = receive(member);
	if (got != length || memcmp(datagram, expected, length) != 0)
		fail_msg("%s: expected %zu bytes \"%.*s\", got %zu bytes \"%.*s\"", member->label, length,
			 (int)(length > 200 ? 200 : length), expected, got, (int)(got > 200 ? 200 : got),
			 datagram);
}

static void expect_text(const struct member *member, const char *expected)
{
	expect_bytes(member, expected, strlen(expected));
}

/* The next datagram for MEMBER must be FROM's message TEXT (one line), as relayed. */
static void expect_relay(const struct member *member, const struct member *from, const char *text)
{
	char line[512];
	snprintf(line, sizeof line, "%s>> %s\n", from->label, text);
	expect_text(member, line);
}

/* The welcome MEMBER gets as the COUNT-th member. */
static void expect_welcome(const struct member *member, size_t count)
{
	char line[256];
	snprintf(line, sizeof line, "* welcome, you are %s (%zu member%s; idle timeout %lu s)\n",
		 member->address, count, count == 1 ? "" : "s", idle_timeout);
	expect_text(member, line);
}

/* The join token's length as the design fixes it: 64 bits in hex, too many to guess. */
#define TOKEN_DIGITS 16

/*
 * True if DATA (LENGTH bytes) is a challenge, `send "/join TOKEN" to join`
 * with TOKEN TOKEN_DIGITS lowercase hex digits; then TOKEN is copied out.
 */
static bool is_challenge(const char *data, size_t length, char token[TOKEN_DIGITS + 1])
{
	static const char before[] = "send \"/join ", after[] = "\" to join\n";
	if (length != sizeof before - 1 + TOKEN_DIGITS + sizeof after - 1 ||
	    memcmp(data, before, sizeof before - 1) != 0 ||
	    memcmp(data + sizeof before - 1 + TOKEN_DIGITS, after, sizeof after - 1) != 0)
		return false;
	for (size_t i = 0; i < TOKEN_DIGITS; i++) {
		char c = data[sizeof before - 1 + i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		token[i] = c;
	}
	token[TOKEN_DIGITS] = '\0';
	return true;
}

/* The next datagram for MEMBER must be a challenge. Returns its TOKEN. */
static void expect_challenge(const struct member *member, char token[TOKEN_DIGITS + 1])
{
	size_t length = receive(member);
	if (!is_challenge(datagram, length, token))
		fail_msg("%s: expected a challenge, got \"%s\"", member->label, datagram);
}

/*
 * Reads what arrives for MEMBER until nothing has for QUIET_MS. Each datagram
 * must be EXPECTED, or a challenge if EXPECTED is NULL. With the EARLIER
 * replies already read, there may be at most one a second since START, the
 * limit for an address that is not a member. Returns how many there were.
 */
static int expect_limited_replies(const struct member *member, const char *expected,
				  struct timespec start, int earlier)
{
	int count = 0;
	long length;
	char token[TOKEN_DIGITS + 1];
	while ((length = harness_udp_receive(member->fd, datagram, sizeof datagram - 1, QUIET_MS)) >= 0) {
		datagram[length] = '\0';
		bool right = expected != NULL ? strcmp(datagram, expected) == 0
					      : is_challenge(datagram, (size_t)length, token);
		if (!right)
			fail_msg("%s: expected %s, got \"%s\"", member->label,
				 expected != NULL ? expected : "a challenge", datagram);
		count++;
	}
	if (earlier + count > 1 + harness_ms_since(start) / 1000)
		fail_msg("%s: %d replies in %ld ms", member->label, earlier + count, harness_ms_since(start));
	return count;
}

/* Sends "/join TOKEN" from MEMBER, padded. */
static void send_token(const struct member *member, const char *token)
{
	char answer[64];
	snprintf(answer, sizeof answer, "/join %s", token);
	send_padded(member, answer);
}

/* MEMBER joins as the server's COUNT-th member: asks, answers the challenge, is welcomed. */
static void member_join(const struct member *member, size_t count)
{
	char token[TOKEN_DIGITS + 1];
	send_padded(member, "/join");
	expect_challenge(member, token);
	send_token(member, token);
	expect_welcome(member, count);
}

/* MEMBERS[0..COUNT) join in order; each earlier one hears of each later one. */
static void join_all(const struct member *members, size_t count)
{
	char notice[256];
	for (size_t i = 0; i < count; i++) {
		member_join(&members[i], i + 1);
		snprintf(notice, sizeof notice, "* %s joined\n", members[i].label);
		for (size_t j = 0; j < i; j++)
			expect_text(&members[j], notice);
	}
}

/* Opens COUNT members on 127.0.0.1 for SERVER and joins them all. */
static void open_and_join(struct member *members, size_t count, const struct process *server)
{
	for (size_t i = 0; i < count; i++)
		members[i] = member_open("127.0.0.1", server);
	join_all(members, count);
}

/* The /who answer listing MEMBERS[0..COUNT) in that order, into LINE. */
static void who_line(const struct member *members, size_t count, char *line, size_t size)
{
	size_t length = (size_t)snprintf(line, size, "* members (%zu):", count);
	for (size_t i = 0; i < count && length < size; i++)
		length += (size_t)snprintf(line + length, size - length, "%s %s", i == 0 ? "" : ",",
					   members[i].label);
	if (length < size)
		snprintf(line + length, size - length, "\n");
}

/*
 * The fence for ASKER, one of MEMBERS[0..COUNT) (the whole member list, in
 * the server's order): it asks /who and must get exactly that list as its
 * next datagram, so nothing else reached it before.
 */
static void expect_fence(const struct member *asker, const struct member *members, size_t count)
{
	char line[1024];
	who_line(members, count, line, sizeof line);
	send_text(asker, "/who\n");
	expect_text(asker, line);
}

/* Nothing arrives for any of MEMBERS[0..COUNT) within QUIET_MS. */
static void expect_quiet(const struct member *members, size_t count)
{
	struct pollfd fds[MEMBERS_MAX];
	assert_true(count <= MEMBERS_MAX);
	for (size_t i = 0; i < count; i++)
		fds[i] = (struct pollfd){.fd = members[i].fd, .events = POLLIN};
	int ready = poll(fds, count, QUIET_MS);
	for (size_t i = 0; ready > 0 && i < count; i++)
		if (fds[i].revents != 0) {
			size_t length = receive(&members[i]);
			fail_msg("%s: unexpected %zu bytes \"%s\"", members[i].label, length, datagram);
		}
}

/*
 * Every one of MEMBERS[0..COUNT) (the whole member list, in the server's
 * order) passes the fence, and then none hears anything for QUIET_MS.
 */
static void expect_nothing_more(const struct member *members, size_t count)
{
	for (size_t i = 0; i < count; i++)
		expect_fence(&members[i], members, count);
	expect_quiet(members, count);
}

/* Nothing at all arrives for MEMBER (not a member, so no fence) within QUIET_MS. */
static void expect_silence(const struct member *member)
{
	long length = harness_udp_receive(member->fd, datagram, sizeof datagram - 1, QUIET_MS);
	if (length >= 0) {
		datagram[length] = '\0';
		fail_msg("%s: unexpected %ld bytes \"%s\"", member->label, length, datagram);
	}
	assert_int_equal(errno, ETIMEDOUT);
}

/* Reads CLIENT's standard output into OUT until it holds NEEDLE; fails the test otherwise. */
static void output_wait(struct process *client, struct output *out, const char *needle)
{
	struct timespec start = harness_now();
	for (;;) {
		out->text[out->length] = '\0';
		if (strstr(out->text, needle) != NULL)
			return;
		long left = T - harness_ms_since(start);
		struct pollfd pfd = {.fd = client->stdout_fd, .events = POLLIN};
		if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)) {
			harness_dump_log(client, "client");
			fail_msg("client output has no \"%s\"; it is \"%s\"", needle, out->text);
		}
		if (pfd.revents == 0)
			continue;
		assert_true(out->length < sizeof out->text - 1);
		ssize_t count = read(client->stdout_fd, out->text + out->length,
				     sizeof out->text - 1 - out->length);
		if (count == 0) {
			harness_dump_log(client, "client");
			fail_msg("client output ended without \"%s\"; it is \"%s\"", needle, out->text);
		}
		if (count > 0)
			out->length += (size_t)count;
	}
}

/*
 * Waits for CLIENT's welcome on its standard output and returns, into
 * ADDRESS, the address the server knows it by.
 */
static void client_address(struct process *client, struct output *out, char *address, size_t size)
{
	static const char welcome[] = "* welcome, you are ";
	output_wait(client, out, " s)\n");
	const char *start = strstr(out->text, welcome);
	assert_non_null(start);
	start += sizeof welcome - 1;
	size_t length = strcspn(start, " ");
	assert_true(length < size);
	memcpy(address, start, length);
	address[length] = '\0';
}

/* Feeds INPUT to CLIENT, closes its input unless KEEP_OPEN, and reads its output to the end into OUT. */
static void client_finish(struct process *client, struct output *out, const char *input,
			  bool keep_open)
{
	size_t length;
	char *rest = harness_pipe_through(client, input, strlen(input), keep_open, &length, T);
	if (rest == NULL) {
		harness_dump_log(client, "client");
		fail_msg("client output did not end");
	}
	assert_true(out->length + length < sizeof out->text);
	memcpy(out->text + out->length, rest, length);
	out->length += length;
	out->text[out->length] = '\0';
	free(rest);
}

/* Waits for CLIENT to exit with STATUS and checks that it left no process behind. */
static void expect_exit(struct process *client, int status)
{
	if (!harness_wait_exit(client, T)) {
		harness_dump_log(client, "client");
		fail_msg("the client did not exit");
	}
	if (!WIFEXITED(client->status) || WEXITSTATUS(client->status) != status) {
		harness_dump_log(client, "client");
		fail_msg("client wait status %#x, expected exit %d", client->status, status);
	}
	/* Its receiving process, had it been left, would have been orphaned to us. */
	assert_int_equal(harness_reap_orphans(), 0);
}

static void expect_log(const struct process *process, const char *expected)
{
	char *log = harness_log(process);
	assert_string_equal(log, expected);
	free(log);
}

/* CLIENT exits 69 saying, in its one line, that the server at PORT is gone; no process is left. */
static void expect_server_gone(struct process *client, uint16_t port)
{
	char expected[96];
	expect_exit(client, 69);
	snprintf(expected, sizeof expected, "forknet: connection to 127.0.0.1:%u: the server is gone\n",
		 port);
	expect_log(client, expected);
}

/* The server is still running and has logged no error. */
static void expect_running(struct process *server)
{
	assert_false(harness_wait_exit(server, 0));
	char *log = harness_log(server);
	if (strstr(log, " error: ") != NULL || strstr(log, " warning: ") != NULL)
		fail_msg("server log has a problem:\n%s", log);
	free(log);
}

/* 1. Each message reaches exactly the other two, with the address prefix, then the name. */
static void test_three_members_talk(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[3];
	open_and_join(m, 3, server);

	for (size_t i = 0; i < 3; i++) {
		char text[32];
		snprintf(text, sizeof text, "hello from %zu\n", i);
		send_text(&m[i], text);
		text[strlen(text) - 1] = '\0';
		for (size_t j = 0; j < 3; j++)
			if (j != i)
				expect_relay(&m[j], &m[i], text);
	}
	/* A datagram without a line end is a message all the same. */
	send_text(&m[1], "no line end");
	expect_relay(&m[0], &m[1], "no line end");
	expect_relay(&m[2], &m[1], "no line end");
	expect_nothing_more(m, 3);

	send_text(&m[0], "/nick alice\n");
	expect_text(&m[0], "* you are now alice\n");
	char notice[128];
	snprintf(notice, sizeof notice, "* %s is now alice\n", m[0].address);
	expect_text(&m[1], notice);
	expect_text(&m[2], notice);
	snprintf(m[0].label, sizeof m[0].label, "alice");
	send_text(&m[0], "hi all\n");
	expect_relay(&m[1], &m[0], "hi all");
	expect_relay(&m[2], &m[0], "hi all");
	/* Every line of a message gets the prefix, so none can pass for another member's. */
	send_text(&m[2], "two\nlines\n");
	char lines[256];
	snprintf(lines, sizeof lines, "%s>> two\n%s>> lines\n", m[2].label, m[2].label);
	expect_text(&m[0], lines);
	expect_text(&m[1], lines);
	expect_nothing_more(m, 3);
	expect_running(server);
}

/* 2. Renames, taken and bad names, /who to the asker only, unknown commands. */
static void test_names_and_notices(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[3];
	char notice[256];
	open_and_join(m, 2, server);

	send_text(&m[0], "/nick alice\n");
	expect_text(&m[0], "* you are now alice\n");
	snprintf(notice, sizeof notice, "* %s is now alice\n", m[0].address);
	expect_text(&m[1], notice);
	snprintf(m[0].label, sizeof m[0].label, "alice");

	send_text(&m[1], "/nick alice\n");
	expect_text(&m[1], "! name alice is taken\n");
	send_text(&m[0], "/nick alice\n");
	expect_text(&m[0], "* you are alice\n");

	static const char *const bad[] = {
		"/nick\n", "/nick    \n", "/nick aaaaaaaaaaaaaaaaaaaaaaaaa\n" /* 25 */,
		"/nick a\x1b[2Jb\n", "/nick a\001b\n", "/nick bob smith\n", "/nick bob:1\n",
		"/nick a>b\n", "/nick caf\xc3\xa9\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		send_text(&m[1], bad[i]);
		expect_text(&m[1], BAD_NAME);
	}
	send_text(&m[1], "/nick bob\n");
	expect_text(&m[1], "* you are now bob\n");
	snprintf(notice, sizeof notice, "* %s is now bob\n", m[1].address);
	expect_text(&m[0], notice);
	snprintf(m[1].label, sizeof m[1].label, "bob");

	/* /who: to the asker only. */
	send_text(&m[1], "/who\n");
	expect_text(&m[1], "* members (2): alice, bob\n");

	m[2] = member_open("127.0.0.1", server);
	member_join(&m[2], 3);
	snprintf(notice, sizeof notice, "* %s joined\n", m[2].address);
	expect_text(&m[0], notice);
	expect_text(&m[1], notice);

	send_text(&m[2], "/frob x\n");
	expect_text(&m[2], "! unknown command /frob (try /nick NAME, /who, /quit)\n");
	/* "//" starts a message that begins with '/'. */
	send_text(&m[2], "//slash\n");
	expect_relay(&m[0], &m[2], "/slash");
	expect_relay(&m[1], &m[2], "/slash");
	expect_nothing_more(m, 3);
	assert_true(harness_wait_log(server, " is now alice", 1, T));
	expect_running(server);
}

/* 3. END and /quit remove a member: "* bye" to it, "* X left" to the others, and nothing more for it. */
static void test_end_removes_member(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[3];
	char notice[128];
	open_and_join(m, 3, server);

	send_text(&m[2], "END\n");
	expect_text(&m[2], "* bye\n");
	snprintf(notice, sizeof notice, "* %s left\n", m[2].label);
	expect_text(&m[0], notice);
	expect_text(&m[1], notice);
	send_text(&m[0], "after END\n");
	expect_relay(&m[1], &m[0], "after END");
	expect_nothing_more(m, 2);
	expect_silence(&m[2]);

	send_text(&m[1], "/quit\n");
	expect_text(&m[1], "* bye\n");
	snprintf(notice, sizeof notice, "* %s left\n", m[1].label);
	expect_text(&m[0], notice);
	send_text(&m[0], "alone now\n");
	expect_nothing_more(m, 1);
	expect_silence(&m[1]);
	expect_silence(&m[2]);

	/* A former member is a stranger again: what it sends reaches no one. */
	send_text(&m[2], "still here?\n");
	expect_nothing_more(m, 1);
	assert_true(harness_wait_log(server, " left; 1 member", 1, T));
	expect_running(server);
}

/* 4. --idle-timeout 1: a silent member expires; one that pings stays. */
static void test_idle_member_expires(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--idle-timeout", "1", NULL});
	struct member m[2]; /* m[0] stays silent, m[1] pings */
	for (size_t i = 0; i < 2; i++)
		m[i] = member_open("127.0.0.1", server);
	struct timespec joined = harness_now();
	join_all(m, 2);

	/* m[1] pings every 200 ms (each answered) until m[0] hears that it was dropped. */
	long expired_ms = -1;
	while (expired_ms < 0 && harness_ms_since(joined) < 5000) {
		send_text(&m[1], "/ping\n");
		expect_text(&m[1], "* pong\n");
		long length = harness_udp_receive(m[0].fd, datagram, sizeof datagram - 1, 200);
		if (length >= 0) {
			datagram[length] = '\0';
			expired_ms = harness_ms_since(joined);
			assert_string_equal(datagram, "! idle for 1 s: you are no longer a member\n");
		}
	}
	if (expired_ms < 0)
		fail_msg("the silent member was not dropped within 5 s");
	assert_true(expired_ms >= 1000);
	char notice[128];
	snprintf(notice, sizeof notice, "* %s timed out\n", m[0].label);
	expect_text(&m[1], notice);

	/* m[1] keeps pinging for well over the timeout, and stays. */
	struct timespec since = harness_now();
	while (harness_ms_since(since) < 1500) {
		send_text(&m[1], "/ping\n");
		expect_text(&m[1], "* pong\n");
		long length = harness_udp_receive(m[1].fd, datagram, sizeof datagram - 1, 200);
		if (length >= 0) {
			datagram[length] = '\0';
			fail_msg("the pinging member got \"%s\"", datagram);
		}
	}
	expect_nothing_more(&m[1], 1);
	expect_silence(&m[0]);
	assert_true(harness_wait_log(server, " timed out; 1 member", 1, T));
	expect_running(server);
}

/* 5. --max-clients 2: an address that passes the check is told the server is full, and not added. */
static void test_server_full(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--max-clients", "2", NULL});
	struct member m[3];
	open_and_join(m, 2, server);
	m[2] = member_open("127.0.0.1", server);
	char token[TOKEN_DIGITS + 1];
	send_padded(&m[2], "/join");
	expect_challenge(&m[2], token);
	/* Unpadded, the token still joins, but "server full" is longer than it: not said. */
	char unpadded[64];
	snprintf(unpadded, sizeof unpadded, "/join %s\n", token);
	send_text(&m[2], unpadded);
	expect_silence(&m[2]);
	send_token(&m[2], token);
	expect_text(&m[2], "! server full (2 members)\n");

	send_text(&m[0], "only two\n");
	expect_relay(&m[1], &m[0], "only two");
	expect_nothing_more(m, 2);
	expect_silence(&m[2]);
	assert_true(harness_wait_log(server, "server full (2 members)", 1, T));
	expect_running(server);
}

/* 5b. The same with --open: the first datagram of the third address is answered "server full", not relayed. */
static void test_server_full_open(void **state)
{
	(void)state;
	struct process *server =
		start_chat_server("127.0.0.1", (const char *[]){"--open", "--max-clients", "2", NULL});
	struct member m[3];
	for (size_t i = 0; i < 3; i++)
		m[i] = member_open("127.0.0.1", server);
	send_text(&m[0], "/join\n");
	expect_welcome(&m[0], 1);
	send_text(&m[1], "/join\n");
	expect_welcome(&m[1], 2);
	char notice[128];
	snprintf(notice, sizeof notice, "* %s joined\n", m[1].label);
	expect_text(&m[0], notice);

	struct timespec start = harness_now();
	send_text(&m[2], "let me in\n");
	expect_text(&m[2], "! server full (2 members)\n");
	send_text(&m[2], "please\n");
	expect_nothing_more(m, 2);
	send_text(&m[0], "only two\n");
	expect_relay(&m[1], &m[0], "only two");
	expect_nothing_more(m, 2);
	/* At most one reply a second to an address that is not a member: "please" had none. */
	expect_limited_replies(&m[2], "! server full (2 members)\n", start, 1);
	expect_running(server);
}

/* 5c. A forknet chat client refused as the room is full: the reason, one error line, status 69. */
static void test_client_told_server_full(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--max-clients", "1", NULL});
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct process *client = start_client(server->port, NULL, "--join-timeout=3");
	struct output out = {.length = 0};
	client_finish(client, &out, "", true);
	expect_exit(client, 69);
	if (strcmp(out.text, "! server full (1 member)\n") != 0) {
		harness_dump_log(client, "client");
		fail_msg("the client showed \"%s\", not the server's \"! server full (1 member)\"",
			 out.text);
	}
	char expected[128];
	snprintf(expected, sizeof expected, "forknet: join 127.0.0.1:%u: refused by the server\n",
		 server->port);
	expect_log(client, expected);
	expect_nothing_more(&m, 1);
}

/* 6. An address that never answers the challenge gets only challenges, at most one a second, and reaches no one. */
static void test_address_check(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[3];
	open_and_join(m, 2, server);
	struct member stranger = member_open("127.0.0.1", server);

	/* Taken before the server can have answered, so "a second after" is measured from no later. */
	struct timespec challenged = harness_now();
	/* Too short to be answered: the challenge is longer. */
	send_text(&stranger, "hello?\n");
	expect_silence(&stranger);
	for (int i = 0; i < 5; i++)
		send_padded(&stranger, "hello?");
	expect_nothing_more(m, 2);
	char token[TOKEN_DIGITS + 1];
	expect_challenge(&stranger, token);
	expect_limited_replies(&stranger, NULL, challenged, 1);

	/* A wrong token is answered with a challenge, not membership. */
	m[2] = member_open("127.0.0.1", server);
	struct timespec asked = harness_now();
	send_padded(&m[2], "/join 00000000");
	char own[TOKEN_DIGITS + 1];
	expect_challenge(&m[2], own);
	/* Another address's token is no good either. */
	send_token(&m[2], token);
	expect_nothing_more(m, 2);
	expect_limited_replies(&m[2], NULL, asked, 1);
	/* Its own token is. */
	send_token(&m[2], own);
	expect_welcome(&m[2], 3);
	char notice[128];
	snprintf(notice, sizeof notice, "* %s joined\n", m[2].label);
	expect_text(&m[0], notice);
	expect_text(&m[1], notice);

	/*
	 * The stranger keeps talking, ten times a second: it asks more often than
	 * it may be answered, so it is not answered again while it does.
	 */
	struct timespec talking = harness_now();
	while (harness_ms_since(talking) < 2500) {
		send_padded(&stranger, "anyone?");
		long length = harness_udp_receive(stranger.fd, datagram, sizeof datagram - 1, 100);
		if (length >= 0)
			fail_msg("the stranger, asking ten times a second, got \"%.*s\"", (int)length,
				 datagram);
	}
	/* Once it has been quiet for the penalty (2 s), it is answered again. */
	expect_silence(&stranger);
	struct timespec quiet = harness_now();
	while (harness_ms_since(quiet) < 2100)
		expect_silence(&stranger);
	send_padded(&stranger, "anyone?");
	expect_challenge(&stranger, token);
	expect_nothing_more(m, 3);
	expect_running(server);
}

/* 7. --open: the first datagram joins, and the message in it is relayed. */
static void test_open_joins_on_first_datagram(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--open", NULL});
	struct member m[2];
	char line[256];
	for (size_t i = 0; i < 2; i++)
		m[i] = member_open("127.0.0.1", server);
	/* A command in the first datagram is carried out once joined. */
	send_text(&m[0], "/who\n");
	expect_welcome(&m[0], 1);
	who_line(m, 1, line, sizeof line);
	expect_text(&m[0], line);

	send_text(&m[1], "hello\n");
	expect_welcome(&m[1], 2);
	snprintf(line, sizeof line, "* %s joined\n", m[1].label);
	expect_text(&m[0], line);
	expect_relay(&m[0], &m[1], "hello");
	expect_nothing_more(m, 2);
	assert_true(harness_wait_log(server, "open: no address check", 1, T));
	expect_running(server);
}

/* A new string of LENGTH copies of C; free() it. */
static char *repeated(char c, size_t length)
{
	char *text = malloc(length + 1);
	assert_non_null(text);
	memset(text, c, length);
	text[length] = '\0';
	return text;
}

/* 8a. --max-message 100: 100 bytes are relayed, 101 are refused with the limit, to no one. */
static void test_message_limit(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--max-message", "100", NULL});
	struct member m[2];
	open_and_join(m, 2, server);

	char *hundred = repeated('x', 100);
	send_text(&m[0], hundred);
	expect_relay(&m[1], &m[0], hundred);
	/* The line end is not part of the message. */
	char *with_line_end = repeated('x', 101);
	with_line_end[100] = '\n';
	send_text(&m[0], with_line_end);
	expect_relay(&m[1], &m[0], hundred);

	char *over = repeated('y', 101);
	send_text(&m[0], over);
	expect_text(&m[0], "! message too long (limit 100 bytes)\n");
	/* Longer than the server's buffer: seen as cut (MSG_TRUNC), refused the same way. */
	char *far_over = repeated('z', 5000);
	send_text(&m[0], far_over);
	expect_text(&m[0], "! message too long (limit 100 bytes)\n");
	expect_nothing_more(m, 2);
	/* Both refusals were answered; the log names the first (then at most one a second). */
	assert_true(harness_wait_log(server, "message too long", 1, T));
	free(hundred);
	free(with_line_end);
	free(over);
	free(far_over);
	expect_running(server);
}

/* 8b. The default limit of 4096 bytes, and the largest datagram there is (65507 bytes over IPv4). */
static void test_largest_datagram_refused(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[2];
	open_and_join(m, 2, server);

	char *limit = repeated('a', 4096);
	send_text(&m[0], limit);
	char *relayed = malloc(4096 + 128);
	assert_non_null(relayed);
	int length = snprintf(relayed, 4096 + 128, "%s>> %s\n", m[0].label, limit);
	expect_bytes(&m[1], relayed, (size_t)length);

	char *over = repeated('b', 4097);
	send_text(&m[0], over);
	expect_text(&m[0], "! message too long (limit 4096 bytes)\n");
	char *huge = repeated('c', 65507);
	send_text(&m[0], huge);
	expect_text(&m[0], "! message too long (limit 4096 bytes)\n");
	/* A command too big for the buffer is refused as well, not half-read. */
	memcpy(huge, "/nick ", 6);
	send_text(&m[0], huge);
	expect_text(&m[0], "! message too long (limit 4096 bytes)\n");
	expect_nothing_more(m, 2);
	free(limit);
	free(relayed);
	free(over);
	free(huge);
	expect_running(server);
}

/* 9. --rate 5: of a burst of 30, ten (the burst) reach the other member; the sender is told once. */
static void test_rate_limit(void **state)
{
	(void)state;
	enum { BURST = 30, RATE = 5 };
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--rate", "5", NULL});
	struct member m[2]; /* m[0] receives, m[1] sends */
	open_and_join(m, 2, server);

	struct timespec start = harness_now();
	for (int i = 0; i < BURST; i++) {
		char text[32];
		snprintf(text, sizeof text, "burst %02d\n", i);
		send_text(&m[1], text);
	}
	/* The first 2 * RATE pass, in order. */
	for (int i = 0; i < 2 * RATE; i++) {
		char text[32];
		snprintf(text, sizeof text, "burst %02d", i);
		expect_relay(&m[0], &m[1], text);
	}
	/*
	 * A few more may pass only if the server took its time: the bucket gains
	 * RATE tokens a second, and the server cannot have spent longer on the
	 * burst than from its first datagram until the last relay arrives.
	 */
	int extra = 0;
	long last_ms = harness_ms_since(start);
	while (harness_udp_receive(m[0].fd, datagram, sizeof datagram - 1, 300) >= 0) {
		extra++;
		last_ms = harness_ms_since(start);
	}
	int allowed = (int)(RATE * last_ms / 1000);
	if (extra > allowed)
		fail_msg("%d messages over the burst reached the other member in %ld ms (at most %d)",
			 extra, last_ms, allowed);

	int notices = 0;
	long length;
	while ((length = harness_udp_receive(m[1].fd, datagram, sizeof datagram - 1, 300)) >= 0) {
		datagram[length] = '\0';
		assert_string_equal(datagram, "! too fast: messages over 5 a second are dropped\n");
		notices++;
	}
	/* At most one notice a second of the burst. */
	assert_true(notices >= 1);
	assert_true(notices <= 1 + harness_ms_since(start) / 1000);
	assert_true(harness_wait_log(server, "over 5 messages a second", 1, T));
	/* The sender has no tokens left for /who: only the receiver passes the fence. */
	expect_fence(&m[0], m, 2);
	expect_quiet(m, 2);
	expect_running(server);
}

/* 10. An ESC sequence from one member reaches a forknet chat client's standard output escaped. */
static void test_terminal_controls_escaped(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct process *client = start_client(server->port, NULL, NULL);
	struct output out = {.length = 0};
	char client_label[64], line[256];
	client_address(client, &out, client_label, sizeof client_label);

	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 2);
	snprintf(line, sizeof line, "* %s joined\n", m.label);
	output_wait(client, &out, line);

	send_text(&m, "\x1b[31mred\x07\n");
	snprintf(line, sizeof line, "%s>> \\x1b[31mred\\x07\n", m.label);
	output_wait(client, &out, line);
	/* C1 controls too: CSI as UTF-8 (U+009B); a backslash is doubled. */
	send_text(&m, "\xc2\x9b" "2J a\\b\n");
	snprintf(line, sizeof line, "%s>> \\xc2\\x9b2J a\\\\b\n", m.label);
	output_wait(client, &out, line);
	/* A raw C1 byte is not UTF-8: the server refuses it, so it never reaches the client. */
	send_text(&m, "\x9b" "2J\n");
	expect_text(&m, "! message refused: not UTF-8 text (or it holds NUL bytes)\n");
	/* Printable UTF-8 passes unchanged. */
	send_text(&m, "caf\xc3\xa9\n");
	snprintf(line, sizeof line, "%s>> caf\xc3\xa9\n", m.label);
	output_wait(client, &out, line);

	client_finish(client, &out, "END\n", false);
	expect_exit(client, 0);
	assert_null(memchr(out.text, 0x1b, out.length));
	assert_null(memchr(out.text, 0x07, out.length));
	assert_null(memchr(out.text, 0x9b, out.length));
}

/* 11a. The client: -n takes the name; END makes it leave, exit 0 and leave no process. */
static void test_client_end(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct process *client = start_client(server->port, "alice", NULL);
	struct output out = {.length = 0};
	char client_label[64], line[256];
	client_address(client, &out, client_label, sizeof client_label);
	snprintf(line, sizeof line, "* welcome, you are %s (2 members; idle timeout 300 s)\n",
		 client_label);
	/* The first line; the next may have come in the same read. */
	assert_memory_equal(out.text, line, strlen(line));
	output_wait(client, &out, "* you are now alice\n");
	snprintf(line, sizeof line, "* %s joined\n", client_label);
	expect_text(&m, line);
	snprintf(line, sizeof line, "* %s is now alice\n", client_label);
	expect_text(&m, line);

	/* Typing and receiving run in two processes: the client has exactly one child. */
	assert_true(harness_wait_children(client->pid, 1, T));
	assert_int_equal(harness_children(client->pid, NULL, 0, NULL), 1);

	send_text(&m, "hi alice\n");
	snprintf(line, sizeof line, "%s>> hi alice\n", m.label);
	output_wait(client, &out, line);
	assert_int_equal(write(client->stdin_fd, "hello\n", 6), 6);
	expect_text(&m, "alice>> hello\n");

	/* END leaves at once, with input still open; what follows it is not sent. */
	client_finish(client, &out, "END\nnever sent\n", true);
	expect_exit(client, 0);
	expect_text(&m, "* alice left\n");
	expect_nothing_more(&m, 1);
	size_t bye = sizeof "* bye\n" - 1;
	assert_true(out.length >= bye);
	assert_memory_equal(out.text + out.length - bye, "* bye\n", bye);
	expect_log(client, "");
	snprintf(line, sizeof line, "alice (%s) left", client_label);
	assert_true(harness_wait_log(server, line, 1, T));
}

/* 11b. The end of input ends the client as END does. */
static void test_client_end_of_input(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct process *client = start_client(server->port, NULL, NULL);
	struct output out = {.length = 0};
	char client_label[64], line[256];
	client_address(client, &out, client_label, sizeof client_label);
	snprintf(line, sizeof line, "* %s joined\n", client_label);
	expect_text(&m, line);

	client_finish(client, &out, "last words\n", false);
	expect_exit(client, 0);
	snprintf(line, sizeof line, "%s>> last words\n", client_label);
	expect_text(&m, line);
	snprintf(line, sizeof line, "* %s left\n", client_label);
	expect_text(&m, line);
	expect_nothing_more(&m, 1);
	expect_log(client, "");
}

/* 11c. A closed UDP port: one error line, status 69, no process left. */
static void test_client_closed_port(void **state)
{
	(void)state;
	uint16_t port = harness_unused_udp_port();
	struct process *client = start_client(port, NULL, NULL);
	struct output out = {.length = 0};
	client_finish(client, &out, "", true);
	expect_exit(client, 69);
	assert_string_equal(out.text, "");
	char expected[128];
	snprintf(expected, sizeof expected, "forknet: join 127.0.0.1:%u: Connection refused\n", port);
	expect_log(client, expected);
}

/* 11d. A server that never answers: after --join-timeout, one error line and status 69. */
static void test_client_join_timeout(void **state)
{
	(void)state;
	int silent = harness_udp_socket("127.0.0.1", 0);
	uint16_t port = harness_local_port(silent);
	struct timespec start = harness_now();
	struct process *client = start_client(port, NULL, "--join-timeout=1");
	struct output out = {.length = 0};
	client_finish(client, &out, "", true);
	expect_exit(client, 69);
	long took = harness_ms_since(start);
	assert_true(took >= 1000);
	assert_true(took < 5000);
	assert_string_equal(out.text, "");
	char expected[128];
	snprintf(expected, sizeof expected, "forknet: join 127.0.0.1:%u: no answer within 1 s\n", port);
	expect_log(client, expected);
	/* It did ask. */
	assert_true(harness_udp_drain(silent, 0, T) >= 1);
}

/* 12. SIGTERM: every member is told, the server exits 0, and a forknet chat client ends with 0 by itself. */
static void test_sigterm_tells_members(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct process *client = start_client(server->port, NULL, NULL);
	struct output out = {.length = 0};
	char client_label[64], line[256];
	client_address(client, &out, client_label, sizeof client_label);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 2);
	snprintf(line, sizeof line, "* %s joined\n", m.label);
	output_wait(client, &out, line);
	assert_true(harness_wait_children(client->pid, 1, T));

	assert_int_equal(kill(server->pid, SIGTERM), 0);
	expect_text(&m, "* server shutting down\n");
	if (!harness_wait_exit(server, T))
		fail_msg("the server did not exit after SIGTERM");
	assert_true(WIFEXITED(server->status));
	assert_int_equal(WEXITSTATUS(server->status), 0);
	expect_log(client, "");

	output_wait(client, &out, "* server shutting down\n");
	/* Its input is still open: it ends because the server went away. */
	expect_exit(client, 0);
	expect_log(client, "");
}

/* 13. Bad input: a defined answer to each, the server alive and its member list intact. */
static void test_bad_input(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[2];
	open_and_join(m, 2, server);

	/* Empty datagrams, or only a line end, say nothing: no reply, nothing relayed. */
	send_bytes(&m[0], "", 0);
	send_text(&m[0], "\n");
	send_text(&m[0], "\r\n");
	expect_nothing_more(m, 2);

	/* NUL bytes and binary junk are not text: refused with a reply to the sender, relayed to no one. */
	static const char refused[] = "! message refused: not UTF-8 text (or it holds NUL bytes)\n";
	static const char nuls[] = "a\0b\0";
	send_bytes(&m[0], nuls, sizeof nuls - 1);
	expect_text(&m[0], refused);

	char junk[200];
	harness_random_bytes(junk, sizeof junk, 42);
	junk[0] = 0; /* neither a command nor END */
	send_bytes(&m[0], junk, sizeof junk);
	expect_text(&m[0], refused);
	junk[0] = 'x'; /* no NUL at the start now, but still not UTF-8 */
	for (size_t i = 0; i < sizeof junk; i++)
		if (junk[i] == 0)
			junk[i] = (char)0xff;
	send_bytes(&m[0], junk, sizeof junk);
	expect_text(&m[0], refused);
	expect_nothing_more(m, 2);

	/* Names: empty, too long, control characters: refused, the name unchanged. */
	send_text(&m[1], "/nick carol\n");
	expect_text(&m[1], "* you are now carol\n");
	char notice[128];
	snprintf(notice, sizeof notice, "* %s is now carol\n", m[1].address);
	expect_text(&m[0], notice);
	snprintf(m[1].label, sizeof m[1].label, "carol");
	static const char *const bad[] = {"/nick \n", "/nick 0123456789012345678901234\n",
					  "/nick car\x1bol\n", "/nick \x00\n", "/nick carol\x7f\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		send_bytes(&m[1], bad[i], i == 3 ? 8 : strlen(bad[i]));
		expect_text(&m[1], BAD_NAME);
	}
	/* 24 characters is the longest name. */
	send_text(&m[1], "/nick 012345678901234567890123\n");
	expect_text(&m[1], "* you are now 012345678901234567890123\n");
	expect_text(&m[0], "* carol is now 012345678901234567890123\n");
	snprintf(m[1].label, sizeof m[1].label, "012345678901234567890123");
	expect_nothing_more(m, 2);

	/* A stranger's junk and a huge token get at most a challenge, and reach no one. */
	struct member stranger = member_open("127.0.0.1", server);
	struct timespec start = harness_now();
	send_bytes(&stranger, "", 0);
	char *token = repeated('f', 1000);
	memcpy(token, "/join ", 6);
	send_text(&stranger, token);
	free(token);
	send_bytes(&stranger, junk, sizeof junk);
	expect_nothing_more(m, 2);
	char challenge[TOKEN_DIGITS + 1];
	expect_challenge(&stranger, challenge);
	expect_limited_replies(&stranger, NULL, start, 1);
	expect_running(server);
}

/* 13b. A storm of join attempts from many ports: a bounded number of challenges, members still served. */
static void test_join_storm(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[2];
	open_and_join(m, 2, server);

	/* Each socket asks five times at once: it gets one challenge, never more. */
	static struct member storm[STORM_SOCKETS];
	static struct pollfd fds[STORM_SOCKETS];
	static int replies[STORM_SOCKETS];
	for (size_t i = 0; i < STORM_SOCKETS; i++) {
		storm[i] = member_open("127.0.0.1", server);
		fds[i] = (struct pollfd){.fd = storm[i].fd, .events = POLLIN};
		replies[i] = 0;
	}
	for (int round = 0; round < 5; round++)
		for (size_t i = 0; i < STORM_SOCKETS; i++)
			send_padded(&storm[i], "/join");

	/* Collect replies until none has come for 300 ms. */
	int total = 0;
	struct timespec start = harness_now();
	while (harness_ms_since(start) < T) {
		int ready = poll(fds, STORM_SOCKETS, 300);
		if (ready == 0)
			break;
		for (size_t i = 0; ready > 0 && i < STORM_SOCKETS; i++) {
			if (fds[i].revents == 0)
				continue;
			long length = harness_udp_receive(fds[i].fd, datagram, sizeof datagram - 1, 0);
			if (length < 0)
				continue;
			datagram[length] = '\0';
			char token[TOKEN_DIGITS + 1];
			if (!is_challenge(datagram, (size_t)length, token))
				fail_msg("a stranger got \"%s\"", datagram);
			replies[i]++;
			total++;
		}
	}
	for (size_t i = 0; i < STORM_SOCKETS; i++)
		if (replies[i] > 1)
			fail_msg("%s got %d challenges for 5 quick requests", storm[i].address, replies[i]);
	/* Far below the limits for one /24 and for all: (nearly) every socket was answered. */
	assert_true(total >= STORM_SOCKETS * 9 / 10);

	send_text(&m[0], "after the storm\n");
	expect_relay(&m[1], &m[0], "after the storm");
	expect_nothing_more(m, 2);
	expect_running(server);
}

/* 14. IPv6: two members on ::1, the prefix in brackets. */
static void test_ipv6(void **state)
{
	(void)state;
	struct process *server = start_chat_server("::1", NULL);
	struct member m[2];
	for (size_t i = 0; i < 2; i++)
		m[i] = member_open("::1", server);
	join_all(m, 2);
	char prefix[64];
	snprintf(prefix, sizeof prefix, "[::1]:%u>> ", harness_local_port(m[0].fd));
	send_text(&m[0], "six\n");
	size_t length = receive(&m[1]);
	assert_true(length > strlen(prefix));
	assert_memory_equal(datagram, prefix, strlen(prefix));
	assert_string_equal(datagram + strlen(prefix), "six\n");
	expect_nothing_more(m, 2);
	expect_running(server);
}

/*
 * The default bind answers each member from the address it wrote to: a
 * member connected to 127.0.0.2 drops a reply from 127.0.0.1, so the join
 * itself shows whether the server got it right (IP_PKTINFO / IPV6_PKTINFO).
 */
static void test_default_bind_answers_from_the_address_used(void **state)
{
	(void)state;
	struct process *server = start_chat_server(NULL, NULL);
	struct member m[3];
	m[0] = member_open("127.0.0.2", server);
	m[1] = member_open("127.0.0.1", server);
	m[2] = member_open("::1", server);
	/* The server shows every IPv4 member from 127.0.0.x as the address it came from. */
	join_all(m, 3);
	send_text(&m[0], "through 127.0.0.2\n");
	expect_relay(&m[1], &m[0], "through 127.0.0.2");
	expect_relay(&m[2], &m[0], "through 127.0.0.2");
	send_text(&m[2], "through ::1\n");
	expect_relay(&m[0], &m[2], "through ::1");
	expect_relay(&m[1], &m[2], "through ::1");
	expect_nothing_more(m, 3);
}

/* Leaving and rejoining with the same token does not refill the rate: --rate still holds. */
static void test_rejoin_keeps_rate(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--rate", "1", NULL});
	struct member m[2];
	open_and_join(m, 1, server);
	m[1] = member_open("127.0.0.1", server);
	char token[TOKEN_DIGITS + 1];
	send_padded(&m[1], "/join");
	expect_challenge(&m[1], token);
	send_token(&m[1], token);
	expect_welcome(&m[1], 2);
	struct timespec start = harness_now();
	for (int i = 0; i < 10; i++) {
		send_text(&m[1], "x\n");
		send_text(&m[1], "/quit\n");
		send_token(&m[1], token);
	}
	/* Count what reached the other member until it has been quiet a while. */
	int relayed = 0;
	for (;;) {
		long length = harness_udp_receive(m[0].fd, datagram, sizeof datagram - 1, 300);
		if (length < 0)
			break;
		datagram[length] = '\0';
		if (strstr(datagram, ">> x\n") != NULL)
			relayed++;
	}
	/* A burst of 2, and 1 a second after: the whole exchange took well under the wait. */
	long seconds = harness_ms_since(start) / 1000 + 1;
	if (relayed > 2 + seconds)
		fail_msg("%d messages relayed in %ld s at --rate 1", relayed, seconds);
	expect_running(server);
}

/* A stranger replaying a valid token at a full server cannot fill the log. */
static void test_replayed_token_cannot_fill_the_log(void **state)
{
	(void)state;
	enum { REPLAYS = 500 };
	struct process *server =
		start_chat_server("127.0.0.1", (const char *[]){"--max-clients", "1", NULL});
	struct member m[2];
	open_and_join(m, 1, server);
	m[1] = member_open("127.0.0.1", server);
	char token[TOKEN_DIGITS + 1];
	send_padded(&m[1], "/join");
	expect_challenge(&m[1], token);
	for (int i = 0; i < REPLAYS; i++)
		send_token(&m[1], token);
	int replies = harness_udp_drain(m[1].fd, 300, T);
	assert_true(replies >= 1); /* it is told, at least once */
	assert_true(replies <= REPLAYS);
	char *log = harness_log(server);
	int logged = harness_count(log, "server full");
	free(log);
	/* One line per reply at most: the log follows what was answered, not what was sent. */
	if (logged > replies)
		fail_msg("%d log lines for %d replies to %d replays", logged, replies, REPLAYS);
	expect_running(server);
}

/* A message of many short lines would grow on relay (one prefix a line): refused past twice its limit. */
static void test_relay_growth_is_capped(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[2];
	open_and_join(m, 2, server);
	send_text(&m[0], "/nick abcdefghijklmnopqrstuvwx\n");
	expect_text(&m[0], "* you are now abcdefghijklmnopqrstuvwx\n");
	receive(&m[1]); /* the rename notice */
	snprintf(m[0].label, sizeof m[0].label, "abcdefghijklmnopqrstuvwx");

	char *lines = malloc(4001);
	assert_non_null(lines);
	for (int i = 0; i < 2000; i++)
		memcpy(lines + 2 * i, "a\n", 2);
	lines[4000] = '\0';
	send_text(&m[0], lines); /* 4000 bytes: within --max-message, but 2000 prefixes */
	free(lines);
	receive(&m[0]);
	assert_non_null(strstr(datagram, "! message too long once every line is prefixed"));
	/* A few lines are fine. */
	send_text(&m[0], "one\ntwo\nthree\n");
	expect_text(&m[1], "abcdefghijklmnopqrstuvwx>> one\n"
			   "abcdefghijklmnopqrstuvwx>> two\n"
			   "abcdefghijklmnopqrstuvwx>> three\n");
	expect_nothing_more(m, 2);
}

/* Names are one whatever their case: no one passes for "alice" as "Alice"; the owner may recase it. */
static void test_names_ignore_case(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m[2];
	open_and_join(m, 2, server);
	send_text(&m[0], "/nick alice\n");
	expect_text(&m[0], "* you are now alice\n");
	receive(&m[1]);
	send_text(&m[1], "/nick ALICE\n");
	expect_text(&m[1], "! name ALICE is taken\n");
	send_text(&m[0], "/nick Alice\n");
	expect_text(&m[0], "* you are now Alice\n");
	expect_text(&m[1], "* alice is now Alice\n");
	expect_running(server);
}

/* The next datagram for MEMBER must contain NEEDLE (for lines that carry a port the test cannot know). */
static void expect_containing(const struct member *member, const char *needle)
{
	size_t length = receive(member);
	if (strstr(datagram, needle) == NULL)
		fail_msg("%s: expected a datagram with \"%s\", got %zu bytes \"%s\"", member->label,
			 needle, length, datagram);
}

/* A client whose output is closed (`| head -1`) leaves the chat quietly: "left", not "timed out". */
static void test_client_output_closed(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct process *client = start_client(server->port, "alice", NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* you are now alice\n");
	expect_containing(&m, " joined\n");
	close(client->stdout_fd);              /* as head does after its line */
	client->stdout_fd = -1;
	send_text(&m, "are you there?\n");     /* its write now fails with EPIPE */
	expect_exit(client, 0);
	expect_log(client, "");
	/* Between the notices: "is now alice", then "alice left". */
	receive(&m);
	expect_text(&m, "* alice left\n");
}

/* A full disk as output: one error line, status 74, and the client left the chat. */
static void test_client_output_full(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	char port[16];
	snprintf(port, sizeof port, "%u", server->port);
	struct spawn_options options = {.stdin_pipe = true, .nproc_limit = -1,
					.stdout_file = "/dev/full"};
	struct process *client =
		harness_spawn((const char *[]){"chat", "127.0.0.1", port, NULL}, &options);
	expect_exit(client, 74);
	expect_log(client, "forknet: write standard output: No space left on device\n");
	receive(&m); /* joined */
	receive(&m);
	assert_non_null(strstr(datagram, " left\n"));
}

/* The server dies mid-session: exactly one error line, status 69, no process left. */
static void test_client_server_dies(void **state)
{
	(void)state;
	for (int round = 0; round < 5; round++) {
		struct process *server = start_chat_server("127.0.0.1", NULL);
		struct process *client = start_client(server->port, NULL, NULL);
		struct output out = {.length = 0};
		output_wait(client, &out, "* welcome");
		assert_int_equal(kill(server->pid, SIGKILL), 0);
		assert_true(harness_wait_exit(server, T));
		/* Lines keep coming: the parent's sends and the receiver both meet the closed port. */
		for (int i = 0; i < 20 && !harness_wait_exit(client, 10); i++)
			if (write(client->stdin_fd, "anyone?\n", 8) != 8)
				break;
		expect_server_gone(client, server->port);
	}
}

/* Pings keep a client that is busy receiving a member: a flood must not starve them. */
static void test_client_pings_while_busy(void **state)
{
	(void)state;
	struct process *server = start_chat_server(
		"127.0.0.1", (const char *[]){"--idle-timeout", "2", "--rate", "0", NULL});
	struct process *client = start_client(server->port, "busy", NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* you are now busy\n");
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 2);
	/*
	 * For 3.5 s, well past the idle timeout, a steady flood at the client,
	 * whose output the test drains at once: the receiver is never blocked on
	 * its output, so only pings that are due whatever arrives keep it a member.
	 */
	struct timespec start = harness_now();
	while (harness_ms_since(start) < 3500) {
		for (int i = 0; i < 10; i++)
			send_text(&m, "flood\n");
		char sink[65536];
		struct pollfd pfd = {.fd = client->stdout_fd, .events = POLLIN};
		while (poll(&pfd, 1, 1) > 0)
			if (read(client->stdout_fd, sink, sizeof sink) <= 0)
				fail_msg("client output ended: %s", strerror(errno));
		harness_udp_drain(m.fd, 0, 0);
	}
	char *log = harness_log(server);
	int expired = harness_count(log, "timed out");
	free(log);
	assert_int_equal(expired, 0);
	client_finish(client, &out, "END\n", false);
	expect_exit(client, 0);
}

/* After the server restarts, the client joins again by itself and takes its name again. */
static void test_client_rejoins_after_restart(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	uint16_t port = server->port;
	struct process *client = start_client(port, "alice", NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* you are now alice\n");
	struct process *again = restart_chat_server(server, NULL);
	struct member m = member_open("127.0.0.1", again);
	member_join(&m, 1);
	/* The first line after the restart is met with a challenge, and lost. */
	assert_int_equal(write(client->stdin_fd, "lost\n", 5), 5);
	expect_containing(&m, " joined\n");
	expect_containing(&m, " is now alice\n");
	assert_int_equal(write(client->stdin_fd, "hello\n", 6), 6);
	expect_text(&m, "alice>> hello\n");
	assert_true(harness_wait_log(client, "joined 127.0.0.1:", 1, T));
	client_finish(client, &out, "END\n", false);
	expect_exit(client, 0);
}

/* Ctrl-C (SIGINT to the whole process group): the client leaves properly and exits 0. */
static void test_client_ctrl_c(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct process *client = start_client(server->port, "carol", NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* you are now carol\n");
	receive(&m); /* joined */
	receive(&m); /* is now carol */
	assert_true(harness_wait_children(client->pid, 1, T));
	assert_int_equal(kill(-client->pid, SIGINT), 0);
	expect_exit(client, 0);
	expect_text(&m, "* carol left\n");
	expect_log(client, "");
}

/* A killed client leaves no receiver behind; a killed receiver is reported by the client. */
static void test_client_processes_die_together(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct process *client = start_client(server->port, NULL, NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* welcome");
	pid_t receiver;
	assert_true(harness_wait_children(client->pid, 1, T));
	assert_int_equal(harness_children(client->pid, &receiver, 1, NULL), 1);
	assert_int_equal(kill(client->pid, SIGKILL), 0);
	assert_true(harness_wait_exit(client, T));
	assert_int_equal(harness_reap_orphans(), 1); /* the receiver, ended by the kernel's SIGTERM */
	assert_false(harness_process_exists(receiver));

	client = start_client(server->port, NULL, NULL);
	out.length = 0;
	output_wait(client, &out, "* welcome");
	assert_true(harness_wait_children(client->pid, 1, T));
	assert_int_equal(harness_children(client->pid, &receiver, 1, NULL), 1);
	assert_int_equal(kill(receiver, SIGKILL), 0);
	expect_exit(client, 71);
	char expected[96];
	snprintf(expected, sizeof expected, "forknet: receiving process %d: killed by SIGKILL\n",
		 (int)receiver);
	expect_log(client, expected);
}

/* ---- what the client sends, seen by a server played by the test ---- */

/* TEXT padded with blanks and a newline to PADDED bytes, into OUT (PADDED bytes). */
static void padded_text(const char *text, char out[PADDED])
{
	size_t length = strlen(text);
	assert_true(length < PADDED);
	memcpy(out, text, length);
	memset(out + length, ' ', PADDED - 1 - length);
	out[PADDED - 1] = '\n';
}

/* The next datagram on FAKE that is not a ping, into `datagram`; its sender into *FROM. */
static size_t fake_receive(int fake, struct sockaddr_storage *from, socklen_t *from_length)
{
	char ping[PADDED];
	padded_text("/ping", ping);
	for (;;) {
		struct pollfd pfd = {.fd = fake, .events = POLLIN};
		if (poll(&pfd, 1, T) != 1)
			fail_msg("the fake server heard nothing within %d ms", T);
		*from_length = sizeof *from;
		ssize_t length = recvfrom(fake, datagram, sizeof datagram - 1, 0,
					  (struct sockaddr *)from, from_length);
		assert_true(length >= 0);
		datagram[length] = '\0';
		if ((size_t)length == PADDED && memcmp(datagram, ping, PADDED) == 0)
			continue; /* a keepalive ping: not what is looked at here */
		return (size_t)length;
	}
}

/* The next datagram on FAKE must be exactly EXPECTED (LENGTH bytes), every byte. */
static void fake_expect(int fake, const char *expected, size_t length,
			struct sockaddr_storage *from, socklen_t *from_length, const char *what)
{
	size_t got = fake_receive(fake, from, from_length);
	if (got != length || memcmp(datagram, expected, length) != 0) {
		char shown[4 * DATAGRAM_ROOM / 64];
		size_t at = 0;
		for (size_t i = 0; i < got && at + 5 < sizeof shown; i++)
			at += (size_t)snprintf(shown + at, sizeof shown - at,
					       datagram[i] >= 0x20 && datagram[i] < 0x7f ? "%c" : "\\x%02x",
					       (unsigned char)datagram[i]);
		fail_msg("%s: expected %zu bytes, got %zu: \"%s\"", what, length, got, shown);
	}
}

static void fake_send(int fake, const struct sockaddr_storage *to, socklen_t to_length,
		      const char *text)
{
	assert_int_equal(sendto(fake, text, strlen(text), 0, (const struct sockaddr *)to, to_length),
			 (ssize_t)strlen(text));
}

/*
 * 1a. The exact bytes a forknet chat client sends, to a server played by the
 * test, for names of every length up to the longest: its padded /join, its
 * padded answer to the challenge, and "/nick NAME\n" and not one byte more,
 * on the first join and again after the server has forgotten it.
 */
static void test_client_sends_exact_bytes(void **state)
{
	(void)state;
	int fake = harness_udp_socket("127.0.0.1", 0);
	uint16_t port = harness_local_port(fake);
	char join[PADDED], answer[PADDED], nick[64];
	padded_text("/join", join);
	for (size_t length = 1; length <= 24; length++) {
		char name[25];
		for (size_t i = 0; i < length; i++)
			name[i] = (char)('a' + i);
		name[length] = '\0';
		struct process *client = start_client(port, name, NULL);
		struct sockaddr_storage from;
		socklen_t from_length;
		char line[128];

		fake_expect(fake, join, PADDED, &from, &from_length, "the first /join");
		fake_send(fake, &from, from_length, "send \"/join 0123456789abcdef\" to join\n");
		padded_text("/join 0123456789abcdef", answer);
		fake_expect(fake, answer, PADDED, &from, &from_length, "the answer to the challenge");
		fake_send(fake, &from, from_length,
			  "* welcome, you are someone (1 member; idle timeout 300 s)\n");
		int nick_length = snprintf(nick, sizeof nick, "/nick %s\n", name);
		fake_expect(fake, nick, (size_t)nick_length, &from, &from_length, "the first /nick");

		/* The server forgot it: a new challenge; the client joins again and takes its name again. */
		fake_send(fake, &from, from_length, "send \"/join fedcba9876543210\" to join\n");
		padded_text("/join fedcba9876543210", answer);
		fake_expect(fake, answer, PADDED, &from, &from_length, "the answer after a rejoin");
		fake_send(fake, &from, from_length,
			  "* welcome, you are someone (1 member; idle timeout 300 s)\n");
		fake_expect(fake, nick, (size_t)nick_length, &from, &from_length, "the /nick after a rejoin");

		/* End of input: /quit, answered with bye. */
		close(client->stdin_fd);
		client->stdin_fd = -1;
		fake_expect(fake, "/quit\n", 6, &from, &from_length, "the goodbye");
		fake_send(fake, &from, from_length, "* bye\n");
		expect_exit(client, 0);
		snprintf(line, sizeof line,
			 "forknet: joined 127.0.0.1:%u again (the server had forgotten this client); "
			 "a line sent meanwhile may be lost\n",
			 port);
		expect_log(client, line);
	}
}

/* ---- a flood of junk while a client joins ---- */

#define FLOOD_SOCKETS 1000
#define FLOOD_MS 8000

struct flood {
	uint16_t port;
};

/*
 * The flood, in a process of its own (harness_fork): FLOOD_SOCKETS sockets on
 * 127.0.0.1, each sending one kind of junk of one size as fast as they can
 * for FLOOD_MS (a padded /join for every seventh, random bytes of 1 to 300
 * bytes for the others). It reads every reply and checks that none is longer
 * than what its socket sends, and that no socket gets more than one a second.
 * Prints its figures; exits 0 if everything held, 1 (with the reason) if not.
 */
static int flood(void *arg)
{
	const struct flood *f = arg;
	static int fds[FLOOD_SOCKETS];
	static size_t sizes[FLOOD_SOCKETS];
	static int replies[FLOOD_SOCKETS];
	static char junk[FLOOD_SOCKETS][300];
	char reply[DATAGRAM_ROOM];
	struct sockaddr_in server = {.sin_family = AF_INET, .sin_port = htons(f->port),
				     .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0) {
		printf("flood: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	for (int i = 0; i < FLOOD_SOCKETS; i++) {
		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (struct sockaddr *)&server, sizeof server) != 0) {
			printf("flood: socket %d: %s\n", i, strerror(errno));
			return 1;
		}
		struct epoll_event event = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fds[i], &event) != 0) {
			printf("flood: epoll_ctl: %s\n", strerror(errno));
			return 1;
		}
		if (i % 7 == 0) {
			sizes[i] = PADDED;
			padded_text("/join", junk[i]);
		} else {
			sizes[i] = 1 + (size_t)(i * 37) % 300;
			harness_random_bytes(junk[i], sizes[i], (uint32_t)i);
		}
	}
	printf("flood: started\n");
	struct timespec start = harness_now();
	unsigned long sent = 0, received = 0;
	bool said_full_speed = false;
	for (long elapsed = 0; elapsed < FLOOD_MS + 300; elapsed = harness_ms_since(start)) {
		if (elapsed < FLOOD_MS) {
			for (int i = 0; i < FLOOD_SOCKETS; i++)
				if (send(fds[i], junk[i], sizes[i], MSG_DONTWAIT) >= 0)
					sent++;
			if (!said_full_speed && elapsed >= 500) {
				printf("flood: full speed, %lu datagrams in %ld ms\n", sent, elapsed);
				said_full_speed = true;
			}
		}
		struct epoll_event events[64];
		int ready = epoll_wait(epoll_fd, events, 64, elapsed < FLOOD_MS ? 0 : 50);
		for (int e = 0; e < ready; e++) {
			int i = (int)events[e].data.u32;
			ssize_t length;
			while ((length = recv(fds[i], reply, sizeof reply, MSG_DONTWAIT)) >= 0) {
				received++;
				replies[i]++;
				if ((size_t)length > sizes[i]) {
					printf("flood: socket %d sent %zu bytes and got a reply of %zd\n", i,
					       sizes[i], length);
					return 1;
				}
			}
		}
	}
	long took = harness_ms_since(start);
	int most = 0;
	for (int i = 0; i < FLOOD_SOCKETS; i++)
		if (replies[i] > most)
			most = replies[i];
	printf("flood: %lu datagrams in %ld ms (%.0f a second) from %d sockets; %lu replies, at "
	       "most %d to one socket\n",
	       sent, took, (double)sent * 1000.0 / (double)took, FLOOD_SOCKETS, received, most);
	/* The per-address limit: one reply a second at most. */
	if (most > 1 + took / 1000) {
		printf("flood: a socket got %d replies in %ld ms\n", most, took);
		return 1;
	}
	return 0;
}

/*
 * 13c. A flood of junk from 1000 ports of the client's own host: a forknet
 * chat client still joins and talks while it lasts; no flooding socket gets
 * more than one reply a second, nor a reply longer than what it sends; the
 * members are not disturbed.
 */
static void test_join_under_a_flood(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", NULL);
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	struct flood f = {.port = server->port};
	struct process *flooder = harness_fork(flood, &f);
	if (!harness_wait_log(flooder, "flood: full speed", 1, T)) {
		harness_dump_log(flooder, "flood");
		fail_msg("the flood did not start");
	}

	struct timespec start = harness_now();
	struct process *client = start_client(server->port, "survivor", NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* you are now survivor\n");
	long joined_ms = harness_ms_since(start);
	expect_containing(&m, " joined\n");
	expect_containing(&m, " is now survivor\n");
	assert_int_equal(write(client->stdin_fd, "hello through the flood\n", 24), 24);
	expect_text(&m, "survivor>> hello through the flood\n");
	/* All that happened while the flood went on. */
	if (harness_wait_exit(flooder, 0)) {
		harness_dump_log(flooder, "flood");
		fail_msg("the flood ended before the client had joined and talked (%ld ms)", joined_ms);
	}
	client_finish(client, &out, "END\n", false);
	expect_exit(client, 0);
	expect_text(&m, "* survivor left\n");

	if (!harness_wait_exit(flooder, FLOOD_MS + T) || !WIFEXITED(flooder->status) ||
	    WEXITSTATUS(flooder->status) != 0) {
		harness_dump_log(flooder, "flood");
		fail_msg("the flood found a reply it should not have had");
	}
	harness_dump_log(flooder, "flood"); /* its figures, for the record */
	printf("joined %ld ms after the client started\n", joined_ms);
	expect_nothing_more(&m, 1);
	expect_running(server);
}

/* ---- a client that notices a gone server ---- */

/*
 * 3a. The server is killed (SIGKILL) while the client sits idle: the client
 * says so within seconds, whatever the server's idle timeout, exits 69 and
 * leaves no process; at the default timeout and at a day.
 */
static void test_client_notices_killed_server(void **state)
{
	(void)state;
	static const char *const timeouts[] = {NULL, "86400"};
	for (size_t t = 0; t < 2; t++) {
		const char *args[] = {"--idle-timeout", timeouts[t], NULL};
		struct process *server = start_chat_server("127.0.0.1", timeouts[t] != NULL ? args : NULL);
		struct process *client = start_client(server->port, NULL, NULL);
		struct output out = {.length = 0};
		output_wait(client, &out, "* welcome");
		assert_true(harness_wait_children(client->pid, 1, T));
		assert_int_equal(kill(server->pid, SIGKILL), 0);
		assert_true(harness_wait_exit(server, T));
		struct timespec killed = harness_now();
		/* Input stays open and silent: only the client's own pings can find out. */
		expect_server_gone(client, server->port);
		long took = harness_ms_since(killed);
		printf("idle timeout %s: the client noticed in %ld ms\n",
		       timeouts[t] != NULL ? timeouts[t] : "300", took);
		assert_true(took < 10000);
	}
}

/*
 * 3b. A server that stops answering without a refusal (stopped, or cut off
 * on the way): after three unanswered pings the client says so, once, and
 * exits 69 with no process left.
 */
static void test_client_notices_silent_server(void **state)
{
	(void)state;
	struct process *server =
		start_chat_server("127.0.0.1", (const char *[]){"--idle-timeout", "86400", NULL});
	struct process *client = start_client(server->port, NULL, NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* welcome");
	assert_true(harness_wait_children(client->pid, 1, T));
	assert_int_equal(kill(server->pid, SIGSTOP), 0);
	struct timespec stopped = harness_now();
	expect_exit(client, 69);
	long took = harness_ms_since(stopped);
	printf("a stopped server was noticed in %ld ms\n", took);
	assert_true(took < 10000);
	char *log = harness_log(client);
	if (harness_count(log, "the server is not answering (no answer to 3 pings in") != 1 ||
	    harness_count(log, "\n") != 1)
		fail_msg("client log: \"%s\"", log);
	free(log);
	assert_int_equal(kill(server->pid, SIGCONT), 0);
	expect_running(server);
}

/* chat-server --print-port: the port on standard output, the one it listens on. */
static void test_chat_print_port(void **state)
{
	(void)state;
	static const struct spawn_options piped_out = {.stdout_pipe = true, .nproc_limit = -1};
	struct process *server = harness_spawn(
		(const char *[]){"chat-server", "-b", "127.0.0.1", "-p", "0", "--print-port", NULL},
		&piped_out);
	char line[32];
	assert_true(harness_read_line(server->stdout_fd, line, sizeof line, T));
	assert_true(harness_wait_listening(server, T));
	assert_int_equal(strtoul(line, NULL, 10), server->port);
	idle_timeout = 300; /* the default, as the welcome will say */
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	expect_running(server);
}

/*
 * 1b. Challenges forged in the server's name, in a burst: the client answers
 * one, not each (its answer is longer than a challenge), and stays.
 */
static void test_client_answers_a_burst_of_challenges_once(void **state)
{
	(void)state;
	int fake = harness_udp_socket("127.0.0.1", 0);
	uint16_t port = harness_local_port(fake);
	struct process *client = start_client(port, NULL, NULL);
	struct sockaddr_storage from;
	socklen_t from_length;
	char join[PADDED], answer[PADDED];
	padded_text("/join", join);
	padded_text("/join 0123456789abcdef", answer);

	fake_expect(fake, join, PADDED, &from, &from_length, "the first /join");
	for (int i = 0; i < 20; i++) /* while joining */
		fake_send(fake, &from, from_length, "send \"/join 0123456789abcdef\" to join\n");
	fake_expect(fake, answer, PADDED, &from, &from_length, "the answer");
	fake_send(fake, &from, from_length, "* welcome, you are someone (1 member; idle timeout 300 s)\n");
	for (int i = 0; i < 50; i++) /* and once joined */
		fake_send(fake, &from, from_length, "send \"/join 0123456789abcdef\" to join\n");
	fake_expect(fake, answer, PADDED, &from, &from_length, "the answer to the rejoin");
	/* Nothing else within half a second: not one answer per challenge. */
	struct pollfd pfd = {.fd = fake, .events = POLLIN};
	struct timespec start = harness_now();
	while (harness_ms_since(start) < 500) {
		if (poll(&pfd, 1, 50) > 0) {
			long length = recv(fake, datagram, sizeof datagram - 1, 0);
			char ping[PADDED];
			padded_text("/ping", ping);
			if (length != PADDED || memcmp(datagram, ping, PADDED) != 0)
				fail_msg("the client sent %ld more bytes after a burst of challenges", length);
		}
	}
	assert_false(harness_wait_exit(client, 0));
}

/* A --max-message smaller than a padded datagram cuts no /join and no ping. */
static void test_small_max_message_still_joins(void **state)
{
	(void)state;
	struct process *server = start_chat_server("127.0.0.1", (const char *[]){"--max-message", "10", NULL});
	struct member m = member_open("127.0.0.1", server);
	member_join(&m, 1);
	send_padded(&m, "/ping");
	expect_text(&m, "* pong\n");
	send_text(&m, "0123456789\n");
	send_text(&m, "0123456789a\n");
	expect_text(&m, "! message too long (limit 10 bytes)\n");
	expect_nothing_more(&m, 1);
	expect_running(server);
}

/*
 * The server restarts full (another took the only place): the client, let
 * back in no more, shows the refusal, says so and exits 69 instead of
 * pinging for ever.
 */
static void test_client_refused_on_rejoin(void **state)
{
	(void)state;
	struct process *server =
		start_chat_server("127.0.0.1", (const char *[]){"--max-clients", "1", NULL});
	uint16_t port = server->port;
	struct process *client = start_client(port, NULL, NULL);
	struct output out = {.length = 0};
	output_wait(client, &out, "* welcome");
	struct process *again = restart_chat_server(server, "1");
	struct member m = member_open("127.0.0.1", again);
	member_join(&m, 1);
	expect_exit(client, 69);
	output_wait(client, &out, "! server full (1 member)\n");
	char expected[128];
	snprintf(expected, sizeof expected,
		 "forknet: join 127.0.0.1:%u: refused by the server on joining again\n", port);
	char *log = harness_log(client);
	if (strstr(log, expected) == NULL)
		fail_msg("client log: \"%s\"", log);
	free(log);
	expect_running(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_three_members_talk, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_names_and_notices, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_end_removes_member, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_idle_member_expires, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_full, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_server_full_open, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_told_server_full, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_address_check, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_open_joins_on_first_datagram, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_message_limit, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_largest_datagram_refused, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_terminal_controls_escaped, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_end, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_end_of_input, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_closed_port, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_join_timeout, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_tells_members, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_bad_input, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_join_storm, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_ipv6, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_default_bind_answers_from_the_address_used, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_rejoin_keeps_rate, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_replayed_token_cannot_fill_the_log, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_relay_growth_is_capped, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_names_ignore_case, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_output_closed, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_output_full, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_server_dies, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_pings_while_busy, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_rejoins_after_restart, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_ctrl_c, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_processes_die_together, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_sends_exact_bytes, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_answers_a_burst_of_challenges_once, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_join_under_a_flood, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_notices_killed_server, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_notices_silent_server, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_chat_print_port, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_small_max_message_still_joins, harness_setup, harness_teardown),
		cmocka_unit_test_setup_teardown(test_client_refused_on_rejoin, harness_setup, harness_teardown),
	};
	return cmocka_run_group_tests_name("chat", tests, NULL, NULL);
}
