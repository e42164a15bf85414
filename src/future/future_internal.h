/*
 * future_internal.h — what the futures module offers the rest of weft
 * (private): the state word, watch records for weft_wait/as_completed, and
 * the seam an executor (the pool today, the coroutine runtime later) uses
 * to make, claim, run and cancel futures. Futures never name an executor:
 * a future made by one carries an opaque owner, a struct weft__executor
 * with two hooks, and an executor marks its own threads with a
 * per-thread pointer to it (see below).
 */
#ifndef WEFT_FUTURE_INTERNAL_H
#define WEFT_FUTURE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "park/park.h"
#include "weft/future.h"

/*
 * The state word: enum weft_future_state in the low 3 bits, the LISTEN
 * flag, and the reference count above them, so that an executor settling
 * a future nobody listens to drops its reference in the same CAS.
 */
#define WEFT__FST_MASK 7u
#define WEFT__FST_LISTEN 8u /* someone waits, watches or has a callback */
#define WEFT__FST_REF 16u   /* one reference */
#define WEFT__FST_REFS(s) ((s) >> 4)

struct weft__watch;
struct weft__fcb;
struct weft__executor;

struct weft_future {
	_Atomic uint32_t state; /* state | LISTEN | refs * WEFT__FST_REF */
	int rc;		  /* written by the settling thread before the state */
	void *result;	  /* idem */
	weft_task_fn *fn; /* the task; also the cache's free-list link */
	void *arg;
	struct weft__executor *owner; /* NULL: standalone */
	struct weft__waitlist wl; /* result() waiters; its lock guards all */
	struct weft__watch *watch_head; /* weft_wait/as_completed records */
	struct weft__fcb *cb_head, *cb_tail; /* user done-callbacks */
};

/*
 * A watch record (weft_wait, as_completed): lives in the watcher's memory,
 * on the future's watcher list, guarded by the future's wait-list lock.
 * When the future settles, the settling thread calls fire() for every
 * linked record *under that lock*, before any user callback runs, and
 * unlinks it. fire() must be short and never block: it may record the
 * event and take its watcher's own wait-list lock to pop a waiter, filling
 * *k (then returning true) with the kick to deliver once the future's lock
 * is dropped. So a watcher leaves with weft__future_unwatch() — take the
 * lock, unlink if still linked — and never waits for anything else.
 */
struct weft__watch {
	struct weft__watch *next, *prev;
	bool linked; /* on a future's list (its lock) */
	bool (*fire)(struct weft__watch *w, weft_future *f,
		     struct weft__kick *k);
};

/*
 * Watch f: link w and return true, or return false (w not linked) if f
 * has settled already.
 */
bool weft__future_watch(weft_future *f, struct weft__watch *w);
/* Stop watching: unlink w if it is still linked. Only takes the lock. */
void weft__future_unwatch(weft_future *f, struct weft__watch *w);

/*
 * The executor seam. An executor (the pool) embeds one of these; every
 * future it makes points at it (f->owner), opaque to this module but for
 * two hooks:
 *
 *   allow_inline  asked on one of the executor's own threads, marked by
 *                 weft__executor_current == the executor: may this thread
 *                 claim a PENDING future of ours and run it inline rather
 *                 than wait for it (so nested submit-and-wait cannot
 *                 deadlock a full pool)? Asked only when the waiter's
 *                 deadline is WEFT_FOREVER: a poll never runs a task, and
 *                 a finite deadline is never overrun by running one.
 *   nudge         a waiter is about to give up the CPU (yield, park) for a
 *                 future of ours that is still PENDING, not even started:
 *                 make sure a worker is on its way (the pool wakes a
 *                 parked worker if work is queued, even when one counts
 *                 as spinning: on a busy machine that spinner may be
 *                 preempted). May be NULL.
 *   cancel_running  weft_future_cancel() found the future RUNNING: ask
 *                 the task to stop (a coroutine gets -ECANCELED from its
 *                 blocking calls). Called with the future's lock held and
 *                 only while RUNNING, so an executor that passes
 *                 weft__future_quiesce() after settling knows no call is
 *                 in flight. May be NULL (a running pool task cannot be
 *                 stopped: cancel says -EBUSY).
 */
struct weft__executor {
	bool (*allow_inline)(struct weft__executor *ex);
	void (*nudge)(struct weft__executor *ex);
	void (*cancel_running)(struct weft__executor *ex, weft_future *f);
};
extern _Thread_local struct weft__executor *weft__executor_current;

/*
 * If the caller may run f inline (see above) and f is still PENDING, claim
 * it and run its task here. true if it ran it.
 */
bool weft__future_try_inline(weft_future *f, int64_t deadline);
/* Wait until f settles: 0, -ETIMEDOUT or -ECANCELED (the waiter's). */
int weft__future_wait_settled(weft_future *f, int64_t deadline);

/* ---- for executors ---- */

/* A future of `owner`: PENDING, two references (caller's and owner's). */
weft_future *weft__future_make(struct weft__executor *owner, weft_task_fn *fn,
			       void *arg);
/* PENDING -> RUNNING: the caller now owns running the task. */
bool weft__future_claim(weft_future *f);
/*
 * Run a future the caller claimed and settle it with the task's outcome
 * (with `fail` non-zero, settle it FAILED with that code instead of
 * running it). With `drop`, also give back the owner's reference.
 */
void weft__future_run_claimed(weft_future *f, int fail, bool drop);
/*
 * After settling a future it ran (without dropping its reference): wait
 * until no cancel_running() call on it is in flight. Takes the lock once.
 */
void weft__future_quiesce(weft_future *f);

/* Test hook: whole chains of freed futures moved through the depot. */
uint64_t weft__future_depot_moves(void);
/*
 * PENDING -> CANCELLED, giving back the owner's reference in every case
 * (also when f was claimed or cancelled by someone else first). true if
 * this call cancelled it.
 */
bool weft__future_cancel_drop(weft_future *f);

#endif /* WEFT_FUTURE_INTERNAL_H */
