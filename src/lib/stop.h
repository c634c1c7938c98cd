/*
 * stop: the descriptor that tells a service to give up its connection. It
 * becomes readable at the stop's deadline and stays readable from then on,
 * however many threads or loops poll it, unlike the signal pipe, which one
 * reader drains. It is a timerfd on the monotonic clock that is never read:
 * raising the stop now or after a delay is arming the timer, and an earlier
 * deadline always wins over a later one.
 */
#ifndef FORKNET_STOP_H
#define FORKNET_STOP_H

/* Opens the descriptor, close-on-exec, not raised. Returns it, or -1 with errno set. */
int stop_open(void);

/*
 * Raises FD's stop in MS milliseconds (0: now), unless it is due sooner
 * already. Only system calls: safe in a signal handler. Returns 0 or -1.
 */
int stop_raise(int fd, long ms);

#endif
