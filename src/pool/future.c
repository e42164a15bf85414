/*
 * future.c — futures, weft_wait() and as_completed.
 *
 * The state word. Low bits: enum weft_future_state; every transition is a
 * CAS on it, so each state is entered at most once. A task's outcome
 * (rc, result) is written only by the thread that moved the future to
 * RUNNING, before its release-CAS to DONE/FAILED; cancel writes nothing.
 *
 * Notifying without a lock on the fast path. The LISTEN bit says "someone
 * waits on wl or put something on the callback list". A listener takes
 * the wl lock, sets LISTEN with fetch_or and, seeing the old state not
 * settled, links itself before unlocking. The settling thread's CAS either
 * comes first (the listener's fetch_or then returns a settled state and it
 * does not wait) or sees LISTEN, and then takes the wl lock — which waits
 * for the listener to finish linking — takes the callback list, unlocks,
 * wakes every waiter and runs the callbacks. A future nobody waits on
 * settles with one CAS and no lock.
 *
 * Waiting for many (weft_wait, as_completed) lives in wait.c, on top of
 * the watch records registered here.
 *
 * Memory. Futures come from a per-thread cache of freed ones (up to
 * CACHE_MAX; a pthread key frees it when the thread exits), so a steady
 * submit/result/release loop never calls malloc.
 */
#include "pool/pool_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "park/park.h"

#define CACHE_MAX 1024
/* Polls of the state before registering as a waiter. */
#ifndef RESULT_SPINS
#define RESULT_SPINS 128
#endif
#ifndef RESULT_YIELDS
#define RESULT_YIELDS 16
#endif

static inline uint32_t st(uint32_t s)
{
	return s & WEFT__FST_MASK;
}

static inline bool settled(uint32_t s)
{
	return st(s) >= WEFT_FUTURE_DONE;
}

/* ---- the per-thread cache ---- */

struct fcache {
	weft_future *head;
	unsigned n;
	bool keyed;
};

static _Thread_local struct fcache fcache;
static pthread_key_t fcache_key;
static pthread_once_t fcache_once = PTHREAD_ONCE_INIT;
static bool fcache_key_ok;

static void fcache_drain(void *p)
{
	struct fcache *c = p;
	weft_future *f;

	while ((f = c->head)) {
		c->head = (weft_future *)(void *)f->fn;
		free(f);
	}
	c->n = 0;
	c->keyed = false;
}

static void fcache_init(void)
{
	fcache_key_ok = pthread_key_create(&fcache_key, fcache_drain) == 0;
}

static weft_future *future_alloc(void)
{
	weft_future *f = fcache.head;

	if (f) {
		fcache.head = (weft_future *)(void *)f->fn;
		fcache.n--;
		return f;
	}
	return malloc(sizeof(*f));
}

static void future_dispose(weft_future *f)
{
	if (fcache.n < CACHE_MAX) {
		if (!fcache.keyed) {
			pthread_once(&fcache_once, fcache_init);
			if (!fcache_key_ok ||
			    pthread_setspecific(fcache_key, &fcache)) {
				free(f);
				return;
			}
			fcache.keyed = true;
		}
		f->fn = (weft_task_fn *)(void *)fcache.head;
		fcache.head = f;
		fcache.n++;
		return;
	}
	free(f);
}

static void future_init(weft_future *f, struct weft_pool *pool,
			weft_task_fn *fn, void *arg, uint32_t refs)
{
	atomic_init(&f->state, WEFT_FUTURE_PENDING | refs * WEFT__FST_REF);
	f->rc = 0;
	f->standalone = pool == NULL;
	f->cbs_taken = false;
	f->result = NULL;
	f->fn = fn;
	f->arg = arg;
	f->pool = pool;
	f->wl = (struct weft__waitlist)WEFT__WAITLIST_INIT;
	f->cb_head = f->cb_tail = NULL;
}

weft_future *weft__future_make(struct weft_pool *pool, weft_task_fn *fn,
			       void *arg)
{
	weft_future *f = future_alloc();

	if (f)
		future_init(f, pool, fn, arg, 2);
	return f;
}

int weft_future_new(weft_future **fp)
{
	weft_future *f;

	if (!fp)
		return -EINVAL;
	*fp = NULL;
	f = future_alloc();
	if (!f)
		return -ENOMEM;
	future_init(f, NULL, NULL, NULL, 1);
	*fp = f;
	return 0;
}

weft_future *weft_future_retain(weft_future *f)
{
	if (f)
		atomic_fetch_add_explicit(&f->state, WEFT__FST_REF,
					  memory_order_relaxed);
	return f;
}

void weft_future_release(weft_future *f)
{
	if (!f)
		return;
	if (WEFT__FST_REFS(atomic_fetch_sub_explicit(
		    &f->state, WEFT__FST_REF, memory_order_acq_rel)) == 1)
		future_dispose(f);
}

/* ---- transitions ---- */

/* Wake the waiters and run the callbacks of a future that just settled. */
static void notify(weft_future *f)
{
	struct weft__fcb *cb, *next;

	weft__waitlist_lock(&f->wl);
	cb = f->cb_head;
	f->cb_head = f->cb_tail = NULL;
	f->cbs_taken = true;
	weft__waitlist_unlock(&f->wl);
	weft__wake_all(&f->wl);
	for (; cb; cb = next) {
		next = cb->next; /* run() may free or reuse cb */
		cb->run(cb, f);
	}
}

/*
 * from -> to with one CAS; notify if `to` settles and someone listens.
 * With `drop` (a settling worker), also give back the pool's reference:
 * in the same CAS when nobody listens, so the thread that reads the
 * result usually frees the future (into its own cache), else afterwards.
 */
static bool transition(weft_future *f, uint32_t from, uint32_t to, bool drop)
{
	uint32_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
	uint32_t n;
	bool settles = to >= WEFT_FUTURE_DONE;

	do {
		if (st(s) != from)
			return false;
		n = (s & ~WEFT__FST_MASK) | to;
		if (drop && !(s & WEFT__FST_LISTEN))
			n -= WEFT__FST_REF;
	} while (!atomic_compare_exchange_weak_explicit(
		&f->state, &s, n, memory_order_acq_rel, memory_order_relaxed));
	if (settles && (s & WEFT__FST_LISTEN)) {
		notify(f);
		if (drop)
			weft_future_release(f);
	} else if (drop && WEFT__FST_REFS(n) == 0) {
		future_dispose(f);
	}
	return true;
}

/* RUNNING (owned by the caller) -> DONE / FAILED. */
static void complete(weft_future *f, int rc, void *result, bool drop)
{
	f->rc = rc;
	f->result = rc ? NULL : result;
	transition(f, WEFT_FUTURE_RUNNING,
		   rc ? WEFT_FUTURE_FAILED : WEFT_FUTURE_DONE, drop);
}

static bool run(weft_future *f, bool drop)
{
	void *result = NULL;
	int rc;

	if (!transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_RUNNING, false))
		return false;
	rc = f->fn(f->arg, &result);
	complete(f, rc, result, drop);
	return true;
}

bool weft__future_run(weft_future *f)
{
	return run(f, false);
}

void weft__future_pool_take(weft_future *f, int broken, bool cancel)
{
	if (broken) {
		if (transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_RUNNING,
			       false)) {
			complete(f, broken, NULL, true);
			return;
		}
	} else if (cancel) {
		if (transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_CANCELLED,
			       true))
			return;
	} else if (run(f, true)) {
		return;
	}
	/* Claimed inline or cancelled meanwhile: only let go. */
	weft_future_release(f);
}

int weft_future_set(weft_future *f, int rc, void *result)
{
	if (!f)
		return -EINVAL;
	if (!f->standalone)
		return -EPERM;
	if (!transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_RUNNING, false))
		return -EALREADY;
	complete(f, rc, result, false);
	return 0;
}

int weft_future_cancel(weft_future *f)
{
	if (!f)
		return -EINVAL;
	if (transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_CANCELLED, false))
		return 0;
	return weft_future_state(f) == WEFT_FUTURE_CANCELLED ? 0 : -EBUSY;
}

enum weft_future_state weft_future_state(weft_future *f)
{
	if (!f)
		return WEFT_FUTURE_PENDING;
	return (enum weft_future_state)st(
		atomic_load_explicit(&f->state, memory_order_acquire));
}

bool weft_future_done(weft_future *f)
{
	return f &&
	       settled(atomic_load_explicit(&f->state, memory_order_acquire));
}

/* ---- listening ---- */

/* wl locked: set LISTEN; true if the future had settled already. */
static bool listen_locked(weft_future *f)
{
	return settled(atomic_fetch_or(&f->state, WEFT__FST_LISTEN));
}

static void cb_append_locked(weft_future *f, struct weft__fcb *cb)
{
	cb->next = NULL;
	cb->prev = f->cb_tail;
	if (f->cb_tail)
		f->cb_tail->next = cb;
	else
		f->cb_head = cb;
	f->cb_tail = cb;
}

bool weft__future_watch(weft_future *f, struct weft__fcb *cb)
{
	bool done;

	weft__waitlist_lock(&f->wl);
	done = listen_locked(f);
	if (!done)
		cb_append_locked(f, cb);
	weft__waitlist_unlock(&f->wl);
	return !done;
}

void weft__future_unwatch(weft_future *f, struct weft__fcb *cb,
			  _Atomic uint32_t *fired)
{
	bool taken;

	weft__waitlist_lock(&f->wl);
	taken = f->cbs_taken;
	if (!taken) {
		if (cb->prev)
			cb->prev->next = cb->next;
		else
			f->cb_head = cb->next;
		if (cb->next)
			cb->next->prev = cb->prev;
		else
			f->cb_tail = cb->prev;
	}
	weft__waitlist_unlock(&f->wl);
	if (!taken)
		return;
	/* The settling thread holds cb: it is inside or about to call run(). */
	for (int i = 0; !atomic_load_explicit(fired, memory_order_acquire);
	     i++) {
		if (i < 64)
			weft__cpu_relax();
		else
			weft__yield();
	}
}

struct user_cb {
	struct weft__fcb cb;
	weft_done_fn *fn;
	void *arg;
};

static void user_cb_run(struct weft__fcb *cb, weft_future *f)
{
	struct user_cb *u = (struct user_cb *)cb;

	u->fn(f, u->arg);
	free(u);
}

int weft_future_add_done_callback(weft_future *f, weft_done_fn *fn, void *arg)
{
	struct user_cb *u;

	if (!f || !fn)
		return -EINVAL;
	u = malloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->cb.run = user_cb_run;
	u->fn = fn;
	u->arg = arg;
	if (!weft__future_watch(f, &u->cb)) {
		free(u);
		fn(f, arg);
	}
	return 0;
}

/* ---- result ---- */

bool weft__future_try_inline(weft_future *f)
{
	struct weft_pool *p = weft__pool_current();

	return p && f->pool == p &&
	       st(atomic_load_explicit(&f->state, memory_order_relaxed)) ==
		       WEFT_FUTURE_PENDING &&
	       weft__future_run(f);
}

int weft__future_wait_settled(weft_future *f, int64_t deadline)
{
	struct weft__waiter w;
	int rc;

	weft__future_try_inline(f);
	/*
	 * Poll before parking: a park costs the settling thread a futex
	 * wake (~1 us here). Pauses first, then yields, which on few cores
	 * hand the CPU to the very worker we wait for.
	 */
	for (int i = 0; i < RESULT_SPINS + RESULT_YIELDS; i++) {
		if (settled(atomic_load_explicit(&f->state,
						 memory_order_acquire)))
			return 0;
		if (deadline == 0)
			return -ETIMEDOUT;
		if (i < RESULT_SPINS)
			weft__cpu_relax();
		else if (!weft__expired(deadline))
			weft__yield();
	}
	for (;;) {
		if (settled(atomic_load_explicit(&f->state,
						 memory_order_acquire)))
			return 0;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_lock(&f->wl);
		if (listen_locked(f)) {
			weft__waitlist_unlock(&f->wl);
			return 0;
		}
		weft__waitlist_push_locked(&f->wl, &w);
		weft__waitlist_unlock(&f->wl);
		rc = weft__park(&w, deadline);
		if (rc == -ECANCELED)
			return rc;
		/* 0 or -ETIMEDOUT: look again (it may have settled). */
	}
}

static int outcome(weft_future *f, void **result)
{
	switch (weft_future_state(f)) {
	case WEFT_FUTURE_DONE:
		if (result)
			*result = f->result;
		return 0;
	case WEFT_FUTURE_FAILED:
		return f->rc;
	case WEFT_FUTURE_CANCELLED:
		return -ECANCELED;
	default:
		return -ETIMEDOUT;
	}
}

int weft_future_result(weft_future *f, void **result, int64_t deadline)
{
	int rc;

	if (!f)
		return -EINVAL;
	if (!weft_future_done(f)) {
		rc = weft__future_wait_settled(f, deadline);
		if (rc)
			return rc;
	}
	return outcome(f, result);
}
