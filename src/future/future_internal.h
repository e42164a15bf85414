/*
 * future_internal.h — what the futures module offers the rest of weft
 * (private): the state word, watch records for weft_wait/as_completed, and
 * the seam an executor (the pool today, the coroutine runtime later) uses
 * to make, claim, run and cancel futures. Futures never name an executor:
 * a future made by one carries an opaque `owner`, and an executor installs
 * a per-thread inline hook on its own threads (see below).
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

struct weft_future {
	_Atomic uint32_t state; /* state | LISTEN | refs * WEFT__FST_REF */
	int rc;		  /* written by the settling thread before the state */
	bool taken;	  /* the settling thread took the lists (wl lock) */
	void *result;	  /* idem */
	weft_task_fn *fn; /* the task; also the cache's free-list link */
	void *arg;
	void *owner;		  /* the executor; NULL: standalone */
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
 * The inline hook. An executor that wants its threads to run a pending
 * future of its own instead of waiting for it (so nested submit-and-wait
 * cannot deadlock a full pool) points weft__inline_hook at a hook of its
 * own on each of its threads. A waiter may claim and run future f inline
 * when f->owner == hook->owner, allow(owner) says yes, and the waiter's
 * deadline is WEFT_FOREVER: a poll never runs a task, and a finite
 * deadline is never overrun by running one.
 */
struct weft__inline_hook {
	void *owner;
	bool (*allow)(void *owner);
};
extern _Thread_local const struct weft__inline_hook *weft__inline_hook;

/*
 * If the caller may run f inline (see above) and f is still PENDING, claim
 * it and run its task here. true if it ran it.
 */
bool weft__future_try_inline(weft_future *f, int64_t deadline);
/* Wait until f settles: 0, -ETIMEDOUT or -ECANCELED (the waiter's). */
int weft__future_wait_settled(weft_future *f, int64_t deadline);

/* ---- for executors ---- */

/* A future of `owner`: PENDING, two references (caller's and owner's). */
weft_future *weft__future_make(void *owner, weft_task_fn *fn, void *arg);
/* PENDING -> RUNNING: the caller now owns running the task. */
bool weft__future_claim(weft_future *f);
/*
 * Run a future the caller claimed and settle it with the task's outcome
 * (with `fail` non-zero, settle it FAILED with that code instead of
 * running it). With `drop`, also give back the owner's reference.
 */
void weft__future_run_claimed(weft_future *f, int fail, bool drop);
/*
 * PENDING -> CANCELLED, giving back the owner's reference in every case
 * (also when f was claimed or cancelled by someone else first). true if
 * this call cancelled it.
 */
bool weft__future_cancel_drop(weft_future *f);

#endif /* WEFT_FUTURE_INTERNAL_H */
