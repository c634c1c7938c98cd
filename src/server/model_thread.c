/*
 * model_thread: the course's multi-thread server, one POSIX thread per
 * connection. It is here so that the benchmark can answer, with numbers,
 * the course's claim that threads are cheaper than processes; it is still
 * made correct.
 *
 * Processes: a master and one worker process (pool.c), and the threads
 * live in the worker. Why not in the master: SIGHUP's restart is an exec
 * in place, and an exec ends every thread of the process that calls it.
 * With the threads in a worker, the new image starts a new worker and the
 * old one finishes its connections under the old code, as in prefork.
 *
 * The worker's main thread accepts and starts one detached thread per
 * connection, with an explicit stack of THREAD_STACK_SIZE (the echo
 * service's 64 KiB buffer lives there) instead of the default 8 MiB. -c
 * caps the threads alive: at the cap, the main thread stops polling the
 * listening sockets and new clients wait in the backlog. A thread that
 * ends says so on an eventfd. A failed pthread_create is logged and its
 * connection closed (counted as refused).
 *
 * Signals are the main thread's only: every thread starts with all of them
 * blocked. SIGQUIT (the graceful stop, or a restart draining the old
 * worker): close the listeners, let the threads finish, exit. SIGTERM (the
 * fast stop): raise the stop descriptor, which every thread's service
 * polls as its cancel descriptor, so each connection ends at once; then
 * exit as they do. The master's --grace and SIGKILL are the backstop.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "../lib/clock.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "../lib/sig.h"
#include "../lib/stop.h"
#include "pool.h"
#include "server.h"

/* Room for the echo service's 64 KiB buffer and the C library's calls, with margin. */
#define THREAD_STACK_SIZE ((size_t)256 * 1024)

/* What the worker's threads share with its main thread. */
struct thread_worker {
	struct server *server;
	struct child_board *board;
	int stop_fd; /* raised on the fast stop: the services' cancel descriptor */
	int done_fd; /* an eventfd: each thread adds 1 as it ends */
	pthread_attr_t attributes;
};

/* One connection's thread: its own copy of what it needs. */
struct connection_thread {
	struct thread_worker *worker;
	struct connection conn;
	uint64_t bytes;
	struct timespec started;
};

static void *serve_connection(void *arg)
{
	struct connection_thread *ct = arg;
	struct thread_worker *tw = ct->worker;
	struct server *server = tw->server;
	struct connection *conn = &ct->conn;
	char address[ADDRESS_TEXT_MAX];

	addr_format(&conn->peer, address, sizeof address);
	/* Non-blocking, so that the service waits in poll(), where the stop descriptor is seen. */
	enum service_status status = SERVICE_FAILED;
	if (io_set_nonblocking(conn->fd, 1) != 0)
		log_warning("client %s: fcntl O_NONBLOCK: %s", address, strerror(errno));
	else
		status = server->service->serve(conn, server->service->arg);
	if (close(conn->fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	/* server_log_closed counts into the worker's copy of the server: not shared here. */
	log_info("client %s closed, thread%s, %llu bytes %s in %.3f s", address,
		 status == SERVICE_CANCELED ? " cut short by the stop" : "",
		 (unsigned long long)ct->bytes, server->service->bytes_verb,
		 clock_seconds_between(ct->started, clock_now()));
	__atomic_add_fetch(&tw->board->connections, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&tw->board->open, 1, __ATOMIC_RELAXED);
	free(ct);
	uint64_t one = 1;
	if (write(tw->done_fd, &one, sizeof one) != sizeof one)
		log_error("thread: eventfd write: %s", strerror(errno)); /* cannot happen below 2^64 */
	return NULL;
}

/* Starts a thread for the accepted CONN; on failure, logs and closes it. */
static bool start_thread(struct thread_worker *tw, const struct connection *conn)
{
	char address[ADDRESS_TEXT_MAX];
	struct connection_thread *ct = malloc(sizeof *ct);
	int error = ENOMEM;

	addr_format(&conn->peer, address, sizeof address);
	if (ct != NULL) {
		*ct = (struct connection_thread){.worker = tw, .conn = *conn, .started = clock_now()};
		ct->conn.bytes = &ct->bytes;
		ct->conn.cancel_fd = tw->stop_fd;
		pthread_t thread;
		sigset_t saved;
		__atomic_add_fetch(&tw->board->open, 1, __ATOMIC_RELAXED);
		/* The new thread inherits the mask: every signal blocked, for the main thread to take. */
		if (sig_block_all(&saved) != 0) {
			error = errno;
		} else {
			error = pthread_create(&thread, &tw->attributes, serve_connection, ct);
			if (sig_restore(&saved) != 0)
				log_error("thread worker: sigprocmask: %s", strerror(errno));
		}
		if (error == 0) {
			log_info("client %s connected, thread", address);
			return true;
		}
		__atomic_sub_fetch(&tw->board->open, 1, __ATOMIC_RELAXED);
		free(ct);
	}
	log_warning("client %s: no thread for it (%s); connection closed", address,
		    strerror(error));
	__atomic_add_fetch(&tw->board->refused, 1, __ATOMIC_RELAXED);
	if (close(conn->fd) != 0)
		log_warning("client %s: close: %s", address, strerror(errno));
	return false;
}

/* Sets up TW for this worker; returns 0 or -1 (logged). */
static int prepare(struct thread_worker *tw)
{
	int error;

	tw->stop_fd = stop_open();
	tw->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (tw->stop_fd < 0 || tw->done_fd < 0) {
		log_error("thread worker: %s: %s", tw->stop_fd < 0 ? "timerfd_create" : "eventfd",
			  strerror(errno));
		return -1;
	}
	error = pthread_attr_init(&tw->attributes);
	if (error == 0)
		error = pthread_attr_setdetachstate(&tw->attributes, PTHREAD_CREATE_DETACHED);
	if (error == 0)
		error = pthread_attr_setstacksize(&tw->attributes, THREAD_STACK_SIZE);
	if (error != 0) {
		log_error("thread worker: pthread attributes: %s", strerror(error));
		return -1;
	}
	return 0;
}

static void worker(struct pool *pool, struct child_board *board, int signal_fd)
{
	static const int stops[] = {SIGTERM};
	struct server *server = pool->server;
	struct thread_worker tw = {.server = server, .board = board};
	bool leaving = false;

	/* SIGTERM is caught here too: the threads are ended through the stop descriptor. */
	if (prepare(&tw) != 0 || sig_catch(stops, 1) < 0 || sig_unblock(stops, 1) != 0)
		_exit(EX_OSERR);
	board->state = CHILD_IDLE;
	for (;;) {
		uint64_t open = __atomic_load_n(&board->open, __ATOMIC_RELAXED);
		if (leaving && open == 0)
			_exit(EX_OK);
		int pause_ms;
		bool paused = server_paused(server, &pause_ms);
		bool full = open >= server->config->max_children;
		struct pollfd fds[2 + LISTENERS_MAX] = {
			{.fd = signal_fd, .events = POLLIN},
			{.fd = tw.done_fd, .events = POLLIN},
		};
		nfds_t count = 2;
		if (!leaving && !paused && !full)
			for (size_t i = 0; i < server->listeners.count; i++)
				fds[count++] = (struct pollfd){.fd = server->listeners.fds[i],
							       .events = POLLIN};
		if (poll(fds, count, pause_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_error("thread worker: poll: %s", strerror(errno));
			_exit(EX_OSERR);
		}
		if (fds[0].revents != 0) {
			int signo;
			sig_drain();
			while ((signo = sig_next()) != 0) {
				leaving = true;
				if (signo == SIGTERM && stop_raise(tw.stop_fd, 0) != 0)
					log_error("thread worker: raising the stop: %s", strerror(errno));
			}
			/* Leaving: new clients are the next worker's, or refused once all have gone. */
			if (leaving && server->listeners.count > 0 && listeners_close(&server->listeners) != 0)
				log_warning("thread worker: close listening socket: %s", strerror(errno));
		}
		if (fds[1].revents != 0) {
			uint64_t ended;
			if (read(tw.done_fd, &ended, sizeof ended) < 0 && errno != EAGAIN)
				log_warning("thread worker: eventfd read: %s", strerror(errno));
		}
		for (nfds_t i = 2; i < count && !leaving; i++) {
			if (fds[i].revents == 0)
				continue;
			struct connection conn;
			switch (server_accept(server, i - 2, &conn)) {
			case SERVER_ACCEPTED:
				board->wakeups++;
				if (start_thread(&tw, &conn))
					server_unpause(server);
				break;
			case SERVER_ACCEPT_SHUT:
				leaving = true; /* the master's graceful stop */
				break;
			case SERVER_ACCEPT_FATAL:
				_exit(EX_OSERR);
			case SERVER_ACCEPT_EMPTY:
			case SERVER_ACCEPT_PAUSED:
				break;
			}
		}
		board->state = __atomic_load_n(&board->open, __ATOMIC_RELAXED) > 0 ? CHILD_BUSY
										      : CHILD_IDLE;
	}
}

/* The policy: one worker, replaced when it ends. */
static void maintain(struct pool *pool, bool tick)
{
	size_t alive, idle, starting;
	(void)tick;

	pool_census(pool, &alive, &idle, &starting);
	if (alive == 0)
		(void)pool_spawn(pool);
}

static int run(struct server *server)
{
	static const struct pool_model thread_pool = {
		.worker = worker, .maintain = maintain, .noun = "thread worker"};

	return pool_run(server, &thread_pool, NULL, 1);
}

const struct server_model model_thread = {
	.name = "thread",
	.summary = "a thread per connection, in one worker process",
	.run = run,
	.flags = MODEL_CONCURRENT | MODEL_CHILDREN,
};
