/*
 * queue.c — bounded MPMC queue: Vyukov's ring for the fast path, park/wake
 * for the slow path.
 *
 * The ring (src/ring/ring.h) holds the items, one pointer per slot: a put
 * is one CAS on its tail, a get one CAS on its head. Closing sets the
 * ring's CLOSED bit, so a put either claimed its slot before the close
 * (and its item will be seen by the consumers) or fails with -EPIPE;
 * once closed, a consumer that finds the ring empty knows it is drained.
 *
 * Sleeping without losing wake-ups (Dekker, all seq_cst):
 *   consumer: push itself on `getters` (nwaiters++, seq_cst RMW),
 *             then load tail and head: anything claimed and not taken?
 *             yes -> unlist and retry; no -> park.
 *   producer: CAS tail (seq_cst RMW), publish, then load getters.nwaiters:
 *             non-zero -> wake one.
 * In the single total order of seq_cst operations either the producer's
 * CAS precedes the consumer's load of tail (the consumer sees the item and
 * does not sleep) or the consumer's registration precedes the producer's
 * load of the count (the producer wakes someone). Producers waiting for
 * room mirror this on `putters`/head. When nobody sleeps, the fast path
 * pays one plain load of a read-mostly count beyond the ring's own CAS.
 *
 * A woken waiter always retries; a wake "stolen" by a faster thread means
 * that thread got the item, which is fine. An item claimed but not yet
 * published (its producer was preempted between CAS and store) is waited
 * for by spinning and yielding, never by parking, since its producer will
 * not wake anyone for it.
 *
 * Tasks. unfinished = puts - task_dones, where puts is tail itself: the
 * fast path counts nothing extra. task_done CASes `done`, join sleeps on
 * `joiners` with the same Dekker pattern.
 */
#include "weft/queue.h"

#include <errno.h>
#include <sched.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "park/park.h"
#include "ring/ring.h"

/* Tries with a pause between them, then with a yield, before parking. */
#ifndef QUEUE_SPINS /* overridable, to tune with bench_queue */
#define QUEUE_SPINS 32
#endif
#ifndef QUEUE_YIELDS
#define QUEUE_YIELDS 16
#endif

struct weft_queue {
	/* Read on every get, written once: a line no hot store touches. */
	_Atomic uint32_t shut; /* shutdown(immediate) began */
	/* The slots' geometry (read-only), tail and head, a line each. */
	struct weft__ring ring;
	/* Read by producers on every put: written only when a getter sleeps. */
	alignas(64) struct weft__waitlist getters;
	alignas(64) struct weft__waitlist putters;
	alignas(64) _Atomic uint64_t done; /* task_done count */
	struct weft__waitlist joiners;
};

int weft_queue_new(weft_queue **qp, size_t capacity)
{
	struct weft_queue *q;
	void *slots;

	if (!qp)
		return -EINVAL;
	*qp = NULL;
	if (capacity == 0 || capacity > WEFT_QUEUE_MAX)
		return -EINVAL;
	q = aligned_alloc(64, sizeof(*q));
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	/* Zeroed slots: an empty ring. */
	slots = calloc(capacity, weft__ring_stride(sizeof(void *)));
	if (!slots) {
		free(q);
		return -ENOMEM;
	}
	weft__ring_init(&q->ring, slots, capacity, sizeof(void *));
	atomic_init(&q->shut, 0);
	atomic_init(&q->done, 0);
	*qp = q;
	return 0;
}

void weft_queue_free(weft_queue *q)
{
	if (!q)
		return;
	free(q->ring.slots);
	free(q);
}

/* 0, -EAGAIN (full, or the slot's consumer is still in flight), -EPIPE. */
static inline __attribute__((always_inline)) int put_try(struct weft_queue *q,
							 void *item)
{
	int rc = weft__ring_push(&q->ring, &item, sizeof(item), false);

	/* After the seq_cst CAS on tail: the Dekker pair with a getter. */
	if (rc == 0 && weft__waitlist_count(&q->getters))
		weft__wake_one(&q->getters);
	return rc;
}

/*
 * 0, -EAGAIN (empty, or the slot's producer is in flight), -EPIPE (closed
 * and drained; only looked for when `closed` is set: loading tail costs a
 * cache miss on the line every producer writes, so spinning getters skip it
 * and look when they register).
 */
static inline __attribute__((always_inline)) int
get_try(struct weft_queue *q, void **out, bool closed)
{
	int rc;

	if (atomic_load_explicit(&q->shut, memory_order_relaxed))
		return -EPIPE;
	rc = weft__ring_pop(&q->ring, out, sizeof(*out));
	if (rc == 0) {
		if (weft__waitlist_count(&q->putters))
			weft__wake_one(&q->putters);
		return 0;
	}
	if (closed && weft__ring_drained(&q->ring))
		return -EPIPE;
	return -EAGAIN;
}

int weft_queue_try_put(weft_queue *q, void *item)
{
	if (!q)
		return -EINVAL;
	return put_try(q, item);
}

int weft_queue_try_get(weft_queue *q, void **item)
{
	if (!q || !item)
		return -EINVAL;
	return get_try(q, item, true);
}

/*
 * The slow paths of put and get, one function: `put` says which side.
 * Back off (spin, then yield), then register, re-check, park; retry after
 * each wake.
 */
static int queue_wait(struct weft_queue *q, bool put, void *in, void **out,
		      int64_t deadline)
{
	struct weft__waitlist *wl = put ? &q->putters : &q->getters;
	struct weft__backoff b = WEFT__BACKOFF(QUEUE_SPINS, QUEUE_YIELDS);
	struct weft__backoff inflight = WEFT__BACKOFF(0, 0);
	struct weft__waiter w;
	int rc;

	/*
	 * Spin, then yield, then park. Measured on this 2-core VM: long
	 * PAUSE loops cost more than they save (the hypervisor notices them),
	 * a few tries then a yield lets a preempted peer run (4 -> 4 is
	 * 8 threads on 2 cores) and, in 1 -> 1, backs off long enough for the
	 * other side to fill or drain a batch. Parking costs the other side a
	 * futex wake (~1-2 us), so it comes last. Yielding stops once the
	 * deadline has passed.
	 */
	while ((weft__backoff_spinning(&b) || !weft__expired(deadline)) &&
	       weft__backoff(&b)) {
		rc = put ? put_try(q, in) : get_try(q, out, false);
		if (rc != -EAGAIN)
			return rc;
	}
	for (;;) {
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(wl, &w);
		/*
		 * After the seq_cst registration: Dekker. Closed: a put
		 * fails, a get drains or fails, so nobody sleeps.
		 */
		if (weft__ring_must_wait(&q->ring, put) &&
		    !atomic_load_explicit(&q->shut, memory_order_relaxed)) {
			rc = weft__park(&w, deadline);
			if (rc < 0) {
				/* Last look: a deadline never hides an item. */
				int last = put ? put_try(q, in)
					       : get_try(q, out, true);

				return last == -EAGAIN ? rc : last;
			}
		} else {
			weft__waitlist_remove(wl, &w);
			/* A slot is claimed but not published yet: let it be. */
			weft__backoff_wait(&inflight,
					   WEFT__RING_INFLIGHT_YIELD);
		}
		rc = put ? put_try(q, in) : get_try(q, out, true);
		if (rc != -EAGAIN)
			return rc;
	}
}

int weft_queue_put(weft_queue *q, void *item, int64_t deadline)
{
	int rc;

	if (!q)
		return -EINVAL;
	rc = put_try(q, item);
	if (rc != -EAGAIN)
		return rc;
	if (weft__expired(deadline))
		return -ETIMEDOUT;
	return queue_wait(q, true, item, NULL, deadline);
}

int weft_queue_get(weft_queue *q, void **item, int64_t deadline)
{
	int rc;

	if (!q || !item)
		return -EINVAL;
	rc = get_try(q, item, true);
	if (rc != -EAGAIN)
		return rc;
	if (weft__expired(deadline))
		return -ETIMEDOUT;
	return queue_wait(q, false, NULL, item, deadline);
}

size_t weft_queue_size(weft_queue *q)
{
	return q ? (size_t)weft__ring_size(&q->ring) : 0;
}

size_t weft_queue_capacity(weft_queue *q)
{
	return q ? (size_t)q->ring.cap : 0;
}

bool weft_queue_empty(weft_queue *q)
{
	return weft_queue_size(q) == 0;
}

bool weft_queue_full(weft_queue *q)
{
	return q && weft_queue_size(q) == q->ring.cap;
}

bool weft_queue_is_closed(weft_queue *q)
{
	return q && weft__ring_closed(&q->ring);
}

static bool all_done(struct weft_queue *q);

/* After a seq_cst change of `done`: Dekker with weft_queue_join. */
static void wake_joiners(struct weft_queue *q)
{
	if (weft__waitlist_count(&q->joiners) && all_done(q))
		weft__wake_all(&q->joiners);
}

int weft_queue_close(weft_queue *q)
{
	if (!q)
		return -EINVAL;
	weft__ring_close(&q->ring);
	weft__wake_all(&q->getters);
	weft__wake_all(&q->putters);
	return 0;
}

int weft_queue_shutdown(weft_queue *q, bool immediate, weft_queue_drop_fn *drop,
			void *arg)
{
	struct weft__backoff inflight = WEFT__BACKOFF(0, 0);
	void *item;
	int n = 0;

	if (!q)
		return -EINVAL;
	if (!immediate)
		return weft_queue_close(q);
	weft__ring_close(&q->ring);
	/* Gets fail from now on: what is left goes to drop(). */
	atomic_store(&q->shut, 1);
	/*
	 * Take every accepted item: each goes to exactly one get or drop.
	 * A get already past its look at `shut` may still take one; the
	 * ring's CAS gives each item to one of us.
	 */
	while (weft__ring_drain_one(&q->ring, &item, sizeof(item), &inflight) ==
	       0) {
		if (drop)
			drop(item, arg);
		if (n < INT32_MAX)
			n++;
	}
	/* Dropped items count as done, as in Python 3.13. */
	atomic_fetch_add(&q->done, (uint64_t)n);
	weft__wake_all(&q->getters);
	weft__wake_all(&q->putters);
	wake_joiners(q);
	return n;
}

int weft_queue_task_done(weft_queue *q)
{
	uint64_t d;

	if (!q)
		return -EINVAL;
	d = atomic_load(&q->done);
	do {
		if (d >= WEFT__RING_POS(atomic_load(&q->ring.tail)))
			return -EINVAL; /* more task_done than puts */
	} while (!atomic_compare_exchange_weak(&q->done, &d, d + 1));
	/* seq_cst CAS, then the joiners' count: Dekker with join. */
	wake_joiners(q);
	return 0;
}

/* done first, then tail: both only grow, so equality held at some instant. */
static bool all_done(struct weft_queue *q)
{
	uint64_t d = atomic_load(&q->done);

	return d >= WEFT__RING_POS(atomic_load(&q->ring.tail));
}

int weft_queue_join(weft_queue *q, int64_t deadline)
{
	struct weft__waiter w;
	int rc;

	if (!q)
		return -EINVAL;
	for (;;) {
		if (all_done(q))
			return 0;
		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(&q->joiners, &w);
		if (all_done(q)) {
			weft__waitlist_remove(&q->joiners, &w);
			return 0;
		}
		rc = weft__park(&w, deadline);
		if (rc < 0)
			return all_done(q) ? 0 : rc;
	}
}
