/*
 * Helpers every weft test uses, on top of cmocka: a leak check that counts
 * open fds and children before and after each test (libuv's
 * MAKE_VALGRIND_HAPPY, for fds and zombies).
 */
#ifndef WEFT_TEST_CHECK_H
#define WEFT_TEST_CHECK_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Open fds of this process (the directory stream's own fd excluded). */
static inline int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* True when this process has no child at all: none running, no zombie. */
static inline int no_children_left(void)
{
	siginfo_t si = { 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 &&
	       errno == ECHILD;
}

static int check_fds_at_start;

static inline int leak_setup(void **state)
{
	(void)state;
	check_fds_at_start = count_open_fds();
	return 0;
}

/* Fails the test if it left an fd open or a child behind. */
static inline int leak_teardown(void **state)
{
	int now = count_open_fds();

	(void)state;
	if (now != check_fds_at_start) {
		fprintf(stderr, "fd leak: %d open before the test, %d after\n",
			check_fds_at_start, now);
		return -1;
	}
	if (!no_children_left()) {
		fprintf(stderr, "a child (running or zombie) was left "
				"behind\n");
		return -1;
	}
	return 0;
}

#define LEAK_CHECKED(f) \
	cmocka_unit_test_setup_teardown(f, leak_setup, leak_teardown)

#endif
