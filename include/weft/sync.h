/*
 * weft/sync.h — mutex, condition variable, event and counting semaphore.
 *
 * Python's threading.Lock / Condition / Event / Semaphore, in C, each
 * blocking call with an absolute deadline (weft/base.h). All four wait
 * through weft's park/wake core, so they never call pthread or futex
 * themselves, and (once coroutines exist) the same objects block a thread
 * or suspend just a coroutine, whichever is calling.
 *
 * Storage: all four are plain structs the caller owns (static, global,
 * inside another struct, on the stack), initialised with the _INIT macro or
 * the _init() function, never allocated by weft. Their fields are private.
 * They must not be moved or copied while in use. _destroy() only checks
 * (-EBUSY when still locked or waited on); nothing needs freeing.
 *
 * Thread-safety: every function here is thread-safe on the same object,
 * except _init/_destroy, which need the object unused.
 *
 * Errors: -EINVAL for a NULL object (never a crash), -ETIMEDOUT when the
 * deadline passed, -EAGAIN from the try-variants (would block), -EBUSY
 * from _destroy of an object in use, -EPERM from unlocking a mutex that is
 * not locked.
 *
 * Fairness (see docs/sync-and-queues.md):
 *   - mutex: not FIFO. An arriving thread may take the lock before a woken
 *     waiter (barging), like pthread's default mutex and Go's normal mode;
 *     this keeps throughput high and the uncontended path one CAS. Waiters
 *     are woken in FIFO order, one per unlock.
 *   - condition: signal wakes the longest-waiting thread; wake-ups may be
 *     spurious, so always wait in a loop on your predicate.
 *   - event: set wakes everyone waiting.
 *   - semaphore: not FIFO (barging, as the mutex); each release of n units
 *     wakes up to n waiters in FIFO order.
 */
#ifndef WEFT_SYNC_H
#define WEFT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The objects' storage. Their layout is private to the library (it holds
 * atomics and park/wake's wait list); callers see only opaque words of the
 * right size and alignment, so this header is plain storage that C++ can
 * include too. All zero is the initial state of each, except
 * a semaphore's count, which lives in the first word.
 */
#define WEFT__SYNC_WORDS 4

/* ---- mutex: threading.Lock (not recursive) ---- */

typedef struct weft_mutex {
	uint64_t weft__opaque[WEFT__SYNC_WORDS];
} weft_mutex;

/* clang-format off */
#define WEFT_MUTEX_INIT {{0}}
/* clang-format on */

WEFT_API int weft_mutex_init(weft_mutex *m);
/* -EBUSY if locked or waited on. */
WEFT_API int weft_mutex_destroy(weft_mutex *m);
/* Lock, waiting as long as it takes. 0 or -EINVAL. */
WEFT_API int weft_mutex_lock(weft_mutex *m);
/* Lock before `deadline`: 0, -ETIMEDOUT or -EINVAL. */
WEFT_API int weft_mutex_lock_until(weft_mutex *m, int64_t deadline);
/* Lock if free: 0 or -EAGAIN. */
WEFT_API int weft_mutex_trylock(weft_mutex *m);
/*
 * Unlock: 0, or -EPERM if it was not locked. As with threading.Lock, any
 * thread may unlock a locked mutex (there is no owner).
 */
WEFT_API int weft_mutex_unlock(weft_mutex *m);
/* false for NULL. */
WEFT_API bool weft_mutex_is_locked(weft_mutex *m);

/* ---- condition variable: threading.Condition ---- */

typedef struct weft_cond {
	uint64_t weft__opaque[WEFT__SYNC_WORDS];
} weft_cond;

/* clang-format off */
#define WEFT_COND_INIT {{0}}
/* clang-format on */

WEFT_API int weft_cond_init(weft_cond *c);
/* -EBUSY if someone waits on it. */
WEFT_API int weft_cond_destroy(weft_cond *c);
/*
 * With `m` locked by the caller: unlock it, wait for a signal or the
 * deadline, lock it again (always, even on -ETIMEDOUT; waiting for the
 * mutex itself is not bounded by the deadline, as with pthread). Returns 0
 * (signalled, or spuriously: re-check your predicate) or -ETIMEDOUT.
 */
WEFT_API int weft_cond_wait(weft_cond *c, weft_mutex *m, int64_t deadline);
/* Wake the longest waiter, if any. The mutex need not be held. */
WEFT_API int weft_cond_signal(weft_cond *c);
/* Wake every waiter. */
WEFT_API int weft_cond_broadcast(weft_cond *c);

/* ---- event: threading.Event ---- */

typedef struct weft_event {
	uint64_t weft__opaque[WEFT__SYNC_WORDS];
} weft_event;

/* clang-format off */
#define WEFT_EVENT_INIT {{0}}
/* clang-format on */

WEFT_API int weft_event_init(weft_event *e);
WEFT_API int weft_event_destroy(weft_event *e);
/* Set the flag and wake every waiter. Stays set until cleared. */
WEFT_API int weft_event_set(weft_event *e);
WEFT_API int weft_event_clear(weft_event *e);
/* false for NULL. */
WEFT_API bool weft_event_is_set(weft_event *e);
/* Wait until the flag is set: 0 (set), -ETIMEDOUT. */
WEFT_API int weft_event_wait(weft_event *e, int64_t deadline);

/* ---- counting semaphore: threading.Semaphore ---- */

typedef struct weft_sem {
	uint64_t weft__opaque[WEFT__SYNC_WORDS];
} weft_sem;

/* clang-format off */
#define WEFT_SEM_INIT(n) {{(uint64_t)(n)}}
/* clang-format on */

/* A semaphore holding `value` units (at most INT32_MAX). */
WEFT_API int weft_sem_init(weft_sem *s, unsigned value);
WEFT_API int weft_sem_destroy(weft_sem *s);
/* Take one unit, waiting until `deadline`: 0, -ETIMEDOUT. */
WEFT_API int weft_sem_acquire(weft_sem *s, int64_t deadline);
/* Take one unit if there is one: 0 or -EAGAIN. */
WEFT_API int weft_sem_try_acquire(weft_sem *s);
/* Give back n units (n >= 1), waking up to n waiters. -EOVERFLOW past INT32_MAX. */
WEFT_API int weft_sem_release(weft_sem *s, unsigned n);
/* Units available now (a snapshot); -EINVAL for NULL. */
WEFT_API int weft_sem_value(weft_sem *s);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_SYNC_H */
