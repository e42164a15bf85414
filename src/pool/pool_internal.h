/*
 * pool_internal.h — what future.c and pool.c share (private).
 */
#ifndef WEFT_POOL_INTERNAL_H
#define WEFT_POOL_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "park/park.h"
#include "weft/future.h"

struct weft_pool;

/*
 * A done-callback or an internal watch record, on the future's list (the
 * list is guarded by the future's wait-list lock). run() is called once by
 * the settling thread after the list was taken off the future.
 */
struct weft__fcb {
	struct weft__fcb *next, *prev;
	void (*run)(struct weft__fcb *cb, weft_future *f);
};

/*
 * The state word: enum weft_future_state in the low 3 bits, the LISTEN
 * flag, and the reference count above them, so that a worker settling a
 * future nobody listens to drops the pool's reference in the same CAS.
 */
#define WEFT__FST_MASK 7u
#define WEFT__FST_LISTEN 8u /* someone waits or has a callback: notify */
#define WEFT__FST_REF 16u   /* one reference */
#define WEFT__FST_REFS(s) ((s) >> 4)

struct weft_future {
	_Atomic uint32_t state; /* state | LISTEN | refs * WEFT__FST_REF */
	int rc;		  /* written by the settling thread before the state */
	bool standalone;  /* from weft_future_new: settled by weft_future_set */
	bool cbs_taken;	  /* the settling thread took the list (wl lock) */
	void *result;	  /* idem */
	weft_task_fn *fn; /* the task; also the cache's free-list link */
	void *arg;
	struct weft_pool *pool;	  /* compared, never dereferenced */
	struct weft__waitlist wl; /* result() waiters; its lock guards cbs */
	struct weft__fcb *cb_head, *cb_tail;
};

/* The pool whose worker this thread is, or NULL. */
struct weft_pool *weft__pool_current(void);

/* A pool future: PENDING, two references (the caller's and the pool's). */
weft_future *weft__future_make(struct weft_pool *pool, weft_task_fn *fn,
			       void *arg);
/* Claim a PENDING future and run its task here. false if not pending. */
bool weft__future_run(weft_future *f);
/*
 * A worker took f off a ring: run it (or, with `broken`, fail it with that
 * code; with `cancel`, cancel it) if it is still pending, and in every
 * case give back the pool's reference.
 */
void weft__future_pool_take(weft_future *f, int broken, bool cancel);

/* If the caller is a worker of f's pool and f has not started, run it. */
bool weft__future_try_inline(weft_future *f);
/* Wait until f settles: 0, -ETIMEDOUT or -ECANCELED (the waiter's). */
int weft__future_wait_settled(weft_future *f, int64_t deadline);

/*
 * Register cb on f's list, unless f has settled: returns false (and does
 * not register) if it has.
 */
bool weft__future_watch(weft_future *f, struct weft__fcb *cb);
/*
 * Take cb off f's list again. If the settling thread has already taken the
 * list, wait until *fired says cb->run() has finished with cb.
 */
void weft__future_unwatch(weft_future *f, struct weft__fcb *cb,
			  _Atomic uint32_t *fired);

#endif /* WEFT_POOL_INTERNAL_H */
