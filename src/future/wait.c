/*
 * wait.c — weft_wait() and as_completed: waiting for many futures.
 *
 * Both put a watch record (future_internal.h) on each future's watcher
 * list. The settling thread fires it under the future's lock, before any
 * user callback runs: fire() bumps a counter (weft_wait) or pushes the
 * record on a ready stack (as_completed) and pops the one thread waiting
 * on the watcher's own wait list, whose kick is delivered once the
 * future's lock is dropped. Leaving is weft__future_unwatch(): take the
 * future's lock, unlink the record if it is still linked. A record that is
 * no longer linked has fired completely (it fired under that lock), so a
 * waiter never waits for a user callback, and never spins.
 *
 * From a pool worker (an executor's thread, future_internal.h),
 * a pending future of its own executor in the set is run inline rather
 * than waited for, as weft_future_result() does: only when the deadline is
 * WEFT_FOREVER.
 */
#include "future/future_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "park/park.h"

/* Watch records weft_wait() keeps on its stack before it mallocs. */
#define WAIT_STACK 16

/* ---- waiting for many ---- */

struct collector {
	struct weft__waitlist wl; /* the one waiting thread */
	_Atomic uint32_t fired;	  /* records fired so far */
};

struct watch {
	struct weft__watch w;
	struct collector *c;
	weft_future *f;
};

static bool watch_fire(struct weft__watch *w, weft_future *f,
		       struct weft__kick *k)
{
	struct collector *c = ((struct watch *)w)->c;

	(void)f;
	/*
	 * Under f's lock. fired++ then a look at the waiter count (both
	 * seq_cst), against the waiter's push then its look at `fired`: one
	 * of the two sees the other.
	 */
	atomic_fetch_add(&c->fired, 1);
	return weft__wake_one_deferred(&c->wl, k);
}

static bool condition(weft_future *const *fs, size_t n,
		      enum weft_wait_mode mode, int *ndone)
{
	size_t done = 0, failed = 0;

	for (size_t i = 0; i < n; i++) {
		enum weft_future_state s = weft_future_state(fs[i]);

		done += s >= WEFT_FUTURE_DONE;
		failed += s == WEFT_FUTURE_FAILED;
	}
	*ndone = (int)(done > INT32_MAX ? INT32_MAX : done);
	switch (mode) {
	case WEFT_FIRST_COMPLETED:
		return done > 0;
	case WEFT_FIRST_EXCEPTION:
		return failed > 0 || done == n;
	default:
		return done == n;
	}
}

/* From an executor's thread: run one pending future of the set inline. */
static bool run_one_inline(weft_future *const *fs, size_t n, int64_t deadline)
{
	if (!weft__executor_current || !weft__forever(deadline))
		return false;
	for (size_t i = 0; i < n; i++)
		if (weft__future_try_inline(fs[i], deadline))
			return true;
	return false;
}

int weft_wait(weft_future *const *fs, size_t n, enum weft_wait_mode mode,
	      int64_t deadline)
{
	struct watch stack[WAIT_STACK], *ws = stack;
	struct collector c = { WEFT__WAITLIST_INIT, 0 };
	int ndone, rc = 0;

	if (!fs || n == 0 || n > INT32_MAX || mode < WEFT_FIRST_COMPLETED ||
	    mode > WEFT_ALL_COMPLETED)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!fs[i])
			return -EINVAL;
	do {
		if (condition(fs, n, mode, &ndone))
			return ndone;
	} while (run_one_inline(fs, n, deadline));
	if (weft__expired(deadline))
		return -ETIMEDOUT;
	if (mode == WEFT_ALL_COMPLETED) {
		/* No watch records needed: wait for each in turn. */
		for (size_t i = 0; i < n; i++) {
			rc = weft__future_wait_settled(fs[i], deadline);
			if (rc)
				return rc;
		}
		return (int)n;
	}
	if (n > WAIT_STACK) {
		ws = malloc(n * sizeof(*ws));
		if (!ws)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ws[i].w.fire = watch_fire;
		ws[i].c = &c;
		ws[i].f = fs[i];
		weft__future_watch(fs[i], &ws[i].w);
	}
	for (;;) {
		uint32_t seen = atomic_load(&c.fired);
		struct weft__waiter w;

		if (condition(fs, n, mode, &ndone)) {
			rc = ndone;
			break;
		}
		if (run_one_inline(fs, n, deadline))
			continue;
		if (weft__expired(deadline)) {
			rc = -ETIMEDOUT;
			break;
		}
		weft__waiter_init(&w);
		weft__waitlist_push(&c.wl, &w); /* seq_cst: then re-check */
		if (atomic_load(&c.fired) != seen) {
			weft__waitlist_remove(&c.wl, &w);
			continue;
		}
		if (weft__park(&w, deadline) == -ECANCELED) {
			rc = -ECANCELED;
			break;
		}
	}
	/* Only a lock each: a fired record has finished with us. */
	for (size_t i = 0; i < n; i++)
		weft__future_unwatch(ws[i].f, &ws[i].w);
	if (ws != stack)
		free(ws);
	return rc;
}

/* ---- as_completed ---- */

struct ac_node {
	struct weft__watch w;
	struct weft_as_completed *it;
	weft_future *f;
	struct ac_node *ready_next;
	bool yielded;
};

struct weft_as_completed {
	struct weft__waitlist wl;	 /* the iterating thread, parked */
	_Atomic(struct ac_node *) ready; /* settled, pushed by fire() */
	struct ac_node *local;		 /* taken from ready, not yielded */
	size_t n, left;
	struct ac_node nodes[];
};

static void ac_push(struct weft_as_completed *it, struct ac_node *nd)
{
	struct ac_node *head =
		atomic_load_explicit(&it->ready, memory_order_relaxed);

	do
		nd->ready_next = head;
	while (!atomic_compare_exchange_weak_explicit(&it->ready, &head, nd,
						      memory_order_seq_cst,
						      memory_order_relaxed));
}

static bool ac_fire(struct weft__watch *w, weft_future *f, struct weft__kick *k)
{
	struct ac_node *nd = (struct ac_node *)w;
	struct weft_as_completed *it = nd->it;

	(void)f;
	ac_push(it, nd); /* seq_cst, then the waiter count */
	return weft__wake_one_deferred(&it->wl, k);
}

int weft_as_completed_new(weft_as_completed **itp, weft_future *const *fs,
			  size_t n)
{
	struct weft_as_completed *it;

	if (!itp)
		return -EINVAL;
	*itp = NULL;
	if (!fs || n == 0 || n > SIZE_MAX / 2 / sizeof(struct ac_node))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!fs[i])
			return -EINVAL;
	it = malloc(sizeof(*it) + n * sizeof(struct ac_node));
	if (!it)
		return -ENOMEM;
	it->wl = (struct weft__waitlist)WEFT__WAITLIST_INIT;
	atomic_init(&it->ready, NULL);
	it->local = NULL;
	it->n = it->left = n;
	for (size_t i = 0; i < n; i++) {
		struct ac_node *nd = &it->nodes[i];

		nd->w.fire = ac_fire;
		nd->it = it;
		nd->f = weft_future_retain(fs[i]);
		nd->ready_next = NULL;
		nd->yielded = false;
		if (!weft__future_watch(fs[i], &nd->w)) {
			/* Settled already: ready at once. */
			nd->ready_next = it->local;
			it->local = nd;
		}
	}
	/* Already-settled ones in array order. */
	{
		struct ac_node *rev = NULL, *nd;

		while ((nd = it->local)) {
			it->local = nd->ready_next;
			nd->ready_next = rev;
			rev = nd;
		}
		it->local = rev;
	}
	*itp = it;
	return 0;
}

/* Move what completers pushed to the local list, oldest first. */
static bool ac_take(struct weft_as_completed *it)
{
	struct ac_node *nd = atomic_exchange(&it->ready, NULL), *rev = NULL;

	if (!nd)
		return false;
	while (nd) {
		struct ac_node *next = nd->ready_next;

		nd->ready_next = rev;
		rev = nd;
		nd = next;
	}
	/* Append after anything still local. */
	if (!it->local) {
		it->local = rev;
	} else {
		struct ac_node *t = it->local;

		while (t->ready_next)
			t = t->ready_next;
		t->ready_next = rev;
	}
	return true;
}

/* From an executor's thread: run a pending future not yet yielded. */
static bool ac_run_inline(struct weft_as_completed *it, int64_t deadline)
{
	if (!weft__executor_current || !weft__forever(deadline))
		return false;
	for (size_t i = 0; i < it->n; i++)
		if (!it->nodes[i].yielded &&
		    weft__future_try_inline(it->nodes[i].f, deadline))
			return true;
	return false;
}

int weft_as_completed_next(weft_as_completed *it, weft_future **fp,
			   int64_t deadline)
{
	struct weft__waiter w;

	if (fp)
		*fp = NULL;
	if (!it || !fp)
		return -EINVAL;
	for (;;) {
		struct ac_node *nd = it->local;

		if (nd) {
			it->local = nd->ready_next;
			nd->yielded = true;
			it->left--;
			*fp = nd->f;
			return 0;
		}
		if (!it->left)
			return -ENOENT;
		if (ac_take(it))
			continue;
		if (ac_run_inline(it, deadline))
			continue;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(&it->wl, &w); /* seq_cst: then re-check */
		if (atomic_load(&it->ready)) {
			weft__waitlist_remove(&it->wl, &w);
			continue;
		}
		if (weft__park(&w, deadline) == -ECANCELED)
			return -ECANCELED;
	}
}

void weft_as_completed_free(weft_as_completed *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < it->n; i++)
		weft__future_unwatch(it->nodes[i].f, &it->nodes[i].w);
	for (size_t i = 0; i < it->n; i++)
		weft_future_release(it->nodes[i].f);
	free(it);
}
