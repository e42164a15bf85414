/*
 * weft/base.h — time, deadlines and error codes shared by every weft module.
 *
 * Conventions used by the whole library (see README.md):
 *   - A function that can fail returns int: 0 (or a count) on success, a
 *     negative errno value on failure. weft never sets errno, never prints,
 *     never exits or aborts on bad input.
 *   - Blocking calls take an absolute deadline in nanoseconds on the
 *     monotonic clock: weft_now() + 2 * WEFT_SEC. WEFT_FOREVER (-1) waits
 *     forever; every other value is a time, and one already past (0, or
 *     any other negative value) never waits: the call looks once and
 *     returns -ETIMEDOUT if it would have to wait. One rule in every
 *     module; a call that waits on others passes its deadline down, so a
 *     caller's limit holds end to end.
 *   - Out-pointers come before the deadline: weft_queue_get(q, &item,
 *     deadline), weft_proc_wait(p, &status, deadline).
 *   - Try-variants (weft_mutex_trylock, weft_queue_try_get, ...) never
 *     wait; "would block" is always -EAGAIN. -EBUSY means "in use" (a
 *     destroy of an object still locked or waited on).
 *   - A NULL handle gives -EINVAL, never a crash; accessors that cannot
 *     return an error document the value they give for NULL.
 *
 * Thread-safety: everything here is thread-safe and async-signal-safe except
 * weft_strerror, which is thread-safe but returns a static string.
 */
#ifndef WEFT_BASE_H
#define WEFT_BASE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#define WEFT_NSEC INT64_C(1)
#define WEFT_USEC INT64_C(1000)
#define WEFT_MSEC INT64_C(1000000)
#define WEFT_SEC INT64_C(1000000000)

/* A deadline that never expires. */
#define WEFT_FOREVER INT64_C(-1)

/* Nanoseconds on the monotonic clock (CLOCK_MONOTONIC), never negative. */
WEFT_API int64_t weft_now(void);

/*
 * A deadline `ns` nanoseconds from now; ns < 0 gives WEFT_FOREVER.
 * Saturates instead of overflowing.
 */
WEFT_API int64_t weft_deadline_in(int64_t ns);

/*
 * Milliseconds left until `deadline`, rounded up, for poll()-style timeouts:
 * -1 for WEFT_FOREVER, 0 when already past (any other negative value
 * included), at most INT32_MAX.
 */
WEFT_API int weft_deadline_ms(int64_t deadline);

/*
 * A short English name for a weft return code: 0 gives "success", a negative
 * errno its strerror text ("No such file or directory"). Returns a static
 * string; never NULL, never allocates.
 */
WEFT_API const char *weft_strerror(int rc);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_BASE_H */
