/*
 * group.c — task groups (asyncio.TaskGroup, libdill bundles), built on
 * futures and park alone.
 *
 * A group counts its live children and keeps each on a list (to cancel
 * them), with a reference on its future. A child's done-callback unlinks
 * it, records the first error, cancels the rest under
 * WEFT_GROUP_CANCEL_ON_ERROR, and wakes the group's waiters when the last
 * one ends. The group is reference-counted (the handle and each child),
 * so a callback never touches a group its owner has freed.
 *
 * Locks: the group's wait-list lock guards everything; futures are
 * cancelled only after it is dropped, because cancelling a pending child
 * runs its done-callback at once, which takes the group's lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "coro/sched.h"
#include "park/park.h"
#include "weft/coro.h"

struct gchild {
	struct gchild *next, *prev;
	weft_group *g;
	weft_future *f;
	bool cancel_sent;
};

struct weft_group {
	struct weft__waitlist wl; /* lock: all below; waiters for the end */
	struct gchild *head;
	uint64_t live;
	int err;
	unsigned flags;
	bool cancelled;
	_Atomic uint32_t refs;
};

static void group_put(weft_group *g)
{
	if (atomic_fetch_sub(&g->refs, 1) == 1)
		free(g);
}

int weft_group_new(weft_group **gp, unsigned flags)
{
	weft_group *g;

	if (!gp)
		return -EINVAL;
	*gp = NULL;
	if (flags & ~(unsigned)WEFT_GROUP_CANCEL_ON_ERROR)
		return -EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	weft__waitlist_init(&g->wl);
	g->flags = flags;
	atomic_init(&g->refs, 1);
	*gp = g;
	return 0;
}

static void unlink_child(weft_group *g, struct gchild *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		g->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
}

/*
 * Cancel every child not yet told (outside the lock, see above): a batch
 * at a time, each future retained while the lock is dropped.
 */
static void cancel_children(weft_group *g)
{
	enum { BATCH = 64 };
	weft_future *fs[BATCH];
	int n;

	do {
		struct gchild *c;

		n = 0;
		weft__waitlist_lock(&g->wl);
		g->cancelled = true;
		for (c = g->head; c && n < BATCH; c = c->next) {
			if (c->cancel_sent)
				continue;
			c->cancel_sent = true;
			fs[n++] = weft_future_retain(c->f);
		}
		weft__waitlist_unlock(&g->wl);
		for (int i = 0; i < n; i++) {
			weft_future_cancel(fs[i]);
			weft_future_release(fs[i]);
		}
	} while (n == BATCH);
}

static void child_done(weft_future *f, void *arg)
{
	struct gchild *n = arg;
	weft_group *g = n->g;
	int rc = weft_future_result(f, NULL, 0);
	bool cancel_rest = false, last;

	weft__waitlist_lock(&g->wl);
	unlink_child(g, n);
	last = --g->live == 0;
	if (rc && !(rc == -ECANCELED && g->cancelled)) {
		if (!g->err)
			g->err = rc;
		if ((g->flags & WEFT_GROUP_CANCEL_ON_ERROR) && !g->cancelled)
			cancel_rest = true;
	}
	weft__waitlist_unlock(&g->wl);
	weft_future_release(n->f);
	free(n);
	if (cancel_rest)
		cancel_children(g);
	if (last)
		weft__wake_all(&g->wl);
	group_put(g); /* the child's reference */
}

int weft_group_spawn(weft_group *g, weft_future **fp, weft_task_fn *fn,
		     void *arg, const weft_coro_opts *opts)
{
	struct gchild *n;
	weft_future *f;
	bool cancel;
	int rc;

	if (fp)
		*fp = NULL;
	if (!g || !fn)
		return -EINVAL;
	if (!weft_in_coro())
		return -EPERM;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->g = g;
	weft__waitlist_lock(&g->wl);
	if (g->cancelled) {
		weft__waitlist_unlock(&g->wl);
		free(n);
		return -ECANCELED;
	}
	g->live++;
	atomic_fetch_add(&g->refs, 1);
	weft__waitlist_unlock(&g->wl);
	rc = weft_spawn(&f, fn, arg, opts);
	if (rc) {
		bool last;

		weft__waitlist_lock(&g->wl);
		last = --g->live == 0;
		weft__waitlist_unlock(&g->wl);
		free(n);
		if (last)
			weft__wake_all(&g->wl);
		group_put(g);
		return rc;
	}
	n->f = f; /* the group's reference: given back in child_done */
	weft__waitlist_lock(&g->wl);
	n->next = g->head;
	if (g->head)
		g->head->prev = n;
	g->head = n;
	cancel = g->cancelled; /* cancelled while we spawned */
	if (cancel)
		n->cancel_sent = true;
	weft__waitlist_unlock(&g->wl);
	if (fp)
		*fp = weft_future_retain(f);
	if (cancel)
		weft_future_cancel(f);
	rc = weft_future_add_done_callback(f, child_done, n);
	if (rc) {
		/* No memory for the callback: wait for the child here. */
		weft_future_result(f, NULL, WEFT_FOREVER);
		child_done(f, n);
	}
	return 0;
}

/* Wait for live == 0; `shield`: a cancelled coroutine waits all the same. */
static int group_wait(weft_group *g, int64_t deadline, bool shield)
{
	for (;;) {
		struct weft__waiter w;
		int rc;

		weft__waitlist_lock(&g->wl);
		if (g->live == 0) {
			rc = g->err;
			weft__waitlist_unlock(&g->wl);
			return rc;
		}
		weft__waiter_init(&w);
		w.shielded = shield;
		weft__waitlist_push_locked(&g->wl, &w);
		weft__waitlist_unlock(&g->wl);
		rc = weft__park(&w, deadline);
		if (rc == -ECANCELED)
			return rc;
		if (rc == -ETIMEDOUT) {
			weft__waitlist_lock(&g->wl);
			rc = g->live ? -ETIMEDOUT : g->err;
			weft__waitlist_unlock(&g->wl);
			return rc;
		}
	}
}

int weft_group_wait(weft_group *g, int64_t deadline)
{
	if (!g)
		return -EINVAL;
	return group_wait(g, deadline, false);
}

void weft_group_cancel(weft_group *g)
{
	if (g)
		cancel_children(g);
}

int weft_group_free(weft_group *g)
{
	int rc;

	if (!g)
		return -EINVAL;
	cancel_children(g);
	rc = group_wait(g, WEFT_FOREVER, true);
	group_put(g);
	return rc;
}
