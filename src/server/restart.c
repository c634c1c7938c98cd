/*
 * restart: the restart in place. See restart.h.
 *
 * The handover travels in a memfd left open across the exec; its number is
 * in the environment variable FORKNET_HANDOVER. Its content is a header and
 * the children, as the structures below, in the machine's own layout: both
 * images run on the same machine, and the version and sizes in the header
 * make a binary refuse a layout it was not built for.
 */
#include "restart.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "../cli.h"
#include "../lib/children.h"
#include "../lib/io.h"
#include "../lib/log.h"
#include "../lib/process.h"

#define HANDOVER_ENV "FORKNET_HANDOVER"
#define CHECK_ENV "FORKNET_RESTART_CHECK"
/* Raise when the layout below changes: an older binary then refuses the restart at its trial. */
#define HANDOVER_VERSION 1
#define HANDOVER_MAGIC "forknet"
/* The trial checks arguments; a binary that takes longer is stuck. */
#define TRIAL_TIMEOUT_MS 10000

struct header {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t child_size;
	uint32_t listener_count;
	int32_t listener_fds[LISTENERS_MAX];
	struct address addresses[LISTENERS_MAX];
	int32_t boards_fd;
	uint32_t restarts;
	uint64_t capacity;
	uint64_t accepted, served, refused;
	struct timespec started;
	uint64_t child_count;
};

static char binary[PATH_MAX];

extern char **environ;

int restart_init(void)
{
	ssize_t length = readlink("/proc/self/exe", binary, sizeof binary - 1);
	if (length < 0)
		return -1;
	binary[length] = '\0';
	return 0;
}

bool restart_checking(void)
{
	return getenv(CHECK_ENV) != NULL;
}

int restart_check(struct failure *failure)
{
	const char *asked = getenv(CHECK_ENV);
	char expected[16];

	snprintf(expected, sizeof expected, "%d", HANDOVER_VERSION);
	if (asked != NULL && strcmp(asked, expected) == 0)
		return 0;
	/* What the user sees is the running server's log line about the failed trial. */
	return failure_set(failure, FAILURE_CONFIG,
			   "restart: the running server hands over version %.16s; this binary takes %s",
			   asked != NULL ? asked : "?", expected);
}

/*
 * The environment for the new binary: ours without FORKNET_HANDOVER and
 * FORKNET_RESTART_CHECK, plus EXTRA ("NAME=value"). NULL when out of memory.
 */
static char **environment_with(const char *extra)
{
	size_t count = 0;
	while (environ[count] != NULL)
		count++;
	char **list = calloc(count + 2, sizeof *list);
	if (list == NULL)
		return NULL;
	size_t used = 0;
	for (size_t i = 0; i < count; i++)
		if (strncmp(environ[i], HANDOVER_ENV "=", sizeof HANDOVER_ENV) != 0 &&
		    strncmp(environ[i], CHECK_ENV "=", sizeof CHECK_ENV) != 0)
			list[used++] = environ[i];
	list[used] = (char *)extra;
	return list;
}

int restart_trial(char *why, size_t size)
{
	char variable[64];
	int status;

	if (binary[0] == '\0') {
		snprintf(why, size, "the path of the binary is not known");
		return -1;
	}
	snprintf(variable, sizeof variable, CHECK_ENV "=%d", HANDOVER_VERSION);
	char **environment = environment_with(variable);
	if (environment == NULL) {
		snprintf(why, size, "memory: %s", strerror(errno));
		return -1;
	}
	pid_t pid = process_fork(NULL);
	if (pid == 0) {
		/* Its standard output is not the server's: a --print-port there would lie. */
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(EX_OSERR);
		execve(binary, cli_arguments(), environment);
		log_error("restart: execute %s: %s", binary, strerror(errno));
		_exit(EX_UNAVAILABLE);
	}
	int error = errno;
	free(environment);
	if (pid < 0) {
		snprintf(why, size, "fork for the trial run: %s", strerror(error));
		return -1;
	}
	int waited = process_wait_for(pid, TRIAL_TIMEOUT_MS, &status);
	if (waited < 0) {
		snprintf(why, size, "waiting for the trial run: %s", strerror(errno));
		/* Not left behind: it is killed and reaped (an error here leaves nothing more to do). */
		(void)kill(pid, SIGKILL);
		(void)process_wait(pid, &status);
		return -1;
	}
	if (waited > 0) {
		snprintf(why, size, "the trial run of %s took more than %d s", binary,
			 TRIAL_TIMEOUT_MS / 1000);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char how[64];
		snprintf(why, size, "the trial run of %s %s", binary,
			 children_status_text(status, how, sizeof how));
		return -1;
	}
	return 0;
}

/* Sets or clears close-on-exec on the handed-over descriptors. Returns 0 or -1. */
static int set_cloexec(const struct handover *handover, bool on)
{
	int status = 0;
	for (size_t i = 0; i < handover->listeners.count; i++)
		if (fcntl(handover->listeners.fds[i], F_SETFD, on ? FD_CLOEXEC : 0) != 0)
			status = -1;
	if (handover->boards_fd >= 0 &&
	    fcntl(handover->boards_fd, F_SETFD, on ? FD_CLOEXEC : 0) != 0)
		status = -1;
	return status;
}

/* Writes HANDOVER into a new memfd left open across exec. Returns it, or -1 with errno set. */
static int write_handover(const struct handover *handover)
{
	struct header header;

	memset(&header, 0, sizeof header);
	memcpy(header.magic, HANDOVER_MAGIC, sizeof HANDOVER_MAGIC);
	header.version = HANDOVER_VERSION;
	header.header_size = sizeof header;
	header.child_size = sizeof(struct handover_child);
	header.listener_count = (uint32_t)handover->listeners.count;
	for (size_t i = 0; i < handover->listeners.count; i++) {
		header.listener_fds[i] = handover->listeners.fds[i];
		header.addresses[i] = handover->listeners.addresses[i];
	}
	header.boards_fd = handover->boards_fd;
	header.restarts = handover->restarts;
	header.capacity = handover->capacity;
	header.accepted = handover->accepted;
	header.served = handover->served;
	header.refused = handover->refused;
	header.started = handover->started;
	header.child_count = handover->child_count;

	int fd = memfd_create("forknet-handover", 0); /* not close-on-exec: it is for the new image */
	if (fd < 0)
		return -1;
	size_t children_size = handover->child_count * sizeof *handover->children;
	if (io_write_all(fd, &header, sizeof header, -1) != 0 ||
	    (children_size > 0 && io_write_all(fd, handover->children, children_size, -1) != 0) ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		int error = errno;
		(void)close(fd); /* failing anyway */
		errno = error;
		return -1;
	}
	return fd;
}

int restart_exec(const struct handover *handover, char *why, size_t size)
{
	char variable[64];

	int fd = write_handover(handover);
	if (fd < 0) {
		snprintf(why, size, "writing the handover: %s", strerror(errno));
		return -1;
	}
	snprintf(variable, sizeof variable, HANDOVER_ENV "=%d", fd);
	char **environment = environment_with(variable);
	if (environment == NULL) {
		snprintf(why, size, "memory: %s", strerror(errno));
	} else if (set_cloexec(handover, false) != 0) {
		snprintf(why, size, "fcntl F_SETFD: %s", strerror(errno));
	} else {
		execve(binary, cli_arguments(), environment);
		snprintf(why, size, "execute %s: %s", binary, strerror(errno));
	}
	/* Still here: the old image goes on, as it was. */
	if (set_cloexec(handover, true) != 0)
		log_warning("restart: fcntl F_SETFD: %s", strerror(errno));
	free(environment);
	if (close(fd) != 0)
		log_warning("restart: close the handover: %s", strerror(errno));
	return -1;
}

/* Reads exactly LENGTH bytes from FD. Returns 0, or -1 (errno set; EPROTO: cut short). */
static int read_exactly(int fd, void *buffer, size_t length)
{
	size_t done = 0;
	while (done < length) {
		ssize_t count = read(fd, (char *)buffer + done, length - done);
		if (count < 0 && errno == EINTR)
			continue;
		if (count <= 0) {
			if (count == 0)
				errno = EPROTO;
			return -1;
		}
		done += (size_t)count;
	}
	return 0;
}

/* Checks that FD is a listening TCP socket. Returns 0, or -1 with WHY. */
static int check_listener(int fd, char *why, size_t size)
{
	int value;
	socklen_t length = sizeof value;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &length) != 0) {
		snprintf(why, size, "descriptor %d: %s", fd, strerror(errno));
		return -1;
	}
	if (value != 1) {
		snprintf(why, size, "descriptor %d is not a listening socket", fd);
		return -1;
	}
	return 0;
}

/* Parses the handover in FD into HANDOVER. Returns 0, or -1 with ERROR. */
static int read_handover(int fd, struct handover *handover, char *error, size_t size)
{
	struct header header;

	if (read_exactly(fd, &header, sizeof header) != 0) {
		snprintf(error, size, "reading the handover: %s", strerror(errno));
		return -1;
	}
	if (memcmp(header.magic, HANDOVER_MAGIC, sizeof HANDOVER_MAGIC) != 0 ||
	    header.version != HANDOVER_VERSION || header.header_size != sizeof header ||
	    header.child_size != sizeof(struct handover_child) ||
	    header.listener_count == 0 || header.listener_count > LISTENERS_MAX ||
	    header.child_count > SIZE_MAX / sizeof(struct handover_child)) {
		snprintf(error, size, "the handover is not one this binary can take (version %u)",
			 (unsigned)header.version);
		return -1;
	}
	handover->listeners.count = header.listener_count;
	for (size_t i = 0; i < header.listener_count; i++) {
		handover->listeners.fds[i] = header.listener_fds[i];
		handover->listeners.addresses[i] = header.addresses[i];
		if (check_listener(header.listener_fds[i], error, size) != 0)
			return -1;
	}
	handover->boards_fd = header.boards_fd;
	handover->capacity = header.capacity;
	handover->accepted = header.accepted;
	handover->served = header.served;
	handover->refused = header.refused;
	handover->started = header.started;
	handover->restarts = header.restarts;
	handover->child_count = (size_t)header.child_count;
	if (handover->child_count > 0) {
		handover->children = calloc(handover->child_count, sizeof *handover->children);
		if (handover->children == NULL) {
			snprintf(error, size, "memory for %zu children: %s", handover->child_count,
				 strerror(errno));
			return -1;
		}
		if (read_exactly(fd, handover->children,
				 handover->child_count * sizeof *handover->children) != 0) {
			snprintf(error, size, "reading the handover: %s", strerror(errno));
			return -1;
		}
	}
	if (set_cloexec(handover, true) != 0) {
		snprintf(error, size, "fcntl F_SETFD: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int restart_receive(struct handover *handover, char *error, size_t size)
{
	const char *value = getenv(HANDOVER_ENV);
	char *end;

	memset(handover, 0, sizeof *handover);
	handover->boards_fd = -1;
	if (value == NULL)
		return 0;
	errno = 0;
	long fd = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || fd < 0 || fd > INT_MAX) {
		snprintf(error, size, "%s='%s': not a descriptor", HANDOVER_ENV, value);
		return -1;
	}
	/* Not to be seen by the programs this server may run, nor by the next restart. */
	if (unsetenv(HANDOVER_ENV) != 0) {
		snprintf(error, size, "unsetenv: %s", strerror(errno));
		return -1;
	}
	int status = read_handover((int)fd, handover, error, size);
	if (close((int)fd) != 0 && status == 0) {
		snprintf(error, size, "close the handover: %s", strerror(errno));
		status = -1;
	}
	if (status != 0) {
		restart_release(handover);
		return -1;
	}
	return 1;
}

void restart_release(struct handover *handover)
{
	free(handover->children);
	handover->children = NULL;
	handover->child_count = 0;
}
