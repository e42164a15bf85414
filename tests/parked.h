/*
 * Waiting until threads really sleep in park (the futex), through park's
 * test-only count: a test that claims to exercise the slow path (a wake
 * of a parked waiter) waits for this instead of sleeping and hoping.
 */
#ifndef WEFT_TEST_PARKED_H
#define WEFT_TEST_PARKED_H

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#include "park/park.h"
#include "weft/base.h"
#include "weft/coro.h"

/* Count sleepers from the start of every test program that includes this. */
__attribute__((constructor)) static void count_sleepers(void)
{
	weft__park_count_sleepers();
}

/*
 * Until at least n waiters sleep in park (threads in the futex, coroutines
 * suspended); fails the test after 60 s. From a coroutine it yields to the
 * loop's others, so they can get to their waits.
 */
static inline void wait_sleepers(uint32_t n)
{
	int64_t dl = weft_now() + 60 * WEFT_SEC;

	while (weft__park_sleepers() < n) {
		if (weft_now() > dl) {
			fprintf(stderr, "wait_sleepers: %u of %u asleep\n",
				weft__park_sleepers(), n);
			abort();
		}
		weft_yield();
	}
}

#endif
