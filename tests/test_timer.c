/*
 * test_timer.c — a loop's timers (src/loop/timer.c) against a reference
 * model: random arming (in order, so the sorted run takes it, and out of
 * order, so the heap does), re-arming, disarming and firing. Invariants:
 * every armed timer fires exactly once, never before its deadline, in
 * (deadline, arming order) order across run and heap; a disarmed timer
 * never fires; weft__loop_next_timer is the model's earliest. The run's
 * growth, trimming and compaction and the heap's sifting are each shown
 * to have been taken.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "loop/loop.h"

#define N 512

struct tm {
	struct weft__timer t;
	bool armed;	  /* the model: armed now */
	int64_t when;	  /* its deadline while armed */
	uint64_t order;	  /* its arming order while armed */
	unsigned fired;	  /* times fired */
	int64_t fired_at; /* the loop's clock when it fired */
};

static struct tm tms[N];
static struct weft__loop *cur;
static struct tm *last_fired;
static uint64_t arm_order;

static void fired(struct weft__timer *t)
{
	struct tm *m = (struct tm *)((char *)t - offsetof(struct tm, t));

	assert_true(m->armed);
	assert_true(m->when <= cur->now); /* never early */
	if (last_fired) /* in (deadline, arming order) order */
		assert_true(last_fired->when < m->when ||
			    (last_fired->when == m->when &&
			     last_fired->order < m->order));
	assert_false(weft__timer_armed(t));
	m->armed = false;
	m->fired++;
	m->fired_at = cur->now;
	last_fired = m;
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t model_next(void)
{
	int64_t best = -1;

	for (int i = 0; i < N; i++)
		if (tms[i].armed && (best < 0 || tms[i].when < best))
			best = tms[i].when;
	return best;
}

static void arm(struct weft__loop *l, struct tm *m, int64_t when)
{
	assert_int_equal(weft__timer_arm(l, &m->t, when), 0);
	m->armed = true;
	m->when = when;
	m->order = arm_order++;
	assert_true(weft__timer_armed(&m->t));
}

static void model_checks(void **state)
{
	struct weft__loop l;
	uint32_t max_heap = 0, max_run = 0, max_dead = 0, max_cap = 0;
	uint64_t fires = 0, arms = 0;
	int64_t last_in_order = 0;

	(void)state;
	memset(&l, 0, sizeof(l));
	cur = &l;
	for (int i = 0; i < N; i++)
		weft__timer_init(&tms[i].t, fired);
	for (int round = 0; round < 200000; round++) {
		struct tm *m = &tms[next_rand() % N];
		unsigned op = (unsigned)(next_rand() % 100);

		if (op < 45) { /* one length: in order, the run's */
			last_in_order += (int64_t)(next_rand() % 3);
			if (last_in_order < l.now)
				last_in_order = l.now;
			arm(&l, m, last_in_order + 1000);
			arms++;
		} else if (op < 60) { /* any deadline: the heap's */
			arm(&l, m, l.now + (int64_t)(next_rand() % 3000) - 500);
			arms++;
		} else if (op < 80) { /* woken early */
			weft__timer_disarm(&l, &m->t);
			m->armed = false;
			assert_false(weft__timer_armed(&m->t));
		} else { /* time passes, due timers fire */
			last_fired = NULL;
			l.now += (int64_t)(next_rand() % 40);
			weft__timers_fire(&l);
			for (int i = 0; i < N; i++)
				assert_false(tms[i].armed &&
					     tms[i].when <= l.now);
		}
		assert_int_equal(weft__loop_next_timer(&l), model_next());
		if (l.timers.nheap > max_heap)
			max_heap = l.timers.nheap;
		for (int i = 0; i < WEFT__TIMER_RUNS; i++) {
			struct weft__timer_run *r = &l.timers.run[i];

			if (r->len > max_run)
				max_run = r->len;
			if (r->dead > max_dead)
				max_dead = r->dead;
			if (r->cap > max_cap)
				max_cap = r->cap;
			/* Its ends are never empty slots; sorted. */
			if (r->len) {
				assert_non_null(r->slot[r->head].t);
				assert_non_null(r->slot[(r->head + r->len - 1) &
							(r->cap - 1)]
							.t);
			}
			for (uint32_t k = 1; k < r->len; k++)
				assert_true(
					r->slot[(r->head + k - 1) & (r->cap - 1)]
						.when <=
					r->slot[(r->head + k) & (r->cap - 1)]
						.when);
			/* Empty slots stay under half (past a few). */
			assert_true(r->dead <= 64 || r->dead <= r->len / 2);
		}
	}
	/* Everything left fires once the clock passes it all. */
	last_fired = NULL;
	l.now += 1000000;
	weft__timers_fire(&l);
	assert_int_equal(weft__loop_next_timer(&l), -1);
	for (int i = 0; i < N; i++) {
		assert_false(tms[i].armed);
		fires += tms[i].fired;
	}
	/* Both places and the run's upkeep were really used. */
	assert_true(max_heap > 16);
	assert_true(max_run > 64); /* grew past its first ring */
	assert_true(max_cap >= 128);
	assert_true(max_dead > 0);
	assert_true(fires > arms / 4);
	weft__timers_free(&l);
}

/* An empty loop and m disarmed timers, fired() watching them. */
static void fresh(struct weft__loop *l, struct tm *ms, int m)
{
	memset(l, 0, sizeof(*l));
	memset(ms, 0, (size_t)m * sizeof(*ms));
	cur = l;
	last_fired = NULL;
	for (int i = 0; i < m; i++)
		weft__timer_init(&ms[i].t, fired);
}

/* A disarmed timer in the middle of the run never fires; compaction. */
static void run_disarm_middle(void **state)
{
	struct weft__loop l;
	enum { M = 300 };
	static struct tm ms[M];

	(void)state;
	fresh(&l, ms, M);
	for (int i = 0; i < M; i++)
		arm(&l, &ms[i], 100 + i);
	assert_int_equal(l.timers.nheap, 0); /* all in order: one run */
	assert_int_equal(l.timers.run[0].len, M);
	for (int i = 1; i < M - 1; i += 3) {
		weft__timer_disarm(&l, &ms[i].t);
		ms[i].armed = false;
	}
	/* Over half empty once enough: compacted back to the live ones. */
	for (int i = 2; i < M - 1; i += 3) {
		weft__timer_disarm(&l, &ms[i].t);
		ms[i].armed = false;
	}
	assert_true(l.timers.run[0].dead <= l.timers.run[0].len / 2 ||
		    l.timers.run[0].dead <= 64);
	assert_true(l.timers.run[0].len < M - 100); /* compacted */
	l.now = 100 + M;
	weft__timers_fire(&l);
	for (int i = 0; i < M; i++)
		assert_int_equal(ms[i].fired,
				 (i % 3 == 0 || i == M - 1) ? 1 : 0);
	assert_int_equal(l.timers.run[0].len, 0);
	weft__timers_free(&l);
}

/*
 * Two lengths interleaved (a 1 ms sleep and a 10 s timeout per step): each
 * gets a run of its own, the heap stays empty, and all fire in order.
 */
static void two_lengths_two_runs(void **state)
{
	struct weft__loop l;
	enum { M = 400 };
	static struct tm ms[M];

	(void)state;
	fresh(&l, ms, M);
	for (int i = 0; i < M; i++)
		arm(&l, &ms[i], i + (i % 2 ? 10000000 : 1000000));
	assert_int_equal(l.timers.nheap, 0);
	assert_int_equal(l.timers.run[0].len + l.timers.run[1].len, M);
	assert_true(l.timers.run[1].len >= M / 2 - 1);
	l.now = 20000000;
	weft__timers_fire(&l);
	for (int i = 0; i < M; i++)
		assert_int_equal(ms[i].fired, 1);
	weft__timers_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(model_checks),
		cmocka_unit_test(run_disarm_middle),
		cmocka_unit_test(two_lengths_two_runs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
