/*
 * echo_client: the `forknet echo-client HOST PORT` command, the course's
 * echo_mpclient made robust.
 *
 * Processes: after connecting, the client forks. The child (the writer)
 * copies standard input to the socket; at end of input or a line "END" it
 * half-closes the connection (shutdown SHUT_WR) and exits. The parent (the
 * reader) copies the socket to standard output until the server closes, then
 * reaps the writer. Because the two directions run in two processes, input is
 * never held up waiting for echoes, nor echoes for input.
 *
 * If either side fails, the other is stopped: the parent hears of a failed
 * writer through SIGCHLD (as an event on a descriptor, lib/sig.h) and kills
 * the writer when it fails itself; the writer asks the kernel for SIGTERM
 * should the parent die (PR_SET_PDEATHSIG).
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/addr.h"
#include "../lib/children.h"
#include "../lib/io.h"
#include "../lib/options.h"
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/sock.h"
#include "endline.h"

#define COMMAND "echo-client"
#define BUFFER_SIZE 65536
#define DEFAULT_CONNECT_TIMEOUT 10
#define MAX_ADDRESSES 16

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet echo-client [OPTION]... HOST PORT\n"
		"Send standard input to an echo server and write what comes back to\n"
		"standard output. A line END or the end of input ends the session once\n"
		"every echo has arrived.\n"
		"\n"
		"  -t, --connect-timeout SECS  give up connecting after SECS (default %d)\n"
		"  -h, --help                  show this help\n",
		DEFAULT_CONNECT_TIMEOUT);
}

/* Connects to the first address of HOST that answers; reports and returns -1 if none. */
static int connect_host(const char *host, uint16_t port, int timeout_ms, struct address *server,
			int *status)
{
	struct address addresses[MAX_ADDRESSES];
	size_t count;
	char text[ADDRESS_TEXT_MAX];

	int lookup = addr_resolve(host, port, SOCK_STREAM, false, addresses, MAX_ADDRESSES, &count);
	if (lookup != 0) {
		*status = cli_resolve_failed(host, lookup);
		return -1;
	}
	int error = 0;
	for (size_t i = 0; i < count; i++) {
		int fd = sock_connect(&addresses[i], timeout_ms);
		if (fd >= 0) {
			*server = addresses[i];
			return fd;
		}
		error = errno;
		*server = addresses[i];
	}
	/* One line for the whole attempt: the last address tried and why it failed. */
	cli_error("connect %s: %s", addr_format(server, text, sizeof text), strerror(error));
	*status = EX_UNAVAILABLE;
	return -1;
}

/*
 * The writer's status when the server closed the connection under it. It
 * says nothing itself: the reader sees the same hang-up, and reports it once.
 */
#define WRITER_HUNG_UP EX_UNAVAILABLE

/* The writer: standard input to the socket, then half-close. Returns an exit status. */
static int send_input(int sock, const char *server)
{
	static char in[BUFFER_SIZE], out[BUFFER_SIZE + ENDLINE_HELD_MAX];
	struct endline state;
	bool ended = false;

	endline_init(&state);
	while (!ended) {
		ssize_t count = io_read(STDIN_FILENO, in, sizeof in, -1);
		size_t length;
		if (count < 0) {
			cli_error("read standard input: %s", strerror(errno));
			return EX_IOERR;
		}
		if (count == 0) {
			length = endline_finish(&state, out);
			ended = true;
		} else {
			length = endline_feed(&state, in, (size_t)count, out, &ended);
		}
		if (io_write_all(sock, out, length, -1) != 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return WRITER_HUNG_UP;
			cli_error("send to %s: %s", server, strerror(errno));
			return EX_IOERR;
		}
	}
	/* Half-close: the server sees the end of our data, and still sends its echoes. */
	if (shutdown(sock, SHUT_WR) != 0) {
		cli_error("shutdown %s: %s", server, strerror(errno));
		return EX_IOERR;
	}
	return EX_OK;
}

/* Waits for the writer to end; returns 0 with its wait STATUS, or -1 (reported). */
static int reap_writer(pid_t writer, int *status)
{
	if (process_wait(writer, status) == 0)
		return 0;
	cli_error("waitpid %ld: %s", (long)writer, strerror(errno));
	return -1;
}

/* Stops the writer (SIGCONT too, in case it was stopped) and reaps it. */
static void stop_writer(pid_t writer)
{
	int status;

	if (process_stop(writer, &status) != 0)
		cli_error("stopping process %ld: %s", (long)writer, strerror(errno));
}

/*
 * What the reader makes of the writer's wait STATUS: EX_OK, WRITER_HUNG_UP, or
 * another exit status whose cause has already been reported.
 */
static int writer_result(pid_t writer, int status)
{
	char how[64];

	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	cli_error("input process %ld: %s", (long)writer, children_status_text(status, how, sizeof how));
	return EX_OSERR;
}

/* The reader: the socket to standard output until the server closes. Returns an exit status. */
static int receive_output(int sock, int signal_fd, pid_t writer, const char *server)
{
	static char buffer[BUFFER_SIZE];
	int writer_status = -1; /* -1 while the writer runs, then its writer_result */
	struct pollfd fds[2] = {{.fd = sock, .events = POLLIN}, {.fd = signal_fd, .events = POLLIN}};

	for (;;) {
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			cli_error("poll: %s", strerror(errno));
			stop_writer(writer);
			return EX_OSERR;
		}
		if (fds[1].revents != 0) {
			sig_drain();
			while (sig_next() != 0)
				; /* only SIGCHLD is caught: ask waitpid what it means */
			int status;
			if (writer_status < 0 && waitpid(writer, &status, WNOHANG) == writer) {
				writer_status = writer_result(writer, status);
				if (writer_status != EX_OK && writer_status != WRITER_HUNG_UP)
					return writer_status;
			}
		}
		if (fds[0].revents == 0)
			continue;

		ssize_t count = io_read(sock, buffer, sizeof buffer, -1);
		if (count == 0)
			break; /* the server closed its side */
		if (count < 0 && errno == ECONNRESET) {
			/* The server closed with our input unread (its kernel answered with RST): a hang-up too. */
			if (writer_status < 0)
				stop_writer(writer);
			writer_status = WRITER_HUNG_UP;
			break;
		}
		if (count > 0 && io_write_all(STDOUT_FILENO, buffer, (size_t)count, -1) == 0)
			continue;
		if (count > 0)
			cli_error("write standard output: %s", strerror(errno));
		else
			cli_error("receive from %s: %s", server, strerror(errno));
		if (writer_status < 0)
			stop_writer(writer);
		return EX_IOERR;
	}

	if (writer_status < 0) {
		/*
		 * The server has closed. If the writer got to the end of its input,
		 * our side is shut down too: the socket reports POLLHUP (both
		 * directions closed) and the writer is on its way out, so wait for
		 * it. Otherwise the server hung up first, and the writer would wait
		 * for input forever.
		 */
		struct pollfd hangup = {.fd = sock, .events = 0};
		int status;
		if (poll(&hangup, 1, 0) == 1 && (hangup.revents & POLLHUP) != 0) {
			if (reap_writer(writer, &status) != 0)
				return EX_OSERR;
			writer_status = writer_result(writer, status);
		} else {
			stop_writer(writer);
			writer_status = WRITER_HUNG_UP;
		}
	}
	if (writer_status == WRITER_HUNG_UP) {
		cli_error("connection to %s: closed by the server before the end of input", server);
		return EX_UNAVAILABLE;
	}
	return writer_status;
}

int echo_client_main(int argc, char **argv)
{
	static const struct option options[] = {
		{"connect-timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long timeout = DEFAULT_CONNECT_TIMEOUT;
	char message[256];

	optind = 0;
	opterr = 0;
	for (int value; (value = getopt_long(argc, argv, ":t:h", options, NULL)) != -1;) {
		switch (value) {
		case 't':
			if (options_number("connect-timeout", optarg, 1, 3600, &timeout, message,
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
	const char *host;
	uint16_t port;
	int wrong = cli_host_port(COMMAND, "tcp", argc - optind, argv + optind, &host, &port);
	if (wrong != 0)
		return wrong;

	struct address server;
	char server_text[ADDRESS_TEXT_MAX];
	int status;
	int sock = connect_host(host, port, (int)timeout * 1000, &server, &status);
	if (sock < 0)
		return status;
	addr_format(&server, server_text, sizeof server_text);

	static const int caught[] = {SIGCHLD};
	int signal_fd = sig_catch(caught, 1);
	if (signal_fd < 0) {
		cli_error("catching signals: %s", strerror(errno));
		(void)close(sock); /* exiting anyway */
		return EX_OSERR;
	}
	/* The writer ignores SIGPIPE: a server that resets the connection gives EPIPE, not a silent death. */
	static const int ignored[] = {SIGPIPE};
	static const struct process_setup setup = {.ignore = ignored, .ignore_count = 1};
	pid_t writer = process_fork(&setup);
	if (writer == 0)
		_exit(send_input(sock, server_text)); /* the writer's whole life */
	if (writer < 0) {
		cli_error("fork: %s", strerror(errno));
		(void)close(sock);
		return EX_OSERR;
	}
	status = receive_output(sock, signal_fd, writer, server_text);
	if (close(sock) != 0 && status == EX_OK) {
		cli_error("close %s: %s", server_text, strerror(errno));
		status = EX_IOERR;
	}
	if (sig_reset() != 0 && status == EX_OK) {
		cli_error("resetting signals: %s", strerror(errno));
		status = EX_OSERR;
	}
	return status;
}
