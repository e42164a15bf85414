/*
 * future.c — futures: states, references, waiting, callbacks.
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
 * for the listener to finish linking. Under that lock it fires and unlinks
 * every watch record (weft_wait, as_completed: a counter bump and a wake
 * of their one waiting thread) and takes the user callbacks; then it
 * unlocks, delivers the kicks, wakes every result() waiter, and only then
 * runs the user callbacks. So waiters never wait behind user code, and a
 * watcher that gives up takes the lock and unlinks its record if it is
 * still linked: nothing ever spins on "has my record run yet?". A future
 * nobody waits on settles with one CAS and no lock.
 *
 * Executors. A future made by an executor carries an opaque owner (struct
 * weft__executor: two hooks) and nothing else of it; the executor claims,
 * runs and cancels it through future_internal.h, marks its own threads
 * (weft__executor_current) and answers, through the hooks, whether one of
 * them may run a pending future inline, and what to do when a waiter is
 * about to give up the CPU for a future nobody has started. This file
 * never names the pool.
 *
 * Waiting for many (weft_wait, as_completed) lives in wait.c, on top of
 * the watch records registered here.
 *
 * Memory. Futures come from a per-thread cache of freed ones (a pthread
 * key frees it when the thread exits), so a steady submit/result/release
 * loop never calls malloc. When one thread makes futures and another
 * frees them (a spawner and the loop that ran its coroutines), the
 * cache moves them in whole chains of CACHE_MAX through a process-wide
 * depot: the freeing thread hands over a full chain, the making thread
 * takes one, each in one short lock hold and without touching a future.
 */
#include "future/future_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "park/park.h"

#define CACHE_MAX 1024
/* Kicks collected under the future's lock before delivering them. */
#define KICK_BATCH 16
/* Polls of the state before registering as a waiter. */
#ifndef RESULT_SPINS
#define RESULT_SPINS 128
#endif
/*
 * Pauses after which a future nobody has claimed yet nudges its executor:
 * a spinning worker claims a task within a fraction of that (~1 us here).
 */
#define RESULT_NUDGE 32
#ifndef RESULT_YIELDS
#define RESULT_YIELDS 16
#endif

_Thread_local struct weft__executor *weft__executor_current;

/* A user done-callback, on the future's callback list (wl lock). */
struct weft__fcb {
	struct weft__fcb *next;
	weft_done_fn *fn;
	void *arg;
};

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

/* Free a chain linked through fn. */
static void chain_free(weft_future *f)
{
	while (f) {
		weft_future *next = (weft_future *)(void *)f->fn;

		free(f);
		f = next;
	}
}

static void fcache_drain(void *p)
{
	struct fcache *c = p;

	chain_free(c->head);
	c->head = NULL;
	c->n = 0;
	c->keyed = false;
}

static void fcache_init(void)
{
	fcache_key_ok = pthread_key_create(&fcache_key, fcache_drain) == 0;
}

/*
 * The depot: full chains (CACHE_MAX futures linked through fn, as in the
 * cache), themselves linked through their first future's arg; at most
 * DEPOT_MAX of them, beyond which a chain is freed.
 */
#define DEPOT_MAX 64

static _Atomic uint32_t depot_lock;
static _Atomic(weft_future *) depot; /* read unlocked only as a hint */
static unsigned depot_chains;
static _Atomic uint64_t depot_moves; /* chains in and out: a test hook */

uint64_t weft__future_depot_moves(void)
{
	return atomic_load_explicit(&depot_moves, memory_order_relaxed);
}

/* A full chain from the depot, or NULL. */
static weft_future *depot_take(void)
{
	weft_future *chain;

	if (!atomic_load_explicit(&depot, memory_order_relaxed))
		return NULL;
	weft__spin_lock(&depot_lock);
	chain = atomic_load_explicit(&depot, memory_order_relaxed);
	if (chain) {
		atomic_store_explicit(&depot, chain->arg, memory_order_relaxed);
		depot_chains--;
		atomic_fetch_add_explicit(&depot_moves, 1,
					  memory_order_relaxed);
	}
	weft__spin_unlock(&depot_lock);
	return chain;
}

/* A full chain to the depot, or freed when the depot is full. */
static void depot_give(weft_future *chain)
{
	weft__spin_lock(&depot_lock);
	if (depot_chains < DEPOT_MAX) {
		chain->arg = atomic_load_explicit(&depot, memory_order_relaxed);
		atomic_store_explicit(&depot, chain, memory_order_relaxed);
		depot_chains++;
		atomic_fetch_add_explicit(&depot_moves, 1,
					  memory_order_relaxed);
		chain = NULL;
	}
	weft__spin_unlock(&depot_lock);
	chain_free(chain);
}

/* The thread-exit drain is registered (once): else cache nothing. */
static bool fcache_register(void)
{
	if (!fcache.keyed) {
		pthread_once(&fcache_once, fcache_init);
		if (!fcache_key_ok || pthread_setspecific(fcache_key, &fcache))
			return false;
		fcache.keyed = true;
	}
	return true;
}

static weft_future *future_alloc(void)
{
	weft_future *f = fcache.head;

	if (!f && atomic_load_explicit(&depot, memory_order_relaxed) &&
	    fcache_register() && (f = depot_take()))
		fcache.n = CACHE_MAX;
	if (f) {
		fcache.head = (weft_future *)(void *)f->fn;
		fcache.n--;
		return f;
	}
	return malloc(sizeof(*f));
}

static void future_dispose(weft_future *f)
{
	if (!fcache_register()) {
		free(f);
		return;
	}
	if (fcache.n == CACHE_MAX) {
		/* Full: the chain goes to the depot, f starts a new one. */
		depot_give(fcache.head);
		fcache.head = NULL;
		fcache.n = 0;
	}
	f->fn = (weft_task_fn *)(void *)fcache.head;
	fcache.head = f;
	fcache.n++;
}

static void future_init(weft_future *f, struct weft__executor *owner,
			weft_task_fn *fn, void *arg, uint32_t refs)
{
	atomic_init(&f->state, WEFT_FUTURE_PENDING | refs * WEFT__FST_REF);
	f->rc = 0;
	f->result = NULL;
	f->fn = fn;
	f->arg = arg;
	f->owner = owner;
	f->wl = (struct weft__waitlist)WEFT__WAITLIST_INIT;
	f->watch_head = NULL;
	f->cb_head = f->cb_tail = NULL;
}

weft_future *weft__future_make(struct weft__executor *owner, weft_task_fn *fn,
			       void *arg)
{
	weft_future *f = future_alloc();

	if (f)
		future_init(f, owner, fn, arg, 2);
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

/*
 * A future that just settled, with LISTEN set: fire the watch records and
 * take the callbacks under the lock, wake the waiters, then run the user
 * callbacks (in the order they were added).
 */
static void notify(weft_future *f)
{
	struct weft__kick k[KICK_BATCH];
	struct weft__watch *w;
	struct weft__fcb *cb, *next;
	int nk = 0;

	weft__waitlist_lock(&f->wl);
	cb = f->cb_head;
	f->cb_head = f->cb_tail = NULL;
	while ((w = f->watch_head)) {
		f->watch_head = w->next;
		w->next = w->prev = NULL;
		w->linked = false;
		if (w->fire(w, f, &k[nk]) && ++nk == KICK_BATCH) {
			/* Rare (that many watchers): deliver under the lock. */
			for (int i = 0; i < nk; i++)
				weft__kick(&k[i]);
			nk = 0;
		}
	}
	weft__waitlist_unlock(&f->wl);
	for (int i = 0; i < nk; i++)
		weft__kick(&k[i]);
	weft__wake_all(&f->wl);
	for (; cb; cb = next) {
		next = cb->next;
		cb->fn(f, cb->arg);
		free(cb);
	}
}

/*
 * from -> to with one CAS; notify if `to` settles and someone listens.
 * With `drop` (an executor settling its future), also give back the
 * owner's reference: in the same CAS when nobody listens, so the thread
 * that reads the result usually frees the future (into its own cache),
 * else afterwards.
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

bool weft__future_claim(weft_future *f)
{
	return transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_RUNNING, false);
}

void weft__future_run_claimed(weft_future *f, int fail, bool drop)
{
	void *result = NULL;
	int rc = fail;

	if (!fail)
		rc = f->fn(f->arg, &result);
	complete(f, rc, result, drop);
}

bool weft__future_cancel_drop(weft_future *f)
{
	if (transition(f, WEFT_FUTURE_PENDING, WEFT_FUTURE_CANCELLED, true))
		return true;
	weft_future_release(f);
	return false;
}

int weft_future_set(weft_future *f, int rc, void *result)
{
	if (!f)
		return -EINVAL;
	if (f->owner)
		return -EPERM;
	if (!weft__future_claim(f))
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
	/*
	 * Only a RUNNING future's executor is sure to exist (a future may
	 * outlive its pool or weft_run): look at the hook only then.
	 */
	if (weft_future_state(f) == WEFT_FUTURE_RUNNING && f->owner &&
	    f->owner->cancel_running) {
		bool asked = false;

		weft__waitlist_lock(&f->wl);
		if (weft_future_state(f) == WEFT_FUTURE_RUNNING) {
			f->owner->cancel_running(f->owner, f);
			asked = true;
		}
		weft__waitlist_unlock(&f->wl);
		if (asked)
			return 0;
	}
	return weft_future_state(f) == WEFT_FUTURE_CANCELLED ? 0 : -EBUSY;
}

void weft__future_quiesce(weft_future *f)
{
	weft__waitlist_lock(&f->wl);
	weft__waitlist_unlock(&f->wl);
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

bool weft__future_watch(weft_future *f, struct weft__watch *w)
{
	bool done;

	weft__waitlist_lock(&f->wl);
	done = listen_locked(f);
	if (!done) {
		w->prev = NULL;
		w->next = f->watch_head;
		if (w->next)
			w->next->prev = w;
		f->watch_head = w;
	}
	w->linked = !done;
	weft__waitlist_unlock(&f->wl);
	return !done;
}

void weft__future_unwatch(weft_future *f, struct weft__watch *w)
{
	weft__waitlist_lock(&f->wl);
	if (w->linked) {
		if (w->prev)
			w->prev->next = w->next;
		else
			f->watch_head = w->next;
		if (w->next)
			w->next->prev = w->prev;
		w->next = w->prev = NULL;
		w->linked = false;
	}
	weft__waitlist_unlock(&f->wl);
}

int weft_future_add_done_callback(weft_future *f, weft_done_fn *fn, void *arg)
{
	struct weft__fcb *cb;
	bool done;

	if (!f || !fn)
		return -EINVAL;
	cb = malloc(sizeof(*cb));
	if (!cb)
		return -ENOMEM;
	cb->next = NULL;
	cb->fn = fn;
	cb->arg = arg;
	weft__waitlist_lock(&f->wl);
	done = listen_locked(f);
	if (!done) {
		if (f->cb_tail)
			f->cb_tail->next = cb;
		else
			f->cb_head = cb;
		f->cb_tail = cb;
	}
	weft__waitlist_unlock(&f->wl);
	if (done) {
		free(cb);
		fn(f, arg);
	}
	return 0;
}

/* ---- result ---- */

bool weft__future_try_inline(weft_future *f, int64_t deadline)
{
	struct weft__executor *ex = weft__executor_current;

	/* Only a wait that may take as long as the task takes runs it. */
	if (!ex || f->owner != ex || !weft__forever(deadline))
		return false;
	if (st(atomic_load_explicit(&f->state, memory_order_relaxed)) !=
	    WEFT_FUTURE_PENDING)
		return false;
	if (ex->allow_inline && !ex->allow_inline(ex))
		return false;
	if (!weft__future_claim(f))
		return false;
	weft__future_run_claimed(f, 0, false);
	return true;
}

/* About to give up the CPU for f: if nobody has started it, say so. */
static void nudge(weft_future *f)
{
	struct weft__executor *ex = f->owner;

	if (ex && ex->nudge &&
	    st(atomic_load_explicit(&f->state, memory_order_relaxed)) ==
		    WEFT_FUTURE_PENDING)
		ex->nudge(ex);
}

static inline bool is_settled(weft_future *f)
{
	return settled(atomic_load_explicit(&f->state, memory_order_acquire));
}

int weft__future_wait_settled(weft_future *f, int64_t deadline)
{
	struct weft__backoff b = WEFT__BACKOFF(RESULT_SPINS, RESULT_YIELDS);
	struct weft__waiter w;
	int rc;

	if (is_settled(f))
		return 0;
	if (weft__expired(deadline))
		return -ETIMEDOUT; /* a poll: never runs a task, never waits */
	if (weft__future_try_inline(f, deadline))
		return 0;
	/*
	 * Poll before parking: a park costs the settling thread a futex
	 * wake (~1 us here). Pauses first, then yields, which on few cores
	 * hand the CPU to the very worker we wait for.
	 */
	while (weft__backoff(&b)) {
		if (is_settled(f))
			return 0;
		if (weft__backoff_steps(&b) == RESULT_NUDGE)
			nudge(f); /* nobody claimed it yet: anyone on it? */
		if (weft__backoff_spinning(&b))
			continue;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
	}
	for (;;) {
		if (is_settled(f))
			return 0;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		nudge(f);
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
