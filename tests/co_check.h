/*
 * Checks inside coroutines. cmocka's assertions leave a failing test by
 * longjmp, which must never cross from a coroutine's stack (or a loop
 * thread) to the test's: inside coroutines a failed CO_CHECK records the
 * first failure and the test asserts co_ok() once weft_run has returned.
 */
#ifndef WEFT_TEST_CO_CHECK_H
#define WEFT_TEST_CO_CHECK_H

#include <stdatomic.h>
#include <stdio.h>

static _Atomic int co_failures;

#define CO_CHECK(cond)                                                  \
	do {                                                            \
		if (!(cond) && atomic_fetch_add(&co_failures, 1) < 5)   \
			fprintf(stderr, "%s:%d: CO_CHECK(%s) failed\n", \
				__FILE__, __LINE__, #cond);             \
	} while (0)

#define CO_EQ(a, b)                                                      \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ != b_ && atomic_fetch_add(&co_failures, 1) < 5)   \
			fprintf(stderr, "%s:%d: %s == %lld, not %lld\n", \
				__FILE__, __LINE__, #a, a_, b_);         \
	} while (0)

/* True if no CO_CHECK failed since the last call; resets the count. */
static inline int co_ok(void)
{
	return atomic_exchange(&co_failures, 0) == 0;
}

#endif
