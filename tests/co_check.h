/*
 * Checks inside coroutines, and running a test's main coroutine.
 *
 * cmocka's assertions leave a failing test by longjmp, which must never
 * cross from a coroutine's stack (or a loop thread) to the test's. Inside
 * coroutines CK/CKEQ count and print a failure; the test asserts once
 * weft_run has returned (run_in does, or co_ok()).
 */
#ifndef WEFT_TEST_CO_CHECK_H
#define WEFT_TEST_CO_CHECK_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "weft/coro.h"

static atomic_int co_failures;

static inline void ck_fail(const char *file, int line, const char *what,
			   long long a, long long b, int vals)
{
	if (atomic_fetch_add(&co_failures, 1) >= 20)
		return; /* enough said */
	if (vals)
		fprintf(stderr, "%s:%d: check failed: %s (%lld vs %lld)\n",
			file, line, what, a, b);
	else
		fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
}

#define CK(c)                                                     \
	do {                                                      \
		if (!(c))                                         \
			ck_fail(__FILE__, __LINE__, #c, 0, 0, 0); \
	} while (0)
#define CKEQ(a, b)                                                            \
	do {                                                                  \
		long long a_ = (long long)(a), b_ = (long long)(b);           \
		if (a_ != b_)                                                 \
			ck_fail(__FILE__, __LINE__, #a " == " #b, a_, b_, 1); \
	} while (0)

/* True if no check failed since the last call; resets the count. */
static inline int co_ok(void)
{
	return atomic_exchange(&co_failures, 0) == 0;
}

/*
 * Test hook (src/coro/sched.h): kicks that found their coroutine queued
 * with a kick already pending — two kicks for one wait. Must stay 0.
 */
uint64_t weft__coro_double_kicks(void);

/* weft_run(fn, arg) on `loops` loops: it returns 0, no check failed, no
 * double kick. */
static inline void run_in(weft_task_fn *fn, void *arg, unsigned loops)
{
	uint64_t kicks = weft__coro_double_kicks();
	int rc;

	atomic_store(&co_failures, 0);
	rc = weft_run(fn, arg, NULL, &(weft_loops_opts){ .loops = loops });
	if (rc)
		fprintf(stderr, "weft_run (loops=%u): %s\n", loops,
			weft_strerror(rc));
	assert_int_equal(rc, 0);
	assert_true(co_ok());
	assert_int_equal(weft__coro_double_kicks(), kicks);
}

/* On one loop, then on two. */
static inline void run_both(weft_task_fn *fn, void *arg)
{
	run_in(fn, arg, 1);
	run_in(fn, arg, 2);
}

#endif
