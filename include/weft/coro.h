/*
 * weft/coro.h — coroutines: thousands of tasks in flight on a few threads
 * (Effective Python item 60; Python's asyncio, Go's goroutines, libdill).
 *
 *   static int handle(void *arg, void **result) {      // a weft_task_fn
 *           ... weft_read(fd, buf, n, deadline) ...      // suspends only
 *           return 0;                                    //   this coroutine
 *   }
 *   static int main_coro(void *arg, void **result) {
 *           weft_group *g;
 *           weft_group_new(&g, WEFT_GROUP_CANCEL_ON_ERROR);
 *           for (i = 0; i < n; i++)
 *                   weft_group_spawn(g, NULL, handle, conns[i], NULL);
 *           rc = weft_group_wait(g, WEFT_FOREVER); // all done; 1st error
 *           weft_group_free(g);
 *           return rc;
 *   }
 *   rc = weft_run(main_coro, NULL, NULL, NULL);          // asyncio.run
 *
 * One blocking API. Every blocking call in weft — queue get/put, mutex,
 * condition, event, semaphore, future result, weft_wait, as_completed,
 * process wait and communicate, weft_read/write/accept/connect/sleep —
 * suspends only the calling coroutine when made from one, and blocks the
 * thread when made from a plain thread. The same queue, mutex or future is
 * shared freely between coroutines and threads, and a wake-up crosses
 * from any thread to any coroutine. A coroutine's handle is an ordinary
 * weft_future (weft/future.h): await it from a coroutine or a thread.
 *
 * Threads. weft_run() runs one event loop per thread on `loops` threads
 * (the calling thread is one of them). New coroutines start on the loop
 * that spawned them, and an idle loop takes coroutines that have not
 * started yet from a busy one. A coroutine never changes thread once it
 * has started: errno, thread-locals and a C library's per-thread caches
 * stay valid in user code. Coroutines on one loop run one at a time and
 * switch only inside weft's blocking calls (and weft_yield): code between
 * two such calls runs without interruption by its loop's other
 * coroutines — but with several loops, coroutines on other threads run in
 * parallel, so shared data still needs a lock (a weft_mutex suspends the
 * coroutine, never the loop).
 *
 * Cancellation. weft_future_cancel() on a coroutine's future stops it: a
 * coroutine that has not started never runs (its future is CANCELLED); a
 * running one gets -ECANCELED from the blocking call it is suspended in,
 * or from the next one it makes, and from every one after (cancellation
 * is sticky, so a coroutine that ignores it cannot block its group
 * forever). Nothing unwinds behind the coroutine's back: its cleanup code
 * runs normally, and whatever it returns settles its future (FAILED with
 * -ECANCELED if it returns that). A coroutine can ask weft_cancelled().
 *
 * Blocking the loop. A coroutine that calls a blocking function weft does
 * not know (read() on a blocking fd, sleep(), a long computation) holds
 * its whole loop. Hand such work to weft_to_thread().
 *
 * Stacks. Each coroutine has its own stack: WEFT_STACK_GUARDED (default,
 * 256 KiB, a guard page below: an overflow is a clean SIGSEGV) or
 * WEFT_STACK_PACKED (stacks side by side, any size from 1 KiB: a million
 * coroutines fit in memory and in the kernel's mapping limit, and an
 * overflow corrupts the neighbour — for small coroutines of known depth).
 * Only touched pages cost memory. See docs/coroutines.md for figures.
 *
 * Scheduling seed. With WEFT_SCHED_SEED=N in the environment (or
 * weft_loops_opts.seed), weft_run() uses one loop and runs ready coroutines
 * in an order drawn from a PRNG seeded with N: a test that fails under
 * one interleaving replays it exactly (as long as its coroutines do not
 * race with outside threads or the clock).
 *
 * fork(): the child of a process running weft_run() gets no loops and no
 * coroutines; call only async-signal-safe functions there or exec.
 *
 * Thread-safety: weft_run may run on several threads at once (each call
 * its own loops). A coroutine's future, like every future, is shared
 * freely; a weft_group may be waited on and cancelled from any thread or
 * coroutine at once, spawned into from any coroutine, and freed once, when
 * no other call on it is in flight.
 *
 * Errors: -EINVAL (NULL function, bad option), -ENOMEM, -EPERM (a call
 * that needs a coroutine made outside one), -EBUSY (weft_run inside a
 * coroutine), -ECANCELED, -ETIMEDOUT.
 */
#ifndef WEFT_CORO_H
#define WEFT_CORO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "weft/base.h"
#include "weft/future.h"

#ifdef __cplusplus
extern "C" {
#endif

enum weft_stack_kind {
	WEFT_STACK_GUARDED = 0, /* own mapping + guard page (default) */
	WEFT_STACK_PACKED = 1,	/* carved from large regions, no guard */
};

/* How to run the loops; zero is the default for every field. */
typedef struct weft_loops_opts {
	unsigned loops;	   /* threads running loops; 0: one per online CPU */
	uint64_t seed;	   /* nonzero: seeded order, one loop (see above) */
	size_t stack_size; /* default stack of a coroutine; 0: 256 KiB */
	int stack_kind;	   /* default enum weft_stack_kind */
	unsigned to_thread_workers; /* weft_to_thread's pool; 0: 16 */
} weft_loops_opts;

/* Per coroutine; zero (or NULL) takes weft_run's defaults. */
typedef struct weft_coro_opts {
	size_t stack_size;
	int stack_kind; /* 0 is the run's default kind */
} weft_coro_opts;

/*
 * Run main(arg, result) as the first coroutine on a new set of loops and
 * return when it has returned and every coroutine it left behind has
 * finished (asyncio.run). Returns main's return value, *result (if not
 * NULL) its result. -EINVAL, -ENOMEM, -EBUSY (called from a coroutine).
 * Coroutines still suspended when main returns are cancelled first, then
 * waited for. The calling thread runs one of the loops.
 */
WEFT_API int weft_run(weft_task_fn *main, void *arg, void **result,
		      const weft_loops_opts *opts);

/*
 * Start fn(arg, result) as a new coroutine. *fp gets its future with one
 * reference (weft_future_release it; releasing does not cancel), or pass
 * fp NULL to detach it. Only from a coroutine: -EPERM otherwise. 0,
 * -EINVAL (NULL fn, a stack size below 1 KiB plus the record or above
 * 1 GiB, an unknown stack kind), -ENOMEM (no future, or no stack: no
 * memory or no mappings left); on an error *fp is NULL and nothing runs.
 */
WEFT_API int weft_spawn(weft_future **fp, weft_task_fn *fn, void *arg,
			const weft_coro_opts *opts);

/* True in a coroutine, false in a plain thread. */
WEFT_API bool weft_in_coro(void);

/* True if the calling coroutine has been cancelled (false in a thread). */
WEFT_API bool weft_cancelled(void);

/*
 * Let the loop's other ready coroutines run, then continue: 0, or
 * -ECANCELED. In a plain thread, sched_yield().
 */
WEFT_API int weft_yield(void);

/*
 * Sleep until the deadline (a coroutine suspends, a thread blocks): 0,
 * -ECANCELED (a coroutine cancelled meanwhile), -EINVAL (WEFT_FOREVER in a
 * plain thread: it would never return). weft_sleep(ns) sleeps ns from
 * now; ns <= 0 returns at once. Never returns early.
 */
WEFT_API int weft_sleep_until(int64_t deadline);
WEFT_API int weft_sleep(int64_t ns);

/*
 * Run fn(arg, result) on a worker thread and wait for it (asyncio's
 * to_thread): the calling coroutine suspends, its loop runs others. In a
 * plain thread fn simply runs in the caller. Returns fn's return value,
 * or -ETIMEDOUT / -ECANCELED (fn keeps running on its worker; the
 * caller no longer waits for it — fn and arg must stay valid until it
 * ends), -EINVAL (NULL fn), or the pool's error (-ENOMEM, -EAGAIN when
 * its threads cannot start). The pool is made on first use (up to
 * to_thread_workers threads) and shut down, waiting for its tasks, when
 * weft_run returns.
 */
WEFT_API int weft_to_thread(weft_task_fn *fn, void *arg, void **result,
			    int64_t deadline);

/* ---- task groups (asyncio.TaskGroup, libdill bundles) ---- */

typedef struct weft_group weft_group;

enum {
	/* The first child that fails cancels the others. */
	WEFT_GROUP_CANCEL_ON_ERROR = 1,
};

/*
 * A new empty group in *gp: 0, -EINVAL (NULL gp, unknown flags), -ENOMEM.
 * The caller owns it and ends it with weft_group_free, once. Usable from
 * threads too.
 */
WEFT_API int weft_group_new(weft_group **gp, unsigned flags);

/*
 * Spawn fn(arg, result) into the group (as weft_spawn; fp may be NULL, else
 * *fp gets a reference of the caller's own). A child costs the group no
 * allocation of its own. 0, -EINVAL (NULL g or fn, bad opts), -EPERM (not
 * from a coroutine), -ENOMEM, -ECANCELED if the group has been cancelled
 * (nothing spawned).
 */
WEFT_API int weft_group_spawn(weft_group *g, weft_future **fp, weft_task_fn *fn,
			      void *arg, const weft_coro_opts *opts);

/*
 * Wait until every child has finished: 0, or the first error a child
 * returned (in the order they failed), or -ETIMEDOUT, -ECANCELED (the
 * waiting coroutine was cancelled), -EINVAL (NULL). Children of a
 * cancelled group that return -ECANCELED do not count as errors.
 */
WEFT_API int weft_group_wait(weft_group *g, int64_t deadline);

/*
 * Cancel every child, running or not (returns at once): a running child's
 * blocking calls return -ECANCELED; one not yet started never runs (its
 * loop cancels its future when it reaches it). NULL: nothing.
 */
WEFT_API void weft_group_cancel(weft_group *g);

/*
 * Leave the group: cancel the children still running, wait for all of
 * them (forever, also in a cancelled coroutine: children never outlive
 * their group), free the group and return what weft_group_wait would.
 * NULL: -EINVAL.
 */
WEFT_API int weft_group_free(weft_group *g);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_CORO_H */
