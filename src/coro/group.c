/*
 * group.c — task groups (asyncio.TaskGroup, libdill bundles), built on
 * the coroutine records, futures and park.
 *
 * A group counts its live children (`live`) and keeps the started ones on
 * a list to cancel them. The list is sharded by the loop a child runs on,
 * and its links live in the child's record: a child is linked by its loop
 * as it starts and unlinked by the same loop as it ends (a started
 * coroutine never changes thread), so a generation of children ending on
 * two loops at once never fight over one lock or one another's records,
 * and a child costs the group no allocation. The spawner only counts.
 *
 * Cancelling sets `cancelled`, then walks every shard. A child not yet
 * started is stopped by its loop, which looks at `cancelled` before it
 * claims the child (weft__group_admit); a child that starts meanwhile is
 * linked under its shard's lock before the walk reaches it, or sees
 * `cancelled` after linking — the shard lock orders the two — and
 * cancels itself. As each child ends, weft__group_child_done records the
 * first error, cancels the rest under WEFT_GROUP_CANCEL_ON_ERROR, and the
 * last one wakes the group's waiters. The group is reference-counted (the
 * handle and each live child), so a child never touches a group its
 * owner has freed.
 *
 * Locks: the group's wait-list lock guards err and the waiters; a shard's
 * lock its list and its children's gcancel_sent. Futures are cancelled
 * only with no lock held (cancelling takes the child's own lock).
 */
#include <errno.h>
#include <stdlib.h>

#include "coro/sched.h"
#include "park/park.h"
#include "weft/coro.h"

#define SHARDS 8 /* loop id % SHARDS; loops past 8 share */

struct shard {
	_Alignas(64) _Atomic uint32_t lock;
	struct weft__coro *head;
};

/*
 * Lines by who writes them: `cancelled` is read by every start and
 * written once, so it shares no line with the counts the spawner and the
 * ending children write.
 */
struct weft_group {
	struct weft__waitlist wl; /* lock: err; waiters for the end */
	int err;
	unsigned flags;
	_Alignas(64) _Atomic bool cancelled;
	_Alignas(64) _Atomic uint64_t live; /* spawned, not ended */
	_Atomic uint32_t refs;		    /* the handle + each live child */
	struct shard shard[SHARDS];
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
	g = aligned_alloc(64, sizeof(*g));
	if (!g)
		return -ENOMEM;
	weft__waitlist_init(&g->wl);
	g->err = 0;
	g->flags = flags;
	atomic_init(&g->cancelled, false);
	atomic_init(&g->live, 0);
	atomic_init(&g->refs, 1);
	for (int i = 0; i < SHARDS; i++) {
		atomic_init(&g->shard[i].lock, 0);
		g->shard[i].head = NULL;
	}
	*gp = g;
	return 0;
}

/*
 * Cancel every started child not yet told, shard by shard, a batch at a
 * time: each future retained under the shard's lock (a linked child's
 * future is alive: the child unlinks itself before it lets go), cancelled
 * after it is dropped.
 */
static void cancel_children(weft_group *g)
{
	enum { BATCH = 64 };
	weft_future *fs[BATCH];

	atomic_store(&g->cancelled, true);
	for (int i = 0; i < SHARDS; i++) {
		struct shard *sh = &g->shard[i];
		int n;

		do {
			n = 0;
			weft__spin_lock(&sh->lock);
			for (struct weft__coro *c = sh->head; c && n < BATCH;
			     c = c->gnext) {
				if (c->gcancel_sent)
					continue;
				c->gcancel_sent = true;
				fs[n++] = weft_future_retain(c->f);
			}
			weft__spin_unlock(&sh->lock);
			for (int k = 0; k < n; k++) {
				weft_future_cancel(fs[k]);
				weft_future_release(fs[k]);
			}
		} while (n == BATCH);
	}
}

int weft__group_adopt(weft_group *g, struct weft__coro *c)
{
	if (atomic_load(&g->cancelled))
		return -ECANCELED;
	c->group = g;
	atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&g->live, 1, memory_order_relaxed);
	return 0;
}

bool weft__group_admit(struct weft__coro *c)
{
	if (!atomic_load(&c->group->cancelled))
		return true;
	weft_future_cancel(c->f); /* PENDING: it never runs */
	return false;
}

void weft__group_link(struct weft__sched *s, struct weft__coro *c)
{
	weft_group *g = c->group;
	struct shard *sh = &g->shard[s->id % SHARDS];
	bool cancel;

	weft__spin_lock(&sh->lock);
	c->gprev = NULL;
	c->gnext = sh->head;
	if (sh->head)
		sh->head->gprev = c;
	sh->head = c;
	/* A cancel whose walk of this shard came before the link. */
	cancel = atomic_load(&g->cancelled) && !c->gcancel_sent;
	if (cancel)
		c->gcancel_sent = true;
	weft__spin_unlock(&sh->lock);
	if (cancel)
		weft__coro_cancel(c);
}

void weft__group_child_done(struct weft__coro *c, int rc)
{
	weft_group *g = c->group;
	bool cancel_rest = false;

	if (c->sched) { /* started: linked on its loop's shard */
		struct shard *sh = &g->shard[c->sched->id % SHARDS];

		weft__spin_lock(&sh->lock);
		if (c->gprev)
			c->gprev->gnext = c->gnext;
		else
			sh->head = c->gnext;
		if (c->gnext)
			c->gnext->gprev = c->gprev;
		weft__spin_unlock(&sh->lock);
	}
	if (rc && !(rc == -ECANCELED && atomic_load(&g->cancelled))) {
		weft__waitlist_lock(&g->wl);
		if (!g->err)
			g->err = rc;
		cancel_rest = (g->flags & WEFT_GROUP_CANCEL_ON_ERROR) &&
			      !atomic_load(&g->cancelled);
		weft__waitlist_unlock(&g->wl);
	}
	c->group = NULL;
	if (cancel_rest)
		cancel_children(g);
	if (atomic_fetch_sub(&g->live, 1) == 1)
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

		/*
		 * Under the wait-list lock: the last child's decrement comes
		 * before its wake_all takes the lock, so either this sees
		 * live == 0 or that wake finds this waiter.
		 */
		weft__waitlist_lock(&g->wl);
		if (atomic_load(&g->live) == 0) {
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
			rc = atomic_load(&g->live) ? -ETIMEDOUT : g->err;
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
