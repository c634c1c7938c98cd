/*
 * io: reading and writing byte streams completely and safely. Short reads and
 * writes, EINTR and (on non-blocking descriptors) EAGAIN are handled here so
 * that callers see "all or an error". Each call can be given a cancel
 * descriptor: when it becomes readable the call gives up with ECANCELED, so a
 * server can stop a transfer that would otherwise block. Cancellation needs a
 * non-blocking FD (a blocking call cannot be woken); on a blocking FD the
 * cancel descriptor is only looked at before the call.
 */
#ifndef FORKNET_IO_H
#define FORKNET_IO_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Reads at most LENGTH bytes from FD. Returns the count (0 at end of stream),
 * or -1 with errno set; ECANCELED when CANCEL_FD (or -1 for none) became
 * readable before any data arrived.
 */
ssize_t io_read(int fd, void *buf, size_t length, int cancel_fd);

/*
 * Writes all LENGTH bytes of BUF to FD, however many write calls it takes.
 * Returns 0, or -1 with errno set (ECANCELED as for io_read); on error an
 * unknown prefix of BUF may have been written.
 */
int io_write_all(int fd, const void *buf, size_t length, int cancel_fd);

/* Sets or clears O_NONBLOCK on FD; returns 0 or -1. */
int io_set_nonblocking(int fd, int on);

#endif
