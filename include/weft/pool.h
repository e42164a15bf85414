/*
 * weft/pool.h — a thread pool executor: concurrent.futures.ThreadPoolExecutor
 * in C.
 *
 *   weft_pool *pool;
 *   weft_pool_new(&pool, NULL);               // min(32, cores + 4) workers
 *   weft_future *f;
 *   weft_pool_submit(pool, task, arg, &f);    // fan-out
 *   rc = weft_future_result(f, &res, WEFT_FOREVER);   // fan-in: 0 or the
 *   weft_future_release(f);                   //   task's error
 *   weft_pool_free(pool);                     // shutdown(wait) + free
 *
 * Scheduling. Each worker owns a bounded lock-free ring of tasks. A thread
 * outside the pool submits round-robin into the workers' rings (one CAS,
 * no lock, no syscall unless a worker is asleep); a task submitting more
 * tasks pushes onto its own worker's ring. An idle worker takes work from
 * its ring, then from the shared overflow list (used only when every ring
 * is full), then steals from the other workers' rings; it spins briefly,
 * then parks. A submit wakes a worker (one futex wake) only when none is
 * spinning and one is actually parked. Submit never blocks: the overflow
 * list grows as needed.
 *
 * Nested waits. A task may submit tasks to its own pool and wait for them:
 * when a worker waits with WEFT_FOREVER for the result of (or weft_wait()s,
 * as_completed_next()s, maps on) a future of its own pool that no worker
 * has started, it claims the task and runs it inline. A future that is
 * already running is waited for; it is making progress on another worker,
 * so a pool of any size (1 included) cannot deadlock on nested
 * submit-and-wait. A poll never runs a task and a finite deadline is never
 * overrun by running one inline: such a wait times out if no other worker
 * starts the task in time (on a pool of 1, it cannot). (Tasks that wait for
 * each other by other means, e.g. an event set by a task queued behind
 * them, still need enough workers, as in Python.)
 *
 * Shutdown. weft_pool_shutdown(pool, wait, cancel_pending): further submits
 * fail with -ESHUTDOWN; every task accepted before is either run or, with
 * cancel_pending, cancelled if it had not started — its future says which
 * (DONE/FAILED or CANCELLED). With cancel_pending the cancelling is done
 * before shutdown returns (Python's cancel_futures=True), wait or not:
 * then no future of the pool is PENDING any more, including the children
 * that running tasks submitted, and a running task waiting for such a
 * child gets -ECANCELED (it does not run it inline). Callbacks of the
 * futures cancelled so run on the thread calling shutdown. Tasks
 * submitted without a future (fut NULL) are simply not run when
 * cancelled. wait == true returns once every worker has exited (so every
 * accepted task has settled); it fails with -EDEADLK from one of the
 * pool's own tasks (after starting the shutdown and the cancelling).
 *
 * Ownership. weft_pool_free() shuts the pool down (wait, no cancel) if
 * that was not done, joins the workers and frees the pool. It must not be
 * called from one of the pool's own tasks (weft then only shuts down and
 * leaks the pool rather than deadlock). Futures stay valid after the pool
 * is freed (they are reference counted: weft/future.h).
 *
 * Thread-safety: every function but _new and _free is thread-safe and may
 * be called from any thread, including the pool's own tasks.
 *
 * Errors: -EINVAL (NULL pool or function, max_workers < 0 or > 1024),
 * -ENOMEM, -EAGAIN (a worker thread could not be started: thread limit),
 * -ESHUTDOWN (submit after shutdown), an initializer's error (see below).
 */
#ifndef WEFT_POOL_H
#define WEFT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/base.h"
#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_pool weft_pool;

/* The most workers a pool may have. */
#define WEFT_POOL_MAX_WORKERS 1024

struct weft_pool_options {
	/* Worker threads; 0: Python's default, min(32, cores + 4). */
	int max_workers;
	/*
	 * Called once in each worker thread before it runs tasks, with
	 * initarg and the worker's index (0 .. max_workers-1). If it returns
	 * non-zero, the pool is broken (Python's BrokenThreadPool): it shuts
	 * down, queued tasks fail with that code instead of running, and
	 * submit returns that code from then on.
	 */
	int (*initializer)(void *initarg, int worker);
	void *initarg;
	/* Thread name prefix (workers are "<prefix>-<i>", at most 15 chars);
	 * NULL: "weft-pool". */
	const char *thread_name_prefix;
};

/* Start a pool; opt NULL means all defaults. */
WEFT_API int weft_pool_new(weft_pool **pp, const struct weft_pool_options *opt);

/*
 * Queue fn(arg, &result) to run on a worker. With fp non-NULL, *fp gets a
 * future holding one reference for the caller (weft_future_release it);
 * with fp NULL the task runs detached (its return value is dropped).
 * 0, -EINVAL, -ENOMEM, -ESHUTDOWN, or a broken pool's initializer error.
 * Never blocks.
 */
WEFT_API int weft_pool_submit(weft_pool *pool, weft_task_fn *fn, void *arg,
			      weft_future **fp);

/*
 * Python's map: run fn(args[i], &results[i]) for i in 0..n-1 on the pool,
 * and collect the results in input order. Returns 0 when every task
 * returned 0. Otherwise returns the first error in input order (or
 * -ETIMEDOUT when the deadline passed first); tasks not yet started are
 * then cancelled, and map waits for the ones already running to finish,
 * but never past its deadline: map always returns by its deadline (as
 * Python's map, which cancels and does not wait). The args and results
 * arrays are never touched after map returns (each task gets the value
 * args[i], and results[i] is written by map itself). With WEFT_FOREVER,
 * no task runs any more when map returns. When the deadline cut map
 * short, tasks already running go on: whatever args[i] points to must
 * stay valid until they end (weft_pool_shutdown(pool, true, ...) waits
 * for them); their futures are freed when they settle (nothing leaks).
 * From one of the pool's own tasks, map passes its deadline down: only
 * with WEFT_FOREVER does it run pending tasks inline (see "Nested
 * waits"). results may be NULL. n == 0 returns 0.
 */
WEFT_API int weft_pool_map(weft_pool *pool, weft_task_fn *fn, void *const *args,
			   void **results, size_t n, int64_t deadline);

/* See "Shutdown" above. 0, -EINVAL, -EDEADLK. Idempotent. */
WEFT_API int weft_pool_shutdown(weft_pool *pool, bool wait,
				bool cancel_pending);

/* See "Ownership" above. NULL is fine. */
WEFT_API void weft_pool_free(weft_pool *pool);

/* The number of worker threads (> 0), or -EINVAL. */
WEFT_API int weft_pool_max_workers(weft_pool *pool);

/* Python's default max_workers here: min(32, usable cores + 4). */
WEFT_API int weft_pool_default_workers(void);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_POOL_H */
