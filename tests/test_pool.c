/*
 * weft/pool.h: submit/result at scale, errors, shutdown with and without
 * cancel, cancel racing with start, wait modes, as_completed, map, nested
 * submit-and-wait on pools of 1 and 2, initializers, thread names, futures
 * outliving their pool.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "parked.h" /* weft__park_sleepers(), counted from the start */
#include "stress.h"
#include "weft/pool.h"
#include "weft/sync.h"

static weft_pool *pool_of(int n)
{
	struct weft_pool_options o = { .max_workers = n };
	weft_pool *p = NULL;

	assert_int_equal(weft_pool_new(&p, &o), 0);
	assert_non_null(p);
	return p;
}

static int task_nop(void *arg, void **res)
{
	*res = arg;
	return 0;
}

static void bad_input(void **state)
{
	struct weft_pool_options o = { .max_workers = -1 };
	weft_pool *p = V(1);
	weft_future *f = V(1);

	(void)state;
	assert_int_equal(weft_pool_new(NULL, NULL), -EINVAL);
	assert_int_equal(weft_pool_new(&p, &o), -EINVAL);
	assert_null(p);
	o.max_workers = WEFT_POOL_MAX_WORKERS + 1;
	assert_int_equal(weft_pool_new(&p, &o), -EINVAL);
	assert_int_equal(weft_pool_submit(NULL, task_nop, NULL, &f), -EINVAL);
	assert_null(f);
	assert_int_equal(weft_pool_map(NULL, task_nop, NULL, NULL, 0, 0),
			 -EINVAL);
	assert_int_equal(weft_pool_shutdown(NULL, true, true), -EINVAL);
	assert_int_equal(weft_pool_max_workers(NULL), -EINVAL);
	weft_pool_free(NULL);
	p = pool_of(1);
	assert_int_equal(weft_pool_submit(p, NULL, NULL, &f), -EINVAL);
	assert_int_equal(weft_pool_map(p, NULL, NULL, NULL, 1, 0), -EINVAL);
	assert_int_equal(weft_pool_map(p, task_nop, NULL, NULL, 1, 0), -EINVAL);
	assert_int_equal(weft_pool_map(p, task_nop, NULL, NULL, 0, 0), 0);
	weft_pool_free(p);
}

static void defaults(void **state)
{
	int cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
	int want = cores + 4 < 32 ? cores + 4 : 32;
	weft_pool *p;

	(void)state;
	/* The affinity mask may be smaller than the online CPUs. */
	assert_true(weft_pool_default_workers() <= want);
	assert_true(weft_pool_default_workers() >= 5);
	assert_int_equal(weft_pool_new(&p, NULL), 0);
	assert_int_equal(weft_pool_max_workers(p), weft_pool_default_workers());
	weft_pool_free(p);
}

static int task_name(void *arg, void **res)
{
	char *buf = arg;

	(void)res;
	return -pthread_getname_np(pthread_self(), buf, 16);
}

static void thread_names(void **state)
{
	struct weft_pool_options o = { .max_workers = 1 };
	char buf[16];
	weft_future *f;
	weft_pool *p;

	(void)state;
	assert_int_equal(weft_pool_new(&p, &o), 0);
	assert_int_equal(weft_pool_submit(p, task_name, buf, &f), 0);
	assert_int_equal(weft_future_result(f, NULL, WEFT_FOREVER), 0);
	assert_string_equal(buf, "weft-pool-0");
	weft_future_release(f);
	weft_pool_free(p);

	o.thread_name_prefix = "averyveryverylongprefix";
	assert_int_equal(weft_pool_new(&p, &o), 0);
	assert_int_equal(weft_pool_submit(p, task_name, buf, &f), 0);
	assert_int_equal(weft_future_result(f, NULL, WEFT_FOREVER), 0);
	assert_string_equal(buf, "averyveryv-0");
	weft_future_release(f);
	weft_pool_free(p);
}

static atomic_int init_calls, init_mask;
static _Thread_local int init_index = -1;

static int init_ok(void *arg, int worker)
{
	assert_int_equal(U(arg), 77);
	atomic_fetch_add(&init_calls, 1);
	atomic_fetch_or(&init_mask, 1 << worker);
	init_index = worker;
	return 0;
}

static int task_init_index(void *arg, void **res)
{
	(void)arg;
	*res = V(init_index + 1);
	return 0;
}

static int init_fail(void *arg, int worker)
{
	(void)arg;
	(void)worker;
	return -ENOTCONN;
}

static void initializer(void **state)
{
	struct weft_pool_options o = { .max_workers = 3,
				       .initializer = init_ok,
				       .initarg = V(77) };
	weft_future *f;
	weft_pool *p;
	void *res;
	int rc = 0;

	(void)state;
	assert_int_equal(weft_pool_new(&p, &o), 0);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(weft_pool_submit(p, task_init_index, NULL, &f),
				 0);
		assert_int_equal(weft_future_result(f, &res, WEFT_FOREVER), 0);
		assert_true(U(res) >= 1 && U(res) <= 3);
		weft_future_release(f);
	}
	weft_pool_free(p);
	assert_int_equal(atomic_load(&init_calls), 3);
	assert_int_equal(atomic_load(&init_mask), 7);

	/* A failing initializer breaks the pool: its error everywhere. */
	o.initializer = init_fail;
	assert_int_equal(weft_pool_new(&p, &o), 0);
	for (int i = 0; i < 1000; i++) {
		rc = weft_pool_submit(p, task_nop, NULL, &f);
		if (rc)
			break;
		rc = weft_future_result(f, NULL, WEFT_FOREVER);
		assert_true(rc == 0 || rc == -ENOTCONN);
		weft_future_release(f);
		if (rc)
			break;
		sleep_ms(1);
	}
	assert_int_equal(rc, -ENOTCONN);
	/* Once broken, submit says why. */
	for (int i = 0; i < 5000; i++) {
		rc = weft_pool_submit(p, task_nop, NULL, NULL);
		if (rc)
			break;
		sleep_ms(1);
	}
	assert_int_equal(rc, -ENOTCONN);
	weft_pool_free(p);
}

/* ---- 10^6 tasks, every future resolved exactly once ---- */

struct big {
	atomic_uchar *ran;
	atomic_uint *cbs;
};

static struct big big;

static int task_big(void *arg, void **res)
{
	uintptr_t i = U(arg);

	atomic_fetch_add_explicit(&big.ran[i], 1, memory_order_relaxed);
	if (i % 1000 == 999)
		return -EDOM;
	*res = V(i * 2 + 1);
	return 0;
}

static void cb_big(weft_future *f, void *arg)
{
	(void)f;
	atomic_fetch_add_explicit(&big.cbs[U(arg)], 1, memory_order_relaxed);
}

static void million(void **state)
{
	long n = STRESS(1000000, 300000);
	weft_future **fs = malloc((size_t)n * sizeof(*fs));
	weft_pool *p = pool_of(2);

	(void)state;
	big.ran = calloc((size_t)n, 1);
	big.cbs = calloc((size_t)n, sizeof(*big.cbs));
	assert_non_null(fs);
	assert_non_null(big.ran);
	assert_non_null(big.cbs);
	for (long i = 0; i < n; i++) {
		assert_int_equal(weft_pool_submit(p, task_big, V(i), &fs[i]),
				 0);
		if (i % 10 == 0)
			assert_int_equal(weft_future_add_done_callback(
						 fs[i], cb_big, V(i)),
					 0);
	}
	for (long i = 0; i < n; i++) {
		void *res = NULL;
		int rc = weft_future_result(fs[i], &res, WEFT_FOREVER);

		if (i % 1000 == 999) {
			assert_int_equal(rc, -EDOM);
			assert_int_equal(weft_future_state(fs[i]),
					 WEFT_FUTURE_FAILED);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(U(res), (uintptr_t)i * 2 + 1);
		}
		weft_future_release(fs[i]);
	}
	weft_pool_free(p);
	for (long i = 0; i < n; i++) {
		assert_int_equal(big.ran[i], 1);
		assert_int_equal(big.cbs[i], i % 10 == 0);
	}
	free(big.ran);
	free(big.cbs);
	free(fs);
}

/* Tasks submitted from several threads at once, detached and not. */
struct submitter {
	weft_pool *p;
	atomic_uchar *ran;
	long first, n;
};

static int task_mark(void *arg, void **res)
{
	(void)res;
	atomic_fetch_add_explicit((atomic_uchar *)arg, 1, memory_order_relaxed);
	return 0;
}

static void *submit_many(void *arg)
{
	struct submitter *s = arg;

	for (long i = s->first; i < s->first + s->n; i++) {
		weft_future *f;

		if (i % 2) {
			if (weft_pool_submit(s->p, task_mark, &s->ran[i], NULL))
				abort();
		} else {
			if (weft_pool_submit(s->p, task_mark, &s->ran[i], &f))
				abort();
			weft_future_release(f); /* not waited for */
		}
	}
	return NULL;
}

static void many_submitters(void **state)
{
	long per = STRESS(100000, 10000);
	atomic_uchar *ran = calloc((size_t)(4 * per), 1);
	struct submitter s[4];
	pthread_t t[4];
	weft_pool *p = pool_of(3);

	(void)state;
	for (int i = 0; i < 4; i++) {
		s[i] = (struct submitter){ p, ran, i * per, per };
		assert_int_equal(
			pthread_create(&t[i], NULL, submit_many, &s[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(weft_pool_shutdown(p, true, false), 0);
	for (long i = 0; i < 4 * per; i++)
		assert_int_equal(ran[i], 1);
	weft_pool_free(p);
	free(ran);
}

/* ---- errors ---- */

static int task_err(void *arg, void **res)
{
	*res = V(1); /* ignored on failure */
	return -(int)U(arg);
}

static void errors_propagate(void **state)
{
	static const int codes[] = { EIO, ENOENT, ETIMEDOUT, ECANCELED, EPIPE };
	weft_pool *p = pool_of(2);

	(void)state;
	for (int i = 0; i < 5; i++) {
		weft_future *f;
		void *res = V(99);

		assert_int_equal(weft_pool_submit(p, task_err, V(codes[i]), &f),
				 0);
		assert_int_equal(weft_future_result(f, &res, WEFT_FOREVER),
				 -codes[i]);
		assert_int_equal(U(res), 99);
		/* The state tells a task's -ECANCELED from a cancel. */
		assert_int_equal(weft_future_state(f), WEFT_FUTURE_FAILED);
		weft_future_release(f);
	}
	weft_pool_free(p);
}

/* ---- shutdown ---- */

struct counted {
	atomic_int *runs;
	weft_event *gate; /* tasks wait on it, to be "running" */
	int id;
};

static int task_counted(void *arg, void **res)
{
	struct counted *c = arg;

	if (c->gate && c->id % 8 == 0)
		weft_event_wait(c->gate, WEFT_FOREVER);
	atomic_fetch_add(&c->runs[c->id], 1);
	*res = V(c->id);
	return 0;
}

struct releaser {
	weft_event *gate;
	int ms;
};

static void *open_gate(void *arg)
{
	struct releaser *r = arg;

	sleep_ms(r->ms);
	weft_event_set(r->gate);
	return NULL;
}

static void shutdown_exactly_once(void **state)
{
	int rounds = STRESS(200, 150), n = 300;

	(void)state;
	for (int k = 0; k < rounds; k++) {
		bool cancel = k % 2, wait = (k / 2) % 2 == 0;
		atomic_int *runs = calloc((size_t)n, sizeof(*runs));
		struct counted *c = calloc((size_t)n, sizeof(*c));
		weft_future **fs = calloc((size_t)n, sizeof(*fs));
		weft_event gate = WEFT_EVENT_INIT;
		struct releaser r = { &gate, k % 3 };
		weft_pool *p = pool_of(1 + k % 3);
		pthread_t t;
		int ncancel = 0, ndone = 0;

		assert_int_equal(pthread_create(&t, NULL, open_gate, &r), 0);
		for (int i = 0; i < n; i++) {
			c[i] = (struct counted){ runs, &gate, i };
			assert_int_equal(weft_pool_submit(p, task_counted,
							  &c[i], &fs[i]),
					 0);
		}
		assert_int_equal(weft_pool_shutdown(p, wait, cancel), 0);
		assert_int_equal(weft_pool_submit(p, task_nop, NULL, NULL),
				 -ESHUTDOWN);
		if (!wait)
			pthread_join(t, NULL);
		weft_pool_free(p); /* waits */
		if (wait)
			pthread_join(t, NULL);
		for (int i = 0; i < n; i++) {
			void *res;
			int rc = weft_future_result(fs[i], &res, 0);

			switch (weft_future_state(fs[i])) {
			case WEFT_FUTURE_DONE:
				assert_int_equal(rc, 0);
				assert_int_equal(U(res), i);
				assert_int_equal(runs[i], 1);
				ndone++;
				break;
			case WEFT_FUTURE_CANCELLED:
				assert_int_equal(rc, -ECANCELED);
				assert_int_equal(runs[i], 0);
				assert_true(cancel);
				ncancel++;
				break;
			default:
				fail_msg("future %d in state %d", i,
					 weft_future_state(fs[i]));
			}
			weft_future_release(fs[i]);
		}
		assert_int_equal(ndone + ncancel, n);
		free(runs);
		free(c);
		free(fs);
	}
}

static int task_block(void *arg, void **res)
{
	(void)res;
	return weft_event_wait(arg, WEFT_FOREVER);
}

/*
 * More tasks than every ring holds while the workers are blocked: the rest
 * go to the overflow list, which workers drain into their rings (also
 * after shutdown closed the rings). Exactly once, with and without cancel.
 */
static void overflow(void **state)
{
	int n = STRESS(20000, 5000);

	(void)state;
	for (int k = 0; k < 4; k++) {
		bool cancel = k % 2;
		atomic_int *runs = calloc((size_t)n, sizeof(*runs));
		struct counted *c = calloc((size_t)n, sizeof(*c));
		weft_future **fs = calloc((size_t)n, sizeof(*fs));
		weft_event gate = WEFT_EVENT_INIT;
		struct releaser r = { &gate, 50 };
		int workers = 1 + k / 2;
		weft_pool *p = pool_of(workers);
		weft_future *blockers[2];
		pthread_t t;
		int ndone = 0;

		/* Block every worker until the gate opens, then flood. */
		for (int i = 0; i < workers; i++) {
			assert_int_equal(weft_pool_submit(p, task_block, &gate,
							  &blockers[i]),
					 0);
		}
		for (int i = 0; i < n; i++) {
			c[i] = (struct counted){ runs, NULL, i };
			assert_int_equal(weft_pool_submit(p, task_counted,
							  &c[i], &fs[i]),
					 0);
		}
		assert_int_equal(pthread_create(&t, NULL, open_gate, &r), 0);
		if (k >= 2)
			assert_int_equal(weft_pool_shutdown(p, false, cancel),
					 0);
		else if (cancel)
			weft_future_cancel(fs[n - 1]);
		pthread_join(t, NULL);
		weft_pool_free(p);
		for (int i = 0; i < n; i++) {
			enum weft_future_state st = weft_future_state(fs[i]);

			if (st == WEFT_FUTURE_DONE) {
				assert_int_equal(runs[i], 1);
				ndone++;
			} else {
				assert_int_equal(st, WEFT_FUTURE_CANCELLED);
				assert_int_equal(runs[i], 0);
				assert_true(cancel);
			}
			weft_future_release(fs[i]);
		}
		if (!cancel)
			assert_int_equal(ndone, n);
		for (int i = 0; i < workers; i++) {
			int rc = weft_future_result(blockers[i], NULL, 0);

			/* A blocker not started at shutdown(cancel) is off. */
			assert_true(rc == 0 || (cancel && rc == -ECANCELED));
			weft_future_release(blockers[i]);
		}
		free(runs);
		free(c);
		free(fs);
	}
}

/* Detached tasks: run once each; with cancel at shutdown, at most once. */
static void detached(void **state)
{
	int n = STRESS(50000, 5000);

	(void)state;
	for (int k = 0; k < 2; k++) {
		atomic_uchar *ran = calloc((size_t)n, 1);
		weft_pool *p = pool_of(2);

		for (int i = 0; i < n; i++)
			assert_int_equal(weft_pool_submit(p, task_mark, &ran[i],
							  NULL),
					 0);
		assert_int_equal(weft_pool_shutdown(p, true, k == 1), 0);
		for (int i = 0; i < n; i++)
			if (k == 0)
				assert_int_equal(ran[i], 1);
			else
				assert_true(ran[i] <= 1);
		weft_pool_free(p);
		free(ran);
	}
}

static int task_shutdown_self(void *arg, void **res)
{
	(void)res;
	return weft_pool_shutdown(arg, true, false);
}

static void shutdown_from_task(void **state)
{
	weft_pool *p = pool_of(2);
	weft_future *f;

	(void)state;
	assert_int_equal(weft_pool_submit(p, task_shutdown_self, p, &f), 0);
	assert_int_equal(weft_future_result(f, NULL, WEFT_FOREVER), -EDEADLK);
	weft_future_release(f);
	assert_int_equal(weft_pool_submit(p, task_nop, NULL, NULL), -ESHUTDOWN);
	assert_int_equal(weft_pool_shutdown(p, true, true), 0); /* again */
	weft_pool_free(p);
}

/* ---- cancel racing with start ---- */

static void cancel_races_start(void **state)
{
	int rounds = STRESS(300, 300), n = 64;

	(void)state;
	for (int k = 0; k < rounds; k++) {
		atomic_int runs[64] = { 0 };
		struct counted c[64];
		weft_future *fs[64];
		weft_pool *p = pool_of(2);
		int cancelled = 0;

		for (int i = 0; i < n; i++) {
			c[i] = (struct counted){ runs, NULL, i };
			assert_int_equal(weft_pool_submit(p, task_counted,
							  &c[i], &fs[i]),
					 0);
		}
		/* Right away, while workers start on them. */
		for (int i = n - 1; i >= 0; i--) {
			int rc = weft_future_cancel(fs[i]);

			assert_true(rc == 0 || rc == -EBUSY);
			cancelled += rc == 0;
		}
		weft_pool_free(p);
		for (int i = 0; i < n; i++) {
			enum weft_future_state s = weft_future_state(fs[i]);

			if (s == WEFT_FUTURE_CANCELLED) {
				assert_int_equal(runs[i], 0);
				assert_int_equal(weft_future_cancel(fs[i]), 0);
				cancelled--;
			} else {
				assert_int_equal(s, WEFT_FUTURE_DONE);
				assert_int_equal(runs[i], 1);
				assert_int_equal(weft_future_cancel(fs[i]),
						 -EBUSY);
			}
			weft_future_release(fs[i]);
		}
		assert_int_equal(cancelled, 0);
	}
}

/* ---- wait and as_completed on pool futures ---- */

static int task_wait_gate(void *arg, void **res)
{
	(void)res;
	return weft_event_wait(arg, WEFT_FOREVER) ? -EIO : 0;
}

static int task_fail_after_gate(void *arg, void **res)
{
	(void)res;
	weft_event_wait(arg, WEFT_FOREVER);
	return -EXDEV;
}

static void wait_modes(void **state)
{
	weft_event gate = WEFT_EVENT_INIT, gate2 = WEFT_EVENT_INIT;
	weft_pool *p = pool_of(3);
	weft_future *fs[3];
	int64_t dl;

	(void)state;
	assert_int_equal(weft_pool_submit(p, task_wait_gate, &gate, &fs[0]), 0);
	assert_int_equal(
		weft_pool_submit(p, task_fail_after_gate, &gate2, &fs[1]), 0);
	assert_int_equal(weft_pool_submit(p, task_nop, NULL, &fs[2]), 0);
	assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_COMPLETED, WEFT_FOREVER),
			 1);
	assert_true(weft_future_done(fs[2]));
	dl = weft_now() + 50 * WEFT_MSEC;
	assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, dl),
			 -ETIMEDOUT);
	assert_true(weft_now() >= dl && weft_now() < dl + 2 * WEFT_SEC);
	dl = weft_now() + 50 * WEFT_MSEC;
	assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl && weft_now() < dl + 2 * WEFT_SEC);
	weft_event_set(&gate2);
	assert_int_equal(weft_wait(fs, 3, WEFT_FIRST_EXCEPTION, WEFT_FOREVER),
			 2);
	assert_int_equal(weft_future_result(fs[1], NULL, 0), -EXDEV);
	weft_event_set(&gate);
	assert_int_equal(weft_wait(fs, 3, WEFT_ALL_COMPLETED, WEFT_FOREVER), 3);
	for (int i = 0; i < 3; i++)
		weft_future_release(fs[i]);
	weft_pool_free(p);
}

/*
 * A short task queued while the other workers take long ones must not be
 * left beside a parked worker (the bug: a spinning worker made the submit
 * skip the wake-up, then took a long task instead of the short one).
 */
static void no_stranded_task(void **state)
{
	int rounds = STRESS(400, 150);
	weft_pool *p = pool_of(3);

	(void)state;
	for (int k = 0; k < rounds; k++) {
		weft_event gate = WEFT_EVENT_INIT;
		weft_future *slow[2], *quick;

		if (k % 3)
			sleep_ms(k % 3); /* let workers spin or park */
		assert_int_equal(weft_pool_submit(p, task_wait_gate, &gate,
						  &slow[0]),
				 0);
		assert_int_equal(weft_pool_submit(p, task_wait_gate, &gate,
						  &slow[1]),
				 0);
		assert_int_equal(weft_pool_submit(p, task_nop, NULL, &quick),
				 0);
		/* Generous: a stranded task would wait for the gate forever. */
		assert_int_equal(weft_future_result(quick, NULL,
						    weft_now() + 20 * WEFT_SEC),
				 0);
		weft_event_set(&gate);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(weft_future_result(slow[i], NULL,
							    WEFT_FOREVER),
					 0);
			weft_future_release(slow[i]);
		}
		weft_future_release(quick);
	}
	weft_pool_free(p);
}

static void as_completed_pool(void **state)
{
	int n = STRESS(5000, 1000);
	weft_future **fs = malloc((size_t)n * sizeof(*fs));
	unsigned char *seen = calloc((size_t)n, 1);
	weft_pool *p = pool_of(2);
	weft_as_completed *it;
	weft_future *f;
	int count = 0, rc;

	(void)state;
	for (int i = 0; i < n; i++)
		assert_int_equal(weft_pool_submit(p, task_nop, V(i), &fs[i]),
				 0);
	/* Cancel some; they are yielded too. */
	for (int i = n - 1; i >= 0; i -= 97)
		weft_future_cancel(fs[i]);
	assert_int_equal(weft_as_completed_new(&it, fs, (size_t)n), 0);
	while ((rc = weft_as_completed_next(it, &f, WEFT_FOREVER)) == 0) {
		void *res;

		assert_true(weft_future_done(f));
		rc = weft_future_result(f, &res, 0);
		if (rc == 0) {
			assert_true(U(res) < (uintptr_t)n);
			assert_ptr_equal(fs[U(res)], f);
			seen[U(res)]++;
		} else {
			assert_int_equal(rc, -ECANCELED);
			for (int i = 0; i < n; i++)
				if (fs[i] == f)
					seen[i]++;
		}
		count++;
	}
	assert_int_equal(rc, -ENOENT);
	assert_int_equal(count, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(seen[i], 1);
	weft_as_completed_free(it);
	for (int i = 0; i < n; i++)
		weft_future_release(fs[i]);
	weft_pool_free(p);
	free(fs);
	free(seen);
}

/* ---- map ---- */

static int task_square(void *arg, void **res)
{
	uintptr_t x = U(arg);

	if (x == 1000003)
		return -ERANGE;
	*res = V(x * x);
	return 0;
}

static void map(void **state)
{
	enum { N = 2000 };
	static void *args[N], *res[N];
	weft_pool *p = pool_of(2);

	(void)state;
	for (int i = 0; i < N; i++)
		args[i] = V(i);
	assert_int_equal(
		weft_pool_map(p, task_square, args, res, N, WEFT_FOREVER), 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(U(res[i]), (uintptr_t)i * i);
	/* The first error in input order stops it. */
	args[N / 2] = V(1000003);
	assert_int_equal(weft_pool_map(p, task_square, args, res, N,
				       WEFT_FOREVER),
			 -ERANGE);
	assert_int_equal(weft_pool_map(p, task_square, args, NULL, N / 2,
				       WEFT_FOREVER),
			 0);
	weft_pool_free(p);
}

/*
 * map's deadline holds end to end: with tasks that run 1 s and a 20 ms
 * deadline, map returns -ETIMEDOUT by its deadline (not when the running
 * tasks end: the old code waited for them forever), the tasks not started
 * are cancelled and never run, and the running ones finish later on their
 * own (their futures are freed then: the ASan build checks for leaks).
 */
static atomic_int gate_runs;

static int task_gate_count(void *arg, void **res)
{
	(void)res;
	weft_event_wait(arg, WEFT_FOREVER);
	atomic_fetch_add(&gate_runs, 1);
	return 0;
}

static void map_deadline(void **state)
{
	enum { N = 50 };
	weft_event gate = WEFT_EVENT_INIT;
	struct releaser r = { &gate, 1000 };
	void *args[N];
	weft_pool *p = pool_of(2);
	pthread_t t;
	int64_t t0, dl;

	(void)state;
	atomic_store(&gate_runs, 0);
	for (int i = 0; i < N; i++)
		args[i] = &gate;
	assert_int_equal(pthread_create(&t, NULL, open_gate, &r), 0);
	t0 = weft_now();
	dl = t0 + 20 * WEFT_MSEC;
	assert_int_equal(weft_pool_map(p, task_gate_count, args, NULL, N, dl),
			 -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	/* By its deadline, not when the gate opens 1 s later. */
	assert_false(weft_event_is_set(&gate));
	assert_true(ms_since(t0) < 700);
	weft_pool_free(p); /* waits for the (at most two) running ones */
	pthread_join(t, NULL);
	assert_true(atomic_load(&gate_runs) <= 2);
}

/* ---- nested submit-and-wait ---- */

struct nest {
	weft_pool *p;
	int depth;
	int how; /* 0 result, 1 weft_wait, 2 as_completed, 3 map */
};

static int task_tree(void *arg, void **res);

static int tree_children(struct nest *nd, uintptr_t *sum)
{
	struct nest kid = { nd->p, nd->depth - 1, nd->how };
	weft_future *fs[2];
	int rc = 0;

	if (nd->how == 3) {
		void *args[2] = { &kid, &kid }, *r[2];

		rc = weft_pool_map(nd->p, task_tree, args, r, 2, WEFT_FOREVER);
		*sum = rc ? 0 : U(r[0]) + U(r[1]);
		return rc;
	}
	for (int i = 0; i < 2; i++) {
		rc = weft_pool_submit(nd->p, task_tree, &kid, &fs[i]);
		if (rc)
			return rc;
	}
	if (nd->how == 1 &&
	    weft_wait(fs, 2, WEFT_ALL_COMPLETED, WEFT_FOREVER) != 2)
		rc = -EPROTO;
	if (nd->how == 2) {
		weft_as_completed *it;
		weft_future *f;
		int k = 0;

		if (weft_as_completed_new(&it, fs, 2))
			return -ENOMEM;
		while (weft_as_completed_next(it, &f, WEFT_FOREVER) == 0)
			k++;
		weft_as_completed_free(it);
		if (k != 2)
			rc = -EPROTO;
	}
	*sum = 0;
	for (int i = 0; i < 2; i++) {
		void *r;
		int rc2 = weft_future_result(fs[i], &r, WEFT_FOREVER);

		if (!rc2)
			*sum += U(r);
		else if (!rc)
			rc = rc2;
		weft_future_release(fs[i]);
	}
	return rc;
}

static int task_tree(void *arg, void **res)
{
	struct nest *nd = arg;
	uintptr_t sum = 0;
	int rc;

	if (nd->depth == 0) {
		*res = V(1);
		return 0;
	}
	rc = tree_children(nd, &sum);
	*res = V(sum);
	return rc;
}

static void nested(void **state)
{
	(void)state;
	for (int workers = 1; workers <= 2; workers++) {
		for (int how = 0; how < 4; how++) {
			weft_pool *p = pool_of(workers);
			struct nest root = { p, 8, how };
			weft_future *f;
			void *res;

			assert_int_equal(
				weft_pool_submit(p, task_tree, &root, &f), 0);
			assert_int_equal(
				weft_future_result(f, &res, WEFT_FOREVER), 0);
			assert_int_equal(U(res), 256);
			weft_future_release(f);
			/* Several roots at once: a full pool of waiters. */
			{
				weft_future *roots[4];

				for (int i = 0; i < 4; i++)
					assert_int_equal(
						weft_pool_submit(p, task_tree,
								 &root,
								 &roots[i]),
						0);
				for (int i = 0; i < 4; i++) {
					assert_int_equal(weft_future_result(
								 roots[i], &res,
								 WEFT_FOREVER),
							 0);
					assert_int_equal(U(res), 256);
					weft_future_release(roots[i]);
				}
			}
			weft_pool_free(p);
		}
	}
}

/* ---- lifetimes ---- */

static atomic_int late_calls;

static void cb_late(weft_future *f, void *arg)
{
	(void)arg;
	assert_int_equal(weft_future_state(f), WEFT_FUTURE_DONE);
	atomic_fetch_add(&late_calls, 1);
}

static void future_outlives_pool(void **state)
{
	weft_event gate = WEFT_EVENT_INIT;
	struct releaser r = { &gate, 20 };
	weft_pool *p = pool_of(2);
	weft_future *fs[3];
	pthread_t t;
	void *res;

	(void)state;
	assert_int_equal(weft_pool_submit(p, task_nop, V(5), &fs[0]), 0);
	assert_int_equal(weft_pool_submit(p, task_wait_gate, &gate, &fs[1]), 0);
	assert_int_equal(weft_pool_submit(p, task_nop, V(6), &fs[2]), 0);
	weft_future_release(fs[2]); /* the pool's reference frees it */
	assert_int_equal(pthread_create(&t, NULL, open_gate, &r), 0);
	weft_pool_free(p);
	pthread_join(t, NULL);
	assert_int_equal(weft_future_result(fs[0], &res, 0), 0);
	assert_int_equal(U(res), 5);
	assert_int_equal(weft_future_result(fs[1], NULL, 0), 0);
	assert_int_equal(weft_future_cancel(fs[1]), -EBUSY);
	/* A callback added now runs at once, with the pool gone. */
	assert_int_equal(weft_future_add_done_callback(fs[1], cb_late, NULL),
			 0);
	assert_int_equal(atomic_load(&late_calls), 1);
	weft_future_release(fs[0]);
	weft_future_release(fs[1]);
}

static void result_deadline(void **state)
{
	weft_event gate = WEFT_EVENT_INIT;
	weft_pool *p = pool_of(1);
	weft_future *f, *g;
	int64_t dl;

	(void)state;
	assert_int_equal(weft_pool_submit(p, task_wait_gate, &gate, &f), 0);
	assert_int_equal(weft_pool_submit(p, task_nop, NULL, &g), 0);
	dl = weft_now() + 100 * WEFT_MSEC;
	assert_int_equal(weft_future_result(f, NULL, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl && weft_now() < dl + 2 * WEFT_SEC);
	/* g is queued behind f on a pool of 1: still pending. */
	assert_int_equal(weft_future_result(g, NULL, 0), -ETIMEDOUT);
	weft_event_set(&gate);
	assert_int_equal(weft_future_result(f, NULL, WEFT_FOREVER), 0);
	assert_int_equal(weft_future_result(g, NULL, WEFT_FOREVER), 0);
	weft_future_release(f);
	weft_future_release(g);
	weft_pool_free(p);
}

/* ---- issue 7: deadlines on a worker, cancelling shutdown, NULL ---- */

static int task_sleep_1s(void *arg, void **res)
{
	(void)res;
	if (arg)
		atomic_fetch_add((atomic_int *)arg, 1);
	sleep_ms(1000);
	return 0;
}

struct on_worker {
	weft_pool *p;
	atomic_int runs;
	int rc[6];
	int64_t ms[6];
	enum weft_future_state st[6];
};

/*
 * Runs on the only worker of a pool of 1 and asks about a pending child
 * that would run 1 s: a poll (result, weft_wait, as_completed) and a
 * 20 ms deadline must each return -ETIMEDOUT at once, leaving the child
 * PENDING (the old code ran the child inline first: 1 s late); map with a
 * 20 ms deadline returns by it and cancels its tasks; only WEFT_FOREVER
 * runs the child inline.
 */
static int task_ask_child(void *arg, void **res)
{
	struct on_worker *o = arg;
	weft_as_completed *it;
	weft_future *c, *g;
	void *args[3] = { &o->runs, &o->runs, &o->runs };
	int64_t t0;

	(void)res;
	if (weft_pool_submit(o->p, task_sleep_1s, &o->runs, &c))
		return -EPROTO;
	for (int i = 0; i < 6; i++) {
		t0 = weft_now();
		switch (i) {
		case 0:
			o->rc[i] = weft_future_result(c, NULL, 0);
			break;
		case 1:
			o->rc[i] = weft_future_result(
				c, NULL, weft_now() + 20 * WEFT_MSEC);
			break;
		case 2:
			o->rc[i] = weft_wait(&c, 1, i % 2 + 1, 0);
			break;
		case 3:
			if (weft_as_completed_new(&it, &c, 1))
				return -ENOMEM;
			o->rc[i] = weft_as_completed_next(
				it, &g, weft_now() + 20 * WEFT_MSEC);
			weft_as_completed_free(it);
			break;
		case 4:
			o->rc[i] = weft_pool_map(o->p, task_sleep_1s, args,
						 NULL, 3,
						 weft_now() + 20 * WEFT_MSEC);
			break;
		case 5:
			o->rc[i] = weft_future_result(c, NULL, WEFT_FOREVER);
			break;
		}
		o->ms[i] = ms_since(t0);
		o->st[i] = weft_future_state(c);
	}
	weft_future_release(c);
	return 0;
}

static void worker_respects_deadlines(void **state)
{
	struct on_worker o = { .runs = 0 };
	weft_future *f;

	(void)state;
	o.p = pool_of(1);
	assert_int_equal(weft_pool_submit(o.p, task_ask_child, &o, &f), 0);
	assert_int_equal(weft_future_result(f, NULL, WEFT_FOREVER), 0);
	for (int i = 0; i < 6; i++)
		print_message("on the worker, %d: %d after %lld ms, child %d\n",
			      i, o.rc[i], (long long)o.ms[i], o.st[i]);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(o.rc[i], -ETIMEDOUT);
		assert_true(o.ms[i] < 500); /* not after a 1 s task */
		assert_int_equal(o.st[i], WEFT_FUTURE_PENDING);
	}
	/* Only waiting forever ran the child, inline; map's never ran. */
	assert_int_equal(o.rc[5], 0);
	assert_int_equal(o.st[5], WEFT_FUTURE_DONE);
	assert_int_equal(atomic_load(&o.runs), 1);
	weft_future_release(f);
	weft_pool_free(o.p);
	assert_int_equal(atomic_load(&o.runs), 1);
}

/*
 * Issue 7, bug 5: after weft_pool_shutdown(p, false, true) returns, no
 * future is PENDING: thousands queued from outside and the children a
 * running task submitted are CANCELLED; the running task waiting on one
 * of its children gets -ECANCELED (it does not run the child inline,
 * whether it waits with a deadline or forever). Every future ends DONE
 * with one run or CANCELLED with none, its callback called exactly once.
 */
struct parent {
	weft_pool *p;
	weft_event started, gate;
	weft_future *kids[20];
	atomic_int *runs; /* [0..19] kids, [20..] outside tasks */
	atomic_int *cbs;
	struct counted c[20];
	bool forever;
	int rc;
};

static void cb_count_id(weft_future *f, void *arg)
{
	(void)f;
	atomic_fetch_add((atomic_int *)arg, 1);
}

static int task_parent(void *arg, void **res)
{
	struct parent *pa = arg;

	(void)res;
	for (int i = 0; i < 20; i++) {
		pa->c[i] = (struct counted){ pa->runs, NULL, i };
		if (weft_pool_submit(pa->p, task_counted, &pa->c[i],
				     &pa->kids[i]) ||
		    weft_future_add_done_callback(pa->kids[i], cb_count_id,
						  &pa->cbs[i]))
			abort();
	}
	weft_event_set(&pa->started);
	if (pa->forever) {
		/* Asked after the shutdown: never runs the child inline. */
		weft_event_wait(&pa->gate, WEFT_FOREVER);
		pa->rc = weft_future_result(pa->kids[3], NULL, WEFT_FOREVER);
	} else {
		/* Parked on the child when the shutdown cancels it. */
		pa->rc = weft_future_result(pa->kids[3], NULL,
					    weft_now() + 60 * WEFT_SEC);
	}
	return 0;
}

struct blocker {
	weft_event running, gate;
};

static int task_block_once_running(void *arg, void **res)
{
	struct blocker *b = arg;

	(void)res;
	weft_event_set(&b->running);
	return weft_event_wait(&b->gate, WEFT_FOREVER);
}

static void shutdown_cancels_queued(void **state)
{
	int rounds = STRESS(40, 8), n = STRESS(5000, 1000);

	(void)state;
	for (int k = 0; k < rounds; k++) {
		struct parent pa = { .forever = k % 2, .rc = 1 };
		struct blocker bl = { WEFT_EVENT_INIT, WEFT_EVENT_INIT };
		weft_future **fs = calloc((size_t)n, sizeof(*fs));
		struct counted *c = calloc((size_t)n, sizeof(*c));
		weft_future *blocker, *parent;
		int ncancel = 0;

		pa.runs = calloc((size_t)n + 20, sizeof(*pa.runs));
		pa.cbs = calloc((size_t)n + 20, sizeof(*pa.cbs));
		weft_event_init(&pa.started);
		weft_event_init(&pa.gate);
		pa.p = pool_of(2);
		/* One worker blocked, the other runs the parent. */
		assert_int_equal(weft_pool_submit(pa.p, task_block_once_running,
						  &bl, &blocker),
				 0);
		weft_event_wait(&bl.running, WEFT_FOREVER);
		assert_int_equal(
			weft_pool_submit(pa.p, task_parent, &pa, &parent), 0);
		weft_event_wait(&pa.started, WEFT_FOREVER);
		for (int i = 0; i < n; i++) {
			c[i] = (struct counted){ pa.runs, NULL, 20 + i };
			assert_int_equal(weft_pool_submit(pa.p, task_counted,
							  &c[i], &fs[i]),
					 0);
			assert_int_equal(weft_future_add_done_callback(
						 fs[i], cb_count_id,
						 &pa.cbs[20 + i]),
					 0);
		}
		/*
		 * The parent parks on its child (the blocker sleeps too):
		 * shutdown must wake it. 2 s at most: the old code never
		 * parked, it ran the child inline.
		 */
		for (int i = 0;
		     !pa.forever && i < 2000 && weft__park_sleepers() < 2; i++)
			sleep_ms(1);
		assert_int_equal(weft_pool_shutdown(pa.p, false, true), 0);
		/* Right when shutdown returns: nothing queued is left. */
		for (int i = 0; i < 20; i++)
			assert_int_equal(weft_future_state(pa.kids[i]),
					 WEFT_FUTURE_CANCELLED);
		for (int i = 0; i < n; i++) {
			if (weft_future_state(fs[i]) == WEFT_FUTURE_PENDING)
				fail_msg("round %d: future %d still pending "
					 "after shutdown(cancel)",
					 k, i);
			ncancel += weft_future_state(fs[i]) ==
				   WEFT_FUTURE_CANCELLED;
		}
		weft_event_set(&pa.gate);
		weft_event_set(&bl.gate);
		weft_pool_free(pa.p);
		assert_int_equal(weft_future_result(parent, NULL, 0), 0);
		assert_int_equal(pa.rc, -ECANCELED);
		assert_int_equal(weft_future_result(blocker, NULL, 0), 0);
		for (int i = 0; i < n + 20; i++) {
			weft_future *f = i < 20 ? pa.kids[i] : fs[i - 20];

			assert_int_equal(atomic_load(&pa.cbs[i]), 1);
			if (weft_future_state(f) == WEFT_FUTURE_CANCELLED)
				assert_int_equal(atomic_load(&pa.runs[i]), 0);
			else
				assert_int_equal(atomic_load(&pa.runs[i]), 1);
			weft_future_release(f);
		}
		/* Both workers were busy: nobody ran the queued ones. */
		assert_int_equal(ncancel, n);
		weft_future_release(blocker);
		weft_future_release(parent);
		free(pa.runs);
		free(pa.cbs);
		free(fs);
		free(c);
	}
}

/*
 * The same under load: workers chew through tiny tasks while a cancelling
 * shutdown comes in (from outside, or from one of the tasks); when it
 * returns nothing is PENDING, and each future ends exactly once.
 */
static int task_cancel_pool(void *arg, void **res)
{
	(void)res;
	return weft_pool_shutdown(arg, false, true);
}

static void shutdown_cancel_race(void **state)
{
	int rounds = STRESS(100, 15), n = STRESS(4000, 500);

	(void)state;
	for (int k = 0; k < rounds; k++) {
		atomic_int *runs = calloc((size_t)n, sizeof(*runs));
		atomic_int *cbs = calloc((size_t)n, sizeof(*cbs));
		struct counted *c = calloc((size_t)n, sizeof(*c));
		weft_future **fs = calloc((size_t)n, sizeof(*fs));
		weft_pool *p = pool_of(1 + k % 3);
		bool from_task = k % 4 == 3;
		int at = n / 2 + (k * 37) % (n / 2), ndone = 0, ncancel = 0;
		int nrefused = 0;

		for (int i = 0; i < n; i++) {
			int rc;

			c[i] = (struct counted){ runs, NULL, i };
			if (from_task && i == at) {
				rc = weft_pool_submit(p, task_cancel_pool, p,
						      &fs[i]);
				runs[i] = 1; /* counted as run if it ran */
			} else {
				rc = weft_pool_submit(p, task_counted, &c[i],
						      &fs[i]);
			}
			if (rc == -ESHUTDOWN && from_task && i > at) {
				nrefused++; /* after the task's shutdown */
				continue;
			}
			assert_int_equal(rc, 0);
			assert_int_equal(weft_future_add_done_callback(
						 fs[i], cb_count_id, &cbs[i]),
					 0);
		}
		if (!from_task) {
			assert_int_equal(weft_pool_shutdown(p, false, true), 0);
			for (int i = 0; i < n; i++)
				if (weft_future_state(fs[i]) ==
				    WEFT_FUTURE_PENDING)
					fail_msg("round %d: future %d pending",
						 k, i);
		}
		weft_pool_free(p);
		for (int i = 0; i < n; i++) {
			enum weft_future_state st = weft_future_state(fs[i]);

			if (!fs[i])
				continue; /* refused */
			assert_int_equal(atomic_load(&cbs[i]), 1);
			if (st == WEFT_FUTURE_CANCELLED) {
				ncancel++;
				if (!(from_task && i == at))
					assert_int_equal(runs[i], 0);
			} else {
				assert_int_equal(st, WEFT_FUTURE_DONE);
				assert_int_equal(runs[i], 1);
				ndone++;
			}
			weft_future_release(fs[i]);
		}
		assert_int_equal(ndone + ncancel + nrefused, n);
		free(runs);
		free(cbs);
		free(c);
		free(fs);
	}
}

/* Every public function of future.h and pool.h given a NULL handle. */
static void null_handles(void **state)
{
	weft_future *f = V(1);
	weft_as_completed *it = V(1);
	weft_pool *p = V(1);
	void *res = V(3);

	(void)state;
	/* future.h */
	assert_int_equal(weft_future_new(NULL), -EINVAL);
	assert_int_equal(weft_future_set(NULL, 0, NULL), -EINVAL);
	assert_null(weft_future_retain(NULL));
	weft_future_release(NULL);
	assert_int_equal(weft_future_result(NULL, &res, 0), -EINVAL);
	assert_int_equal(weft_future_result(NULL, &res, WEFT_FOREVER), -EINVAL);
	assert_int_equal(U(res), 3);
	assert_int_equal(weft_future_state(NULL), WEFT_FUTURE_PENDING);
	assert_false(weft_future_done(NULL));
	assert_int_equal(weft_future_cancel(NULL), -EINVAL);
	assert_int_equal(weft_future_add_done_callback(NULL, cb_late, NULL),
			 -EINVAL);
	assert_int_equal(weft_wait(NULL, 1, WEFT_FIRST_COMPLETED, 0), -EINVAL);
	{
		weft_future *none[1] = { NULL };

		assert_int_equal(weft_wait(none, 1, WEFT_ALL_COMPLETED, 0),
				 -EINVAL);
		assert_int_equal(weft_as_completed_new(&it, none, 1), -EINVAL);
		assert_null(it);
	}
	assert_int_equal(weft_as_completed_new(NULL, &f, 1), -EINVAL);
	assert_int_equal(weft_as_completed_next(NULL, &f, 0), -EINVAL);
	assert_null(f);
	weft_as_completed_free(NULL);
	/* pool.h */
	assert_int_equal(weft_pool_new(NULL, NULL), -EINVAL);
	assert_int_equal(weft_pool_submit(NULL, task_nop, NULL, &f), -EINVAL);
	assert_int_equal(weft_pool_submit(NULL, task_nop, NULL, NULL), -EINVAL);
	assert_int_equal(weft_pool_map(NULL, task_nop, &res, NULL, 1, 0),
			 -EINVAL);
	assert_int_equal(weft_pool_shutdown(NULL, false, false), -EINVAL);
	assert_int_equal(weft_pool_shutdown(NULL, true, true), -EINVAL);
	assert_int_equal(weft_pool_max_workers(NULL), -EINVAL);
	weft_pool_free(NULL);
	(void)p;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(bad_input),
		LEAK_CHECKED(defaults),
		LEAK_CHECKED(thread_names),
		LEAK_CHECKED(initializer),
		LEAK_CHECKED(million),
		LEAK_CHECKED(many_submitters),
		LEAK_CHECKED(errors_propagate),
		LEAK_CHECKED(shutdown_exactly_once),
		LEAK_CHECKED(overflow),
		LEAK_CHECKED(detached),
		LEAK_CHECKED(shutdown_from_task),
		LEAK_CHECKED(cancel_races_start),
		LEAK_CHECKED(wait_modes),
		LEAK_CHECKED(no_stranded_task),
		LEAK_CHECKED(as_completed_pool),
		LEAK_CHECKED(map),
		LEAK_CHECKED(map_deadline),
		LEAK_CHECKED(nested),
		LEAK_CHECKED(future_outlives_pool),
		LEAK_CHECKED(result_deadline),
		LEAK_CHECKED(worker_respects_deadlines),
		LEAK_CHECKED(shutdown_cancels_queued),
		LEAK_CHECKED(shutdown_cancel_race),
		LEAK_CHECKED(null_handles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
