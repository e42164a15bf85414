/*
 * queue.c — bounded MPMC queue: Vyukov's ring for the fast path, park/wake
 * for the slow path.
 *
 * The ring. `cap` slots, each a sequence word and an item. Position p (a
 * 64-bit counter that never wraps in practice) maps to slot p % cap in turn
 * t = p / cap. A slot's seq is 2t when it is free for the producer of turn
 * t, 2t+1 when that producer has published its item, 2t+2 (= 2(t+1)) when
 * the consumer has taken it. A producer claims position `tail` with one CAS
 * once the slot says 2t, writes the item, and publishes with a release
 * store of 2t+1; a consumer mirrors it on `head`. Turns (rather than
 * Vyukov's pos+1 / pos+cap) make every capacity work, 1 included; a power
 * of two takes the shift-and-mask path.
 *
 * Closing. CLOSED is the top bit of `tail`, set with fetch_or, so a put
 * either claimed its slot before the close (and its item will be seen by
 * the consumers) or fails with -EPIPE: nothing slips in after. Once tail is
 * closed it never moves, and a consumer that finds head == tail knows the
 * queue is drained.
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

#define CLOSED (UINT64_C(1) << 63)
#define POS(t) ((t) & ~CLOSED)

/* Tries with a pause between them, then with a yield, before parking. */
#ifndef QUEUE_SPINS /* overridable, to tune with bench_queue */
#define QUEUE_SPINS 32
#endif
#ifndef QUEUE_YIELDS
#define QUEUE_YIELDS 16
#endif
/* Retries of a claimed-but-unpublished slot before yielding the CPU. */
#define INFLIGHT_SPINS 32

struct slot {
	_Atomic uint64_t seq;
	void *item; /* published by seq (release/acquire) */
};

struct weft_queue {
	/* Read-only after creation, plus the rarely written shutdown flag. */
	alignas(64) struct slot *slots;
	uint64_t cap;
	uint64_t mask;
	unsigned shift;
	bool pow2;
	_Atomic uint32_t shut; /* shutdown(immediate) began */

	alignas(64) _Atomic uint64_t tail; /* next put position | CLOSED */
	alignas(64) _Atomic uint64_t head; /* next get position */
	/* Read by producers on every put: written only when a getter sleeps. */
	alignas(64) struct weft__waitlist getters;
	alignas(64) struct weft__waitlist putters;
	alignas(64) _Atomic uint64_t done; /* task_done count */
	struct weft__waitlist joiners;
};

static inline uint64_t slot_of(const struct weft_queue *q, uint64_t pos)
{
	return q->pow2 ? pos & q->mask : pos % q->cap;
}

static inline uint64_t turn_of(const struct weft_queue *q, uint64_t pos)
{
	return q->pow2 ? pos >> q->shift : pos / q->cap;
}

int weft_queue_new(weft_queue **qp, size_t capacity)
{
	struct weft_queue *q;

	if (!qp)
		return -EINVAL;
	*qp = NULL;
	if (capacity == 0 || capacity > WEFT_QUEUE_MAX)
		return -EINVAL;
	q = aligned_alloc(64, sizeof(*q));
	if (!q)
		return -ENOMEM;
	memset(q, 0, sizeof(*q));
	/* Zeroed slots: seq 0 = free for the producers of turn 0. */
	q->slots = calloc(capacity, sizeof(struct slot));
	if (!q->slots)
		goto err_free_q;
	q->cap = capacity;
	q->pow2 = (capacity & (capacity - 1)) == 0;
	q->mask = capacity - 1;
	q->shift = (unsigned)__builtin_ctzll(capacity);
	atomic_init(&q->shut, 0);
	atomic_init(&q->tail, 0);
	atomic_init(&q->head, 0);
	atomic_init(&q->done, 0);
	*qp = q;
	return 0;

err_free_q:
	free(q);
	return -ENOMEM;
}

void weft_queue_free(weft_queue *q)
{
	if (!q)
		return;
	free(q->slots);
	free(q);
}

/* 0, -EAGAIN (full, or the slot's consumer is still in flight), -EPIPE. */
static inline __attribute__((always_inline)) int put_try(struct weft_queue *q,
							 void *item)
{
	uint64_t pos = atomic_load_explicit(&q->tail, memory_order_relaxed);

	for (;;) {
		struct slot *sl;
		uint64_t want, seq, again;

		if (pos & CLOSED)
			return -EPIPE;
		sl = &q->slots[slot_of(q, pos)];
		want = 2 * turn_of(q, pos);
		seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
		if (seq == want) {
			/* seq_cst: the Dekker pair with a sleeping getter. */
			if (atomic_compare_exchange_weak_explicit(
				    &q->tail, &pos, pos + 1,
				    memory_order_seq_cst,
				    memory_order_relaxed)) {
				sl->item = item;
				atomic_store_explicit(&sl->seq, want + 1,
						      memory_order_release);
				if (weft__waitlist_count(&q->getters))
					weft__wake_one(&q->getters);
				return 0;
			}
			continue;
		}
		again = atomic_load_explicit(&q->tail, memory_order_relaxed);
		if ((int64_t)(seq - want) < 0 && again == pos)
			return -EAGAIN; /* last turn's item still there */
		pos = again;
	}
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
	uint64_t pos = atomic_load_explicit(&q->head, memory_order_relaxed);

	if (atomic_load_explicit(&q->shut, memory_order_relaxed))
		return -EPIPE;
	for (;;) {
		struct slot *sl = &q->slots[slot_of(q, pos)];
		uint64_t want = 2 * turn_of(q, pos) + 1, seq, again, t;

		seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
		if (seq == want) {
			if (atomic_compare_exchange_weak_explicit(
				    &q->head, &pos, pos + 1,
				    memory_order_seq_cst,
				    memory_order_relaxed)) {
				*out = sl->item;
				atomic_store_explicit(&sl->seq, want + 1,
						      memory_order_release);
				if (weft__waitlist_count(&q->putters))
					weft__wake_one(&q->putters);
				return 0;
			}
			continue;
		}
		again = atomic_load_explicit(&q->head, memory_order_relaxed);
		if ((int64_t)(seq - want) < 0 && again == pos) {
			if (!closed)
				return -EAGAIN;
			t = atomic_load_explicit(&q->tail,
						 memory_order_acquire);
			if ((t & CLOSED) && POS(t) == pos)
				return -EPIPE; /* closed and drained */
			return -EAGAIN;
		}
		pos = again;
	}
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
 * Spin with a pause, then register, re-check, park; retry after each wake.
 */
static int queue_wait(struct weft_queue *q, bool put, void *in, void **out,
		      int64_t deadline)
{
	struct weft__waitlist *wl = put ? &q->putters : &q->getters;
	struct weft__waiter w;
	int rc, inflight = 0;

	/*
	 * Spin, then yield, then park. Measured on this 2-core VM: long
	 * PAUSE loops cost more than they save (the hypervisor notices them),
	 * a few tries then sched_yield() lets a preempted peer run (4 -> 4 is
	 * 8 threads on 2 cores) and, in 1 -> 1, backs off long enough for the
	 * other side to fill or drain a batch. Parking costs the other side a
	 * futex wake (~1-2 us), so it comes last.
	 */
	for (int i = 0; i < QUEUE_SPINS + QUEUE_YIELDS; i++) {
		if (i < QUEUE_SPINS)
			weft__cpu_relax();
		else if (weft__expired(deadline))
			return -ETIMEDOUT;
		else
			weft__yield();
		rc = put ? put_try(q, in) : get_try(q, out, false);
		if (rc != -EAGAIN)
			return rc;
	}
	for (;;) {
		uint64_t t, h;
		bool sleep;

		if (weft__expired(deadline))
			return -ETIMEDOUT;
		weft__waiter_init(&w);
		weft__waitlist_push(wl, &w);
		/* seq_cst loads after the seq_cst registration: Dekker. */
		h = atomic_load(&q->head);
		t = atomic_load(&q->tail); /* after h: POS(t) >= h */
		if (t & CLOSED)
			sleep = false; /* put fails, get drains or fails */
		else if (put)
			sleep = POS(t) - h >= q->cap; /* no room, none coming */
		else
			sleep = POS(t) == h; /* nothing claimed, none coming */
		if (atomic_load_explicit(&q->shut, memory_order_relaxed))
			sleep = false;
		if (sleep) {
			inflight = 0;
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
			if (++inflight % INFLIGHT_SPINS == 0)
				weft__yield();
			else
				weft__cpu_relax();
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
	if (deadline == 0)
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
	if (deadline == 0)
		return -ETIMEDOUT;
	return queue_wait(q, false, NULL, item, deadline);
}

size_t weft_queue_size(weft_queue *q)
{
	uint64_t h, t;

	if (!q)
		return 0;
	h = atomic_load(&q->head);
	t = POS(atomic_load(&q->tail));
	if (t <= h)
		return 0;
	return t - h > q->cap ? (size_t)q->cap : (size_t)(t - h);
}

size_t weft_queue_capacity(weft_queue *q)
{
	return q ? (size_t)q->cap : 0;
}

bool weft_queue_empty(weft_queue *q)
{
	return weft_queue_size(q) == 0;
}

bool weft_queue_full(weft_queue *q)
{
	return q && weft_queue_size(q) == q->cap;
}

bool weft_queue_is_closed(weft_queue *q)
{
	return q && (atomic_load(&q->tail) & CLOSED);
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
	atomic_fetch_or(&q->tail, CLOSED);
	weft__wake_all(&q->getters);
	weft__wake_all(&q->putters);
	return 0;
}

int weft_queue_shutdown(weft_queue *q, bool immediate, weft_queue_drop_fn *drop,
			void *arg)
{
	void *item;
	int n = 0, rc, spins = 0;

	if (!q)
		return -EINVAL;
	if (!immediate)
		return weft_queue_close(q);
	atomic_fetch_or(&q->tail, CLOSED);
	/* Gets fail from now on: what is left goes to drop(). */
	atomic_store(&q->shut, 1);
	/* Take every accepted item: each goes to exactly one get or drop. */
	for (;;) {
		uint64_t pos =
			atomic_load_explicit(&q->head, memory_order_relaxed);
		struct slot *sl = &q->slots[slot_of(q, pos)];
		uint64_t want = 2 * turn_of(q, pos) + 1;

		if (POS(atomic_load(&q->tail)) == pos)
			break;
		if (atomic_load_explicit(&sl->seq, memory_order_acquire) !=
		    want) {
			/* Claimed, not yet published, or head moved on. */
			if (++spins % INFLIGHT_SPINS == 0)
				weft__yield();
			continue;
		}
		if (!atomic_compare_exchange_strong(&q->head, &pos, pos + 1))
			continue;
		item = sl->item;
		atomic_store_explicit(&sl->seq, want + 1, memory_order_release);
		if (drop)
			drop(item, arg);
		if (n < INT32_MAX)
			n++;
	}
	rc = n;
	/* Dropped items count as done, as in Python 3.13. */
	atomic_fetch_add(&q->done, (uint64_t)n);
	weft__wake_all(&q->getters);
	weft__wake_all(&q->putters);
	wake_joiners(q);
	return rc;
}

int weft_queue_task_done(weft_queue *q)
{
	uint64_t d;

	if (!q)
		return -EINVAL;
	d = atomic_load(&q->done);
	do {
		if (d >= POS(atomic_load(&q->tail)))
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

	return d >= POS(atomic_load(&q->tail));
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
