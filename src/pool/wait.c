/*
 * wait.c — weft_wait() and as_completed: waiting for many futures.
 *
 * Both put a watch record on the callback list of each future
 * (weft__future_watch); its run() bumps a counter or pushes the record on a
 * ready stack, and wakes the one thread waiting on a wait list of the
 * watcher's own. Taking a record off again needs care: once the settling
 * thread took the list, it may still be inside run(), so the watcher waits
 * for the record's `done` word (weft__future_unwatch). From a pool worker,
 * a pending future of its own pool in the set is run inline rather than
 * waited for, as weft_future_result() does.
 */
#include "pool/pool_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "park/park.h"

/* Watch records weft_wait() keeps on its stack before it mallocs. */
#define WAIT_STACK 16

/* ---- waiting for many ---- */

struct collector {
	struct weft__waitlist wl;
	_Atomic uint32_t fired;
};

struct watch {
	struct weft__fcb cb;
	struct collector *c;
	weft_future *f;
	_Atomic uint32_t done; /* run() finished with this record */
	bool linked;
};

static void watch_run(struct weft__fcb *cb, weft_future *f)
{
	struct watch *w = (struct watch *)cb;
	struct collector *c = w->c;

	(void)f;
	atomic_fetch_add(&c->fired, 1);
	weft__wake_one(&c->wl);
	atomic_store_explicit(&w->done, 1, memory_order_release);
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

/* From a worker: run one pending future of our pool in the set, if any. */
static bool run_one_inline(weft_future *const *fs, size_t n)
{
	if (!weft__pool_current())
		return false;
	for (size_t i = 0; i < n; i++)
		if (weft__future_try_inline(fs[i]))
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
	} while (run_one_inline(fs, n));
	if (mode == WEFT_ALL_COMPLETED) {
		/* No watch records needed: wait for each in turn. */
		for (size_t i = 0; i < n; i++) {
			rc = weft__future_wait_settled(fs[i], deadline);
			if (rc)
				return rc;
		}
		return (int)n;
	}
	if (weft__expired(deadline))
		return -ETIMEDOUT;
	if (n > WAIT_STACK) {
		ws = malloc(n * sizeof(*ws));
		if (!ws)
			return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		ws[i].cb.run = watch_run;
		ws[i].c = &c;
		ws[i].f = fs[i];
		atomic_init(&ws[i].done, 0);
		ws[i].linked = weft__future_watch(fs[i], &ws[i].cb);
	}
	for (;;) {
		uint32_t seen = atomic_load(&c.fired);
		struct weft__waiter w;

		if (condition(fs, n, mode, &ndone)) {
			rc = ndone;
			break;
		}
		if (run_one_inline(fs, n))
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
	for (size_t i = 0; i < n; i++)
		if (ws[i].linked)
			weft__future_unwatch(ws[i].f, &ws[i].cb, &ws[i].done);
	if (ws != stack)
		free(ws);
	return rc;
}

/* ---- as_completed ---- */

struct ac_node {
	struct weft__fcb cb;
	struct weft_as_completed *it;
	weft_future *f;
	struct ac_node *ready_next;
	_Atomic uint32_t done;
	bool linked;
	bool yielded;
};

struct weft_as_completed {
	struct weft__waitlist wl;	 /* the iterating thread, parked */
	_Atomic(struct ac_node *) ready; /* settled, pushed by run() */
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

static void ac_run(struct weft__fcb *cb, weft_future *f)
{
	struct ac_node *nd = (struct ac_node *)cb;
	struct weft_as_completed *it = nd->it;

	(void)f;
	ac_push(it, nd);
	weft__wake_one(&it->wl);
	atomic_store_explicit(&nd->done, 1, memory_order_release);
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

		nd->cb.run = ac_run;
		nd->it = it;
		nd->f = weft_future_retain(fs[i]);
		nd->ready_next = NULL;
		nd->yielded = false;
		atomic_init(&nd->done, 0);
		nd->linked = weft__future_watch(fs[i], &nd->cb);
		if (!nd->linked) {
			/* Settled already: ready at once. */
			nd->ready_next = it->local;
			it->local = nd;
			atomic_init(&nd->done, 1);
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

/* From a worker: run a pending future of our pool among those not ready. */
static bool ac_run_inline(struct weft_as_completed *it)
{
	if (!weft__pool_current())
		return false;
	for (size_t i = 0; i < it->n; i++)
		if (it->nodes[i].linked && !it->nodes[i].yielded &&
		    weft__future_try_inline(it->nodes[i].f))
			return true;
	return false;
}

int weft_as_completed_next(weft_as_completed *it, weft_future **fp,
			   int64_t deadline)
{
	struct weft__waiter w;

	if (!it || !fp)
		return -EINVAL;
	*fp = NULL;
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
		if (ac_run_inline(it))
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
	for (size_t i = 0; i < it->n; i++) {
		struct ac_node *nd = &it->nodes[i];

		if (nd->linked)
			weft__future_unwatch(nd->f, &nd->cb, &nd->done);
	}
	for (size_t i = 0; i < it->n; i++)
		weft_future_release(it->nodes[i].f);
	free(it);
}
