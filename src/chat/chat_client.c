/*
 * chat_client: the `forknet chat HOST PORT` command, the course's forking
 * ChatClient made safe: it joins by itself, never lets another member drive
 * the terminal, and never leaves a process behind.
 *
 * Processes: the client first joins, alone: it sends /join, answers the
 * server's challenge with the token, and waits for the welcome (trying the
 * host's addresses in turn, for at most --join-timeout seconds). Then it
 * forks. The parent reads standard input and sends each line as one
 * datagram; the child receives and prints, and sends /ping often enough that
 * the server does not forget it. Typing and receiving never wait for each
 * other.
 *
 * Ending: END, /quit or the end of input make the parent tell the server it
 * leaves; the child shows the replies still coming up to the server's "bye"
 * and ends, or is killed with SIGTERM after GOODBYE_MS; the parent reaps it. If the child ends first
 * (the server is gone), the parent hears of it through SIGCHLD and exits with
 * its status. If the parent dies, the kernel sends the child SIGTERM
 * (PR_SET_PDEATHSIG).
 *
 * The UDP socket is connected, so an ICMP "port unreachable" from a closed
 * port comes back as ECONNREFUSED instead of silence.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/addr.h"
#include "../lib/children.h"
#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/options.h"
#include "../lib/sig.h"
#include "protocol.h"

#define COMMAND "chat"
#define MAX_ADDRESSES 16
#define DEFAULT_JOIN_TIMEOUT 5
/* While joining, /join is sent again this often, in case a datagram was lost. */
#define JOIN_RETRY_MS 1000
/* After /quit, how long the receiver may take to show the replies still coming. */
#define GOODBYE_MS 2000

static char datagram[CHAT_DATAGRAM_MAX + 1];

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet chat [OPTION]... HOST PORT\n"
		"Join the chat server at HOST PORT, send each line of standard input as a\n"
		"message, and print what the others send. END, /quit or the end of input\n"
		"leaves. Other commands: /nick NAME, /who.\n"
		"\n"
		"  -n, --name NAME          take NAME once joined\n"
		"  -t, --join-timeout SECS  give up joining after SECS (default %d)\n"
		"  -h, --help               show this help\n",
		DEFAULT_JOIN_TIMEOUT);
}

/* Sends TEXT (LENGTH bytes) as one datagram on the connected socket. Returns 0 or -1. */
static int send_text(int sock, const char *text, size_t length)
{
	while (send(sock, text, length, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

/* Writes a received datagram to standard output, made harmless, ending with a newline. */
static int show(const char *data, size_t length)
{
	static char escaped[CHAT_ESCAPE_SIZE(CHAT_DATAGRAM_MAX) + 1];
	size_t out = chat_escape(data, length, escaped);

	if (out == 0 || escaped[out - 1] != '\n')
		escaped[out++] = '\n';
	return io_write_all(STDOUT_FILENO, escaped, out, -1);
}

/*
 * Joins through SOCK: /join, the challenge, the welcome. Returns 0 with
 * *IDLE_TIMEOUT from the welcome, or an exit status; on failure *ERROR is
 * errno (0 for no answer), for the caller's message. A "! ..." refusal from
 * the server is shown as it is.
 */
static int join(int sock, struct timespec deadline, unsigned long *idle_timeout, int *error)
{
	char token[CHAT_TOKEN_LENGTH + 1], answer[CHAT_TOKEN_LENGTH + 8];
	struct timespec next_try = clock_now();

	*error = 0;
	for (;;) {
		if (clock_ms_until(next_try) == 0) {
			if (send_text(sock, "/join\n", 6) != 0) {
				*error = errno;
				return EX_UNAVAILABLE;
			}
			next_try = clock_after(clock_now(), JOIN_RETRY_MS);
		}
		int left = clock_ms_until(deadline);
		if (left == 0)
			return EX_UNAVAILABLE;
		int wait = clock_ms_until(next_try);
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		int ready = poll(&pfd, 1, wait < left ? wait : left);
		if (ready < 0 && errno != EINTR) {
			*error = errno;
			return EX_OSERR;
		}
		if (ready <= 0)
			continue;
		ssize_t length = recv(sock, datagram, CHAT_DATAGRAM_MAX, MSG_DONTWAIT);
		if (length < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*error = errno; /* ECONNREFUSED: nothing listens there */
			return EX_UNAVAILABLE;
		}
		if (chat_challenge_token(datagram, (size_t)length, token)) {
			int size = snprintf(answer, sizeof answer, "/join %s\n", token);
			if (send_text(sock, answer, (size_t)size) != 0) {
				*error = errno;
				return EX_UNAVAILABLE;
			}
		} else if (chat_welcome_timeout(datagram, (size_t)length, idle_timeout)) {
			return show(datagram, (size_t)length) == 0 ? EX_OK : EX_IOERR;
		} else if (length > 0 && datagram[0] == '!') {
			(void)show(datagram, (size_t)length); /* e.g. "! server full": the reason, as said */
			return EX_UNAVAILABLE;
		}
	}
}

/* Connects to HOST PORT and joins. Returns the socket, or -1 with *STATUS set (reported). */
static int connect_and_join(const char *host, uint16_t port, int timeout_seconds,
			    unsigned long *idle_timeout, struct address *server, int *status)
{
	struct address addresses[MAX_ADDRESSES];
	size_t count;
	char text[ADDRESS_TEXT_MAX];
	int lookup = addr_resolve(host, port, SOCK_DGRAM, false, addresses, MAX_ADDRESSES, &count);

	if (lookup != 0) {
		cli_error("resolve %s: %s", host,
			  lookup == EAI_SYSTEM ? strerror(errno) : gai_strerror(lookup));
		*status = lookup == EAI_AGAIN ? EX_TEMPFAIL : EX_NOHOST;
		return -1;
	}
	struct timespec deadline = clock_after(clock_now(), (long)timeout_seconds * 1000);
	int error = 0;
	*status = EX_UNAVAILABLE;
	for (size_t i = 0; i < count; i++) {
		*server = addresses[i];
		int sock = socket(addr_family(server), SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (sock < 0 || connect(sock, (const struct sockaddr *)&server->storage,
					server->length) != 0) {
			error = errno;
			*status = EX_UNAVAILABLE;
		} else {
			*status = join(sock, deadline, idle_timeout, &error);
			if (*status == EX_OK)
				return sock;
		}
		if (sock >= 0)
			(void)close(sock); /* this address failed; the error that matters is kept */
		/* Refused: the next address may answer. Anything else ends the attempt. */
		if (error != ECONNREFUSED)
			break;
	}
	addr_format(server, text, sizeof text);
	if (error != 0)
		cli_error("join %s: %s", text, strerror(error));
	else if (*status == EX_UNAVAILABLE && clock_ms_until(deadline) == 0)
		cli_error("join %s: no answer within %d s", text, timeout_seconds);
	else if (*status == EX_UNAVAILABLE)
		cli_error("join %s: refused by the server", text);
	return -1;
}

/*
 * The child: print what arrives, ping the server, answer a challenge should
 * the server have forgotten us. Returns an exit status.
 */
static int receive(int sock, const char *server, unsigned long idle_timeout)
{
	/* A third of the server's patience: two pings may be lost before it forgets us. */
	long ping_ms = idle_timeout >= 3 ? (long)idle_timeout * 1000 / 3 : 1000;
	struct timespec next_ping = clock_after(clock_now(), ping_ms);
	char token[CHAT_TOKEN_LENGTH + 1], answer[CHAT_TOKEN_LENGTH + 8];

	for (;;) {
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		int ready = poll(&pfd, 1, clock_ms_until(next_ping));
		if (ready < 0 && errno != EINTR) {
			cli_error("poll: %s", strerror(errno));
			return EX_OSERR;
		}
		if (ready == 0) {
			if (send_text(sock, "/ping\n", 6) != 0 && errno != ECONNREFUSED) {
				cli_error("send to %s: %s", server, strerror(errno));
				return EX_IOERR;
			}
			next_ping = clock_after(clock_now(), ping_ms);
			continue;
		}
		if (ready < 0)
			continue;
		ssize_t length = recv(sock, datagram, CHAT_DATAGRAM_MAX, 0);
		if (length < 0) {
			if (errno == EINTR)
				continue;
			cli_error("connection to %s: %s", server,
				  errno == ECONNREFUSED ? "the server is gone" : strerror(errno));
			return errno == ECONNREFUSED ? EX_UNAVAILABLE : EX_IOERR;
		}
		if (chat_challenge_token(datagram, (size_t)length, token)) {
			/* The server no longer knows us (it restarted, or we were idle): join again. */
			int size = snprintf(answer, sizeof answer, "/join %s\n", token);
			if (send_text(sock, answer, (size_t)size) != 0)
				cli_error("send to %s: %s", server, strerror(errno));
			continue;
		}
		if (show(datagram, (size_t)length) != 0) {
			cli_error("write standard output: %s", strerror(errno));
			return EX_IOERR;
		}
		/* The server's answer to our /quit comes after all its earlier replies: done. */
		static const char bye[] = "* bye\n";
		static const char closing[] = "* server shutting down\n";
		if (((size_t)length == sizeof bye - 1 && memcmp(datagram, bye, (size_t)length) == 0) ||
		    ((size_t)length == sizeof closing - 1 && memcmp(datagram, closing, (size_t)length) == 0))
			return EX_OK; /* an orderly end, announced above */
	}
}

/* The child's process after fork. Never returns. */
static void run_receiver(int sock, const char *server, unsigned long idle_timeout, pid_t parent)
{
	if (sig_reset() != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
		cli_error("receiver setup: %s", strerror(errno));
		_exit(EX_OSERR);
	}
	if (getppid() != parent)
		_exit(EX_OSERR); /* the parent died before prctl took effect */
	_exit(receive(sock, server, idle_timeout));
}

/* True if LINE (LENGTH bytes, no line end) ends the session. */
static bool is_goodbye(const char *line, size_t length)
{
	struct chat_request request;
	chat_parse(line, length, &request);
	return request.kind == CHAT_QUIT;
}

/*
 * The parent: each line of standard input as one datagram, until END, /quit,
 * the end of input, or the child's end. Returns -1 when the session should
 * end normally, or an exit status (reported) when it failed.
 */
static int send_lines(int sock, int signal_fd, pid_t receiver, const char *server,
		      int *receiver_status)
{
	static char line[CHAT_DATAGRAM_MAX];
	size_t held = 0; /* bytes of an unfinished line */
	bool at_end = false;

	while (!at_end) {
		struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
					{.fd = signal_fd, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			cli_error("poll: %s", strerror(errno));
			return EX_OSERR;
		}
		if (fds[1].revents != 0) {
			sig_drain();
			while (sig_next() != 0)
				; /* only SIGCHLD is caught */
			if (waitpid(receiver, receiver_status, WNOHANG) == receiver)
				return -2; /* the receiver ended: the session is over */
		}
		if (fds[0].revents == 0)
			continue;
		ssize_t count = io_read(STDIN_FILENO, line + held, sizeof line - held, -1);
		if (count < 0) {
			cli_error("read standard input: %s", strerror(errno));
			return EX_IOERR;
		}
		if (count == 0)
			at_end = true;
		held += (size_t)count;

		/* Send every finished line; a line that fills the buffer goes out as it is. */
		size_t start = 0;
		for (;;) {
			char *newline = memchr(line + start, '\n', held - start);
			size_t end = newline != NULL ? (size_t)(newline - line) : held;
			bool whole = newline != NULL || held == sizeof line || (at_end && end > start);
			if (!whole)
				break;
			if (is_goodbye(line + start, end - start))
				return -1;
			/* An empty line says nothing: no datagram for it. */
			if (end > start && send_text(sock, line + start, end - start) != 0) {
				cli_error("send to %s: %s", server,
					  errno == ECONNREFUSED ? "the server is gone" : strerror(errno));
				return errno == ECONNREFUSED ? EX_UNAVAILABLE : EX_IOERR;
			}
			start = newline != NULL ? end + 1 : end;
			if (start >= held)
				break;
		}
		memmove(line, line + start, held - start);
		held -= start;
	}
	return -1;
}

/*
 * Gives the receiver GOODBYE_MS to show the last replies and end at the
 * server's "bye"; then SIGTERM (and SIGCONT, should it be stopped). Reaps it.
 */
static void stop_receiver(pid_t receiver, int signal_fd, int *status)
{
	struct timespec deadline = clock_after(clock_now(), GOODBYE_MS);

	while (clock_ms_until(deadline) > 0) {
		if (waitpid(receiver, status, WNOHANG) == receiver)
			return;
		struct pollfd pfd = {.fd = signal_fd, .events = POLLIN};
		if (poll(&pfd, 1, clock_ms_until(deadline)) > 0) {
			sig_drain();
			while (sig_next() != 0)
				; /* SIGCHLD: waitpid above says whose */
		}
	}
	if (kill(receiver, SIGTERM) != 0 || kill(receiver, SIGCONT) != 0)
		cli_error("kill %ld: %s", (long)receiver, strerror(errno));
	while (waitpid(receiver, status, 0) < 0 && errno == EINTR)
		;
}

int chat_client_main(int argc, char **argv)
{
	static const struct option options[] = {
		{"name", required_argument, NULL, 'n'},
		{"join-timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL;
	unsigned long timeout = DEFAULT_JOIN_TIMEOUT;
	char message[256];

	optind = 0;
	opterr = 0;
	for (int value; (value = getopt_long(argc, argv, ":n:t:h", options, NULL)) != -1;) {
		switch (value) {
		case 'n':
			if (!chat_name_valid(optarg, strlen(optarg))) {
				snprintf(message, sizeof message,
					 "--name '%s': use 1 to %d letters, digits, '.', '_' or '-'",
					 optarg, CHAT_NAME_MAX);
				return cli_usage_error(COMMAND, message);
			}
			name = optarg;
			break;
		case 't':
			if (options_number("join-timeout", optarg, 1, 3600, &timeout, message,
					   sizeof message) != 0)
				return cli_usage_error(COMMAND, message);
			break;
		case 'h':
			usage(stdout);
			return EX_OK;
		default:
			options_problem(value, argv, options, message, sizeof message);
			return cli_usage_error(COMMAND, message);
		}
	}
	if (argc - optind != 2) {
		int given = argc - optind;
		snprintf(message, sizeof message, "HOST PORT: got %d argument%s, needs 2", given,
			 given == 1 ? "" : "s");
		return cli_usage_error(COMMAND, message);
	}
	const char *host = argv[optind];
	uint16_t port;
	if (addr_host_kind(host) == HOST_INVALID) {
		snprintf(message, sizeof message, "'%s': not an IP address or host name", host);
		return cli_usage_error(COMMAND, message);
	}
	if (addr_parse_port(argv[optind + 1], &port) != 0 || port == 0) {
		snprintf(message, sizeof message, "port '%s': not a port (1-65535)", argv[optind + 1]);
		return cli_usage_error(COMMAND, message);
	}

	struct address server;
	char server_text[ADDRESS_TEXT_MAX];
	unsigned long idle_timeout = 0;
	int status;
	int sock = connect_and_join(host, port, (int)timeout, &idle_timeout, &server, &status);
	if (sock < 0)
		return status;
	addr_format(&server, server_text, sizeof server_text);
	if (name != NULL) {
		int length = snprintf(message, sizeof message, "/nick %s\n", name);
		if (send_text(sock, message, (size_t)length) != 0)
			cli_error("send to %s: %s", server_text, strerror(errno));
	}

	static const int caught[] = {SIGCHLD};
	int signal_fd = sig_catch(caught, 1);
	sigset_t saved_mask;
	if (signal_fd < 0 || sig_block_all(&saved_mask) != 0) {
		cli_error("signal setup: %s", strerror(errno));
		(void)close(sock); /* exiting anyway */
		return EX_OSERR;
	}
	pid_t parent = getpid();
	pid_t receiver = fork();
	if (receiver == 0)
		run_receiver(sock, server_text, idle_timeout, parent);
	int fork_errno = errno;
	if (sig_restore(&saved_mask) != 0) {
		cli_error("sigprocmask: %s", strerror(errno));
		return EX_OSERR;
	}
	if (receiver < 0) {
		cli_error("fork: %s", strerror(fork_errno));
		(void)close(sock);
		return EX_OSERR;
	}

	int receiver_status = 0;
	status = send_lines(sock, signal_fd, receiver, server_text, &receiver_status);
	if (status == -2) {
		/* The receiver ended first and has said why; its status is ours. */
		char how[64];
		if (WIFEXITED(receiver_status)) {
			status = WEXITSTATUS(receiver_status);
		} else {
			cli_error("receiving process %ld: %s", (long)receiver,
				  children_status_text(receiver_status, how, sizeof how));
			status = EX_OSERR;
		}
	} else {
		/* We leave: say so (the server may be gone already; that is fine), then end the receiver. */
		if (send_text(sock, "/quit\n", 6) != 0 && errno != ECONNREFUSED && status < 0)
			cli_error("send to %s: %s", server_text, strerror(errno));
		stop_receiver(receiver, signal_fd, &receiver_status);
		if (status < 0)
			status = EX_OK;
	}
	if (close(sock) != 0 && status == EX_OK)
		status = EX_IOERR;
	(void)sig_reset(); /* exiting: nothing left to restore for */
	return status;
}
