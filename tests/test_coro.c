/*
 * weft/coro.h: the runtime — spawn, join, many alive, timers, cancellation,
 * groups, shutdown with work pending, the kick-owed race, seeded
 * scheduling, two loops. Mixed use with queue/sync/futures/proc is in
 * test_coro_mixed.c, fd I/O in test_io.c. Runs under several
 * WEFT_SCHED_SEED values (tests/CMakeLists.txt).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "co_check.h"
#include "coro/sched.h"
#include "parked.h"
#include "stress.h"
#include "weft/coro.h"
#include "weft/sync.h"

static const weft_loops_opts one_loop = { .loops = 1 };
static const weft_loops_opts two_loops = { .loops = 2 };

static bool seeded(void)
{
	const char *e = getenv("WEFT_SCHED_SEED");

	return e && *e;
}

/* ---- basics ---- */

static int ret_arg(void *arg, void **res)
{
	*res = arg;
	return 0;
}

static int fail_with(void *arg, void **res)
{
	(void)res;
	return -(int)U(arg);
}

static int nested_run(void *arg, void **res)
{
	(void)arg;
	(void)res;
	CKEQ(weft_run(ret_arg, NULL, NULL, NULL), -EBUSY);
	CK(weft_in_coro());
	CK(!weft_cancelled());
	CKEQ(weft_spawn(NULL, NULL, NULL, NULL), -EINVAL);
	CKEQ(weft_spawn(NULL, ret_arg, NULL,
			&(weft_coro_opts){ .stack_size = 100 }),
	     -EINVAL);
	CKEQ(weft_spawn(NULL, ret_arg, NULL,
			&(weft_coro_opts){ .stack_kind = 7 }),
	     -EINVAL);
	CKEQ(weft_yield(), 0);
	return 5;
}

static void bad_input(void **state)
{
	void *r = V(1);

	(void)state;
	assert_int_equal(weft_run(NULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(weft_run(ret_arg, NULL, NULL,
				  &(weft_loops_opts){ .stack_kind = 9 }),
			 -EINVAL);
	assert_int_equal(weft_run(ret_arg, NULL, NULL,
				  &(weft_loops_opts){ .stack_size = 10 }),
			 -EINVAL);
	/* Outside a coroutine. */
	assert_int_equal(weft_spawn(NULL, ret_arg, NULL, NULL), -EPERM);
	assert_false(weft_in_coro());
	assert_false(weft_cancelled());
	assert_int_equal(weft_yield(), 0);
	assert_int_equal(weft_group_new(NULL, 0), -EINVAL);
	assert_int_equal(weft_group_wait(NULL, 0), -EINVAL);
	assert_int_equal(weft_group_free(NULL), -EINVAL);
	weft_group_cancel(NULL);
	assert_int_equal(weft_to_thread(NULL, NULL, NULL, 0), -EINVAL);
	/* In a thread, to_thread runs the function in the caller. */
	assert_int_equal(weft_to_thread(ret_arg, V(9), &r, 0), 0);
	assert_ptr_equal(r, V(9));
	assert_int_equal(weft_sleep_until(WEFT_FOREVER), -EINVAL);
	assert_int_equal(weft_run(nested_run, NULL, NULL, &one_loop), 5);
	assert_true(co_ok());
	r = NULL;
	assert_int_equal(weft_run(ret_arg, V(7), &r, NULL), 0);
	assert_ptr_equal(r, V(7));
	assert_int_equal(weft_run(fail_with, V(EIO), NULL, NULL), -EIO);
}

/* ---- spawn and join, exactly once ---- */

static _Atomic int ran[4096];

static int mark(void *arg, void **res)
{
	atomic_fetch_add(&ran[U(arg)], 1);
	*res = V(U(arg) * 3);
	return U(arg) % 17 == 0 ? -EDOM : 0;
}

static int spawn_join_main(void *arg, void **res)
{
	enum { N = 4096 };
	weft_future **f = calloc(N, sizeof(*f));

	(void)arg;
	(void)res;
	for (uintptr_t i = 0; i < N; i++) {
		weft_coro_opts o = { .stack_kind = i % 2 ? WEFT_STACK_PACKED
							 : WEFT_STACK_GUARDED,
				     .stack_size = 16384 };

		CKEQ(weft_spawn(&f[i], mark, V(i), &o), 0);
		if (i % 64 == 0)
			weft_yield();
	}
	for (uintptr_t i = 0; i < N; i++) {
		void *r = NULL;
		int rc = weft_future_result(f[i], &r, WEFT_FOREVER);

		if (i % 17 == 0) {
			CKEQ(rc, -EDOM);
		} else {
			CKEQ(rc, 0);
			CKEQ(U(r), i * 3);
		}
		weft_future_release(f[i]);
	}
	free(f);
	return 0;
}

static void spawn_join(void **state)
{
	const weft_loops_opts *opts[] = { &one_loop, &two_loops };

	(void)state;
	for (int k = 0; k < 2; k++) {
		memset(ran, 0, sizeof(ran));
		assert_int_equal(weft_run(spawn_join_main, NULL, NULL, opts[k]),
				 0);
		assert_true(co_ok());
		for (int i = 0; i < 4096; i++)
			assert_int_equal(ran[i], 1);
	}
}

/* ---- 10^5 alive at once ---- */

static weft_event many_ev;
static _Atomic int many_done;

static int many_waiter(void *arg, void **res)
{
	(void)arg;
	(void)res;
	CKEQ(weft_event_wait(&many_ev, WEFT_FOREVER), 0);
	atomic_fetch_add(&many_done, 1);
	return 0;
}

static int many_main(void *arg, void **res)
{
	uint32_t n = (uint32_t)U(arg);
	weft_coro_opts o = { .stack_kind = WEFT_STACK_PACKED,
			     .stack_size = 8192 };
	weft_group *g;

	(void)res;
	CKEQ(weft_group_new(&g, 0), 0);
	for (uint32_t i = 0; i < n; i++)
		CKEQ(weft_group_spawn(g, NULL, many_waiter, NULL, &o), 0);
	/* Every one of them is suspended in its wait at once. */
	wait_sleepers(n);
	CKEQ(atomic_load(&many_done), 0);
	weft_event_set(&many_ev);
	CKEQ(weft_group_wait(g, WEFT_FOREVER), 0);
	CKEQ(atomic_load(&many_done), n);
	return weft_group_free(g);
}

static void hundred_thousand_alive(void **state)
{
	uint32_t n = STRESS(100000, 3000); /* TSan: 8128 fibers at most */

	(void)state;
	atomic_store(&many_done, 0);
	assert_int_equal(weft_event_init(&many_ev), 0);
	assert_int_equal(weft_run(many_main, V(n), NULL, &one_loop), 0);
	assert_true(co_ok());
	weft_event_destroy(&many_ev);
}

/* ---- timers: in order, never early ---- */

struct sleeper {
	int64_t deadline, woke;
	int order;
};
static _Atomic int wake_seq;

static int sleep_one(void *arg, void **res)
{
	struct sleeper *s = arg;

	(void)res;
	CKEQ(weft_sleep_until(s->deadline), 0);
	s->woke = weft_now();
	s->order = atomic_fetch_add(&wake_seq, 1);
	return 0;
}

static int cmp_deadline(const void *a, const void *b)
{
	const struct sleeper *x = a, *y = b;

	return (x->deadline > y->deadline) - (x->deadline < y->deadline);
}

#define TIMERS_N STRESS(2000, 400)
#define TIMERS_AHEAD (STRESS(500, 3000) * WEFT_MSEC)

static int timers_main(void *arg, void **res)
{
	const int N = TIMERS_N;
	struct sleeper *s = arg;
	int64_t t0 = weft_now();
	weft_group *g;

	(void)res;
	weft_group_new(&g, 0);
	srand(7);
	for (int i = 0; i < N; i++) {
		/*
		 * 0..60 ms apart, many ties in whole milliseconds, all far
		 * enough ahead that every sleeper is asleep before the first
		 * deadline (wait_sleepers below proves it).
		 */
		s[i].deadline = t0 + TIMERS_AHEAD + (rand() % 60) * WEFT_MSEC +
				(i % 3 ? 0 : rand() % WEFT_MSEC);
		weft_group_spawn(g, NULL, sleep_one, &s[i], NULL);
	}
	wait_sleepers(N);
	CK(weft_now() < t0 + TIMERS_AHEAD);
	CKEQ(weft_group_wait(g, WEFT_FOREVER), 0);
	weft_group_free(g);
	return 0;
}

static void timers_in_order_never_early(void **state)
{
	const int N = TIMERS_N;
	struct sleeper *s = calloc(N, sizeof(*s));

	(void)state;
	atomic_store(&wake_seq, 0);
	assert_int_equal(weft_run(timers_main, s, NULL, &one_loop), 0);
	assert_true(co_ok());
	qsort(s, N, sizeof(*s), cmp_deadline);
	for (int i = 0; i < N; i++) {
		assert_true(s[i].woke >= s[i].deadline);
		/* One loop, FIFO: woken in deadline order (not when seeded). */
		if (i && !seeded() && s[i].deadline > s[i - 1].deadline)
			assert_true(s[i].order > s[i - 1].order);
	}
	free(s);
}

/* ---- cancellation ---- */

static _Atomic int cleanups;

static int sleep_forever(void *arg, void **res)
{
	int rc;

	(void)arg;
	(void)res;
	rc = weft_sleep_until(WEFT_FOREVER);
	CKEQ(rc, -ECANCELED);
	CK(weft_cancelled());
	/* Sticky: the next blocking call fails at once, too. */
	CKEQ(weft_sleep(WEFT_SEC), -ECANCELED);
	CKEQ(weft_yield(), -ECANCELED);
	atomic_fetch_add(&cleanups, 1); /* cleanup code runs normally */
	return rc;
}

static int never_runs(void *arg, void **res)
{
	(void)arg;
	(void)res;
	CK(!"a coroutine cancelled before it started ran");
	return 0;
}

static int cancel_main(void *arg, void **res)
{
	weft_future *f, *g;

	(void)arg;
	(void)res;
	/* Cancelled before it starts: never runs. */
	CKEQ(weft_spawn(&g, never_runs, NULL, NULL), 0);
	CKEQ(weft_future_cancel(g), 0);
	CKEQ(weft_future_result(g, NULL, WEFT_FOREVER), -ECANCELED);
	CKEQ(weft_future_state(g), WEFT_FUTURE_CANCELLED);
	weft_future_release(g);
	/* Cancelled while suspended: -ECANCELED from its wait. */
	CKEQ(weft_spawn(&f, sleep_forever, NULL, NULL), 0);
	wait_sleepers(1);
	CKEQ(weft_future_state(f), WEFT_FUTURE_RUNNING);
	CKEQ(weft_future_cancel(f), 0);
	CKEQ(weft_future_result(f, NULL, WEFT_FOREVER), -ECANCELED);
	CKEQ(weft_future_state(f), WEFT_FUTURE_FAILED);
	/* Finished: cancel says so. */
	CKEQ(weft_future_cancel(f), -EBUSY);
	weft_future_release(f);
	return 0;
}

struct xcancel {
	weft_future *f;
};

static void *cancel_from_thread(void *arg)
{
	struct xcancel *x = arg;

	wait_sleepers(1);
	weft_future_cancel(x->f);
	weft_future_release(x->f);
	return NULL;
}

static int xcancel_main(void *arg, void **res)
{
	struct xcancel x;
	weft_future *f;
	pthread_t t;

	(void)arg;
	(void)res;
	CKEQ(weft_spawn(&f, sleep_forever, NULL, NULL), 0);
	x.f = weft_future_retain(f);
	pthread_create(&t, NULL, cancel_from_thread, &x);
	CKEQ(weft_future_result(f, NULL, WEFT_FOREVER), -ECANCELED);
	weft_future_release(f);
	pthread_join(t, NULL); /* blocks the loop a moment: fine here */
	return 0;
}

static void cancellation(void **state)
{
	(void)state;
	atomic_store(&cleanups, 0);
	assert_int_equal(weft_run(cancel_main, NULL, NULL, &one_loop), 0);
	assert_true(co_ok());
	assert_int_equal(atomic_load(&cleanups), 1);
	for (int i = 0; i < STRESS(50, 10); i++)
		assert_int_equal(weft_run(xcancel_main, NULL, NULL, &two_loops),
				 0);
	assert_true(co_ok());
	assert_int_equal(atomic_load(&cleanups), 1 + STRESS(50, 10));
}

/* main returns while coroutines are suspended or not started. */
static _Atomic int late_runs;

static int late(void *arg, void **res)
{
	(void)arg;
	(void)res;
	atomic_fetch_add(&late_runs, 1);
	return 0;
}

static int leaves_work_main(void *arg, void **res)
{
	(void)arg;
	(void)res;
	for (int i = 0; i < 100; i++)
		CKEQ(weft_spawn(NULL, sleep_forever, NULL, NULL), 0);
	wait_sleepers(100);
	/* On one loop these never start; a second loop may steal some. */
	for (int i = 0; i < 100; i++)
		CKEQ(weft_spawn(NULL, late, NULL, NULL), 0);
	return 3;
}

static void shutdown_with_work_pending(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		atomic_store(&cleanups, 0);
		atomic_store(&late_runs, 0);
		assert_int_equal(weft_run(leaves_work_main, NULL, NULL,
					  k ? &two_loops : &one_loop),
				 3);
		assert_true(co_ok());
		assert_int_equal(atomic_load(&cleanups), 100);
		if (!k)
			assert_int_equal(atomic_load(&late_runs), 0);
	}
}

/* ---- groups ---- */

static int sleep_then(void *arg, void **res)
{
	int ms = (int)U(arg) % 1000, rc = -(int)(U(arg) / 1000);

	(void)res;
	if (weft_sleep(ms * WEFT_MSEC) == -ECANCELED) {
		atomic_fetch_add(&cleanups, 1);
		return -ECANCELED;
	}
	return rc;
}

static int group_main(void *arg, void **res)
{
	weft_group *g;
	weft_future *f;

	(void)arg;
	(void)res;
	/* Waits for all; the first failure in time is the group's error. */
	CKEQ(weft_group_new(&g, 0), 0);
	CKEQ(weft_group_spawn(g, NULL, sleep_then, V(1), NULL), 0);
	CKEQ(weft_group_spawn(g, &f, sleep_then, V(EIO * 1000 + 20), NULL), 0);
	CKEQ(weft_group_spawn(g, NULL, sleep_then, V(EDOM * 1000 + 40), NULL),
	     0);
	CKEQ(weft_group_wait(g, weft_deadline_in(WEFT_MSEC)), -ETIMEDOUT);
	CKEQ(weft_group_wait(g, WEFT_FOREVER), -EIO);
	CKEQ(weft_future_result(f, NULL, 0), -EIO);
	weft_future_release(f);
	CKEQ(weft_group_free(g), -EIO);
	/* With CANCEL_ON_ERROR the first failure cancels the rest. */
	atomic_store(&cleanups, 0);
	CKEQ(weft_group_new(&g, WEFT_GROUP_CANCEL_ON_ERROR), 0);
	for (int i = 0; i < 50; i++)
		CKEQ(weft_group_spawn(g, NULL, sleep_then, V(999), NULL), 0);
	wait_sleepers(50); /* started, so each runs its cleanup */
	CKEQ(weft_group_spawn(g, NULL, sleep_then, V(EPIPE * 1000 + 5), NULL),
	     0);
	CKEQ(weft_group_wait(g, WEFT_FOREVER), -EPIPE);
	CKEQ(atomic_load(&cleanups), 50);
	CKEQ(weft_group_spawn(g, NULL, sleep_then, V(1), NULL), -ECANCELED);
	weft_group_free(g);
	/* Leaving the group cancels what still runs and waits for it. */
	atomic_store(&cleanups, 0);
	CKEQ(weft_group_new(&g, 0), 0);
	for (int i = 0; i < 20; i++)
		CKEQ(weft_group_spawn(g, NULL, sleep_then, V(999), NULL), 0);
	wait_sleepers(20); /* all started (one not started never would) */
	CKEQ(weft_group_free(g), 0); /* -ECANCELED of a cancelled group */
	CKEQ(atomic_load(&cleanups), 20);
	return 0;
}

static void groups(void **state)
{
	(void)state;
	assert_int_equal(weft_run(group_main, NULL, NULL, &one_loop), 0);
	assert_true(co_ok());
	assert_int_equal(weft_run(group_main, NULL, NULL, &two_loops), 0);
	assert_true(co_ok());
}

/*
 * A cancelled coroutine leaving a group still waits for its children:
 * they must not outlive it.
 */
static int cancelled_parent(void *arg, void **res)
{
	weft_group *g;

	(void)arg;
	(void)res;
	weft_group_new(&g, 0);
	for (int i = 0; i < 10; i++)
		weft_group_spawn(g, NULL, sleep_then, V(999), NULL);
	CKEQ(weft_sleep_until(WEFT_FOREVER), -ECANCELED);
	CKEQ(weft_group_free(g), 0);
	CKEQ(atomic_load(&cleanups), 10);
	return 0;
}

static int cancelled_parent_main(void *arg, void **res)
{
	weft_future *f;

	(void)arg;
	(void)res;
	atomic_store(&cleanups, 0);
	weft_spawn(&f, cancelled_parent, NULL, NULL);
	wait_sleepers(11);
	weft_future_cancel(f);
	CKEQ(weft_future_result(f, NULL, WEFT_FOREVER), 0);
	weft_future_release(f);
	return 0;
}

static void group_outlives_no_child(void **state)
{
	(void)state;
	assert_int_equal(weft_run(cancelled_parent_main, NULL, NULL, &one_loop),
			 0);
	assert_true(co_ok());
}

/* ---- the kick-owed race, lost on purpose ---- */

/*
 * A coroutine parks with a deadline; a thread wins the CAS (WOKEN) but
 * holds its kick back until well past the deadline, so the coroutine's
 * timer fires and loses. The coroutine must stay suspended until the late
 * kick, resume exactly once, and report the wake (0) — never a timeout,
 * never a second resume.
 */
struct race {
	struct weft__waitlist wl;
	_Atomic int64_t kicked_at;
	int64_t hold; /* how far past the deadline the kick comes */
	int64_t deadline;
	_Atomic int phase; /* 1: the waker won the CAS; -1: the timer did */
	_Atomic bool parked_or_done;
};

static void *late_kicker(void *arg)
{
	struct race *r = arg;
	struct weft__kick k;

	/* Until the coroutine is suspended (or already gone on a slow box). */
	while (weft__park_sleepers() < 1 && !atomic_load(&r->parked_or_done))
		sched_yield();
	if (!weft__wake_one_deferred(&r->wl, &k)) {
		atomic_store(&r->phase,
			     -1); /* its timer won: a plain timeout */
		return NULL;
	}
	atomic_store(&r->phase, 1);
	while (weft_now() < r->deadline + r->hold)
		sched_yield();
	atomic_store(&r->kicked_at, weft_now());
	weft__kick(&k);
	return NULL;
}

static int race_coro(void *arg, void **res)
{
	struct race *r = arg;
	struct weft__waiter w;
	int rc;

	(void)res;
	weft__waiter_init(&w);
	weft__waitlist_push(&r->wl, &w);
	rc = weft__park(&w, r->deadline);
	atomic_store(&r->parked_or_done, true);
	return rc;
}

static int race_main(void *arg, void **res)
{
	int rounds = (int)U(arg), lost = 0;

	(void)res;
	for (int i = 0; i < rounds; i++) {
		struct race r = { .hold = (i % 4) * 300 * WEFT_USEC };
		weft_future *f;
		pthread_t t;
		int rc;

		weft__waitlist_init(&r.wl);
		/* Room for the waker to win first even on a loaded machine. */
		r.deadline = weft_now() + 20 * WEFT_MSEC;
		CKEQ(weft_spawn(&f, race_coro, &r, NULL), 0);
		pthread_create(&t, NULL, late_kicker, &r);
		/* Other coroutines keep the loop busy meanwhile. */
		while (!weft_future_done(f))
			weft_yield();
		rc = weft_future_result(f, NULL, 0);
		weft_future_release(f);
		pthread_join(t, NULL);
		if (atomic_load(&r.phase) == 1) {
			/* The waker won: resumed by its late kick, not by the
			 * timer that fired before it. */
			CKEQ(rc, 0);
			CK(atomic_load(&r.kicked_at) != 0);
			lost++;
		} else {
			CKEQ(rc, -ETIMEDOUT);
		}
	}
	*res = V(lost);
	return 0;
}

static void kick_owed_race(void **state)
{
	int rounds = STRESS(200, 60);
	void *lost = NULL;
	uint64_t before = weft__coro_double_kicks();

	(void)state;
	assert_int_equal(weft_run(race_main, V(rounds), &lost, &one_loop), 0);
	assert_true(co_ok());
	/* Nearly every round lost the race on purpose (the waker was first). */
	print_message("kick race: %u of %d rounds lost on purpose\n",
		      (unsigned)U(lost), rounds);
	assert_true(U(lost) >= (uintptr_t)rounds / 2);
	assert_int_equal(weft__coro_double_kicks(), before);
}

/* The same race through a public primitive, at random offsets. */
static weft_event race_ev;

static int ev_waiter(void *arg, void **res)
{
	int rc = weft_event_wait(&race_ev, weft_deadline_in(U(arg)));

	(void)res;
	CK(rc == 0 || rc == -ETIMEDOUT);
	return rc == 0;
}

static void *ev_setter(void *arg)
{
	int64_t at = weft_now() + (int64_t)U(arg);

	while (weft_now() < at)
		;
	weft_event_set(&race_ev);
	return NULL;
}

static int ev_race_main(void *arg, void **res)
{
	int rounds = (int)U(arg), woken = 0, timed = 0;

	(void)res;
	for (int i = 0; i < rounds; i++) {
		weft_future *f[8];
		pthread_t t;
		int64_t dl = 100 * WEFT_USEC + (i % 7) * 20 * WEFT_USEC;

		weft_event_clear(&race_ev);
		for (int j = 0; j < 8; j++)
			weft_spawn(&f[j], ev_waiter, V(dl), NULL);
		weft_yield();
		pthread_create(
			&t, NULL, ev_setter,
			V(dl - 30 * WEFT_USEC + (i % 5) * 15 * WEFT_USEC));
		for (int j = 0; j < 8; j++) {
			int rc = weft_future_result(f[j], NULL, WEFT_FOREVER);

			if (rc == 1)
				woken++;
			else
				timed++;
			weft_future_release(f[j]);
		}
		pthread_join(t, NULL);
	}
	*res = V((uintptr_t)woken << 32 | (uintptr_t)timed);
	return 0;
}

static void event_vs_deadline_race(void **state)
{
	void *out;
	uint64_t before = weft__coro_double_kicks();

	(void)state;
	assert_int_equal(weft_event_init(&race_ev), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(weft_run(ev_race_main, V(STRESS(300, 60)),
					  &out, k ? &two_loops : &one_loop),
				 0);
		assert_true(co_ok());
		print_message("event race: %u woken, %u timed out\n",
			      (unsigned)(U(out) >> 32), (unsigned)U(out));
	}
	assert_int_equal(weft__coro_double_kicks(), before);
	weft_event_destroy(&race_ev);
}

/*
 * A thread wakes the last coroutine of a run: the coroutine may finish and
 * weft_run free its loops while the waker is still inside its post (found
 * by ASan/TSan as a use-after-free before posters were counted).
 */
static weft_event last_ev;

static int wait_last(void *arg, void **res)
{
	(void)arg;
	(void)res;
	return weft_event_wait(&last_ev, WEFT_FOREVER);
}

static void *run_wait_last(void *arg)
{
	*(int *)arg = weft_run(wait_last, NULL, NULL, &two_loops);
	return NULL;
}

static void waker_outlives_run(void **state)
{
	(void)state;
	for (int i = 0; i < STRESS(300, 60); i++) {
		pthread_t t;
		int rc = -1;

		assert_int_equal(weft_event_init(&last_ev), 0);
		pthread_create(&t, NULL, run_wait_last, &rc);
		wait_sleepers(1);
		weft_event_set(&last_ev);
		pthread_join(t, NULL);
		assert_int_equal(rc, 0);
		weft_event_destroy(&last_ev);
	}
}

/* ---- seeded scheduling replays exactly ---- */

static char trace[4096];
static _Atomic int tlen;

static int tracer(void *arg, void **res)
{
	(void)res;
	for (int i = 0; i < 8; i++) {
		int at = atomic_fetch_add(&tlen, 1);

		if (at < (int)sizeof(trace) - 1)
			trace[at] = (char)('a' + U(arg));
		weft_yield();
	}
	return 0;
}

static int trace_main(void *arg, void **res)
{
	weft_group *g;

	(void)arg;
	(void)res;
	weft_group_new(&g, 0);
	for (uintptr_t i = 0; i < 20; i++)
		weft_group_spawn(g, NULL, tracer, V(i), NULL);
	weft_group_wait(g, WEFT_FOREVER);
	weft_group_free(g);
	return 0;
}

static void run_trace(uint64_t seed, char *out)
{
	weft_loops_opts o = { .seed = seed };

	memset(trace, 0, sizeof(trace));
	atomic_store(&tlen, 0);
	assert_int_equal(weft_run(trace_main, NULL, NULL, &o), 0);
	memcpy(out, trace, sizeof(trace));
}

static void seeded_replay(void **state)
{
	static char a[4096], b[4096], c[4096];

	(void)state;
	run_trace(12345, a);
	run_trace(12345, b);
	run_trace(999, c);
	assert_int_equal((int)strlen(a), 160);
	assert_string_equal(a, b);	/* same seed, same interleaving */
	assert_true(strcmp(a, c) != 0); /* another seed, another one */
}

/* ---- two loops: work spreads, a coroutine never migrates ---- */

static _Atomic pid_t tids[2];
static _Atomic int migrated;

static int pinned(void *arg, void **res)
{
	pid_t me = gettid();

	(void)arg;
	(void)res;
	for (int i = 0; i < 10; i++) {
		/* 100 us of work per slice, then a blocking call. */
		int64_t until = weft_now() + 100 * WEFT_USEC;

		while (weft_now() < until)
			;
		if (i % 3 == 0)
			weft_sleep(50 * WEFT_USEC);
		else
			weft_yield();
		if (gettid() != me)
			atomic_fetch_add(&migrated, 1);
	}
	for (int k = 0; k < 2; k++) {
		pid_t z = 0;

		if (atomic_load(&tids[k]) == me ||
		    atomic_compare_exchange_strong(&tids[k], &z, me))
			break;
	}
	return 0;
}

static int spread_main(void *arg, void **res)
{
	weft_group *g;

	(void)arg;
	(void)res;
	weft_group_new(&g, 0);
	for (int i = 0; i < 64; i++)
		weft_group_spawn(g, NULL, pinned, NULL, NULL);
	CKEQ(weft_group_wait(g, WEFT_FOREVER), 0);
	weft_group_free(g);
	return 0;
}

static void two_loops_spread_never_migrate(void **state)
{
	(void)state;
	if (seeded())
		skip(); /* seeded mode runs one loop */
	atomic_store(&migrated, 0);
	tids[0] = tids[1] = 0;
	assert_int_equal(weft_run(spread_main, NULL, NULL, &two_loops), 0);
	assert_true(co_ok());
	assert_int_equal(atomic_load(&migrated), 0);
	/* Both loop threads ran coroutines. */
	assert_true(tids[0] != 0 && tids[1] != 0 && tids[0] != tids[1]);
}

/*
 * weft-life's shape: generations of thousands of children spawned into a
 * group in one burst, on two loops. Every child runs exactly once a round
 * (each sleeps a little, some past others, so both the timers' runs and
 * their heap are used); the other loop took whole batches from the
 * spawner's deque; futures and packed stacks freed on one loop and made
 * on the other moved between them in whole chains. A round whose child
 * fails cancels the rest: each child then ran once or never, and the
 * group reports the failure.
 */
#define FAN_N 4000
static _Atomic uint32_t fan_runs[FAN_N];

static int fan_child(void *arg, void **res)
{
	uintptr_t i = U(arg) % FAN_N;
	int rc;

	(void)res;
	atomic_fetch_add(&fan_runs[i], 1);
	rc = weft_sleep((int64_t)(i % 7) * 30 * WEFT_USEC);
	if (rc)
		return rc;
	return U(arg) >= FAN_N && i == FAN_N / 2 ? -EIO : 0;
}

static int fan_main(void *arg, void **res)
{
	const weft_coro_opts small = { .stack_size = 16 * 1024,
				       .stack_kind = WEFT_STACK_PACKED };
	int rounds = (int)U(arg);

	(void)res;
	for (int r = 0; r < rounds; r++) {
		bool failing = r == rounds - 1;
		unsigned flags = failing ? WEFT_GROUP_CANCEL_ON_ERROR : 0;
		weft_group *g;

		CKEQ(weft_group_new(&g, flags), 0);
		for (uintptr_t i = 0; i < FAN_N; i++) {
			int rc = weft_group_spawn(g, NULL, fan_child,
						  V(i + (failing ? FAN_N : 0)),
						  &small);

			/* The failing child may end the round early. */
			if (failing && rc == -ECANCELED)
				break;
			CKEQ(rc, 0);
		}
		CKEQ(weft_group_wait(g, WEFT_FOREVER), failing ? -EIO : 0);
		CKEQ(weft_group_free(g), failing ? -EIO : 0);
		for (int i = 0; i < FAN_N; i++) {
			uint32_t n = atomic_exchange(&fan_runs[i], 0);

			if (failing)
				CK(n <= 1);
			else
				CKEQ(n, 1);
		}
	}
	return 0;
}

static void fan_out_generations(void **state)
{
	uint64_t steals = weft__coro_steals();
	uint64_t fmoves = weft__future_depot_moves();
	uint64_t smoves = weft__stack_chain_moves();
	int rounds = STRESS(12, 3);

	(void)state;
	assert_int_equal(weft_run(fan_main, V(rounds), NULL, &one_loop), 0);
	assert_true(co_ok());
	if (seeded())
		return; /* one loop: nothing to steal or move */
	assert_int_equal(weft_run(fan_main, V(rounds), NULL, &two_loops), 0);
	assert_true(co_ok());
	/* The paths this test is for were taken. */
	assert_true(weft__coro_steals() > steals);
	assert_true(weft__future_depot_moves() > fmoves);
	assert_true(weft__stack_chain_moves() > smoves);
}

/* ---- sleep and to_thread ---- */

static _Atomic int ticks, ticks_while_blocked;

static int blocking_fn(void *arg, void **res)
{
	int t0 = atomic_load(&ticks);

	usleep(50000);
	atomic_store(&ticks_while_blocked, atomic_load(&ticks) - t0);
	*res = arg;
	return 0;
}

static int ticker(void *arg, void **res)
{
	(void)arg;
	(void)res;
	while (weft_sleep(WEFT_MSEC) == 0)
		atomic_fetch_add(&ticks, 1);
	return 0;
}

static int to_thread_main(void *arg, void **res)
{
	weft_future *t;
	void *r = NULL;
	int64_t t0;

	(void)arg;
	(void)res;
	weft_spawn(&t, ticker, NULL, NULL);
	t0 = weft_now();
	CKEQ(weft_to_thread(blocking_fn, V(4), &r, WEFT_FOREVER), 0);
	CKEQ(U(r), 4);
	CK(weft_now() - t0 >= 50 * WEFT_MSEC);
	/* The loop kept running the ticker while the function blocked. */
	CK(atomic_load(&ticks_while_blocked) >= 2);
	CKEQ(weft_to_thread(blocking_fn, V(5), &r, weft_deadline_in(WEFT_MSEC)),
	     -ETIMEDOUT);
	weft_future_cancel(t);
	weft_future_release(t);
	return 0;
}

static void to_thread(void **state)
{
	(void)state;
	atomic_store(&ticks, 0);
	assert_int_equal(weft_run(to_thread_main, NULL, NULL, &one_loop), 0);
	assert_true(co_ok());
}

static void thread_sleep(void **state)
{
	int64_t t0 = weft_now();

	(void)state;
	assert_int_equal(weft_sleep(3 * WEFT_MSEC), 0);
	assert_true(weft_now() - t0 >= 3 * WEFT_MSEC);
	assert_int_equal(weft_sleep_until(0), 0);
	assert_int_equal(weft_sleep(-5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(bad_input),
		LEAK_CHECKED(spawn_join),
		LEAK_CHECKED(hundred_thousand_alive),
		LEAK_CHECKED(timers_in_order_never_early),
		LEAK_CHECKED(cancellation),
		LEAK_CHECKED(shutdown_with_work_pending),
		LEAK_CHECKED(groups),
		LEAK_CHECKED(group_outlives_no_child),
		LEAK_CHECKED(kick_owed_race),
		LEAK_CHECKED(event_vs_deadline_race),
		LEAK_CHECKED(waker_outlives_run),
		LEAK_CHECKED(seeded_replay),
		LEAK_CHECKED(two_loops_spread_never_migrate),
		LEAK_CHECKED(fan_out_generations),
		LEAK_CHECKED(to_thread),
		LEAK_CHECKED(thread_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
