/* weft/sync.h: mutex, condition, event, semaphore. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "parked.h"
#include "stress.h"
#include "weft/sync.h"

static void bad_input(void **state)
{
	(void)state;
	assert_int_equal(weft_mutex_init(NULL), -EINVAL);
	assert_int_equal(weft_mutex_lock(NULL), -EINVAL);
	assert_int_equal(weft_mutex_lock_until(NULL, 0), -EINVAL);
	assert_int_equal(weft_mutex_trylock(NULL), -EINVAL);
	assert_int_equal(weft_mutex_unlock(NULL), -EINVAL);
	assert_int_equal(weft_mutex_destroy(NULL), -EINVAL);
	assert_int_equal(weft_cond_init(NULL), -EINVAL);
	assert_int_equal(weft_cond_wait(NULL, NULL, 0), -EINVAL);
	assert_int_equal(weft_cond_signal(NULL), -EINVAL);
	assert_int_equal(weft_cond_broadcast(NULL), -EINVAL);
	assert_int_equal(weft_event_init(NULL), -EINVAL);
	assert_int_equal(weft_event_set(NULL), -EINVAL);
	assert_int_equal(weft_event_wait(NULL, 0), -EINVAL);
	assert_false(weft_event_is_set(NULL));
	assert_int_equal(weft_sem_init(NULL, 1), -EINVAL);
	assert_int_equal(weft_sem_acquire(NULL, 0), -EINVAL);
	assert_int_equal(weft_sem_release(NULL, 1), -EINVAL);
	weft_sem s;
	assert_int_equal(weft_sem_init(&s, (unsigned)INT32_MAX + 1), -EINVAL);
	assert_int_equal(weft_sem_init(&s, 0), 0);
	assert_int_equal(weft_sem_release(&s, 0), -EINVAL);
	assert_int_equal(weft_sem_release(&s, INT32_MAX), 0);
	assert_int_equal(weft_sem_release(&s, 1), -EOVERFLOW);
}

static void mutex_basics(void **state)
{
	weft_mutex m = WEFT_MUTEX_INIT, m2;

	(void)state;
	assert_int_equal(weft_mutex_init(&m2), 0);
	assert_false(weft_mutex_is_locked(&m));
	assert_int_equal(weft_mutex_unlock(&m), -EPERM);
	assert_int_equal(weft_mutex_lock(&m), 0);
	assert_true(weft_mutex_is_locked(&m));
	assert_int_equal(weft_mutex_trylock(&m), -EAGAIN);
	assert_int_equal(weft_mutex_lock_until(&m, 0), -ETIMEDOUT);
	assert_int_equal(weft_mutex_destroy(&m), -EBUSY);
	assert_int_equal(weft_mutex_unlock(&m), 0);
	assert_int_equal(weft_mutex_trylock(&m), 0);
	assert_int_equal(weft_mutex_unlock(&m), 0);
	assert_int_equal(weft_mutex_destroy(&m), 0);
	assert_int_equal(weft_mutex_destroy(&m2), 0);
}

struct locker {
	weft_mutex *m;
	int64_t deadline;
	int rc;
	int64_t waited_ms;
};

static void *lock_until_thread(void *arg)
{
	struct locker *l = arg;
	int64_t t0 = weft_now();

	l->rc = weft_mutex_lock_until(l->m, l->deadline);
	l->waited_ms = ms_since(t0);
	if (l->rc == 0)
		weft_mutex_unlock(l->m);
	return NULL;
}

static void mutex_deadline_and_handoff(void **state)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	struct locker l = { .m = &m };
	pthread_t tid;
	int64_t dl;

	(void)state;
	weft_mutex_lock(&m);
	dl = weft_now() + 100 * WEFT_MSEC;
	l.deadline = dl;
	pthread_create(&tid, NULL, lock_until_thread, &l);
	pthread_join(tid, NULL);
	assert_int_equal(l.rc, -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(l.waited_ms < 2100);
	assert_int_equal(weft_mutex_destroy(&m), -EBUSY);

	/* A parked locker gets the mutex when it is unlocked. */
	l.deadline = WEFT_FOREVER;
	pthread_create(&tid, NULL, lock_until_thread, &l);
	wait_sleepers(1);
	weft_mutex_unlock(&m);
	pthread_join(tid, NULL);
	assert_int_equal(l.rc, 0);
	assert_false(weft_mutex_is_locked(&m));
	assert_int_equal(weft_mutex_destroy(&m), 0);
}

/* N threads increment a plain counter under the mutex: nothing lost. */
struct counter {
	weft_mutex m;
	long value; /* guarded by m */
	long per_thread;
	atomic_long timeouts;
};

static void *count_thread(void *arg)
{
	struct counter *c = arg;

	for (long i = 0; i < c->per_thread; i++) {
		if (i % 64 == 0) {
			/* Mix in deadlines that may expire: retried. */
			while (weft_mutex_lock_until(&c->m,
						     weft_now() + WEFT_USEC) ==
			       -ETIMEDOUT)
				atomic_fetch_add(&c->timeouts, 1);
		} else {
			weft_mutex_lock(&c->m);
		}
		c->value++;
		weft_mutex_unlock(&c->m);
	}
	return NULL;
}

static void mutex_stress(void **state)
{
	enum { T = 5 };
	static struct counter c = { .m = WEFT_MUTEX_INIT };
	pthread_t tid[T];
	int64_t t0 = weft_now();

	(void)state;
	c.value = 0;
	c.per_thread = STRESS(1000000L, 400000L);
	for (int i = 0; i < T; i++)
		pthread_create(&tid[i], NULL, count_thread, &c);
	for (int i = 0; i < T; i++)
		pthread_join(tid[i], NULL);
	printf("# %d x %ld locked increments in %ld ms (%ld timeouts)\n", T,
	       c.per_thread, ms_since(t0), (long)atomic_load(&c.timeouts));
	assert_int_equal(c.value, T * c.per_thread);
	assert_int_equal(weft_mutex_destroy(&c.m), 0);
}

/* ---- condition ---- */

struct box {
	weft_mutex m;
	weft_cond c;
	int items;  /* guarded by m */
	long taken; /* guarded by m */
	bool done;  /* guarded by m */
};

static void *cond_consumer(void *arg)
{
	struct box *b = arg;

	weft_mutex_lock(&b->m);
	for (;;) {
		while (!b->items && !b->done)
			weft_cond_wait(&b->c, &b->m, WEFT_FOREVER);
		if (!b->items)
			break;
		b->items--;
		b->taken++;
	}
	weft_mutex_unlock(&b->m);
	return NULL;
}

static void cond_producer_consumer(void **state)
{
	enum { C = 4 };
	static struct box b = { WEFT_MUTEX_INIT, WEFT_COND_INIT, 0, 0, false };
	pthread_t tid[C];
	long n = STRESS(200000L, 100000L);

	(void)state;
	for (int i = 0; i < C; i++)
		pthread_create(&tid[i], NULL, cond_consumer, &b);
	for (long i = 0; i < n; i++) {
		weft_mutex_lock(&b.m);
		b.items++;
		weft_mutex_unlock(&b.m);
		if (i % 3)
			weft_cond_signal(&b.c);
		else
			weft_cond_broadcast(&b.c);
	}
	weft_mutex_lock(&b.m);
	b.done = true;
	weft_cond_broadcast(&b.c);
	weft_mutex_unlock(&b.m);
	for (int i = 0; i < C; i++)
		pthread_join(tid[i], NULL);
	assert_int_equal(b.taken, n);
	assert_int_equal(b.items, 0);
	assert_int_equal(weft_cond_destroy(&b.c), 0);
}

static void cond_timeout_relocks(void **state)
{
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_cond c;
	int64_t t0, dl;

	(void)state;
	assert_int_equal(weft_cond_init(&c), 0);
	assert_int_equal(weft_cond_wait(&c, &m, 0), -EPERM); /* not locked */
	weft_mutex_lock(&m);
	t0 = weft_now();
	dl = t0 + 60 * WEFT_MSEC;
	assert_int_equal(weft_cond_wait(&c, &m, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2060);
	assert_true(weft_mutex_is_locked(&m));
	assert_int_equal(weft_cond_wait(&c, &m, 0), -ETIMEDOUT);
	assert_true(weft_mutex_is_locked(&m));
	weft_mutex_unlock(&m);
	assert_int_equal(weft_cond_destroy(&c), 0);
}

/* ---- event ---- */

struct evwait {
	weft_event *e;
	int64_t deadline;
	int rc;
	pthread_t tid;
};

static void *event_waiter(void *arg)
{
	struct evwait *w = arg;

	w->rc = weft_event_wait(w->e, w->deadline);
	return NULL;
}

static void event_set_wakes_all(void **state)
{
	enum { N = 6 };
	weft_event e = WEFT_EVENT_INIT;
	struct evwait w[N];
	int64_t t0, dl;

	(void)state;
	assert_false(weft_event_is_set(&e));
	t0 = weft_now();
	dl = t0 + 50 * WEFT_MSEC;
	assert_int_equal(weft_event_wait(&e, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2050);
	for (int i = 0; i < N; i++) {
		w[i] = (struct evwait){ .e = &e, .deadline = WEFT_FOREVER };
		pthread_create(&w[i].tid, NULL, event_waiter, &w[i]);
	}
	wait_sleepers(N);
	assert_int_equal(weft_event_set(&e), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].rc, 0);
	}
	assert_true(weft_event_is_set(&e));
	assert_int_equal(weft_event_wait(&e, 0), 0);
	assert_int_equal(weft_event_clear(&e), 0);
	assert_int_equal(weft_event_wait(&e, 0), -ETIMEDOUT);
	assert_int_equal(weft_event_destroy(&e), 0);
}

/*
 * set racing with waiters, over many rounds of one event that is cleared
 * between them: nobody sleeps through a set. Odd rounds set after a short
 * random spin, while the waiters are between their look at the flag and
 * their registration; even rounds set only once every waiter is asleep in
 * park, so the wake of parked waiters is exercised every other round.
 */
struct racer {
	weft_event *e;
	pthread_barrier_t *bar;
	int rounds;
	atomic_int *failed;
	pthread_t tid;
};

static void *event_racer(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < r->rounds; i++) {
		pthread_barrier_wait(r->bar);
		if (weft_event_wait(r->e, weft_deadline_in(20 * WEFT_SEC)))
			atomic_fetch_add(r->failed, 1);
		pthread_barrier_wait(r->bar);
	}
	return NULL;
}

static void event_race(void **state)
{
	enum { N = 3 };
	const int rounds = STRESS(2000, 400);
	weft_event e = WEFT_EVENT_INIT;
	pthread_barrier_t bar;
	atomic_int failed = 0;
	struct racer r[N];
	unsigned seed = 12345;

	(void)state;
	pthread_barrier_init(&bar, NULL, N + 1);
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){ &e, &bar, rounds, &failed, 0 };
		pthread_create(&r[i].tid, NULL, event_racer, &r[i]);
	}
	for (int i = 0; i < rounds; i++) {
		pthread_barrier_wait(&bar);
		if (i % 2) {
			for (volatile int k = rand_r(&seed) % 4000; k > 0; k--)
				;
		} else {
			wait_sleepers(N);
		}
		assert_int_equal(weft_event_set(&e), 0);
		pthread_barrier_wait(&bar);
		assert_int_equal(atomic_load(&failed), 0);
		assert_int_equal(weft_event_clear(&e), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(r[i].tid, NULL);
	pthread_barrier_destroy(&bar);
	assert_int_equal(weft_event_destroy(&e), 0);
}

/* ---- semaphore ---- */

struct semuser {
	weft_sem *s;
	atomic_int *inside, *max_inside;
	long rounds;
	pthread_t tid;
};

static void *sem_user(void *arg)
{
	struct semuser *u = arg;

	for (long i = 0; i < u->rounds; i++) {
		int in, m;

		if (weft_sem_acquire(u->s, WEFT_FOREVER))
			abort();
		in = atomic_fetch_add(u->inside, 1) + 1;
		m = atomic_load(u->max_inside);
		while (in > m &&
		       !atomic_compare_exchange_weak(u->max_inside, &m, in))
			;
		atomic_fetch_sub(u->inside, 1);
		weft_sem_release(u->s, 1);
	}
	return NULL;
}

static void sem_limits_concurrency(void **state)
{
	enum { T = 6, K = 2 };
	weft_sem s = WEFT_SEM_INIT(K);
	atomic_int inside = 0, max_inside = 0;
	struct semuser u[T];

	(void)state;
	for (int i = 0; i < T; i++) {
		u[i] = (struct semuser){ &s, &inside, &max_inside,
					 STRESS(200000L, 100000L), 0 };
		pthread_create(&u[i].tid, NULL, sem_user, &u[i]);
	}
	for (int i = 0; i < T; i++)
		pthread_join(u[i].tid, NULL);
	printf("# at most %d inside (limit %d)\n", atomic_load(&max_inside), K);
	assert_true(atomic_load(&max_inside) <= K);
	assert_true(atomic_load(&max_inside) >= 1);
	assert_int_equal(weft_sem_value(&s), K);
	assert_int_equal(weft_sem_destroy(&s), 0);
}

struct semwait {
	weft_sem *s;
	int rc;
	pthread_t tid;
};

static void *sem_waiter(void *arg)
{
	struct semwait *w = arg;

	w->rc = weft_sem_acquire(w->s, weft_deadline_in(30 * WEFT_SEC));
	return NULL;
}

static void sem_release_n_wakes_n(void **state)
{
	enum { N = 5 };
	weft_sem s;
	struct semwait w[N];
	int64_t t0, dl;

	(void)state;
	assert_int_equal(weft_sem_init(&s, 1), 0);
	assert_int_equal(weft_sem_try_acquire(&s), 0);
	assert_int_equal(weft_sem_try_acquire(&s), -EAGAIN);
	t0 = weft_now();
	dl = t0 + 50 * WEFT_MSEC;
	assert_int_equal(weft_sem_acquire(&s, dl), -ETIMEDOUT);
	assert_true(weft_now() >= dl);
	assert_true(ms_since(t0) < 2050);
	for (int i = 0; i < N; i++) {
		w[i] = (struct semwait){ .s = &s };
		pthread_create(&w[i].tid, NULL, sem_waiter, &w[i]);
	}
	wait_sleepers(N);
	assert_int_equal(weft_sem_release(&s, N), 0);
	for (int i = 0; i < N; i++) {
		pthread_join(w[i].tid, NULL);
		assert_int_equal(w[i].rc, 0);
	}
	assert_int_equal(weft_sem_value(&s), 0);
	assert_int_equal(weft_sem_destroy(&s), 0);
}

/* The deadline rule: only WEFT_FOREVER waits forever (see test_queue). */
static void *negative_deadline_calls(void *arg)
{
	int *rc = arg;
	weft_mutex m = WEFT_MUTEX_INIT;
	weft_cond c = WEFT_COND_INIT;
	weft_event e = WEFT_EVENT_INIT;
	weft_sem s = WEFT_SEM_INIT(0);

	weft_mutex_lock(&m);
	rc[0] = weft_mutex_lock_until(&m, -2);
	rc[1] = weft_cond_wait(&c, &m, -3);
	rc[2] = weft_event_wait(&e, INT64_MIN);
	rc[3] = weft_sem_acquire(&s, -2);
	weft_mutex_unlock(&m);
	return NULL;
}

static void negative_deadlines_never_wait(void **state)
{
	int rc[4] = { 1, 1, 1, 1 };

	(void)state;
	assert_true(returns_within(negative_deadline_calls, rc, 20));
	for (int i = 0; i < 4; i++)
		assert_int_equal(rc[i], -ETIMEDOUT);
}

/* Every call accepts NULL: -EINVAL or the documented value. */
static void null_handles(void **state)
{
	weft_mutex m = WEFT_MUTEX_INIT;

	(void)state;
	assert_int_equal(weft_mutex_init(NULL), -EINVAL);
	assert_int_equal(weft_mutex_destroy(NULL), -EINVAL);
	assert_int_equal(weft_mutex_lock(NULL), -EINVAL);
	assert_int_equal(weft_mutex_lock_until(NULL, 0), -EINVAL);
	assert_int_equal(weft_mutex_trylock(NULL), -EINVAL);
	assert_int_equal(weft_mutex_unlock(NULL), -EINVAL);
	assert_false(weft_mutex_is_locked(NULL));
	assert_int_equal(weft_cond_init(NULL), -EINVAL);
	assert_int_equal(weft_cond_destroy(NULL), -EINVAL);
	assert_int_equal(weft_cond_wait(NULL, &m, 0), -EINVAL);
	assert_int_equal(weft_cond_signal(NULL), -EINVAL);
	assert_int_equal(weft_cond_broadcast(NULL), -EINVAL);
	assert_int_equal(weft_event_init(NULL), -EINVAL);
	assert_int_equal(weft_event_destroy(NULL), -EINVAL);
	assert_int_equal(weft_event_set(NULL), -EINVAL);
	assert_int_equal(weft_event_clear(NULL), -EINVAL);
	assert_false(weft_event_is_set(NULL));
	assert_int_equal(weft_event_wait(NULL, 0), -EINVAL);
	assert_int_equal(weft_sem_init(NULL, 1), -EINVAL);
	assert_int_equal(weft_sem_destroy(NULL), -EINVAL);
	assert_int_equal(weft_sem_acquire(NULL, 0), -EINVAL);
	assert_int_equal(weft_sem_try_acquire(NULL), -EINVAL);
	assert_int_equal(weft_sem_release(NULL, 1), -EINVAL);
	assert_int_equal(weft_sem_value(NULL), -EINVAL);
	{
		weft_cond c = WEFT_COND_INIT;

		assert_int_equal(weft_cond_wait(&c, NULL, 0), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(null_handles),
		LEAK_CHECKED(negative_deadlines_never_wait),
		LEAK_CHECKED(bad_input),
		LEAK_CHECKED(mutex_basics),
		LEAK_CHECKED(mutex_deadline_and_handoff),
		LEAK_CHECKED(mutex_stress),
		LEAK_CHECKED(cond_producer_consumer),
		LEAK_CHECKED(cond_timeout_relocks),
		LEAK_CHECKED(event_set_wakes_all),
		LEAK_CHECKED(event_race),
		LEAK_CHECKED(sem_limits_concurrency),
		LEAK_CHECKED(sem_release_n_wakes_n),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
