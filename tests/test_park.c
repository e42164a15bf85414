/* park/wake: the core every blocking primitive stands on. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "check.h"
#include "parked.h"
#include "stress.h"
#include "park/park.h"
#include "weft/queue.h"
#include "weft/sync.h"

static struct weft__waitlist wl;

static int reset(void **state)
{
	memset(&wl, 0, sizeof(wl));
	return leak_setup(state);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, reset, leak_teardown)

static void wake_before_park_is_not_lost(void **state)
{
	struct weft__waiter w;

	(void)state;
	weft__waiter_init(&w);
	weft__waitlist_push(&wl, &w);
	assert_int_equal(weft__waitlist_count(&wl), 1);
	assert_true(weft__wake_one(&wl));
	assert_int_equal(weft__waitlist_count(&wl), 0);
	assert_int_equal(weft__park(&w, WEFT_FOREVER), 0);
	assert_false(weft__wake_one(&wl)); /* empty list: nothing to wake */
	assert_int_equal(weft__wake_all(&wl), 0);
}

static void deadline_expires_and_unlists(void **state)
{
	struct weft__waiter w;
	int64_t t0;

	(void)state;
	weft__waiter_init(&w);
	weft__waitlist_push(&wl, &w);
	assert_int_equal(weft__park(&w, 0), -ETIMEDOUT);
	assert_int_equal(weft__waitlist_count(&wl), 0);

	weft__waiter_init(&w);
	weft__waitlist_push(&wl, &w);
	t0 = weft_now();
	assert_int_equal(weft__park(&w, t0 + 50 * WEFT_MSEC), -ETIMEDOUT);
	assert_true(weft_now() >= t0 + 50 * WEFT_MSEC);
	assert_true(ms_since(t0) < 2050);
	assert_int_equal(weft__waitlist_count(&wl), 0);
	assert_null(wl.head);
	assert_false(weft__wake_one(&wl));
}

struct parker {
	pthread_t tid;
	int rc;
	atomic_int *parked;
	int64_t deadline;
};

static void *park_thread(void *arg)
{
	struct parker *p = arg;
	struct weft__waiter w;

	weft__waiter_init(&w);
	weft__waitlist_push(&wl, &w);
	atomic_fetch_add(p->parked, 1);
	p->rc = weft__park(&w, p->deadline);
	return NULL;
}

static void wake_from_other_thread(void **state)
{
	atomic_int parked = 0;
	struct parker p = { .parked = &parked, .deadline = WEFT_FOREVER };

	(void)state;
	assert_int_equal(pthread_create(&p.tid, NULL, park_thread, &p), 0);
	while (!atomic_load(&parked))
		sched_yield();
	wait_sleepers(1); /* past its spin, in FUTEX_WAIT */
	assert_true(weft__wake_one(&wl));
	pthread_join(p.tid, NULL);
	assert_int_equal(p.rc, 0);
}

static void wake_all_wakes_everyone(void **state)
{
	enum { N = 8 };
	atomic_int parked = 0;
	struct parker p[N];

	(void)state;
	for (int i = 0; i < N; i++) {
		p[i] = (struct parker){ .parked = &parked,
					.deadline = weft_deadline_in(
						30 * WEFT_SEC) };
		assert_int_equal(
			pthread_create(&p[i].tid, NULL, park_thread, &p[i]), 0);
	}
	while (atomic_load(&parked) < N)
		sched_yield();
	assert_int_equal(weft__wake_all(&wl), N);
	for (int i = 0; i < N; i++) {
		pthread_join(p[i].tid, NULL);
		assert_int_equal(p[i].rc, 0);
	}
	assert_int_equal(weft__waitlist_count(&wl), 0);
}

/*
 * The deadline race, many times: parkers with deadlines a few µs away, a
 * waker calling wake_one as fast as it can. Every successful wake_one must
 * be matched by exactly one park returning 0 (never lost, never delivered
 * to a waiter that left), every other park returns -ETIMEDOUT.
 */
struct racer {
	atomic_int *stop;
	atomic_long *woken;
	long timeouts;
	long parks;
};

static void *race_parker(void *arg)
{
	struct racer *r = arg;
	struct weft__waiter w;

	while (!atomic_load(r->stop)) {
		int64_t dl = weft_now() + (r->parks % 7) * WEFT_USEC;
		int rc;

		weft__waiter_init(&w);
		weft__waitlist_push(&wl, &w);
		rc = weft__park(&w, r->parks % 13 == 0 ? 0 : dl);
		if (rc == 0)
			atomic_fetch_add(r->woken, 1);
		else if (rc == -ETIMEDOUT)
			r->timeouts++;
		else
			abort();
		r->parks++;
	}
	return NULL;
}

static void wake_and_deadline_race(void **state)
{
	enum { P = 3 };
	atomic_int stop = 0;
	atomic_long woken = 0;
	struct racer r[P];
	pthread_t tid[P];
	long wakes = 0, parks = 0, timeouts = 0;
	int64_t end = weft_now() + STRESS(2, 1) * WEFT_SEC;

	(void)state;
	for (int i = 0; i < P; i++) {
		r[i] = (struct racer){ .stop = &stop, .woken = &woken };
		pthread_create(&tid[i], NULL, race_parker, &r[i]);
	}
	while (weft_now() < end) {
		for (int i = 0; i < 100; i++)
			wakes += weft__wake_one(&wl);
	}
	atomic_store(&stop, 1);
	/* Release whoever is still parked (deadlines are short anyway). */
	for (int i = 0; i < P; i++)
		pthread_join(tid[i], NULL);
	for (int i = 0; i < P; i++) {
		parks += r[i].parks;
		timeouts += r[i].timeouts;
	}
	printf("# %ld parks: %ld woken, %ld timed out\n", parks,
	       (long)atomic_load(&woken), timeouts);
	assert_int_equal(atomic_load(&woken), wakes);
	assert_int_equal(parks, wakes + timeouts);
	assert_true(wakes > 0);
	assert_true(timeouts > 0);
	assert_int_equal(weft__waitlist_count(&wl), 0);
}

/*
 * The hook coroutines use (src/coro): a waiter initialised while
 * weft__park_ops_current is set waits and is kicked through those ops, and
 * the queue and the mutex use them without knowing. Here the "other kind" of
 * waiter spins with sched_yield and counts its kicks.
 */
static atomic_int fake_waits, fake_kicks;

static void fake_wait(struct weft__waiter *w, int64_t deadline)
{
	atomic_fetch_add(&fake_waits, 1);
	while (atomic_load(&w->state) <= WEFT__SLEEPING &&
	       (deadline < 0 || weft_now() < deadline))
		sched_yield();
}

static void fake_kick(_Atomic uint32_t *st, uint32_t old, void *ctx)
{
	(void)st;
	(void)old;
	assert_ptr_equal(ctx, &fake_kicks);
	atomic_fetch_add(&fake_kicks, 1);
}

static void fake_yield(void *ctx)
{
	(void)ctx;
	sched_yield();
}

static const struct weft__park_ops fake_ops = {
	.wait = fake_wait,
	.kick = fake_kick,
	.yield = fake_yield,
};

static atomic_int fake_ready;

static void *fake_getter(void *arg)
{
	weft_queue *q = arg;
	void *item = NULL;
	int rc;

	weft__park_ops_current = &fake_ops;
	weft__park_ctx_current = &fake_kicks;
	atomic_store(&fake_ready, 1);
	rc = weft_queue_get(q, &item, WEFT_FOREVER);
	weft__park_ops_current = NULL;
	weft__park_ctx_current = NULL;
	return rc == 0 ? item : NULL;
}

static void other_waiter_kinds_plug_in(void **state)
{
	weft_queue *q;
	pthread_t tid;
	void *got;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 4), 0);
	pthread_create(&tid, NULL, fake_getter, q);
	while (!atomic_load(&fake_ready))
		sched_yield();
	/* Wait until it has really parked through the fake ops. */
	while (!atomic_load(&fake_waits))
		sched_yield();
	assert_int_equal(weft_queue_put(q, (void *)0x5eed, WEFT_FOREVER), 0);
	pthread_join(tid, &got);
	assert_ptr_equal(got, (void *)0x5eed);
	assert_int_equal(atomic_load(&fake_kicks), 1);
	weft_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(wake_before_park_is_not_lost),
		TEST(deadline_expires_and_unlists),
		TEST(wake_from_other_thread),
		TEST(wake_all_wakes_everyone),
		TEST(wake_and_deadline_race),
		TEST(other_waiter_kinds_plug_in),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
