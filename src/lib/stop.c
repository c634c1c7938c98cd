/*
 * stop: the stop descriptor, a timerfd. See stop.h.
 */
#include "stop.h"

#include <poll.h>
#include <sys/timerfd.h>

int stop_open(void)
{
	return timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
}

int stop_raise(int fd, long ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct itimerspec now, due = {{0, 0}, {0, 0}};

	/* Expired: readable for good (nobody reads it), and its deadline cannot come sooner. */
	if (poll(&pfd, 1, 0) > 0)
		return 0;
	if (timerfd_gettime(fd, &now) != 0)
		return -1;
	long long left_ns = (long long)now.it_value.tv_sec * 1000000000LL + now.it_value.tv_nsec;
	long long wanted_ns = (long long)ms * 1000000LL;
	if (left_ns != 0 && left_ns <= wanted_ns)
		return 0; /* armed for sooner already */
	/* A zero it_value would disarm the timer: "now" is one nanosecond from now. */
	due.it_value.tv_sec = (time_t)(ms / 1000);
	due.it_value.tv_nsec = ms > 0 ? (ms % 1000) * 1000000L : 1;
	return timerfd_settime(fd, 0, &due, NULL);
}
