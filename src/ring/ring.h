/*
 * ring.h — the bounded MPMC ring (Dmitry Vyukov's), the one copy in weft:
 * the queue's storage and each pool worker's task ring (private).
 *
 * Slots. `cap` slots of `stride` bytes (a power of two, so a slot's
 * address is a shift away: 16 for the queue's pointer, 32 for the pool's
 * task), each a sequence word followed by
 * the element (a fixed `size` bytes the caller chooses: a pointer for the
 * queue, a task for the pool). Position p (a 64-bit counter that never
 * wraps in practice) maps to slot p % cap in turn t = p / cap. A slot's seq
 * is 2t when it is free for the producer of turn t, 2t+1 once that
 * producer has published its element, 2t+2 = 2(t+1) once the consumer has
 * taken it. Turns (rather than Vyukov's pos+1 / pos+cap) make every
 * capacity work, 1 included; a power of two takes the shift-and-mask path.
 * Zeroed memory is an empty ring: every seq 0, free for turn 0.
 *
 * Memory orders, argued once:
 *   - A producer reads the slot's seq with acquire (it must see the
 *     consumer of the previous turn done with the element before it
 *     overwrites it), claims the position with a CAS on `tail`, writes the
 *     element, and publishes it with a release store of seq. A consumer
 *     mirrors this on `head` and publishes "free" with a release store.
 *     Those acquire/release pairs on seq are all the element needs.
 *   - Both CASes (tail and head) are seq_cst. Each index is one half of a
 *     sleep protocol (Dekker): a consumer about to park registers on its
 *     wait list with a seq_cst RMW and then loads tail; the producer's
 *     seq_cst CAS on tail followed by its load of the waiter count is the
 *     other half. In the single total order one of them sees the other, so
 *     no wake-up is lost. Producers waiting for room (the queue's putters)
 *     mirror it on head, and pool workers parking mirror it on tail. On
 *     x86-64 every CAS is a full barrier anyway; on aarch64 seq_cst costs
 *     an acquire-release pair, which a relaxed CAS would only save where
 *     nobody sleeps — the two copies this replaces had drifted exactly
 *     there (a relaxed head CAS in the pool, seq_cst in the queue).
 *   - The "position moved?" re-reads of tail/head are relaxed: they only
 *     decide whether to retry; the CAS validates.
 *
 * Closing. WEFT__RING_CLOSED, the top bit of `tail`, is set with fetch_or:
 * a push either claimed its position before the close (its element will
 * be seen by the consumers) or fails with -EPIPE; nothing slips in after.
 * A forced push (the pool moving accepted tasks) passes the bit and keeps
 * it. Once closed, tail moves only by forced pushes, and a consumer that
 * finds head == tail knows the ring is drained.
 *
 * In flight. A slot claimed but not yet published (its producer was
 * preempted between CAS and store) reads as "not there yet": pop returns
 * -EAGAIN though tail is ahead of head. Its producer will not wake anyone
 * for it, so callers wait for it by backing off, never by parking.
 */
#ifndef WEFT_RING_H
#define WEFT_RING_H

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "park/park.h"

#define WEFT__RING_CLOSED (UINT64_C(1) << 63)
#define WEFT__RING_POS(t) ((t) & ~WEFT__RING_CLOSED)

struct weft__ring {
	/* Read-only after init. */
	alignas(64) unsigned char *slots;
	uint64_t cap, mask;
	uint32_t shift, stride_shift;
	bool pow2;
	/* Each index on a line of its own: producers write one, consumers
	 * the other. */
	alignas(64) _Atomic uint64_t tail; /* next push position | CLOSED */
	alignas(64) _Atomic uint64_t head; /* next pop position */
};

/* The slot's header; the element follows at offset WEFT__RING_ELEM. */
struct weft__ring_slot {
	_Atomic uint64_t seq;
};
#define WEFT__RING_ELEM sizeof(uint64_t)

/* Bytes a slot takes for an element of `size` (<= 56) bytes (a constant). */
#define WEFT__RING_STRIDE(size)                        \
	(WEFT__RING_ELEM + (size) <= 16	  ? (size_t)16 \
	 : WEFT__RING_ELEM + (size) <= 32 ? (size_t)32 \
					  : (size_t)64)

static inline size_t weft__ring_stride(size_t size)
{
	return WEFT__RING_STRIDE(size);
}

/*
 * Set up r over `slots` (cap * weft__ring_stride(size) bytes, zeroed by the
 * caller). cap >= 1.
 */
static inline void weft__ring_init(struct weft__ring *r, void *slots,
				   uint64_t cap, size_t size)
{
	r->slots = slots;
	r->cap = cap;
	r->pow2 = (cap & (cap - 1)) == 0;
	r->mask = cap - 1;
	r->shift = (uint32_t)__builtin_ctzll(cap);
	r->stride_shift = (uint32_t)__builtin_ctzll(weft__ring_stride(size));
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
}

static inline struct weft__ring_slot *
weft__ring_slot(const struct weft__ring *r, uint64_t pos)
{
	uint64_t i = r->pow2 ? pos & r->mask : pos % r->cap;

	return (struct weft__ring_slot *)(void *)(r->slots +
						  (i << r->stride_shift));
}

static inline uint64_t weft__ring_turn(const struct weft__ring *r, uint64_t pos)
{
	return r->pow2 ? pos >> r->shift : pos / r->cap;
}

/*
 * Push `size` bytes from `elem`. 0; -EAGAIN when full (or the slot's
 * consumer of the last turn is still in flight); -EPIPE when closed
 * (unless `force`). Always inlined: `size` and `force` fold away.
 */
static inline __attribute__((always_inline)) int
weft__ring_push(struct weft__ring *r, const void *elem, size_t size, bool force)
{
	uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);

	for (;;) {
		uint64_t p = WEFT__RING_POS(pos), want, seq, again;
		struct weft__ring_slot *sl;

		if ((pos & WEFT__RING_CLOSED) && !force)
			return -EPIPE;
		sl = weft__ring_slot(r, p);
		want = 2 * weft__ring_turn(r, p);
		seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
		if (seq == want) {
			if (atomic_compare_exchange_weak_explicit(
				    &r->tail, &pos, pos + 1,
				    memory_order_seq_cst,
				    memory_order_relaxed)) {
				memcpy((unsigned char *)sl + WEFT__RING_ELEM,
				       elem, size);
				atomic_store_explicit(&sl->seq, want + 1,
						      memory_order_release);
				return 0;
			}
			continue;
		}
		again = atomic_load_explicit(&r->tail, memory_order_relaxed);
		if ((int64_t)(seq - want) < 0 && again == pos)
			return -EAGAIN;
		pos = again;
	}
}

/*
 * Pop into `elem`. 0; -EAGAIN when empty or when the next element's
 * producer is still in flight (weft__ring_busy() tells them apart).
 */
static inline __attribute__((always_inline)) int
weft__ring_pop(struct weft__ring *r, void *elem, size_t size)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);

	for (;;) {
		struct weft__ring_slot *sl = weft__ring_slot(r, pos);
		uint64_t want = 2 * weft__ring_turn(r, pos) + 1, seq, again;

		seq = atomic_load_explicit(&sl->seq, memory_order_acquire);
		if (seq == want) {
			if (atomic_compare_exchange_weak_explicit(
				    &r->head, &pos, pos + 1,
				    memory_order_seq_cst,
				    memory_order_relaxed)) {
				memcpy(elem,
				       (unsigned char *)sl + WEFT__RING_ELEM,
				       size);
				atomic_store_explicit(&sl->seq, want + 1,
						      memory_order_release);
				return 0;
			}
			continue;
		}
		again = atomic_load_explicit(&r->head, memory_order_relaxed);
		if ((int64_t)(seq - want) < 0 && again == pos)
			return -EAGAIN;
		pos = again;
	}
}

/*
 * Is the element at head published? One load of a line the next pop reads
 * anyway; unlike weft__ring_busy() it leaves tail (the producers' line)
 * alone, so spinning readers do not slow pushes. Misses a push in flight.
 */
static inline bool weft__ring_peek(struct weft__ring *r)
{
	uint64_t pos = atomic_load_explicit(&r->head, memory_order_relaxed);

	return atomic_load_explicit(&weft__ring_slot(r, pos)->seq,
				    memory_order_relaxed) ==
	       2 * weft__ring_turn(r, pos) + 1;
}

/* Something claimed and not taken (possibly still being written). seq_cst
 * loads: the re-check half of a sleeper's Dekker pair. */
static inline bool weft__ring_busy(struct weft__ring *r)
{
	uint64_t h = atomic_load(&r->head);

	return WEFT__RING_POS(atomic_load(&r->tail)) != h;
}

/* Close: pushes fail with -EPIPE from now on (forced ones excepted). */
static inline void weft__ring_close(struct weft__ring *r)
{
	atomic_fetch_or(&r->tail, WEFT__RING_CLOSED);
}

static inline bool weft__ring_closed(struct weft__ring *r)
{
	return atomic_load(&r->tail) & WEFT__RING_CLOSED;
}

/* Closed, and every pushed element taken. */
static inline bool weft__ring_drained(struct weft__ring *r)
{
	uint64_t h = atomic_load(&r->head);
	uint64_t t = atomic_load(&r->tail);

	return (t & WEFT__RING_CLOSED) && WEFT__RING_POS(t) == h;
}

/*
 * The re-check of a thread about to sleep on this ring, after its seq_cst
 * registration on a wait list (the Dekker half described above): true if
 * a consumer finds nothing claimed (or a producer, with `producer`, no
 * room) and the ring is open, so nothing will change without a wake.
 * seq_cst loads, head first, so POS(tail) >= head.
 */
static inline bool weft__ring_must_wait(struct weft__ring *r, bool producer)
{
	uint64_t h = atomic_load(&r->head);
	uint64_t t = atomic_load(&r->tail);

	if (t & WEFT__RING_CLOSED)
		return false;
	if (producer)
		return WEFT__RING_POS(t) - h >= r->cap;
	return WEFT__RING_POS(t) == h;
}

/* A push in flight is waited for with a pause, and a yield this often. */
#define WEFT__RING_INFLIGHT_YIELD 32

/*
 * Empty a closed ring: the next element into `elem` (0), or -EPIPE once
 * every pushed element is taken. A push claimed but not yet published is
 * waited out with `b` (pauses and yields, never a park: its producer is on
 * its way and will wake nobody). Concurrent pops may take some elements;
 * each goes to exactly one taker.
 */
static inline int weft__ring_drain_one(struct weft__ring *r, void *elem,
				       size_t size, struct weft__backoff *b)
{
	for (;;) {
		if (weft__ring_pop(r, elem, size) == 0)
			return 0;
		if (weft__ring_drained(r))
			return -EPIPE;
		weft__backoff_wait(b, WEFT__RING_INFLIGHT_YIELD);
	}
}

/* Elements claimed and not taken, at most cap (a snapshot). */
static inline uint64_t weft__ring_size(struct weft__ring *r)
{
	uint64_t h = atomic_load(&r->head);
	uint64_t t = WEFT__RING_POS(atomic_load(&r->tail));

	if (t <= h)
		return 0;
	return t - h > r->cap ? r->cap : t - h;
}

#endif /* WEFT_RING_H */
