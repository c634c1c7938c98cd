/*
 * children: a fixed-size table of child processes and their reaping.
 * See children.h.
 */
#include "children.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sig.h"

/*
 * Memory for the parent's books: private, untouched until used, and wiped in
 * every child (MADV_WIPEONFORK, Linux 4.14). A child never reads the table;
 * without the wipe, each page of it the parent writes after a fork would stay
 * behind in that child as a stale copy of its own, a page per connection.
 * Returns NULL with errno set on failure.
 */
static void *parent_only(size_t size)
{
	void *memory = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (memory == MAP_FAILED)
		return NULL;
	/* An older kernel refuses with EINVAL: the table works the same, it only costs more. */
	if (madvise(memory, size, MADV_WIPEONFORK) != 0 && errno != EINVAL) {
		int error = errno;
		(void)munmap(memory, size); /* failing anyway */
		errno = error;
		return NULL;
	}
	return memory;
}

static void parent_only_free(void *memory, size_t size)
{
	if (memory != NULL)
		(void)munmap(memory, size); /* only fails for a range that was never mapped */
}

/*
 * The boards' memory: a memfd, so that it can outlive an exec in place
 * (SIGHUP) and be mapped again by the new image, whose adopted children go
 * on writing into it. BOARDS_FD -1 makes a new one. Returns the mapping
 * with *FD set, or MAP_FAILED with errno set.
 */
static struct child_board *map_boards(size_t capacity, int boards_fd, int *fd)
{
	size_t size = capacity * sizeof(struct child_board);
	struct stat info;

	*fd = boards_fd;
	if (boards_fd < 0) {
		*fd = memfd_create("forknet-boards", MFD_CLOEXEC);
		if (*fd < 0)
			return MAP_FAILED;
		if (ftruncate(*fd, (off_t)size) != 0)
			goto fail;
	} else if (fstat(boards_fd, &info) != 0) {
		goto fail;
	} else if ((size_t)info.st_size < size) {
		errno = EINVAL; /* a restart with a larger -c than the mapping handed over */
		goto fail;
	}
	/* Shared, not private: a child's stores to its board are seen by the parent. */
	void *boards = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (boards != MAP_FAILED)
		return boards;
fail:;
	int error = errno;
	if (boards_fd < 0 && *fd >= 0)
		(void)close(*fd); /* failing anyway */
	*fd = -1;
	errno = error;
	return MAP_FAILED;
}

int children_init(struct children *table, size_t capacity, int boards_fd)
{
	memset(table, 0, sizeof *table);
	table->boards_fd = -1;
	if (capacity == 0) {
		errno = EINVAL;
		return -1;
	}
	/*
	 * Nothing here is written yet: mmap hands out pages that cost no memory
	 * until used, so a large -c costs only what is really used.
	 */
	table->slots = parent_only(capacity * sizeof *table->slots);
	table->freed = parent_only(capacity * sizeof *table->freed);
	int fd = -1;
	struct child_board *boards = MAP_FAILED;
	if (table->slots != NULL && table->freed != NULL)
		boards = map_boards(capacity, boards_fd, &fd);
	if (boards == MAP_FAILED) {
		int saved_errno = errno;
		parent_only_free(table->slots, capacity * sizeof *table->slots);
		parent_only_free(table->freed, capacity * sizeof *table->freed);
		memset(table, 0, sizeof *table);
		errno = saved_errno;
		return -1;
	}
	table->boards = boards;
	table->boards_fd = fd;
	table->capacity = capacity;
	return 0;
}

int children_adopt(struct children *table, size_t index, pid_t pid, const struct address *peer,
		   const struct timespec *started)
{
	if (index >= table->capacity || pid <= 0 || table->slots[index].pid != 0) {
		errno = EINVAL;
		return -1;
	}
	struct child *slot = &table->slots[index];
	slot->pid = pid;
	slot->peer = *peer;
	slot->started = *started;
	slot->board = &table->boards[index];
	slot->bytes = &slot->board->bytes;
	slot->retiring = false;
	table->count++;
	if (index >= table->fresh)
		table->fresh = index + 1;
	return 0;
}

void children_adopted(struct children *table)
{
	table->freed_count = 0;
	for (size_t i = table->fresh; i-- > 0;)
		if (table->slots[i].pid == 0)
			table->freed[table->freed_count++] = i;
}

void children_destroy(struct children *table)
{
	if (table->boards != NULL)
		(void)munmap(table->boards, table->capacity * sizeof *table->boards);
	if (table->boards_fd >= 0)
		(void)close(table->boards_fd); /* a memfd: closing it cannot lose data */
	parent_only_free(table->slots, table->capacity * sizeof *table->slots);
	parent_only_free(table->freed, table->capacity * sizeof *table->freed);
	memset(table, 0, sizeof *table);
}

bool children_full(const struct children *table)
{
	return table->count >= table->capacity;
}

struct child *children_next_slot(struct children *table)
{
	if (children_full(table))
		return NULL;
	size_t index = table->freed_count > 0 ? table->freed[table->freed_count - 1] : table->fresh;
	struct child *slot = &table->slots[index];
	slot->board = &table->boards[index];
	slot->bytes = &slot->board->bytes;
	slot->retiring = false;
	memset(slot->board, 0, sizeof *slot->board);
	return slot;
}

void children_add(struct children *table, struct child *slot, pid_t pid,
		  const struct address *peer, const struct timespec *started)
{
	/* SLOT is the one children_next_slot returned: a freed one if any, else the next fresh one. */
	if (table->freed_count > 0)
		table->freed_count--;
	else
		table->fresh++;
	table->count++;
	slot->pid = pid;
	slot->peer = *peer;
	slot->started = *started;
}

/*
 * A linear scan over the slots ever used: as many as the most children alive
 * at once, and run once per ended child, which costs far less than the fork
 * that made it.
 */
struct child *children_find(struct children *table, pid_t pid)
{
	for (size_t i = 0; i < table->fresh; i++)
		if (table->slots[i].pid == pid)
			return &table->slots[i];
	return NULL;
}

static void children_remove(struct children *table, struct child *slot)
{
	slot->pid = 0;
	table->count--;
	table->freed[table->freed_count++] = (size_t)(slot - table->slots);
}

size_t children_signal_all(const struct children *table, int signo)
{
	size_t signalled = 0;
	for (size_t i = 0; i < table->fresh; i++) {
		/* ESRCH cannot happen for an unreaped child (a zombie still has its pid). */
		if (table->slots[i].pid > 0 && kill(table->slots[i].pid, signo) == 0)
			signalled++;
	}
	return signalled;
}

int children_reap(struct children *table, children_ended_fn *ended, void *arg)
{
	int reaped = 0;

	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0)
			return reaped; /* children remain, none has ended */
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECHILD ? reaped : -1;
		}
		reaped++;
		struct child *slot = children_find(table, pid);
		ended(slot, pid, status, arg);
		if (slot != NULL)
			children_remove(table, slot);
	}
}

char *children_status_text(int status, char *buf, size_t size)
{
	char name[32];

	if (WIFEXITED(status))
		snprintf(buf, size, "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, size, "killed by %s%s", sig_name(WTERMSIG(status), name, sizeof name),
			 WCOREDUMP(status) ? " (core dumped)" : "");
	else
		snprintf(buf, size, "wait status 0x%x", (unsigned)status);
	return buf;
}
