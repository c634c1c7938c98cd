/*
 * chat_client: the `forknet chat HOST PORT` command, the course's forking
 * ChatClient made safe: it joins by itself, never lets another member drive
 * the terminal, and never leaves a process behind.
 *
 * Processes: the client first joins, alone: it sends /join, answers the
 * server's challenge with the token, and waits for the welcome (trying the
 * host's addresses in turn, for at most --join-timeout seconds, sending /join
 * again after 1, 2, 4, ... seconds should an answer be lost). Then it forks.
 * The parent reads standard input and sends each line as one datagram; the
 * child receives and prints, and pings: often enough that the server does not
 * forget it, and every KEEPALIVE_MS of silence from the server, so that a
 * server that is gone is noticed within seconds (KEEPALIVE_MISSED unanswered
 * pings, or a refusal seen twice). Typing and receiving never wait for each
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
#include "../lib/process.h"
#include "../lib/sig.h"
#include "../lib/text.h"
#include "config.h"
#include "protocol.h"

#define COMMAND "chat"
#define MAX_ADDRESSES 16
#define DEFAULT_JOIN_TIMEOUT 5
/*
 * While joining, /join is sent again in case a datagram was lost: after
 * JOIN_RETRY_MS, then twice as long each time, plus up to a quarter second
 * at random so that many clients do not retry in step. Never sooner than a
 * second: the server answers an address that is not a member at most once a
 * second, and one that asks more often not at all (admission.h).
 */
#define JOIN_RETRY_MS 1000
#define JOIN_RETRY_MAX_MS 8000
#define JOIN_JITTER_MS 250
/*
 * The receiver pings when it has heard nothing from the server for
 * KEEPALIVE_MS, whatever the server's idle timeout; after KEEPALIVE_MISSED
 * pings without an answer, the server is taken to be gone. A refusal (ICMP
 * port unreachable on the connected socket) is checked once more
 * REFUSED_RECHECK_MS later, so that a server restarting just then is not
 * taken for a dead one.
 */
#define KEEPALIVE_MS 2000
#define KEEPALIVE_MISSED 3
#define REFUSED_RECHECK_MS 1000
/*
 * A challenge is answered at most this often (while joining, and once
 * joined), so that whoever forges the server's address cannot make the
 * client send its padded answers (64 bytes for 38) at the server's rate.
 */
#define JOIN_ANSWER_MS 250
#define REJOIN_ANSWER_MS 1000
/* After /quit, how long the receiver may take to show the replies still coming. */
#define GOODBYE_MS 2000

/*
 * Room for any datagram at all (a UDP payload is at most 65527 bytes, over
 * IPv6), so that nothing is ever cut; recv is told MSG_TRUNC all the same.
 */
#define RECEIVE_MAX 65536

static char datagram[RECEIVE_MAX];

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: forknet chat [OPTION]... HOST PORT\n"
		"Join the chat server at HOST PORT, send each line of standard input as a\n"
		"message, and print what the others send. END, /quit or the end of input\n"
		"leaves. Other commands: /nick NAME, /who. A server that stops answering\n"
		"(no answer to 3 pings, sent after 2 s of silence) ends the client: status 69.\n"
		"\n"
		"  -n, --name NAME          take NAME once joined\n"
		"  -t, --join-timeout SECS  give up joining after SECS (default %d)\n"
		"  -h, --help               show this help\n",
		DEFAULT_JOIN_TIMEOUT);
}

/*
 * Sends TEXT (LENGTH bytes) as one datagram on the connected socket. Returns
 * 0 or -1 with errno set. A send that fails with ECONNREFUSED reports the
 * refusal of an earlier datagram (an ICMP "port unreachable" that came
 * meanwhile) and has sent nothing: this one is sent once more, so that
 * ECONNREFUSED comes back only if the port refused again since.
 */
static int send_text(int sock, const char *text, size_t length)
{
	bool refused = false;

	while (send(sock, text, length, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != ECONNREFUSED || refused)
			return -1;
		refused = true;
	}
	return 0;
}

/*
 * Receives one datagram on SOCK into `datagram`, without waiting. Returns its
 * length, or -1 with errno set (EAGAIN: none there).
 */
static ssize_t receive_datagram(int sock)
{
	ssize_t length = recv(sock, datagram, sizeof datagram, MSG_DONTWAIT | MSG_TRUNC);
	return length > (ssize_t)sizeof datagram ? (ssize_t)sizeof datagram : length;
}

/* Writes a received datagram to standard output, made harmless, ending with a newline. */
static int show(const char *data, size_t length)
{
	static char escaped[TEXT_ESCAPE_SIZE(RECEIVE_MAX) + 1];
	size_t out = text_escape(data, length, escaped);

	if (out == 0 || escaped[out - 1] != '\n')
		escaped[out++] = '\n';
	return io_write_all(STDOUT_FILENO, escaped, out, -1);
}

/* A number of milliseconds in 0..JOIN_JITTER_MS, different from one client to the next. */
static long jitter_ms(void)
{
	static unsigned int state;
	struct timespec now = clock_now();

	if (state == 0)
		state = (unsigned int)getpid() * 2654435761u ^ (unsigned int)now.tv_nsec;
	state = state * 1103515245u + 12345u;
	return (long)((state >> 16) % (JOIN_JITTER_MS + 1));
}

/*
 * Joins through SOCK: /join, the challenge, the welcome. Returns 0 with
 * *IDLE_TIMEOUT from the welcome, or an exit status; on failure *ERROR is
 * errno (0 for no answer; -1 when the failure was reported here), for the
 * caller's message. A "! ..." refusal from the server is shown as it is.
 */
static int join(int sock, struct timespec deadline, unsigned long *idle_timeout, int *error)
{
	char token[CHAT_TOKEN_LENGTH + 1], request[CHAT_PADDED_LENGTH + 1];
	struct timespec next_try = clock_now(), next_answer = next_try;
	long retry_ms = JOIN_RETRY_MS;

	*error = 0;
	for (;;) {
		if (clock_ms_until(next_try) == 0) {
			size_t length = chat_format_join(NULL, request, sizeof request);
			if (send_text(sock, request, length) != 0) {
				*error = errno;
				return EX_UNAVAILABLE;
			}
			next_try = clock_after(clock_now(), retry_ms + jitter_ms());
			retry_ms = retry_ms * 2 > JOIN_RETRY_MAX_MS ? JOIN_RETRY_MAX_MS : retry_ms * 2;
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
		ssize_t length = receive_datagram(sock);
		if (length < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*error = errno; /* ECONNREFUSED: nothing listens there */
			return EX_UNAVAILABLE;
		}
		if (chat_challenge_token(datagram, (size_t)length, token)) {
			if (clock_ms_until(next_answer) > 0)
				continue; /* answered one a moment ago */
			next_answer = clock_after(clock_now(), JOIN_ANSWER_MS);
			size_t answer = chat_format_join(token, request, sizeof request);
			if (send_text(sock, request, answer) != 0) {
				*error = errno;
				return EX_UNAVAILABLE;
			}
		} else if (chat_welcome_timeout(datagram, (size_t)length, idle_timeout)) {
			if (show(datagram, (size_t)length) == 0)
				return EX_OK;
			/* Joined, but nowhere to show the chat: say why, and leave at once. */
			cli_error("write standard output: %s", strerror(errno));
			(void)send_text(sock, "/quit\n", 6);
			*error = -1; /* reported */
			return EX_IOERR;
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
		*status = cli_resolve_failed(host, lookup);
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
	if (error > 0)
		cli_error("join %s: %s", text, strerror(error));
	else if (error == 0 && clock_ms_until(deadline) == 0)
		cli_error("join %s: no answer within %d s", text, timeout_seconds);
	else if (error == 0)
		cli_error("join %s: refused by the server", text);
	/* error < 0: reported where it happened */
	return -1;
}

/*
 * The receiver's exit statuses that the parent reads: EX_OK (the server said
 * bye or is shutting down), EX_UNAVAILABLE (the server is gone: reported),
 * EX_IOERR and EX_OSERR (reported), and this one, private to the two
 * processes: standard output went away (a pipe closed by its reader), which
 * ends the session quietly, as it would end a filter.
 */
#define RECEIVER_OUTPUT_CLOSED 3

/* What the receiver needs to know. */
struct receiver {
	int sock;
	const char *server;       /* "ADDR:PORT", for messages */
	const char *name;         /* to take again after a rejoin, or NULL */
	unsigned long idle_timeout;
};

/*
 * Reports a condition that ends the receiver and returns STATUS. SIGTERM is
 * blocked first: the parent may be stopping us for the same cause, and the
 * report must be made whole, once, and reach the parent as our exit status.
 */
static int receiver_fails(int status, const char *action, const char *object, const char *why)
{
	sigset_t term;
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	(void)sigprocmask(SIG_BLOCK, &term, NULL); /* cannot fail with a valid set */
	cli_error("%s %s: %s", action, object, why);
	return status;
}

/* The later of A and B. */
static struct timespec later(struct timespec a, struct timespec b)
{
	return clock_seconds_between(a, b) > 0 ? b : a;
}

/*
 * What the receiver knows of the server being there: when it last heard from
 * it, when it last pinged, how many pings went unanswered, and whether a
 * refusal has come since it last heard anything.
 */
struct liveness {
	long membership_ms;         /* pings at least this often, so the server keeps us */
	struct timespec last_heard; /* the last datagram from the server */
	struct timespec last_ping;
	int unanswered;             /* pings since last_heard */
	bool refused;               /* an ICMP refusal since last_heard */
};

/* When the next ping is due. */
static struct timespec liveness_next_ping(const struct liveness *l)
{
	/* After a refusal, look again soon; else after a quiet KEEPALIVE_MS. */
	struct timespec quiet = clock_after(later(l->last_heard, l->last_ping),
					    l->refused ? REFUSED_RECHECK_MS : KEEPALIVE_MS);
	struct timespec membership = clock_after(l->last_ping, l->membership_ms);
	return clock_seconds_between(quiet, membership) > 0 ? quiet : membership;
}

/* Sends a ping (padded: it may find us forgotten, and then earns a challenge). Returns 0 or -1. */
static int ping(int sock, struct liveness *l)
{
	char request[CHAT_PADDED_LENGTH + 1];
	size_t length = chat_format_ping(request, sizeof request);

	l->last_ping = clock_now();
	l->unanswered++;
	return send_text(sock, request, length);
}

/*
 * Takes in a refusal (ECONNREFUSED: nothing listens at the server's port).
 * Returns true when it is the second with nothing heard between: the server
 * is gone. The first may come from a server restarting at that moment.
 */
static bool refused_twice(struct liveness *l)
{
	if (l->refused)
		return true;
	l->refused = true;
	return false;
}

/*
 * The child: print what arrives, ping the server, answer a challenge should
 * the server have forgotten us (it restarted, or we were silent too long).
 * Returns an exit status (see RECEIVER_OUTPUT_CLOSED).
 */
static int receive(const struct receiver *r)
{
	char token[CHAT_TOKEN_LENGTH + 1], request[CHAT_PADDED_LENGTH + 1];
	struct timespec now = clock_now();
	/* A third of the server's patience: two pings may be lost before it forgets us. */
	/* A welcome that claims more than the server's own bound on --idle-timeout is taken as that. */
	unsigned long idle = r->idle_timeout < CHAT_IDLE_TIMEOUT_LIMIT ? r->idle_timeout
									: CHAT_IDLE_TIMEOUT_LIMIT;
	struct liveness l = {.membership_ms = idle >= 3 ? (long)idle * 1000 / 3 : 1000,
			     .last_heard = now, .last_ping = now};
	unsigned long ignored;
	bool rejoining = false;
	struct timespec next_answer = now;

	for (;;) {
		int wait;
		if (l.unanswered >= KEEPALIVE_MISSED) {
			/* The last ping gets its KEEPALIVE_MS too, then we give up. */
			wait = clock_ms_until(clock_after(l.last_ping, KEEPALIVE_MS));
			if (wait == 0) {
				char why[128];
				snprintf(why, sizeof why,
					 "the server is not answering (no answer to %d pings in %.0f s)",
					 l.unanswered, clock_seconds_between(l.last_heard, clock_now()));
				return receiver_fails(EX_UNAVAILABLE, "connection to", r->server, why);
			}
		} else {
			/* Due pings go out whatever arrives: a busy socket must not starve them. */
			if (clock_ms_until(liveness_next_ping(&l)) == 0 && ping(r->sock, &l) != 0) {
				if (errno != ECONNREFUSED)
					return receiver_fails(EX_IOERR, "send to", r->server,
							      strerror(errno));
				if (refused_twice(&l))
					return receiver_fails(EX_UNAVAILABLE, "connection to",
							      r->server, "the server is gone");
			}
			wait = clock_ms_until(liveness_next_ping(&l));
		}
		struct pollfd pfd = {.fd = r->sock, .events = POLLIN};
		int ready = poll(&pfd, 1, wait);
		if (ready < 0 && errno != EINTR)
			return receiver_fails(EX_OSERR, "poll", r->server, strerror(errno));
		if (ready <= 0)
			continue;
		ssize_t length = receive_datagram(r->sock);
		if (length < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno != ECONNREFUSED)
				return receiver_fails(EX_IOERR, "receive from", r->server,
						      strerror(errno));
			if (refused_twice(&l))
				return receiver_fails(EX_UNAVAILABLE, "connection to", r->server,
						      "the server is gone");
			continue;
		}
		l.last_heard = clock_now();
		l.unanswered = 0;
		l.refused = false;
		if ((size_t)length == sizeof CHAT_PONG - 1 &&
		    memcmp(datagram, CHAT_PONG, sizeof CHAT_PONG - 1) == 0)
			continue; /* the answer to a ping: it has done its job by arriving */
		if (chat_challenge_token(datagram, (size_t)length, token)) {
			if (clock_ms_until(next_answer) > 0)
				continue; /* answered one a moment ago */
			next_answer = clock_after(clock_now(), REJOIN_ANSWER_MS);
			size_t answer = chat_format_join(token, request, sizeof request);
			if (send_text(r->sock, request, answer) != 0 && errno != ECONNREFUSED)
				return receiver_fails(EX_IOERR, "send to", r->server,
						      strerror(errno));
			rejoining = true;
			continue;
		}
		if (rejoining && length > 0 && datagram[0] == '!') {
			/* Refused on the way back in (a full server, say): the reason, as said, and the end. */
			(void)show(datagram, (size_t)length);
			return receiver_fails(EX_UNAVAILABLE, "join", r->server,
					      "refused by the server on joining again");
		}
		if (rejoining && chat_welcome_timeout(datagram, (size_t)length, &ignored)) {
			rejoining = false;
			cli_error("joined %s again (the server had forgotten this client); a line "
				  "sent meanwhile may be lost",
				  r->server);
			char nick[CHAT_NICK_LINE_SIZE];
			size_t nick_length = r->name != NULL ? chat_format_nick(r->name, nick, sizeof nick) : 0;
			if (nick_length > 0)
				(void)send_text(r->sock, nick, nick_length); /* a lost one: we stay unnamed */
		}
		if (show(datagram, (size_t)length) != 0) {
			if (errno == EPIPE)
				return RECEIVER_OUTPUT_CLOSED;
			return receiver_fails(EX_IOERR, "write", "standard output",
					      strerror(errno));
		}
		/* The server's answer to our /quit comes after all its earlier replies: done. */
		static const char bye[] = "* bye\n";
		static const char closing[] = "* server shutting down\n";
		if (((size_t)length == sizeof bye - 1 && memcmp(datagram, bye, (size_t)length) == 0) ||
		    ((size_t)length == sizeof closing - 1 && memcmp(datagram, closing, (size_t)length) == 0))
			return EX_OK; /* an orderly end, announced above */
	}
}

/* How the parent's part of the session ended. */
enum session_end {
	SESSION_LEAVE,          /* END, /quit, end of input, or SIGINT/SIGTERM/SIGHUP */
	SESSION_RECEIVER_ENDED, /* the receiver ended first: its status says why */
	SESSION_SERVER_GONE,    /* a send was refused: nothing listens there any more */
	SESSION_FAILED,         /* reading standard input failed (reported) */
};

/* True if LINE (LENGTH bytes, no line end) ends the session. */
static bool is_goodbye(const char *line, size_t length)
{
	struct chat_request request;
	chat_parse(line, length, &request);
	return request.kind == CHAT_QUIT;
}

/*
 * Sends the finished lines in LINE[0..*HELD) (all of it when AT_END or when it
 * is full), keeping an unfinished line. Returns SESSION_LEAVE at a goodbye,
 * SESSION_SERVER_GONE on ECONNREFUSED, or -1 to go on; *STATUS gets an exit
 * status for any other send failure (reported).
 */
static int send_finished_lines(int sock, char *line, size_t size, size_t *held, bool at_end,
			       const char *server, int *status)
{
	size_t start = 0;

	while (start < *held) {
		char *newline = memchr(line + start, '\n', *held - start);
		size_t end = newline != NULL ? (size_t)(newline - line) : *held;
		if (newline == NULL && *held < size && !at_end)
			break; /* an unfinished line: wait for the rest */
		if (is_goodbye(line + start, end - start))
			return SESSION_LEAVE;
		/* An empty line says nothing: no datagram for it. */
		if (end > start && send_text(sock, line + start, end - start) != 0) {
			if (errno == ECONNREFUSED)
				return SESSION_SERVER_GONE;
			cli_error("send to %s: %s", server, strerror(errno));
			*status = EX_IOERR;
			return SESSION_FAILED;
		}
		start = newline != NULL ? end + 1 : end;
	}
	memmove(line, line + start, *held - start);
	*held -= start;
	return -1;
}

/*
 * The parent: each line of standard input as one datagram, until END, /quit,
 * the end of input, a stop signal, or the receiver's end. Sets
 * *RECEIVER_STATUS when the receiver ended, *STATUS on failure.
 */
static enum session_end send_lines(int sock, int signal_fd, pid_t receiver, const char *server,
				   int *receiver_status, int *status)
{
	static char line[CHAT_DATAGRAM_MAX];
	size_t held = 0; /* bytes of an unfinished line */

	for (;;) {
		struct pollfd fds[2] = {{.fd = STDIN_FILENO, .events = POLLIN},
					{.fd = signal_fd, .events = POLLIN}};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			cli_error("poll: %s", strerror(errno));
			*status = EX_OSERR;
			return SESSION_FAILED;
		}
		if (fds[1].revents != 0) {
			bool leave = false;
			int signo;
			sig_drain();
			while ((signo = sig_next()) != 0)
				leave = leave || signo != SIGCHLD;
			if (waitpid(receiver, receiver_status, WNOHANG) == receiver)
				return SESSION_RECEIVER_ENDED;
			if (leave)
				return SESSION_LEAVE; /* SIGINT, SIGTERM or SIGHUP: leave as at END */
		}
		if (fds[0].revents == 0)
			continue;
		ssize_t count = io_read(STDIN_FILENO, line + held, sizeof line - held, -1);
		if (count < 0) {
			cli_error("read standard input: %s", strerror(errno));
			*status = EX_IOERR;
			return SESSION_FAILED;
		}
		held += (size_t)count;
		int end = send_finished_lines(sock, line, sizeof line, &held, count == 0, server,
					      status);
		if (end >= 0)
			return (enum session_end)end;
		if (count == 0)
			return SESSION_LEAVE; /* end of input */
	}
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
				; /* SIGCHLD: waitpid above says whose; a second Ctrl-C changes nothing */
		}
	}
	if (process_stop(receiver, status) != 0)
		cli_error("stopping process %ld: %s", (long)receiver, strerror(errno));
}

/*
 * The exit status of a session whose receiver ended with STATUS first (it
 * has reported any failure itself).
 */
static int receiver_ended(int sock, pid_t receiver, int status)
{
	if (!WIFEXITED(status)) {
		char how[64];
		cli_error("receiving process %ld: %s", (long)receiver,
			  children_status_text(status, how, sizeof how));
		return EX_OSERR;
	}
	if (WEXITSTATUS(status) == RECEIVER_OUTPUT_CLOSED) {
		/* No one reads us any more: leave the chat, quietly. */
		(void)send_text(sock, "/quit\n", 6); /* the server may be gone: fine */
		return EX_OK;
	}
	return WEXITSTATUS(status);
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
	const char *host;
	uint16_t port;
	int wrong = cli_host_port(COMMAND, "udp", argc - optind, argv + optind, &host, &port);
	if (wrong != 0)
		return wrong;

	struct address server;
	char server_text[ADDRESS_TEXT_MAX];
	unsigned long idle_timeout = 0;
	int status;
	int sock = connect_and_join(host, port, (int)timeout, &idle_timeout, &server, &status);
	if (sock < 0)
		return status;
	addr_format(&server, server_text, sizeof server_text);
	if (name != NULL) {
		char nick[CHAT_NICK_LINE_SIZE];
		size_t length = chat_format_nick(name, nick, sizeof nick); /* NAME was checked: never 0 */
		if (send_text(sock, nick, length) != 0)
			cli_error("send to %s: %s", server_text, strerror(errno));
	}

	/* SIGINT, SIGTERM, SIGHUP: leave the chat properly, as END does. */
	static const int caught[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
	int signal_fd = sig_catch(caught, 4);
	if (signal_fd < 0) {
		cli_error("catching signals: %s", strerror(errno));
		(void)send_text(sock, "/quit\n", 6); /* we had joined */
		(void)close(sock);
		return EX_OSERR;
	}
	struct receiver receiver_setup = {.sock = sock, .server = server_text, .name = name,
					  .idle_timeout = idle_timeout};
	/*
	 * The receiver ignores SIGPIPE (a closed output shows as EPIPE, to end
	 * quietly), and SIGINT and SIGHUP, which a terminal sends to the whole
	 * process group: the parent handles them and stops the receiver in order.
	 */
	static const int ignored[] = {SIGPIPE, SIGINT, SIGHUP};
	static const struct process_setup setup = {.ignore = ignored, .ignore_count = 3};
	pid_t receiver = process_fork(&setup);
	if (receiver == 0)
		_exit(receive(&receiver_setup));
	if (receiver < 0) {
		cli_error("fork: %s", strerror(errno));
		(void)send_text(sock, "/quit\n", 6);
		(void)close(sock);
		return EX_OSERR;
	}

	int receiver_status = 0;
	status = EX_OK;
	switch (send_lines(sock, signal_fd, receiver, server_text, &receiver_status, &status)) {
	case SESSION_RECEIVER_ENDED:
		status = receiver_ended(sock, receiver, receiver_status);
		break;
	case SESSION_SERVER_GONE:
		/* The receiver may have seen it too and said so; then it said it once for both. */
		if (process_stop(receiver, &receiver_status) != 0)
			cli_error("stopping process %ld: %s", (long)receiver, strerror(errno));
		if (!(WIFEXITED(receiver_status) && WEXITSTATUS(receiver_status) == EX_UNAVAILABLE))
			cli_error("connection to %s: the server is gone", server_text);
		status = EX_UNAVAILABLE;
		break;
	case SESSION_LEAVE:
	case SESSION_FAILED:
		/* We leave: say so (the server may be gone already; that is fine), then end the receiver. */
		(void)send_text(sock, "/quit\n", 6);
		stop_receiver(receiver, signal_fd, &receiver_status);
		/* A receiver that failed while saying goodbye has reported it: its status counts. */
		if (status == EX_OK && WIFEXITED(receiver_status) && WEXITSTATUS(receiver_status) != EX_OK &&
		    WEXITSTATUS(receiver_status) != RECEIVER_OUTPUT_CLOSED)
			status = WEXITSTATUS(receiver_status);
		break;
	}
	if (close(sock) != 0 && status == EX_OK)
		status = EX_IOERR;
	(void)sig_reset(); /* exiting: nothing left to restore for */
	return status;
}
