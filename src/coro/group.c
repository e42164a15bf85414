/*
 * group.c — task groups (asyncio.TaskGroup, libdill bundles), built on
 * the coroutine records, futures and park.
 *
 * A group counts its live children and keeps each on a list (to cancel
 * them). The list links live in the child's own record (sched.h), so a
 * child costs the group no allocation and no done-callback: the runtime
 * calls weft__group_child_done as the child ends — after its future has
 * settled, or when it is discarded before it started — which unlinks it,
 * records the first error, cancels the rest under
 * WEFT_GROUP_CANCEL_ON_ERROR, and wakes the group's waiters when the last
 * one ends. The group is reference-counted (the handle and each child),
 * so a child never touches a group its owner has freed.
 *
 * Locks: the group's wait-list lock guards everything; futures are
 * cancelled only after it is dropped (cancelling takes the child's lock,
 * and a child that ends takes the group's).
 */
#include <errno.h>
#include <stdlib.h>

#include "coro/sched.h"
#include "park/park.h"
#include "weft/coro.h"

struct weft_group {
	struct weft__waitlist wl; /* lock: all below; waiters for the end */
	struct weft__coro *head;  /* live children, via gnext/gprev */
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

/*
 * Cancel every child not yet told (outside the lock, see above): a batch
 * at a time, each future retained while the lock is dropped. A linked
 * child's future is alive: the child unlinks itself before it lets go.
 */
static void cancel_children(weft_group *g)
{
	enum { BATCH = 64 };
	weft_future *fs[BATCH];
	int n;

	do {
		struct weft__coro *c;

		n = 0;
		weft__waitlist_lock(&g->wl);
		g->cancelled = true;
		for (c = g->head; c && n < BATCH; c = c->gnext) {
			if (c->gcancel_sent)
				continue;
			c->gcancel_sent = true;
			fs[n++] = weft_future_retain(c->f);
		}
		weft__waitlist_unlock(&g->wl);
		for (int i = 0; i < n; i++) {
			weft_future_cancel(fs[i]);
			weft_future_release(fs[i]);
		}
	} while (n == BATCH);
}

int weft__group_adopt(weft_group *g, struct weft__coro *c)
{
	weft__waitlist_lock(&g->wl);
	if (g->cancelled) {
		weft__waitlist_unlock(&g->wl);
		return -ECANCELED;
	}
	c->group = g;
	c->gprev = NULL;
	c->gnext = g->head;
	if (g->head)
		g->head->gprev = c;
	g->head = c;
	g->live++;
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	weft__waitlist_unlock(&g->wl);
	return 0;
}

void weft__group_child_done(struct weft__coro *c, int rc)
{
	weft_group *g = c->group;
	bool cancel_rest = false, last;

	weft__waitlist_lock(&g->wl);
	if (c->gprev)
		c->gprev->gnext = c->gnext;
	else
		g->head = c->gnext;
	if (c->gnext)
		c->gnext->gprev = c->gprev;
	last = --g->live == 0;
	if (rc && !(rc == -ECANCELED && g->cancelled)) {
		if (!g->err)
			g->err = rc;
		if ((g->flags & WEFT_GROUP_CANCEL_ON_ERROR) && !g->cancelled)
			cancel_rest = true;
	}
	weft__waitlist_unlock(&g->wl);
	c->group = NULL;
	if (cancel_rest)
		cancel_children(g);
	if (last)
		weft__wake_all(&g->wl);
	group_put(g); /* the child's reference */
}

int weft_group_spawn(weft_group *g, weft_future **fp, weft_task_fn *fn,
		     void *arg, const weft_coro_opts *opts)
{
	struct weft__coro *self = weft__coro_self();

	if (fp)
		*fp = NULL;
	if (!g || !fn)
		return -EINVAL;
	if (!self)
		return -EPERM;
	return weft__coro_spawn(self->sched, fp, fn, arg, opts, false, g);
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
