/*
 * weft/future.h — futures: the result of a task that runs elsewhere.
 *
 * What concurrent.futures.Future is to Python. A future is
 *
 *   PENDING --claim--> RUNNING --task returns 0--> DONE
 *      |                  \-----task returns rc != 0--> FAILED
 *      \--cancel--> CANCELLED
 *
 * and each state is reached at most once, by exactly one thread (every
 * transition is one compare-and-swap on the state word). A task is
 *
 *   int task(void *arg, void **result);
 *
 * returning 0 (and optionally storing a result pointer) or a negative errno
 * value. That value is what weft_future_result() returns to whoever asks:
 * the C form of Python re-raising the worker's exception in the caller.
 *
 * Waiting. result() and weft_wait() take absolute deadlines (weft/base.h)
 * and wait through weft's park/wake core: they block a thread today, and
 * the coroutine runtime makes the same calls suspend only a coroutine,
 * with no second future type. A pool worker waiting with WEFT_FOREVER for
 * a still-pending future of its own pool runs the task itself, inline,
 * instead of waiting (so nested submit-and-wait cannot deadlock a full
 * pool; see weft/pool.h). A poll (a deadline already past) never runs a
 * task, and a finite deadline is never overrun by running one: those
 * wait, and time out if no other worker gets to the task.
 *
 * Ownership (reference counts). A future is freed when its last reference
 * is released. weft_pool_submit() and weft_future_new() hand the caller one
 * reference, which the caller gives back with weft_future_release() once it
 * no longer needs the future (before or after it settles, from any thread).
 * A pool holds its own reference while the task is queued or running and
 * drops it when the task has settled, so a future may outlive its pool and
 * a caller may release a future it does not want to wait for. Anyone who
 * hands a future to another thread takes a reference for it first
 * (weft_future_retain). Every function below needs the caller to hold a
 * reference for the duration of the call; pointers passed to weft_wait()
 * and weft_as_completed_new() likewise. Futures are recycled through a
 * small per-thread cache, so submit does not call malloc in steady state.
 *
 * Thread-safety: every function is thread-safe; any number of threads may
 * wait on, cancel, add callbacks to and release the same future at once.
 * A weft_as_completed iterator is used by one thread at a time.
 *
 * Errors: -EINVAL for NULL arguments and bad modes (never a crash),
 * -ETIMEDOUT when the deadline passed, -ECANCELED for a cancelled future,
 * -ENOMEM, and whatever a task returned.
 */
#ifndef WEFT_FUTURE_H
#define WEFT_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_future weft_future;

/* A task: 0 and perhaps *result = something, or a negative errno value. */
typedef int weft_task_fn(void *arg, void **result);

enum weft_future_state {
	WEFT_FUTURE_PENDING = 0,
	WEFT_FUTURE_RUNNING = 1,
	WEFT_FUTURE_DONE = 2,	/* the task returned 0 */
	WEFT_FUTURE_FAILED = 3, /* the task returned an error */
	WEFT_FUTURE_CANCELLED = 4,
};

/*
 * A standalone future, settled by weft_future_set() rather than by a pool
 * (Python's Future() used directly: a promise). The caller holds one
 * reference. 0, -EINVAL (NULL fp) or -ENOMEM.
 */
WEFT_API int weft_future_new(weft_future **fp);

/*
 * Settle a standalone future: rc == 0 makes it DONE with `result`, any
 * other rc FAILED with rc. 0, -EALREADY if it had already settled
 * (or was cancelled), -EPERM for a future that belongs to a pool.
 */
WEFT_API int weft_future_set(weft_future *f, int rc, void *result);

/* Take one more reference. Returns f (NULL for NULL). */
WEFT_API weft_future *weft_future_retain(weft_future *f);
/* Give one reference back; the last one frees the future. NULL is fine. */
WEFT_API void weft_future_release(weft_future *f);

/*
 * Wait until the future settles or the deadline passes, then report:
 *   0           DONE; *result (if result is not NULL) gets the task's result
 *   rc != 0     FAILED: what the task returned
 *   -ECANCELED  CANCELLED
 *   -ETIMEDOUT  still pending or running at the deadline
 * A task may itself return -ETIMEDOUT or -ECANCELED; weft_future_state()
 * tells those apart. deadline 0 never waits (a poll).
 */
WEFT_API int weft_future_result(weft_future *f, void **result,
				int64_t deadline);

/* The state now (a snapshot); WEFT_FUTURE_PENDING for NULL. */
WEFT_API enum weft_future_state weft_future_state(weft_future *f);
/* DONE, FAILED or CANCELLED (Python's done()). false for NULL. */
WEFT_API bool weft_future_done(weft_future *f);

/*
 * Cancel a future that has not started: 0 if it is now cancelled (by this
 * call or an earlier one), -EBUSY if it is running or finished. A
 * cancelled task never runs; waiters wake with -ECANCELED. A running
 * coroutine's future (weft/coro.h) is different: cancel returns 0 and
 * asks the coroutine to stop — its blocking calls return -ECANCELED — and
 * the future settles with whatever the coroutine then returns.
 */
WEFT_API int weft_future_cancel(weft_future *f);

typedef void weft_done_fn(weft_future *f, void *arg);

/*
 * Call fn(f, arg) once the future settles, exactly once: by the thread
 * that settles it, or right now by the caller if it has already settled.
 * Callbacks run in the order they were added, after every waiter
 * (result, weft_wait, as_completed) has been woken: no waiter ever waits
 * for a callback to finish.
 * fn must not block for long (it runs on a pool worker) and must not
 * release the caller's reference it did not take. 0, -EINVAL, -ENOMEM.
 */
WEFT_API int weft_future_add_done_callback(weft_future *f, weft_done_fn *fn,
					   void *arg);

/* ---- waiting for many futures ---- */

enum weft_wait_mode {
	WEFT_FIRST_COMPLETED = 1, /* any settled */
	WEFT_FIRST_EXCEPTION = 2, /* any FAILED, or else all settled */
	WEFT_ALL_COMPLETED = 3,	  /* all settled */
};

/*
 * Wait until the condition `mode` holds for fs[0..n-1] (n >= 1, no NULL
 * entries) or the deadline passes. Returns the number of settled futures
 * (>= 1) when the condition holds, -ETIMEDOUT when it did not by the
 * deadline (look at each with weft_future_done), -EINVAL, -ENOMEM (more
 * than 16 futures with a FIRST_* mode allocates one watch record each).
 * Unlike Python's wait() this does not build the done/not-done sets: scan
 * the array. Cancelled futures count as settled, not as exceptions.
 */
WEFT_API int weft_wait(weft_future *const *fs, size_t n,
		       enum weft_wait_mode mode, int64_t deadline);

/*
 * as_completed: yields each future of an array once, as it settles
 * (already-settled ones first).
 *
 *   weft_as_completed *it;
 *   weft_as_completed_new(&it, futures, n);
 *   while ((rc = weft_as_completed_next(it, &f, deadline)) == 0)
 *           use(weft_future_result(f, &res, 0));
 *   // rc: -ENOENT (every future yielded) or -ETIMEDOUT (call again later)
 *   weft_as_completed_free(it);
 *
 * The iterator takes a reference on every future and gives them back in
 * _free; the futures it yields are borrowed (retain one to keep it longer).
 * An array entry listed twice is yielded twice.
 */
typedef struct weft_as_completed weft_as_completed;

/* 0 and *itp; -EINVAL (NULL itp or fs, n == 0, a NULL entry), -ENOMEM. */
WEFT_API int weft_as_completed_new(weft_as_completed **itp,
				   weft_future *const *fs, size_t n);
/* 0 and *fp, -ENOENT when all were yielded, -ETIMEDOUT, -EINVAL. */
WEFT_API int weft_as_completed_next(weft_as_completed *it, weft_future **fp,
				    int64_t deadline);
/* Free the iterator (before or after it yielded everything). NULL is fine. */
WEFT_API void weft_as_completed_free(weft_as_completed *it);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_FUTURE_H */
