/*
 * timer.c — a loop's timers (loop.h): a few sorted runs and a 4-ary heap.
 *
 * Most timers a loop holds come in a few lengths (every cell's 1 ms sleep,
 * every connection's 10 s read timeout), and timers of one length armed
 * in order expire in order. A run keeps such a sequence: a ring whose
 * deadlines never decrease, so arming at its end, firing from its front
 * and disarming anywhere touch nothing but the timer itself. A new timer
 * goes to the run it extends most tightly (the one whose last deadline is
 * the latest not after it — patience sorting, so each length finds its
 * own run), else to an empty run, else to the heap. The next timer is the
 * earliest of the runs' fronts and the heap's top by (deadline, arming
 * order), so ties still fire in arming order across them all.
 *
 * A timer's idx says where it is: a heap slot, or RUN | run << 28 | ring
 * slot. A disarmed run slot is left empty (t == NULL) and skipped; a
 * run's ends are kept non-empty, and a run is compacted once empties are
 * over half of it, so memory stays proportional to the timers armed.
 *
 * The heap's slots hold the keys, so sifting reads one array, not timers
 * scattered over their coroutines' stacks, and a node's four children are
 * adjacent (half the depth of a binary heap).
 */
#include <errno.h>
#include <stdlib.h>

#include "loop/loop.h"

#define RUN (UINT32_C(1) << 31)
#define RUN_SHIFT 28
#define RUN_SLOTS (UINT32_C(1) << RUN_SHIFT) /* a run's most slots */
#define ARITY 4

static inline bool before(const struct weft__timer_slot *a,
			  const struct weft__timer_slot *b)
{
	return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

/* ---- the heap ---- */

static inline void heap_set(struct weft__timers *ts, uint32_t i,
			    const struct weft__timer_slot *e)
{
	ts->heap[i] = *e;
	e->t->idx = i;
}

static void sift_up(struct weft__timers *ts, uint32_t i)
{
	struct weft__timer_slot e = ts->heap[i];

	while (i > 0) {
		uint32_t p = (i - 1) / ARITY;

		if (!before(&e, &ts->heap[p]))
			break;
		heap_set(ts, i, &ts->heap[p]);
		i = p;
	}
	heap_set(ts, i, &e);
}

static void sift_down(struct weft__timers *ts, uint32_t i)
{
	struct weft__timer_slot e = ts->heap[i];

	for (;;) {
		uint32_t c = ARITY * i + 1, end = c + ARITY, m = c;

		if (c >= ts->nheap)
			break;
		if (end > ts->nheap)
			end = ts->nheap;
		for (uint32_t k = c + 1; k < end; k++)
			if (before(&ts->heap[k], &ts->heap[m]))
				m = k;
		if (!before(&ts->heap[m], &e))
			break;
		heap_set(ts, i, &ts->heap[m]);
		i = m;
	}
	heap_set(ts, i, &e);
}

static int heap_add(struct weft__timers *ts, const struct weft__timer_slot *e)
{
	if (ts->nheap == ts->capheap) {
		uint32_t cap = ts->capheap ? ts->capheap * 2 : 64;
		struct weft__timer_slot *h;

		if (cap >= RUN_SLOTS)
			return -ENOMEM;
		h = realloc(ts->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		ts->heap = h;
		ts->capheap = cap;
	}
	ts->heap[ts->nheap] = *e;
	sift_up(ts, ts->nheap++);
	return 0;
}

static void heap_remove(struct weft__timers *ts, uint32_t i)
{
	if (i == --ts->nheap)
		return;
	ts->heap[i] = ts->heap[ts->nheap];
	if (i > 0 && before(&ts->heap[i], &ts->heap[(i - 1) / ARITY]))
		sift_up(ts, i);
	else
		sift_down(ts, i);
}

/* ---- the runs ---- */

static inline uint32_t at(const struct weft__timer_run *r, uint32_t k)
{
	return (r->head + k) & (r->cap - 1);
}

static inline uint32_t run_idx(int ri, uint32_t slot)
{
	return RUN | (uint32_t)ri << RUN_SHIFT | slot;
}

/* Re-lay run ri's live slots from 0 in a ring of cap (>= their count). */
static int relayout(struct weft__timers *ts, int ri, uint32_t cap)
{
	struct weft__timer_run *r = &ts->run[ri];
	struct weft__timer_slot *n = malloc(cap * sizeof(*n));
	uint32_t len = 0;

	if (!n)
		return -ENOMEM;
	for (uint32_t k = 0; k < r->len; k++) {
		struct weft__timer_slot *e = &r->slot[at(r, k)];

		if (!e->t)
			continue;
		n[len] = *e;
		e->t->idx = run_idx(ri, len);
		len++;
	}
	free(r->slot);
	*r = (struct weft__timer_run){ n, 0, len, cap, 0 };
	return 0;
}

/* Drop empty slots at both ends: a run's front and back are live. */
static void trim(struct weft__timer_run *r)
{
	while (r->len && !r->slot[r->head].t) {
		r->head = at(r, 1);
		r->len--;
		r->dead--;
	}
	while (r->len && !r->slot[at(r, r->len - 1)].t) {
		r->len--;
		r->dead--;
	}
}

/* The run e extends most tightly, else an empty one, else -1. */
static int pick_run(const struct weft__timers *ts,
		    const struct weft__timer_slot *e)
{
	const struct weft__timer_slot *best = NULL;
	int ri = -1, empty = -1;

	for (int i = 0; i < WEFT__TIMER_RUNS; i++) {
		const struct weft__timer_run *r = &ts->run[i];
		const struct weft__timer_slot *last;

		if (!r->len) {
			if (empty < 0)
				empty = i;
			continue;
		}
		last = &r->slot[at(r, r->len - 1)];
		if (!before(e, last) && (!best || before(best, last))) {
			best = last;
			ri = i;
		}
	}
	return ri >= 0 ? ri : empty;
}

/* 0, or 1: no run takes e (the heap will). */
static int run_add(struct weft__timers *ts, const struct weft__timer_slot *e)
{
	int ri = pick_run(ts, e);
	struct weft__timer_run *r;

	if (ri < 0)
		return 1;
	r = &ts->run[ri];
	if (r->len == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 64;

		if (cap > RUN_SLOTS || relayout(ts, ri, cap))
			return 1;
	}
	r->slot[at(r, r->len)] = *e;
	e->t->idx = run_idx(ri, at(r, r->len));
	r->len++;
	return 0;
}

static void run_remove(struct weft__timers *ts, uint32_t idx)
{
	int ri = (int)((idx & ~RUN) >> RUN_SHIFT);
	struct weft__timer_run *r = &ts->run[ri];

	r->slot[idx & (RUN_SLOTS - 1)].t = NULL;
	r->dead++;
	trim(r);
	if (r->dead > 64 && r->dead > r->len / 2)
		relayout(ts, ri, r->cap); /* no memory: stays as is */
}

/* ---- the timers ---- */

int weft__timer_arm(struct weft__loop *l, struct weft__timer *t, int64_t when)
{
	struct weft__timers *ts = &l->timers;
	struct weft__timer_slot e = { when, ts->seq++, t };
	int rc;

	if (weft__timer_armed(t))
		weft__timer_disarm(l, t);
	rc = run_add(ts, &e);
	if (rc == 1)
		rc = heap_add(ts, &e);
	return rc;
}

void weft__timer_disarm(struct weft__loop *l, struct weft__timer *t)
{
	uint32_t i = t->idx;

	if (i == UINT32_MAX)
		return;
	t->idx = UINT32_MAX;
	if (i & RUN)
		run_remove(&l->timers, i);
	else
		heap_remove(&l->timers, i);
}

/* The earliest armed slot, or NULL. */
static const struct weft__timer_slot *first(const struct weft__timers *ts)
{
	const struct weft__timer_slot *m = ts->nheap ? &ts->heap[0] : NULL;

	for (int i = 0; i < WEFT__TIMER_RUNS; i++) {
		const struct weft__timer_run *r = &ts->run[i];

		if (r->len && (!m || before(&r->slot[r->head], m)))
			m = &r->slot[r->head];
	}
	return m;
}

int64_t weft__loop_next_timer(const struct weft__loop *l)
{
	const struct weft__timer_slot *e = first(&l->timers);

	return e ? e->when : -1;
}

void weft__timers_fire(struct weft__loop *l)
{
	const struct weft__timer_slot *e;

	while ((e = first(&l->timers)) && e->when <= l->now) {
		struct weft__timer *t = e->t;

		weft__timer_disarm(l, t);
		t->fire(t);
	}
}

void weft__timers_free(struct weft__loop *l)
{
	free(l->timers.heap);
	for (int i = 0; i < WEFT__TIMER_RUNS; i++)
		free(l->timers.run[i].slot);
	l->timers = (struct weft__timers){ 0 };
}
