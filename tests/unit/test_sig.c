/*
 * test_sig: unit tests of the self-pipe signal module (src/lib/sig.h) and of
 * the log throttle (src/lib/throttle.h), which the servers' main loops use.
 *
 * What is checked: a caught signal is seen through the descriptor and
 * sig_next, once; a sig_catch that fails part way (SIGKILL cannot be caught)
 * leaves every disposition as it was and no descriptor open; sig_reset puts
 * the defaults back. The throttle says the first occurrence at once, then at
 * most one line per interval with the count, and starts afresh after a run ends.
 *
 * Run: build/tests/unit/test_sig
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/sig.h"
#include "lib/throttle.h"

/* The number of descriptors this process has open. */
static size_t open_descriptors(void)
{
	size_t count = 0;
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count - 1; /* the directory's own descriptor */
}

/* The handler now set for SIGNO. */
static void (*disposition(int signo))(int)
{
	struct sigaction action;
	assert_int_equal(sigaction(signo, NULL, &action), 0);
	return action.sa_handler;
}

static void test_caught_signal_arrives_on_the_descriptor(void **state)
{
	(void)state;
	static const int signals[] = {SIGUSR1, SIGUSR2};
	int fd = sig_catch(signals, 2);
	assert_true(fd >= 0);
	assert_int_equal(raise(SIGUSR2), 0);
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	sig_drain();
	assert_int_equal(sig_next(), SIGUSR2);
	assert_int_equal(sig_next(), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0); /* drained */
	assert_int_equal(sig_reset(), 0);
	assert_true(disposition(SIGUSR1) == SIG_DFL);
}

static void test_failed_catch_changes_nothing(void **state)
{
	(void)state;
	assert_int_equal(sig_set(SIGUSR1, SIG_IGN), 0);
	size_t before = open_descriptors();
	/* SIGUSR1 and SIGTERM are set, then SIGKILL fails: the first two must be undone. */
	static const int signals[] = {SIGUSR1, SIGTERM, SIGKILL, SIGUSR2};
	errno = 0;
	assert_int_equal(sig_catch(signals, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(disposition(SIGUSR1) == SIG_IGN);
	assert_true(disposition(SIGTERM) == SIG_DFL);
	assert_true(disposition(SIGUSR2) == SIG_DFL);
	assert_int_equal(open_descriptors(), before);
	assert_int_equal(sig_next(), 0);
	/* And the module still works afterwards. */
	static const int one[] = {SIGUSR2};
	int fd = sig_catch(one, 1);
	assert_true(fd >= 0);
	assert_int_equal(raise(SIGUSR2), 0);
	sig_drain();
	assert_int_equal(sig_next(), SIGUSR2);
	assert_int_equal(sig_reset(), 0);
	assert_int_equal(sig_set(SIGUSR1, SIG_DFL), 0);
	assert_int_equal(open_descriptors(), before);
}

static struct timespec at(double seconds)
{
	return (struct timespec){.tv_sec = (time_t)seconds,
				 .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
}

static void test_throttle(void **state)
{
	(void)state;
	struct throttle throttle = {0};
	unsigned long count = 0;
	double seconds = -1;

	assert_true(throttle_due(&throttle, at(100), 60, &count, &seconds));
	assert_int_equal(count, 1);
	assert_true(seconds == 0);
	for (int i = 1; i < 10; i++)
		assert_false(throttle_due(&throttle, at(100 + i), 60, &count, &seconds));
	/* 60 s after the first line: one line for the 9 held and this one. */
	assert_true(throttle_due(&throttle, at(160), 60, &count, &seconds));
	assert_int_equal(count, 10);
	assert_true(seconds >= 59.9 && seconds <= 60.1);
	assert_false(throttle_due(&throttle, at(161), 60, &count, &seconds));
	assert_false(throttle_due(&throttle, at(162), 60, &count, &seconds));
	/* The run ends: two were not reported; the next occurrence is said at once. */
	assert_int_equal(throttle_end(&throttle, at(170), &seconds), 2);
	assert_true(seconds >= 9.9 && seconds <= 10.1);
	assert_true(throttle_due(&throttle, at(171), 60, &count, &seconds));
	assert_int_equal(count, 1);
	assert_int_equal(throttle_end(&throttle, at(172), &seconds), 0);
}

/* sig_name's own table agrees with the C library's names (glibc's sigabbrev_np, here in the tests). */
static void test_signal_names(void **state)
{
	(void)state;
	char name[32], expected[32];
	for (int signo = 1; signo < SIGRTMIN; signo++) {
		const char *abbreviation = sigabbrev_np(signo);
		if (abbreviation == NULL || signo == SIGIO)
			continue; /* glibc calls 29 SIGPOLL; forknet says SIGIO, as kill -l does */
		snprintf(expected, sizeof expected, "SIG%s", abbreviation);
		assert_string_equal(sig_name(signo, name, sizeof name), expected);
	}
	assert_string_equal(sig_name(SIGIO, name, sizeof name), "SIGIO");
	assert_string_equal(sig_name(SIGRTMIN + 2, name, sizeof name), "SIGRTMIN+2");
	assert_string_equal(sig_name(0, name, sizeof name), "signal 0");
	assert_string_equal(sig_name(200, name, sizeof name), "signal 200");
	assert_string_equal(sig_name(SIGKILL, name, 5), "SIGK"); /* cut, and terminated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caught_signal_arrives_on_the_descriptor),
		cmocka_unit_test(test_failed_catch_changes_nothing),
		cmocka_unit_test(test_throttle),
		cmocka_unit_test(test_signal_names),
	};
	return cmocka_run_group_tests_name("sig", tests, NULL, NULL);
}
