/*
 * deadline.h — the one deadline rule, for every module (private).
 *
 * weft/base.h states it: WEFT_FOREVER (-1) never expires; any other value
 * is an absolute time on the monotonic clock and has expired once
 * weft_now() reaches it. weft_now() is never negative, so 0 and every
 * negative value other than WEFT_FOREVER have expired already: a call
 * given one polls, it never waits. Nothing in weft compares a deadline
 * with anything but through these helpers.
 */
#ifndef WEFT_DEADLINE_H
#define WEFT_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "weft/base.h"

static inline bool weft__forever(int64_t deadline)
{
	return deadline == WEFT_FOREVER;
}

/* Expired at time `now` (a weft_now() reading the caller already has). */
static inline bool weft__expired_at(int64_t deadline, int64_t now)
{
	return deadline != WEFT_FOREVER && now >= deadline;
}

/* Expired now. Polls (deadline <= 0) never read the clock. */
static inline bool weft__expired(int64_t deadline)
{
	if (deadline == WEFT_FOREVER)
		return false;
	return deadline <= 0 || weft_now() >= deadline;
}

/*
 * Nanoseconds left (> 0), 0 once expired, INT64_MAX for WEFT_FOREVER:
 * for the relative timeouts the kernel wants (ppoll, epoll).
 */
static inline int64_t weft__left(int64_t deadline)
{
	int64_t left;

	if (deadline == WEFT_FOREVER)
		return INT64_MAX;
	if (deadline <= 0)
		return 0;
	left = deadline - weft_now();
	return left > 0 ? left : 0;
}

static inline struct timespec weft__timespec(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / WEFT_SEC), (long)(ns % WEFT_SEC) };

	return ts;
}

#endif /* WEFT_DEADLINE_H */
