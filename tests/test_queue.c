/* weft/queue.h: semantics, deadlines, close/shutdown, tasks, stress. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "parked.h"
#include "stress.h"
#include "weft/queue.h"
#include "weft/sync.h"

static void bad_input(void **state)
{
	weft_queue *q = V(1);
	void *item;

	(void)state;
	assert_int_equal(weft_queue_new(NULL, 4), -EINVAL);
	assert_int_equal(weft_queue_new(&q, 0), -EINVAL);
	assert_null(q);
	assert_int_equal(weft_queue_new(&q, WEFT_QUEUE_MAX + 1), -EINVAL);
	assert_int_equal(weft_queue_put(NULL, V(1), 0), -EINVAL);
	assert_int_equal(weft_queue_get(NULL, &item, 0), -EINVAL);
	assert_int_equal(weft_queue_try_put(NULL, V(1)), -EINVAL);
	assert_int_equal(weft_queue_try_get(NULL, &item), -EINVAL);
	assert_int_equal(weft_queue_close(NULL), -EINVAL);
	assert_int_equal(weft_queue_shutdown(NULL, true, NULL, NULL), -EINVAL);
	assert_int_equal(weft_queue_task_done(NULL), -EINVAL);
	assert_int_equal(weft_queue_join(NULL, 0), -EINVAL);
	assert_int_equal(weft_queue_size(NULL), 0);
	weft_queue_free(NULL);
	assert_int_equal(weft_queue_new(&q, 2), 0);
	assert_int_equal(weft_queue_get(q, NULL, 0), -EINVAL);
	assert_int_equal(weft_queue_try_get(q, NULL), -EINVAL);
	weft_queue_free(q);
}

/* Fill, overfill, drain, underdrain, in order, for several capacities. */
static void fifo_full_empty(void **state)
{
	static const size_t caps[] = { 1, 2, 3, 7, 64, 1000, 1024 };

	(void)state;
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		size_t cap = caps[c];
		weft_queue *q;
		void *item;

		assert_int_equal(weft_queue_new(&q, cap), 0);
		assert_int_equal(weft_queue_capacity(q), cap);
		for (int round = 0; round < 5; round++) {
			assert_true(weft_queue_empty(q));
			assert_int_equal(weft_queue_try_get(q, &item), -EAGAIN);
			for (size_t i = 0; i < cap; i++) {
				assert_int_equal(weft_queue_size(q), i);
				assert_int_equal(
					weft_queue_try_put(q, V(i + 1)), 0);
			}
			assert_true(weft_queue_full(q));
			assert_int_equal(weft_queue_try_put(q, V(99)), -EAGAIN);
			assert_int_equal(weft_queue_put(q, V(99), 0),
					 -ETIMEDOUT);
			for (size_t i = 0; i < cap; i++) {
				assert_int_equal(weft_queue_get(q, &item, 0),
						 0);
				assert_int_equal(U(item), i + 1);
			}
			assert_int_equal(weft_queue_get(q, &item, 0),
					 -ETIMEDOUT);
		}
		/* Interleaved: wraps around the ring many times. */
		for (int i = 0; i < 10000; i++) {
			assert_int_equal(weft_queue_try_put(q, V(i)), 0);
			assert_int_equal(weft_queue_try_get(q, &item), 0);
			assert_int_equal(U(item), (uintptr_t)i);
		}
		assert_int_equal(weft_queue_task_done(q),
				 0); /* 1 of many puts */
		weft_queue_free(q);
	}
}

static void large_capacity(void **state)
{
	const size_t cap = (size_t)1 << 20;
	weft_queue *q;
	void *item;

	(void)state;
	assert_int_equal(weft_queue_new(&q, cap), 0);
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(weft_queue_try_put(q, V(i)), 0);
	assert_int_equal(weft_queue_try_put(q, V(0)), -EAGAIN);
	assert_int_equal(weft_queue_size(q), cap);
	for (size_t i = 0; i < cap; i++) {
		assert_int_equal(weft_queue_try_get(q, &item), 0);
		if (U(item) != i)
			fail_msg("item %zu came out as %zu", i,
				 (size_t)U(item));
	}
	assert_true(weft_queue_empty(q));
	weft_queue_free(q);
}

static void deadlines_expire(void **state)
{
	weft_queue *q;
	void *item;
	int64_t t0, dl;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 1), 0);
	t0 = weft_now();
	dl = t0 + 100 * WEFT_MSEC;
	assert_int_equal(weft_queue_get(q, &item, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2100);
	assert_int_equal(weft_queue_put(q, V(1), WEFT_FOREVER), 0);
	t0 = weft_now();
	dl = t0 + 100 * WEFT_MSEC;
	assert_int_equal(weft_queue_put(q, V(2), dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2100);
	/* A deadline already past never waits but still takes an item. */
	assert_int_equal(weft_queue_get(q, &item, t0 - WEFT_SEC), 0);
	assert_int_equal(U(item), 1);
	weft_queue_free(q);
}

/* ---- blocked threads and close ---- */

struct blocked {
	weft_queue *q;
	pthread_t tid;
	atomic_int *started;
	int rc;
	long n; /* items moved */
	uintptr_t sum;
	int base;
};

static void *block_get(void *arg)
{
	struct blocked *b = arg;
	void *item;

	atomic_fetch_add(b->started, 1);
	while ((b->rc = weft_queue_get(b->q, &item, WEFT_FOREVER)) == 0) {
		b->n++;
		b->sum += U(item);
	}
	return NULL;
}

static void *block_put(void *arg)
{
	struct blocked *b = arg;

	atomic_fetch_add(b->started, 1);
	for (int i = 1;; i++) {
		b->rc = weft_queue_put(b->q, V(b->base + i), WEFT_FOREVER);
		if (b->rc)
			break;
		b->n++;
		b->sum += (uintptr_t)(b->base + i);
	}
	return NULL;
}

static void close_wakes_blocked_consumers(void **state)
{
	enum { N = 6 };
	atomic_int started = 0;
	struct blocked b[N];
	weft_queue *q;
	void *item;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 4), 0);
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked){ .q = q, .started = &started };
		pthread_create(&b[i].tid, NULL, block_get, &b[i]);
	}
	while (atomic_load(&started) < N)
		sched_yield();
	wait_sleepers(N); /* every getter asleep: the slow path */
	assert_int_equal(weft_queue_put(q, V(5), WEFT_FOREVER), 0);
	assert_int_equal(weft_queue_put(q, V(7), WEFT_FOREVER), 0);
	assert_int_equal(weft_queue_close(q), 0);
	assert_int_equal(weft_queue_close(q), 0); /* idempotent */
	assert_true(weft_queue_is_closed(q));
	long n = 0;
	uintptr_t sum = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(b[i].tid, NULL);
		assert_int_equal(b[i].rc, -EPIPE);
		n += b[i].n;
		sum += b[i].sum;
	}
	assert_int_equal(n, 2);
	assert_int_equal(sum, 12);
	assert_int_equal(weft_queue_put(q, V(1), WEFT_FOREVER), -EPIPE);
	assert_int_equal(weft_queue_try_put(q, V(1)), -EPIPE);
	assert_int_equal(weft_queue_get(q, &item, WEFT_FOREVER), -EPIPE);
	assert_int_equal(weft_queue_try_get(q, &item), -EPIPE);
	weft_queue_free(q);
}

static void close_wakes_blocked_producers(void **state)
{
	enum { N = 6 };
	atomic_int started = 0;
	struct blocked b[N];
	weft_queue *q;
	void *item;
	long n = 0, got = 0;
	uintptr_t sum = 0, gotsum = 0;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 3), 0);
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked){ .q = q,
					 .started = &started,
					 .base = 1000 * (i + 1) };
		pthread_create(&b[i].tid, NULL, block_put, &b[i]);
	}
	while (atomic_load(&started) < N)
		sched_yield();
	wait_sleepers(N); /* queue full, every putter asleep */
	assert_true(weft_queue_full(q));
	assert_int_equal(weft_queue_close(q), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(b[i].tid, NULL);
		assert_int_equal(b[i].rc, -EPIPE);
		n += b[i].n;
		sum += b[i].sum;
	}
	/* Nothing lost: every accepted put is still there to get. */
	while (weft_queue_get(q, &item, WEFT_FOREVER) == 0) {
		got++;
		gotsum += U(item);
	}
	assert_int_equal(got, 3);
	assert_int_equal(got, n);
	assert_int_equal(gotsum, sum);
	weft_queue_free(q);
}

static void drop_count(void *item, void *arg)
{
	uintptr_t *acc = arg;

	acc[0]++;
	acc[1] += U(item);
}

static void shutdown_immediate_drops_the_rest(void **state)
{
	enum { N = 4 };
	atomic_int started = 0;
	struct blocked b[N];
	weft_queue *q;
	void *item;
	uintptr_t acc[2] = { 0, 0 };
	long n = 0;
	uintptr_t sum = 0;
	int dropped;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 5), 0);
	for (int i = 0; i < N; i++) {
		b[i] = (struct blocked){ .q = q,
					 .started = &started,
					 .base = 1000 * (i + 1) };
		pthread_create(&b[i].tid, NULL, block_put, &b[i]);
	}
	while (atomic_load(&started) < N)
		sched_yield();
	wait_sleepers(N);
	dropped = weft_queue_shutdown(q, true, drop_count, acc);
	assert_int_equal(dropped, 5);
	for (int i = 0; i < N; i++) {
		pthread_join(b[i].tid, NULL);
		assert_int_equal(b[i].rc, -EPIPE);
		n += b[i].n;
		sum += b[i].sum;
	}
	assert_int_equal(acc[0], (uintptr_t)n);
	assert_int_equal(acc[1], sum);
	assert_int_equal(weft_queue_get(q, &item, WEFT_FOREVER), -EPIPE);
	assert_int_equal(weft_queue_shutdown(q, true, drop_count, acc), 0);
	/* Dropped items count as done: join does not wait for them. */
	assert_int_equal(weft_queue_join(q, 0), 0);
	weft_queue_free(q);
}

/* Gets and an immediate shutdown race for the same items: each exactly once. */
static void shutdown_races_consumers(void **state)
{
	enum { N = 3, ITEMS = 1000 };

	(void)state;
	for (int round = 0; round < STRESS(200, 30); round++) {
		atomic_int started = 0;
		struct blocked b[N];
		weft_queue *q;
		uintptr_t acc[2] = { 0, 0 }, sum = 0;
		long n = 0;

		assert_int_equal(weft_queue_new(&q, ITEMS), 0);
		for (int i = 1; i <= ITEMS; i++)
			assert_int_equal(weft_queue_try_put(q, V(i)), 0);
		for (int i = 0; i < N; i++) {
			b[i] = (struct blocked){ .q = q, .started = &started };
			pthread_create(&b[i].tid, NULL, block_get, &b[i]);
		}
		while (atomic_load(&started) < N)
			sched_yield();
		assert_true(weft_queue_shutdown(q, true, drop_count, acc) >= 0);
		for (int i = 0; i < N; i++) {
			pthread_join(b[i].tid, NULL);
			assert_int_equal(b[i].rc, -EPIPE);
			n += b[i].n;
			sum += b[i].sum;
		}
		assert_int_equal(n + (long)acc[0], ITEMS);
		assert_int_equal(sum + acc[1],
				 (uintptr_t)ITEMS * (ITEMS + 1) / 2);
		weft_queue_free(q);
	}
}

/*
 * Close in mid-flow, many times: producers put until -EPIPE, consumers get
 * until -EPIPE, with a tiny queue so both sides keep blocking. Every put
 * that returned 0 is got exactly once; everyone ends with -EPIPE.
 */
static void close_mid_flow(void **state)
{
	enum { P = 3, C = 3 };

	(void)state;
	for (int round = 0; round < STRESS(40, 10); round++) {
		atomic_int started = 0;
		struct blocked p[P], c[C];
		weft_queue *q;
		long n_put = 0, n_got = 0;
		uintptr_t s_put = 0, s_got = 0;

		assert_int_equal(weft_queue_new(&q, 1 + round % 4), 0);
		for (int i = 0; i < C; i++) {
			c[i] = (struct blocked){ .q = q, .started = &started };
			pthread_create(&c[i].tid, NULL, block_get, &c[i]);
		}
		for (int i = 0; i < P; i++) {
			p[i] = (struct blocked){ .q = q,
						 .started = &started,
						 .base = 1000000 * (i + 1) };
			pthread_create(&p[i].tid, NULL, block_put, &p[i]);
		}
		while (atomic_load(&started) < P + C)
			sched_yield();
		sleep_ms(5 + round % 7);
		assert_int_equal(weft_queue_close(q), 0);
		for (int i = 0; i < P; i++) {
			pthread_join(p[i].tid, NULL);
			assert_int_equal(p[i].rc, -EPIPE);
			n_put += p[i].n;
			s_put += p[i].sum;
		}
		for (int i = 0; i < C; i++) {
			pthread_join(c[i].tid, NULL);
			assert_int_equal(c[i].rc, -EPIPE);
			n_got += c[i].n;
			s_got += c[i].sum;
		}
		assert_true(n_put > 0);
		assert_int_equal(n_got, n_put);
		assert_int_equal(s_got, s_put);
		weft_queue_free(q);
	}
}

/* ---- task_done / join ---- */

/* An item the workers hold, without task_done, until `release` is set. */
#define HOLD 1000

struct worker {
	weft_queue *q;
	atomic_long *finished;
	weft_event *release;
};

static void *task_worker(void *arg)
{
	struct worker *w = arg;
	void *item;

	while (weft_queue_get(w->q, &item, WEFT_FOREVER) == 0) {
		if (U(item) % 16 == 0)
			sleep_ms(1);
		if (U(item) == HOLD &&
		    weft_event_wait(w->release, WEFT_FOREVER) != 0)
			abort();
		atomic_fetch_add(w->finished, 1);
		if (weft_queue_task_done(w->q))
			abort();
	}
	return NULL;
}

static void join_waits_for_every_task_done(void **state)
{
	enum { W = 3, ITEMS = 500 };
	atomic_long finished = 0;
	weft_event release = WEFT_EVENT_INIT;
	struct worker w = { .finished = &finished, .release = &release };
	pthread_t tid[W];
	weft_queue *q;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 8), 0);
	w.q = q;
	assert_int_equal(weft_queue_task_done(q), -EINVAL); /* none yet */
	assert_int_equal(weft_queue_join(q, 0), 0);	    /* nothing put */
	for (int i = 0; i < W; i++)
		pthread_create(&tid[i], NULL, task_worker, &w);
	for (int round = 0; round < 3; round++) {
		for (int i = 1; i <= ITEMS; i++)
			assert_int_equal(weft_queue_put(q, V(i), WEFT_FOREVER),
					 0);
		assert_int_equal(weft_queue_join(q, WEFT_FOREVER), 0);
		assert_int_equal(atomic_load(&finished), (round + 1) * ITEMS);
	}
	/*
	 * A join with work pending times out: a worker holds the item
	 * without task_done until `release`, so the work is surely pending
	 * for the poll, for a short deadline and for an already past one.
	 */
	assert_int_equal(weft_queue_put(q, V(HOLD), WEFT_FOREVER), 0);
	assert_int_equal(weft_queue_join(q, 0), -ETIMEDOUT);
	assert_int_equal(weft_queue_join(q, -5), -ETIMEDOUT);
	int64_t dl = weft_now() + 20 * WEFT_MSEC;
	assert_int_equal(weft_queue_join(q, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_int_equal(atomic_load(&finished), 3 * ITEMS);
	weft_event_set(&release);
	assert_int_equal(weft_queue_join(q, WEFT_FOREVER), 0);
	assert_int_equal(atomic_load(&finished), 3 * ITEMS + 1);
	weft_queue_close(q);
	for (int i = 0; i < W; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(weft_queue_task_done(q), -EINVAL); /* too many */
	weft_queue_free(q);
}

static void join_times_out(void **state)
{
	weft_queue *q;
	void *item;
	int64_t t0, dl;

	(void)state;
	assert_int_equal(weft_queue_new(&q, 4), 0);
	assert_int_equal(weft_queue_put(q, V(1), 0), 0);
	assert_int_equal(weft_queue_get(q, &item, 0), 0);
	t0 = weft_now();
	dl = t0 + 80 * WEFT_MSEC;
	assert_int_equal(weft_queue_join(q, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2080);
	assert_int_equal(weft_queue_task_done(q), 0);
	assert_int_equal(weft_queue_join(q, 0), 0);
	assert_int_equal(weft_queue_task_done(q), -EINVAL);
	weft_queue_free(q);
}

/* ---- stress: P producers x C consumers, exactly once ---- */

struct stress {
	weft_queue *q;
	long per_producer;
	int id;
	bool short_deadlines; /* consumers poll with 1 ms deadlines */
	atomic_uchar *seen;   /* one byte per item: received how often */
	uintptr_t sum, xr;
	long n;
	long timeouts;
	pthread_t tid;
};

/* Item of producer p, sequence i (1-based): distinct and non-zero. */
static uintptr_t item_of(long per, int p, long i)
{
	return (uintptr_t)p * (uintptr_t)per + (uintptr_t)i;
}

static void *stress_producer(void *arg)
{
	struct stress *s = arg;

	for (long i = 1; i <= s->per_producer; i++) {
		uintptr_t v = item_of(s->per_producer, s->id, i);

		if (weft_queue_put(s->q, V(v), WEFT_FOREVER))
			abort();
		s->sum += v;
		s->xr ^= v;
	}
	return NULL;
}

static void *stress_consumer(void *arg)
{
	struct stress *s = arg;
	void *item;
	int rc;

	for (;;) {
		int64_t dl = s->short_deadlines ? weft_now() + WEFT_MSEC
						: WEFT_FOREVER;

		rc = weft_queue_get(s->q, &item, dl);
		if (rc == -ETIMEDOUT) {
			s->timeouts++;
			continue;
		}
		if (rc)
			break;
		s->sum += U(item);
		s->xr ^= U(item);
		s->n++;
		if (s->seen)
			atomic_fetch_add_explicit(&s->seen[U(item)], 1,
						  memory_order_relaxed);
	}
	if (rc != -EPIPE)
		abort();
	return NULL;
}

static void run_stress(int np, int nc, size_t cap, long total,
		       bool short_deadlines)
{
	struct stress p[8], c[8];
	atomic_uchar *seen;
	uintptr_t psum = 0, pxr = 0, csum = 0, cxr = 0;
	long per = total / np, n = 0, timeouts = 0;
	weft_queue *q;
	int64_t t0 = weft_now();

	assert_int_equal(weft_queue_new(&q, cap), 0);
	seen = calloc((size_t)(per * np + 1), 1);
	assert_non_null(seen);
	for (int i = 0; i < nc; i++) {
		c[i] = (struct stress){ .q = q,
					.seen = seen,
					.short_deadlines = short_deadlines };
		pthread_create(&c[i].tid, NULL, stress_consumer, &c[i]);
	}
	for (int i = 0; i < np; i++) {
		p[i] = (struct stress){ .q = q, .per_producer = per, .id = i };
		pthread_create(&p[i].tid, NULL, stress_producer, &p[i]);
	}
	for (int i = 0; i < np; i++) {
		pthread_join(p[i].tid, NULL);
		psum += p[i].sum;
		pxr ^= p[i].xr;
	}
	weft_queue_close(q);
	for (int i = 0; i < nc; i++) {
		pthread_join(c[i].tid, NULL);
		csum += c[i].sum;
		cxr ^= c[i].xr;
		n += c[i].n;
		timeouts += c[i].timeouts;
	}
	printf("# %dx%d cap %zu: %ld items in %ld ms%s (%ld timeouts)\n", np,
	       nc, cap, n, ms_since(t0),
	       short_deadlines ? ", 1 ms deadlines" : "", timeouts);
	assert_int_equal(n, per * np);
	assert_int_equal(csum, psum);
	assert_int_equal(cxr, pxr);
	for (long i = 1; i <= per * np; i++)
		if (atomic_load_explicit(&seen[i], memory_order_relaxed) != 1)
			fail_msg("item %ld received %d times", i, seen[i]);
	assert_true(weft_queue_empty(q));
	free(seen);
	weft_queue_free(q);
}

static void stress_4x4_ten_million(void **state)
{
	(void)state;
	run_stress(4, 4, 1024, STRESS(10000000L, 2000000L), false);
}

static void stress_1x1(void **state)
{
	(void)state;
	run_stress(1, 1, 1024, STRESS(2000000L, 1000000L), false);
}

static void stress_capacity_1(void **state)
{
	(void)state;
	run_stress(4, 4, 1, STRESS(400000L, 100000L), false);
	run_stress(1, 1, 1, STRESS(200000L, 20000L), false);
}

static void stress_odd_capacity(void **state)
{
	(void)state;
	run_stress(3, 5, 7, STRESS(1000000L, 200000L), false);
}

static void stress_short_deadlines(void **state)
{
	(void)state;
	run_stress(4, 4, 16, STRESS(1000000L, 200000L), true);
}

/*
 * The deadline rule: WEFT_FOREVER (-1) waits, every other negative value
 * is a time long past and never waits (it used to mean "forever" here).
 */
static void *negative_deadline_calls(void *arg)
{
	int *rc = arg;
	weft_queue *q;
	void *item;

	if (weft_queue_new(&q, 1))
		return NULL;
	rc[0] = weft_queue_get(q, &item, -2);
	rc[1] = weft_queue_put(q, V(1), INT64_MIN);
	rc[2] = weft_queue_put(q, V(2), -7); /* full */
	rc[3] = weft_queue_join(q, -2);	     /* one not done */
	weft_queue_free(q);
	return NULL;
}

static void negative_deadlines_never_wait(void **state)
{
	int rc[4] = { 1, 1, 1, 1 };

	(void)state;
	assert_true(returns_within(negative_deadline_calls, rc, 20));
	assert_int_equal(rc[0], -ETIMEDOUT);
	assert_int_equal(rc[1], 0);
	assert_int_equal(rc[2], -ETIMEDOUT);
	assert_int_equal(rc[3], -ETIMEDOUT);
}

/* Every call accepts NULL: an error code or the documented value. */
static void null_handles(void **state)
{
	weft_queue *q;
	void *item;

	(void)state;
	assert_int_equal(weft_queue_new(NULL, 4), -EINVAL);
	assert_int_equal(weft_queue_new(&q, 0), -EINVAL);
	assert_null(q);
	weft_queue_free(NULL);
	assert_int_equal(weft_queue_put(NULL, V(1), 0), -EINVAL);
	assert_int_equal(weft_queue_get(NULL, &item, 0), -EINVAL);
	assert_int_equal(weft_queue_try_put(NULL, V(1)), -EINVAL);
	assert_int_equal(weft_queue_try_get(NULL, &item), -EINVAL);
	assert_int_equal(weft_queue_size(NULL), 0);
	assert_int_equal(weft_queue_capacity(NULL), 0);
	assert_true(weft_queue_empty(NULL));
	assert_false(weft_queue_full(NULL));
	assert_false(weft_queue_is_closed(NULL));
	assert_int_equal(weft_queue_close(NULL), -EINVAL);
	assert_int_equal(weft_queue_shutdown(NULL, true, NULL, NULL), -EINVAL);
	assert_int_equal(weft_queue_task_done(NULL), -EINVAL);
	assert_int_equal(weft_queue_join(NULL, 0), -EINVAL);
	assert_int_equal(weft_queue_new(&q, 2), 0);
	assert_int_equal(weft_queue_get(q, NULL, 0), -EINVAL);
	assert_int_equal(weft_queue_try_get(q, NULL), -EINVAL);
	weft_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(null_handles),
		LEAK_CHECKED(negative_deadlines_never_wait),
		LEAK_CHECKED(bad_input),
		LEAK_CHECKED(fifo_full_empty),
		LEAK_CHECKED(large_capacity),
		LEAK_CHECKED(deadlines_expire),
		LEAK_CHECKED(close_wakes_blocked_consumers),
		LEAK_CHECKED(close_wakes_blocked_producers),
		LEAK_CHECKED(shutdown_immediate_drops_the_rest),
		LEAK_CHECKED(shutdown_races_consumers),
		LEAK_CHECKED(close_mid_flow),
		LEAK_CHECKED(join_waits_for_every_task_done),
		LEAK_CHECKED(join_times_out),
		LEAK_CHECKED(stress_4x4_ten_million),
		LEAK_CHECKED(stress_1x1),
		LEAK_CHECKED(stress_capacity_1),
		LEAK_CHECKED(stress_odd_capacity),
		LEAK_CHECKED(stress_short_deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
