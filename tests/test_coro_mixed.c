/*
 * The mixed world: one queue, mutex, condition, event, semaphore, future
 * and process API shared by coroutines and plain threads at once. Every
 * blocking call suspends only the calling coroutine (the loop keeps
 * running others), blocks a thread, honours its deadline (never early),
 * and returns -ECANCELED when the coroutine is cancelled in it.
 *
 * Checks inside coroutines and threads use CK/CKEQ, which record the
 * failure (cmocka's asserts longjmp, which must not cross a coroutine's
 * stack or another thread); each test asserts no failure was recorded
 * once weft_run has returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "co_check.h"
#include "parked.h"
#include "stress.h"
#include "weft/coro.h"
#include "weft/future.h"
#include "weft/loop.h"
#include "weft/pool.h"
#include "weft/proc.h"
#include "weft/queue.h"
#include "weft/sync.h"

/* ---- checks that work in coroutines and threads ---- */

/* ---- plain threads whose end is a future (awaitable from a coroutine) ---- */

struct thr {
	pthread_t t;
	weft_task_fn *fn;
	void *arg;
	weft_future *f;
};

static void *thr_main(void *p)
{
	struct thr *t = p;
	void *res = NULL;
	int rc;

	CK(!weft_in_coro());
	rc = t->fn(t->arg, &res);
	weft_future_set(t->f, rc, res);
	weft_future_release(t->f); /* the thread's reference */
	return NULL;
}

static void thr_start(struct thr *t, weft_task_fn *fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	CKEQ(weft_future_new(&t->f), 0);
	weft_future_retain(t->f);
	CKEQ(pthread_create(&t->t, NULL, thr_main, t), 0);
}

/* Wait for the thread's task (suspending a coroutine), then reap it. */
static int thr_join(struct thr *t, void **res)
{
	int rc = weft_future_result(t->f, res, weft_now() + 60 * WEFT_SEC);

	CK(rc != -ETIMEDOUT);
	pthread_join(t->t, NULL);
	weft_future_release(t->f);
	return rc;
}

static int await(weft_future *f, void **res)
{
	int rc = weft_future_result(f, res, weft_now() + 60 * WEFT_SEC);

	CK(rc != -ETIMEDOUT);
	return rc;
}

/* ==== queue ==== */

#define QP_CORO 4
#define QP_THR 2
#define QC_CORO 4
#define QC_THR 2

struct qmix {
	weft_queue *q;
	int per; /* items per producer */
	_Atomic uint8_t *seen;
	atomic_int got;
};

struct qprod {
	struct qmix *m;
	int id;
};

static int q_produce(void *arg, void **res)
{
	struct qprod *p = arg;

	for (int i = 0; i < p->m->per; i++) {
		int rc = weft_queue_put(p->m->q, V(p->id * p->m->per + i + 1),
					WEFT_FOREVER);

		CKEQ(rc, 0);
		if (rc)
			return rc;
	}
	(void)res;
	return 0;
}

static int q_consume(void *arg, void **res)
{
	struct qmix *m = arg;
	void *item;
	int rc, n = 0;

	while ((rc = weft_queue_get(m->q, &item, WEFT_FOREVER)) == 0) {
		uintptr_t v = U(item);

		CK(v >= 1 && v <= (uintptr_t)(QP_CORO + QP_THR) * m->per);
		if (v >= 1 && v <= (uintptr_t)(QP_CORO + QP_THR) * m->per)
			atomic_fetch_add(&m->seen[v - 1], 1);
		n++;
		if ((n & 63) == 0)
			weft_yield();
	}
	CKEQ(rc, -EPIPE);
	atomic_fetch_add(&m->got, n);
	*res = V(n);
	return 0;
}

static int queue_mixed_main(void *arg, void **res)
{
	struct qmix *m = arg;
	struct qprod prods[QP_CORO + QP_THR];
	struct thr pt[QP_THR], ct[QC_THR];
	weft_future *pf[QP_CORO], *cf[QC_CORO];
	int total = (QP_CORO + QP_THR) * m->per;

	(void)res;
	CKEQ(weft_queue_new(&m->q, 16), 0);
	m->seen = calloc((size_t)total, 1);
	atomic_store(&m->got, 0);
	for (int i = 0; i < QC_CORO; i++)
		CKEQ(weft_spawn(&cf[i], q_consume, m, NULL), 0);
	for (int i = 0; i < QC_THR; i++)
		thr_start(&ct[i], q_consume, m);
	for (int i = 0; i < QP_CORO + QP_THR; i++) {
		prods[i] = (struct qprod){ m, i };
		if (i < QP_CORO)
			CKEQ(weft_spawn(&pf[i], q_produce, &prods[i], NULL), 0);
		else
			thr_start(&pt[i - QP_CORO], q_produce, &prods[i]);
	}
	for (int i = 0; i < QP_CORO; i++) {
		CKEQ(await(pf[i], NULL), 0);
		weft_future_release(pf[i]);
	}
	for (int i = 0; i < QP_THR; i++)
		CKEQ(thr_join(&pt[i], NULL), 0);
	CKEQ(weft_queue_close(m->q), 0);
	for (int i = 0; i < QC_CORO; i++) {
		CKEQ(await(cf[i], NULL), 0);
		weft_future_release(cf[i]);
	}
	for (int i = 0; i < QC_THR; i++)
		CKEQ(thr_join(&ct[i], NULL), 0);
	CKEQ(atomic_load(&m->got), total);
	for (int i = 0; i < total; i++)
		if (m->seen[i] != 1) {
			CKEQ(m->seen[i], 1);
			break;
		}
	free((void *)m->seen);
	weft_queue_free(m->q);
	return 0;
}

/* Coroutines and threads produce and consume through one queue: each item
 * exactly once. */
static void queue_mpmc_mixed(void **state)
{
	struct qmix m = { .per = STRESS(20000, 1500) };

	(void)state;
	run_both(queue_mixed_main, &m);
}

struct qclose {
	weft_queue *empty, *full;
	bool immediate;
	atomic_int epipe;
};

static int q_get_blocked(void *arg, void **res)
{
	struct qclose *c = arg;
	void *item;
	int rc = weft_queue_get(c->empty, &item, weft_now() + 60 * WEFT_SEC);

	CKEQ(rc, -EPIPE);
	if (rc == -EPIPE)
		atomic_fetch_add(&c->epipe, 1);
	(void)res;
	return 0;
}

static int q_put_blocked(void *arg, void **res)
{
	struct qclose *c = arg;
	int rc = weft_queue_put(c->full, V(7), weft_now() + 60 * WEFT_SEC);

	CKEQ(rc, -EPIPE);
	if (rc == -EPIPE)
		atomic_fetch_add(&c->epipe, 1);
	(void)res;
	return 0;
}

static int q_closer(void *arg, void **res)
{
	struct qclose *c = arg;

	(void)res;
	if (c->immediate) {
		CKEQ(weft_queue_shutdown(c->empty, true, NULL, NULL), 0);
		CKEQ(weft_queue_shutdown(c->full, true, NULL, NULL), 1);
	} else {
		CKEQ(weft_queue_close(c->empty), 0);
		CKEQ(weft_queue_close(c->full), 0);
	}
	return 0;
}

#define QCLOSE_CORO 8
#define QCLOSE_THR 2

static int queue_close_main(void *arg, void **res)
{
	struct qclose *c = arg;
	weft_future *f[2 * QCLOSE_CORO];
	struct thr t[2 * QCLOSE_THR], closer;
	uint32_t base = weft__park_sleepers();

	(void)res;
	CKEQ(weft_queue_new(&c->empty, 4), 0);
	CKEQ(weft_queue_new(&c->full, 1), 0);
	CKEQ(weft_queue_put(c->full, V(1), 0), 0);
	atomic_store(&c->epipe, 0);
	for (int i = 0; i < QCLOSE_CORO; i++) {
		CKEQ(weft_spawn(&f[2 * i], q_get_blocked, c, NULL), 0);
		CKEQ(weft_spawn(&f[2 * i + 1], q_put_blocked, c, NULL), 0);
	}
	for (int i = 0; i < QCLOSE_THR; i++) {
		thr_start(&t[2 * i], q_get_blocked, c);
		thr_start(&t[2 * i + 1], q_put_blocked, c);
	}
	/* Every getter and putter, coroutine or thread, is asleep. */
	wait_sleepers(base + 2 * (QCLOSE_CORO + QCLOSE_THR));
	thr_start(&closer, q_closer, c);
	CKEQ(thr_join(&closer, NULL), 0);
	for (int i = 0; i < 2 * QCLOSE_CORO; i++) {
		CKEQ(await(f[i], NULL), 0);
		weft_future_release(f[i]);
	}
	for (int i = 0; i < 2 * QCLOSE_THR; i++)
		CKEQ(thr_join(&t[i], NULL), 0);
	CKEQ(atomic_load(&c->epipe), 2 * (QCLOSE_CORO + QCLOSE_THR));
	weft_queue_free(c->empty);
	weft_queue_free(c->full);
	return 0;
}

/* A thread's close/shutdown wakes suspended coroutine getters and putters
 * (and blocked threads) with -EPIPE. */
static void queue_close_wakes_coroutines(void **state)
{
	struct qclose c = { 0 };

	(void)state;
	for (int r = 0; r < STRESS(20, 4); r++) {
		c.immediate = r & 1;
		run_both(queue_close_main, &c);
	}
}

/* ==== mutex, condition, event, semaphore ==== */

struct mcount {
	weft_mutex m;
	long counter; /* protected by m only */
	int per;
};

static int m_incr(void *arg, void **res)
{
	struct mcount *mc = arg;
	bool coro = weft_in_coro();

	(void)res;
	for (int i = 0; i < mc->per; i++) {
		CKEQ(weft_mutex_lock(&mc->m), 0);
		mc->counter++;
		/* Hold it across a suspension now and then: contention. */
		if (coro && (i % 16) == 0)
			weft_yield();
		CKEQ(weft_mutex_unlock(&mc->m), 0);
	}
	return 0;
}

#define MC_CORO 8
#define MC_THR 2

static int mutex_main(void *arg, void **res)
{
	struct mcount *mc = arg;
	weft_future *f[MC_CORO];
	struct thr t[MC_THR];

	(void)res;
	weft_mutex_init(&mc->m);
	mc->counter = 0;
	for (int i = 0; i < MC_CORO; i++)
		CKEQ(weft_spawn(&f[i], m_incr, mc, NULL), 0);
	for (int i = 0; i < MC_THR; i++)
		thr_start(&t[i], m_incr, mc);
	for (int i = 0; i < MC_CORO; i++) {
		CKEQ(await(f[i], NULL), 0);
		weft_future_release(f[i]);
	}
	for (int i = 0; i < MC_THR; i++)
		CKEQ(thr_join(&t[i], NULL), 0);
	CKEQ(weft_mutex_lock(&mc->m), 0);
	CKEQ(mc->counter, (long)(MC_CORO + MC_THR) * mc->per);
	CKEQ(weft_mutex_unlock(&mc->m), 0);
	CKEQ(weft_mutex_destroy(&mc->m), 0);
	return 0;
}

/* One counter under one weft_mutex, incremented by coroutines (holding it
 * across suspensions) and threads: the exact total. */
static void mutex_counter_mixed(void **state)
{
	struct mcount mc = { .per = STRESS(20000, 2000) };

	(void)state;
	run_both(mutex_main, &mc);
}

#define RING 4 /* coroutine, thread, coroutine, thread */

struct ring {
	weft_mutex m;
	weft_cond c;
	int turn; /* whose go it is (under m) */
	int rounds;
	long passes;
};

struct ring_member {
	struct ring *r;
	int me;
};

static int ring_member(void *arg, void **res)
{
	struct ring_member *rm = arg;
	struct ring *r = rm->r;

	(void)res;
	for (int i = 0; i < r->rounds; i++) {
		CKEQ(weft_mutex_lock(&r->m), 0);
		while (r->turn != rm->me) {
			int rc = weft_cond_wait(&r->c, &r->m,
						weft_now() + 60 * WEFT_SEC);

			CKEQ(rc, 0);
			if (rc)
				break;
		}
		r->passes++;
		r->turn = (r->turn + 1) % RING;
		CKEQ(weft_cond_broadcast(&r->c), 0);
		CKEQ(weft_mutex_unlock(&r->m), 0);
	}
	return 0;
}

static int ring_main(void *arg, void **res)
{
	struct ring *r = arg;
	struct ring_member rm[RING];
	weft_future *f[RING];
	struct thr t[RING];

	(void)res;
	weft_mutex_init(&r->m);
	weft_cond_init(&r->c);
	r->turn = 0;
	r->passes = 0;
	for (int i = 0; i < RING; i++) {
		rm[i] = (struct ring_member){ r, i };
		if (i % 2 == 0)
			CKEQ(weft_spawn(&f[i], ring_member, &rm[i], NULL), 0);
		else
			thr_start(&t[i], ring_member, &rm[i]);
	}
	for (int i = 0; i < RING; i++) {
		if (i % 2 == 0) {
			CKEQ(await(f[i], NULL), 0);
			weft_future_release(f[i]);
		} else {
			CKEQ(thr_join(&t[i], NULL), 0);
		}
	}
	CKEQ(r->passes, (long)RING * r->rounds);
	CKEQ(weft_cond_destroy(&r->c), 0);
	return 0;
}

/* A condition hands a turn round a ring of coroutines and threads. */
static void cond_handoff_mixed(void **state)
{
	struct ring r = { .rounds = STRESS(3000, 300) };

	(void)state;
	run_both(ring_main, &r);
}

#define EV_CORO 16

struct evmix {
	weft_event e;
	atomic_int woke;
};

static int ev_waiter(void *arg, void **res)
{
	struct evmix *em = arg;
	int rc = weft_event_wait(&em->e, weft_now() + 60 * WEFT_SEC);

	CKEQ(rc, 0);
	if (!rc)
		atomic_fetch_add(&em->woke, 1);
	(void)res;
	return 0;
}

static int ev_setter(void *arg, void **res)
{
	(void)res;
	return weft_event_set(&((struct evmix *)arg)->e);
}

static int event_main(void *arg, void **res)
{
	struct evmix *em = arg;

	(void)res;
	for (int round = 0; round < STRESS(50, 10); round++) {
		weft_future *f[EV_CORO];
		struct thr setter;
		uint32_t base = weft__park_sleepers();

		weft_event_init(&em->e);
		atomic_store(&em->woke, 0);
		for (int i = 0; i < EV_CORO; i++)
			CKEQ(weft_spawn(&f[i], ev_waiter, em, NULL), 0);
		wait_sleepers(base + EV_CORO); /* all suspended */
		CKEQ(atomic_load(&em->woke), 0);
		thr_start(&setter, ev_setter, em);
		CKEQ(thr_join(&setter, NULL), 0);
		for (int i = 0; i < EV_CORO; i++) {
			CKEQ(await(f[i], NULL), 0);
			weft_future_release(f[i]);
		}
		CKEQ(atomic_load(&em->woke), EV_CORO);
		CKEQ(weft_event_destroy(&em->e), 0);
	}
	return 0;
}

/* An event set by a thread wakes every suspended coroutine. */
static void event_thread_wakes_coroutines(void **state)
{
	struct evmix em;

	(void)state;
	run_both(event_main, &em);
}

#define SEM_UNITS 3
#define SEM_CORO 12
#define SEM_THR 3

struct semmix {
	weft_sem s;
	atomic_int inside, max_inside;
	atomic_long entries;
	int per;
};

static int sem_user(void *arg, void **res)
{
	struct semmix *sm = arg;

	(void)res;
	for (int i = 0; i < sm->per; i++) {
		int now, max;

		CKEQ(weft_sem_acquire(&sm->s, weft_now() + 60 * WEFT_SEC), 0);
		now = atomic_fetch_add(&sm->inside, 1) + 1;
		max = atomic_load(&sm->max_inside);
		while (now > max && !atomic_compare_exchange_weak(
					    &sm->max_inside, &max, now))
			;
		CK(now <= SEM_UNITS);
		atomic_fetch_add(&sm->entries, 1);
		if (i % 4 == 0)
			weft_sleep(20 * WEFT_USEC);
		else
			weft_yield();
		atomic_fetch_sub(&sm->inside, 1);
		CKEQ(weft_sem_release(&sm->s, 1), 0);
	}
	return 0;
}

static int sem_main(void *arg, void **res)
{
	struct semmix *sm = arg;
	weft_future *f[SEM_CORO];
	struct thr t[SEM_THR];

	(void)res;
	weft_sem_init(&sm->s, SEM_UNITS);
	atomic_store(&sm->inside, 0);
	atomic_store(&sm->max_inside, 0);
	atomic_store(&sm->entries, 0);
	for (int i = 0; i < SEM_CORO; i++)
		CKEQ(weft_spawn(&f[i], sem_user, sm, NULL), 0);
	for (int i = 0; i < SEM_THR; i++)
		thr_start(&t[i], sem_user, sm);
	for (int i = 0; i < SEM_CORO; i++) {
		CKEQ(await(f[i], NULL), 0);
		weft_future_release(f[i]);
	}
	for (int i = 0; i < SEM_THR; i++)
		CKEQ(thr_join(&t[i], NULL), 0);
	CK(atomic_load(&sm->max_inside) <= SEM_UNITS);
	CK(atomic_load(&sm->max_inside) >= 1);
	CKEQ(atomic_load(&sm->entries), (long)(SEM_CORO + SEM_THR) * sm->per);
	CKEQ(weft_sem_value(&sm->s), SEM_UNITS);
	return 0;
}

/* A semaphore bounds coroutines and threads together. */
static void sem_bounds_mixed(void **state)
{
	struct semmix sm = { .per = STRESS(2000, 200) };

	(void)state;
	run_both(sem_main, &sm);
}

/* A ticker coroutine: proof that its loop keeps running. */
struct ticker {
	atomic_long ticks;
	atomic_bool stop;
};

static int tick(void *arg, void **res)
{
	struct ticker *t = arg;

	(void)res;
	while (!atomic_load(&t->stop)) {
		if (weft_sleep(WEFT_MSEC))
			break;
		atomic_fetch_add(&t->ticks, 1);
	}
	return 0;
}

/*
 * Ping-pong between a coroutine and a thread through two semaphores and
 * two capacity-1 queues, as fast as they go: the waker on the other thread
 * often pops the coroutine's waiter in the instant between registering and
 * re-checking (the Dekker window), so the coroutine withdraws a waiter
 * that has already been woken. That wake's kick must be consumed there:
 * a stale kick resumes the coroutine in a later wait (a WEFT_FOREVER wait
 * returning -ETIMEDOUT, or a double kick; posted to the inbox twice it
 * makes a cycle and the loop spins forever).
 */
struct pingpong {
	weft_sem a, b;
	weft_queue *qa, *qb;
	int rounds;
};

static int pp_coro(void *arg, void **res)
{
	struct pingpong *pp = arg;
	void *item;

	(void)res;
	for (int i = 0; i < pp->rounds; i++) {
		int rc = weft_sem_acquire(&pp->a, WEFT_FOREVER);

		CKEQ(rc, 0);
		CKEQ(weft_sem_release(&pp->b, 1), 0);
		rc = weft_queue_get(pp->qa, &item, WEFT_FOREVER);
		CKEQ(rc, 0);
		CKEQ(weft_queue_put(pp->qb, item, WEFT_FOREVER), 0);
		if (rc)
			return rc;
	}
	return 0;
}

static int pp_thread(void *arg, void **res)
{
	struct pingpong *pp = arg;
	void *item;

	(void)res;
	for (int i = 0; i < pp->rounds; i++) {
		CKEQ(weft_sem_release(&pp->a, 1), 0);
		CKEQ(weft_sem_acquire(&pp->b, weft_now() + 60 * WEFT_SEC), 0);
		CKEQ(weft_queue_put(pp->qa, V(i + 1), WEFT_FOREVER), 0);
		CKEQ(weft_queue_get(pp->qb, &item, weft_now() + 60 * WEFT_SEC),
		     0);
		CKEQ(U(item), i + 1);
	}
	return 0;
}

/* A ticker shares the coroutine's loop, so a stale kick finds work. */
static int pp_main(void *arg, void **res)
{
	struct pingpong *pp = arg;
	struct ticker t = { 0 };
	weft_future *cf, *tf;
	struct thr th;

	(void)res;
	weft_sem_init(&pp->a, 0);
	weft_sem_init(&pp->b, 0);
	CKEQ(weft_queue_new(&pp->qa, 1), 0);
	CKEQ(weft_queue_new(&pp->qb, 1), 0);
	CKEQ(weft_spawn(&tf, tick, &t, NULL), 0);
	CKEQ(weft_spawn(&cf, pp_coro, pp, NULL), 0);
	thr_start(&th, pp_thread, pp);
	CKEQ(await(cf, NULL), 0);
	weft_future_release(cf);
	CKEQ(thr_join(&th, NULL), 0);
	atomic_store(&t.stop, true);
	CKEQ(await(tf, NULL), 0);
	weft_future_release(tf);
	weft_queue_free(pp->qa);
	weft_queue_free(pp->qb);
	return 0;
}

/*
 * Regression test: before the fix it failed (double kicks, a FOREVER wait
 * returning -ETIMEDOUT, or a hang at the ctest timeout): a coroutine that
 * withdrew a waiter a waker had just popped did not take the kick owed to
 * it (weft__waitlist_remove), and a kick that found it queued by a yield
 * in weft__waitlist_lock was dropped. Ping-pong through two queues makes
 * withdrawals constant.
 */
static void withdrawn_waiter_owes_no_kick(void **state)
{
	struct pingpong pp = { .rounds = STRESS(100000, 10000) };

	(void)state;
	run_both(pp_main, &pp);
}

/* ==== futures ==== */

struct gate {
	weft_event e;
	uintptr_t value;
};

/* A task that waits for its gate, then returns its value. */
static int gated(void *arg, void **res)
{
	struct gate *g = arg;
	int rc = weft_event_wait(&g->e, weft_now() + 60 * WEFT_SEC);

	CKEQ(rc, 0);
	*res = V(g->value);
	return rc;
}

static int awaiter(void *arg, void **res)
{
	return weft_future_result(arg, res, weft_now() + 60 * WEFT_SEC);
}

struct pool_run {
	weft_pool *pool;
	uint32_t base; /* sleepers besides the pool's one worker */
};

static int pool_future_main(void *arg, void **res)
{
	struct pool_run *pr = arg;
	weft_pool *pool = pr->pool;

	(void)res;
	for (int i = 0; i < STRESS(200, 30); i++) {
		struct gate g = { .value = 1000 + (uintptr_t)i };
		weft_future *pf, *af;
		void *r = NULL;

		weft_event_init(&g.e);
		CKEQ(weft_pool_submit(pool, gated, &g, &pf), 0);
		CKEQ(weft_spawn(&af, awaiter, pf, NULL), 0);
		/* The worker parks on the gate, the coroutine on pf. */
		if (i % 10 == 0)
			wait_sleepers(pr->base + 2);
		weft_event_set(&g.e);
		CKEQ(await(af, &r), 0);
		CKEQ(U(r), 1000 + i);
		weft_future_release(af);
		weft_future_release(pf);
	}
	return 0;
}

/* A coroutine awaits a pool future (the worker's wake crosses to the loop). */
static void coroutine_awaits_pool_future(void **state)
{
	struct pool_run pr = { .base = weft__park_sleepers() };

	(void)state;
	assert_int_equal(
		weft_pool_new(&pr.pool,
			      &(struct weft_pool_options){ .max_workers = 1 }),
		0);
	run_both(pool_future_main, &pr);
	weft_pool_shutdown(pr.pool, true, false);
	weft_pool_free(pr.pool);
}

static int thread_waits_coro_main(void *arg, void **res)
{
	(void)arg;
	(void)res;
	for (int i = 0; i < STRESS(200, 30); i++) {
		struct gate g = { .value = 7 + (uintptr_t)i };
		weft_future *cf;
		struct thr t;
		uint32_t base = weft__park_sleepers();
		void *r = NULL;

		weft_event_init(&g.e);
		CKEQ(weft_spawn(&cf, gated, &g, NULL), 0);
		/* The thread holds its own reference (weft_future_retain). */
		thr_start(&t, awaiter, weft_future_retain(cf));
		if (i % 10 == 0)
			wait_sleepers(base + 2); /* coroutine + thread */
		weft_event_set(&g.e);
		CKEQ(thr_join(&t, &r), 0);
		CKEQ(U(r), 7 + i);
		weft_future_release(cf); /* the thread's */
		CKEQ(weft_future_state(cf), WEFT_FUTURE_DONE);
		weft_future_release(cf);
	}
	return 0;
}

/* A plain thread waits on a coroutine's future. */
static void thread_awaits_coroutine_future(void **state)
{
	(void)state;
	run_both(thread_waits_coro_main, NULL);
}

#define WM_N 8 /* even: pool, odd: coroutine */

static int wait_mix_main(void *arg, void **res)
{
	weft_pool *pool = arg;

	(void)res;
	for (int round = 0; round < STRESS(30, 6); round++) {
		struct gate g[WM_N];
		weft_future *f[WM_N];
		weft_as_completed *it;
		int seen[WM_N] = { 0 };

		for (int i = 0; i < WM_N; i++) {
			g[i].value = (uintptr_t)i;
			weft_event_init(&g[i].e);
			if (i % 2 == 0)
				CKEQ(weft_pool_submit(pool, gated, &g[i],
						      &f[i]),
				     0);
			else
				CKEQ(weft_spawn(&f[i], gated, &g[i], NULL), 0);
		}
		CKEQ(weft_as_completed_new(&it, f, WM_N), 0);
		/* Nothing settled: FIRST_COMPLETED times out, never early. */
		{
			int64_t dl = weft_now() + 5 * WEFT_MSEC;

			CKEQ(weft_wait(f, WM_N, WEFT_FIRST_COMPLETED, dl),
			     -ETIMEDOUT);
			CK(weft_now() >= dl);
		}
		/* Release in a scrambled order; as_completed follows it. */
		for (int k = 0; k < WM_N; k++) {
			int i = (k * 3 + round) % WM_N;
			weft_future *got = NULL;

			weft_event_set(&g[i].e);
			if (k == 0)
				CKEQ(weft_wait(f, WM_N, WEFT_FIRST_COMPLETED,
					       weft_now() + 60 * WEFT_SEC),
				     1);
			CKEQ(weft_as_completed_next(it, &got,
						    weft_now() + 60 * WEFT_SEC),
			     0);
			CK(got == f[i]);
			for (int j = 0; j < WM_N; j++)
				if (got == f[j])
					seen[j]++;
		}
		{
			weft_future *none;

			CKEQ(weft_as_completed_next(it, &none, 0), -ENOENT);
		}
		CKEQ(weft_wait(f, WM_N, WEFT_ALL_COMPLETED,
			       weft_now() + 60 * WEFT_SEC),
		     WM_N);
		for (int i = 0; i < WM_N; i++) {
			void *r = NULL;

			CKEQ(seen[i], 1);
			CKEQ(weft_future_result(f[i], &r, 0), 0);
			CKEQ(U(r), i);
		}
		weft_as_completed_free(it);
		for (int i = 0; i < WM_N; i++)
			weft_future_release(f[i]);
	}
	return 0;
}

/* weft_wait and as_completed, from a coroutine, over pool and coroutine
 * futures at once. */
static void wait_as_completed_mixed(void **state)
{
	weft_pool *pool;

	(void)state;
	assert_int_equal(weft_pool_new(&pool,
				       &(struct weft_pool_options){
					       .max_workers = WM_N / 2 }),
			 0);
	run_both(wait_mix_main, pool);
	weft_pool_shutdown(pool, true, false);
	weft_pool_free(pool);
}

static int blocking_fn(void *arg, void **res)
{
	CK(!weft_in_coro());
	usleep(30000); /* a call weft does not know: blocks its thread */
	*res = V(gettid());
	(void)arg;
	return 0;
}

static int to_thread_main(void *arg, void **res)
{
	struct ticker t = { 0 };
	weft_future *tf;

	(void)arg;
	(void)res;
	CKEQ(weft_spawn(&tf, tick, &t, NULL), 0);
	/* Start the worker pool first (see su_to_thread). */
	CKEQ(weft_to_thread(blocking_fn, NULL, NULL, WEFT_FOREVER), 0);
	for (int i = 0; i < STRESS(10, 3); i++) {
		long before = atomic_load(&t.ticks);
		void *r = NULL;
		pid_t me = gettid();

		CKEQ(weft_to_thread(blocking_fn, NULL, &r, WEFT_FOREVER), 0);
		CK(U(r) != 0 && (pid_t)U(r) != me);
		CKEQ(gettid(), me);
		/* 30 ms blocked on a worker; the ticker ran meanwhile. */
		CK(atomic_load(&t.ticks) >= before + 1);
	}
	atomic_store(&t.stop, true);
	CKEQ(await(tf, NULL), 0);
	weft_future_release(tf);
	return 0;
}

/* weft_to_thread runs a blocking call on a worker; the loop keeps going. */
static void to_thread_keeps_loop_running(void **state)
{
	(void)state;
	run_both(to_thread_main, NULL);
	/* From a plain thread it simply runs the function. */
	{
		void *r = NULL;

		assert_int_equal(weft_to_thread(blocking_fn, NULL, &r, 0), 0);
		assert_int_equal((pid_t)U(r), gettid());
	}
}

/* ==== every blocking call: deadlines and cancellation ==== */

/* Shared state of one blocking call's case (set up by the main coroutine). */
struct bctx {
	weft_queue *q;
	weft_mutex m;
	weft_cond c;
	weft_event e;
	weft_sem s;
	weft_future *f[2];
	weft_as_completed *it;
	int fds[2];
	weft_proc *p;
	weft_buf out;
	weft_group *g;
	atomic_bool fn_started;
	bool held_after; /* cond: the mutex was held when wait returned */
};

struct bcase {
	const char *name;
	int (*setup)(struct bctx *b);
	int (*block)(struct bctx *b, int64_t deadline);
	void (*teardown)(struct bctx *b);
	int timeout_rc;	    /* what the call returns at its deadline */
	int extra_sleepers; /* parked besides the blocked coroutine */
	bool wait_fn_start; /* to_thread: wait until fn runs */
};

static int su_none(struct bctx *b)
{
	(void)b;
	return 0;
}

static void td_none(struct bctx *b)
{
	(void)b;
}

static int su_queue_empty(struct bctx *b)
{
	return weft_queue_new(&b->q, 4);
}

static int su_queue_full(struct bctx *b)
{
	int rc = weft_queue_new(&b->q, 1);

	return rc ? rc : weft_queue_put(b->q, V(1), 0);
}

static void td_queue(struct bctx *b)
{
	weft_queue_free(b->q);
}

static int bl_queue_get(struct bctx *b, int64_t dl)
{
	void *item;

	return weft_queue_get(b->q, &item, dl);
}

static int bl_queue_put(struct bctx *b, int64_t dl)
{
	return weft_queue_put(b->q, V(2), dl);
}

static int su_mutex_held(struct bctx *b)
{
	weft_mutex_init(&b->m);
	return weft_mutex_lock(&b->m);
}

static void td_mutex_held(struct bctx *b)
{
	CKEQ(weft_mutex_unlock(&b->m), 0);
	CKEQ(weft_mutex_destroy(&b->m), 0);
}

static int bl_mutex(struct bctx *b, int64_t dl)
{
	int rc = weft__forever(dl) ? weft_mutex_lock(&b->m)
				   : weft_mutex_lock_until(&b->m, dl);

	CK(rc != 0); /* the main coroutine holds it throughout */
	return rc;
}

static int su_cond(struct bctx *b)
{
	weft_mutex_init(&b->m);
	weft_cond_init(&b->c);
	return 0;
}

static void td_cond(struct bctx *b)
{
	CK(b->held_after);
	CKEQ(weft_cond_destroy(&b->c), 0);
	CKEQ(weft_mutex_destroy(&b->m), 0);
}

static int bl_cond(struct bctx *b, int64_t dl)
{
	int rc;

	CKEQ(weft_mutex_lock(&b->m), 0);
	rc = weft_cond_wait(&b->c, &b->m, dl);
	/* Relocked whatever the outcome: nobody else ever takes it. */
	b->held_after = weft_mutex_trylock(&b->m) == -EAGAIN &&
			weft_mutex_unlock(&b->m) == 0;
	return rc;
}

static int su_event(struct bctx *b)
{
	return weft_event_init(&b->e);
}

static void td_event(struct bctx *b)
{
	CKEQ(weft_event_destroy(&b->e), 0);
}

static int bl_event(struct bctx *b, int64_t dl)
{
	return weft_event_wait(&b->e, dl);
}

static int su_sem(struct bctx *b)
{
	return weft_sem_init(&b->s, 0);
}

static void td_sem(struct bctx *b)
{
	CKEQ(weft_sem_value(&b->s), 0);
	CKEQ(weft_sem_destroy(&b->s), 0);
}

static int bl_sem(struct bctx *b, int64_t dl)
{
	return weft_sem_acquire(&b->s, dl);
}

static int su_futures(struct bctx *b)
{
	int rc = weft_future_new(&b->f[0]);

	return rc ? rc : weft_future_new(&b->f[1]);
}

static void td_futures(struct bctx *b)
{
	for (int i = 0; i < 2; i++) {
		CKEQ(weft_future_set(b->f[i], 0, NULL), 0);
		weft_future_release(b->f[i]);
	}
}

static int bl_result(struct bctx *b, int64_t dl)
{
	return weft_future_result(b->f[0], NULL, dl);
}

static int bl_wait(struct bctx *b, int64_t dl)
{
	return weft_wait(b->f, 2, WEFT_FIRST_COMPLETED, dl);
}

static int su_as_completed(struct bctx *b)
{
	int rc = su_futures(b);

	return rc ? rc : weft_as_completed_new(&b->it, b->f, 2);
}

static void td_as_completed(struct bctx *b)
{
	weft_as_completed_free(b->it);
	td_futures(b);
}

static int bl_as_completed(struct bctx *b, int64_t dl)
{
	weft_future *got;

	return weft_as_completed_next(b->it, &got, dl);
}

static int bl_sleep(struct bctx *b, int64_t dl)
{
	(void)b;
	return weft_sleep_until(weft__forever(dl) ? weft_now() + 60 * WEFT_SEC
						  : dl);
}

static int su_pipe(struct bctx *b)
{
	return pipe2(b->fds, O_NONBLOCK | O_CLOEXEC) ? -errno : 0;
}

static void td_fds(struct bctx *b)
{
	close(b->fds[0]);
	close(b->fds[1]);
}

static int bl_read(struct bctx *b, int64_t dl)
{
	char c;

	return (int)weft_read(b->fds[0], &c, 1, dl);
}

static int bl_fd_wait(struct bctx *b, int64_t dl)
{
	return weft_fd_wait(b->fds[0], POLLIN, dl);
}

static int su_listen(struct bctx *b)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = weft_socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return fd;
	b->fds[0] = fd;
	b->fds[1] = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8)) {
		close(fd);
		return -errno;
	}
	return 0;
}

static void td_listen(struct bctx *b)
{
	close(b->fds[0]);
}

static int bl_accept(struct bctx *b, int64_t dl)
{
	int fd = weft_accept(b->fds[0], NULL, NULL, dl);

	if (fd >= 0)
		close(fd);
	return fd;
}

static int spawn_sleeper(struct bctx *b, bool out_pipe)
{
	const char *argv[] = { PROC_CHILD, "sleep", "20000", NULL };

	b->out = (weft_buf){ 0 };
	return weft_proc_spawn(
		&b->p, &(weft_spawn_opts){ .argv = argv,
					   .out = out_pipe ? WEFT_PIPE
							   : WEFT_DEVNULL });
}

static int su_proc(struct bctx *b)
{
	return spawn_sleeper(b, false);
}

static int su_proc_pipe(struct bctx *b)
{
	return spawn_sleeper(b, true);
}

/* Kill and reap (from the main coroutine, which is not cancelled). */
static void td_proc(struct bctx *b)
{
	int status = 0;

	CKEQ(weft_proc_kill(b->p), 0);
	CKEQ(weft_proc_wait(b->p, &status, weft_now() + 30 * WEFT_SEC), 0);
	CKEQ(status, -SIGKILL);
	weft_proc_free(b->p);
	weft_buf_free(&b->out);
}

static int bl_proc_wait(struct bctx *b, int64_t dl)
{
	int status;

	return weft_proc_wait(b->p, &status, dl);
}

static int bl_communicate(struct bctx *b, int64_t dl)
{
	return weft_proc_communicate(b->p, NULL, 0, &b->out, NULL, dl);
}

/* A group child that waits on the event until cancelled. */
static int group_child(void *arg, void **res)
{
	struct bctx *b = arg;
	int rc = weft_event_wait(&b->e, weft_now() + 60 * WEFT_SEC);

	(void)res;
	CKEQ(rc, -ECANCELED);
	return rc;
}

static int su_group(struct bctx *b)
{
	int rc;

	weft_event_init(&b->e);
	rc = weft_group_new(&b->g, 0);
	return rc ? rc : weft_group_spawn(b->g, NULL, group_child, b, NULL);
}

static void td_group(struct bctx *b)
{
	/* Cancels the child (-ECANCELED is no error in a cancelled group). */
	CKEQ(weft_group_free(b->g), 0);
}

static int bl_group(struct bctx *b, int64_t dl)
{
	return weft_group_wait(b->g, dl);
}

static int to_thread_fn(void *arg, void **res)
{
	struct bctx *b = arg;

	(void)res;
	atomic_store(&b->fn_started, true);
	return weft_event_wait(&b->e, weft_now() + 60 * WEFT_SEC);
}

static int noop(void *arg, void **res)
{
	(void)arg;
	(void)res;
	return 0;
}

static int su_to_thread(struct bctx *b)
{
	atomic_store(&b->fn_started, false);
	/*
	 * The first call starts the worker pool, on the loop's thread (under
	 * TSan starting 16 threads holds the loop ~40 ms): do it beforehand,
	 * so the timed call measures waiting, not pool start-up.
	 */
	if (weft_to_thread(noop, NULL, NULL, WEFT_FOREVER))
		return -EIO;
	return weft_event_init(&b->e);
}

static void td_to_thread(struct bctx *b)
{
	/* fn is still running on its worker: let it end. */
	weft_event_set(&b->e);
}

static int bl_to_thread(struct bctx *b, int64_t dl)
{
	return weft_to_thread(to_thread_fn, b, NULL, dl);
}

/*
 * Can this machine start our child programs? Not under qemu-user without
 * binfmt_misc (the aarch64 CI build): there the process cases are skipped,
 * said so, and test_proc covers them on the host builds.
 */
static bool can_spawn(void)
{
	static int known; /* 0 unknown, 1 yes, -1 no */
	const char *argv[] = { PROC_CHILD, "exit", "0", NULL };
	weft_proc *p;
	int status = -1;

	if (!known) {
		known = -1;
		if (weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv }) ==
		    0) {
			if (weft_proc_wait(p, &status, WEFT_FOREVER) == 0 &&
			    status == 0)
				known = 1;
			weft_proc_free(p);
		}
		if (known < 0)
			print_message("cannot start %s here: process cases "
				      "skipped\n",
				      PROC_CHILD);
	}
	return known > 0;
}

static bool is_proc_case(const struct bcase *c);

/* name, setup, block, teardown, timeout rc, extra sleepers, wait fn */
#define CASE(n, su, bl, td, rc, extra, fn)   \
	{                                    \
		n, su, bl, td, rc, extra, fn \
	}
static const struct bcase cases[] = {
	CASE("queue get", su_queue_empty, bl_queue_get, td_queue, -ETIMEDOUT, 0,
	     false),
	CASE("queue put (full)", su_queue_full, bl_queue_put, td_queue,
	     -ETIMEDOUT, 0, false),
	CASE("mutex lock", su_mutex_held, bl_mutex, td_mutex_held, -ETIMEDOUT,
	     0, false),
	CASE("cond wait", su_cond, bl_cond, td_cond, -ETIMEDOUT, 0, false),
	CASE("event wait", su_event, bl_event, td_event, -ETIMEDOUT, 0, false),
	CASE("sem acquire", su_sem, bl_sem, td_sem, -ETIMEDOUT, 0, false),
	CASE("future result", su_futures, bl_result, td_futures, -ETIMEDOUT, 0,
	     false),
	CASE("weft_wait", su_futures, bl_wait, td_futures, -ETIMEDOUT, 0,
	     false),
	CASE("as_completed next", su_as_completed, bl_as_completed,
	     td_as_completed, -ETIMEDOUT, 0, false),
	CASE("sleep", su_none, bl_sleep, td_none, 0, 0, false),
	CASE("read (empty pipe)", su_pipe, bl_read, td_fds, -ETIMEDOUT, 0,
	     false),
	CASE("fd_wait", su_pipe, bl_fd_wait, td_fds, -ETIMEDOUT, 0, false),
	CASE("accept", su_listen, bl_accept, td_listen, -ETIMEDOUT, 0, false),
	CASE("proc wait", su_proc, bl_proc_wait, td_proc, -ETIMEDOUT, 0, false),
	CASE("communicate", su_proc_pipe, bl_communicate, td_proc, -ETIMEDOUT,
	     0, false),
	CASE("group wait", su_group, bl_group, td_group, -ETIMEDOUT, 1, false),
	CASE("to_thread", su_to_thread, bl_to_thread, td_to_thread, -ETIMEDOUT,
	     1, true),
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static bool is_proc_case(const struct bcase *c)
{
	return c->setup == su_proc || c->setup == su_proc_pipe;
}

struct dl_run {
	const struct bcase *cs;
	struct bctx b;
};

static int deadline_main(void *arg, void **res)
{
	struct dl_run *d = arg;
	struct ticker t = { 0 };
	weft_future *tf;

	(void)res;
	memset(&d->b, 0, sizeof(d->b));
	CKEQ(d->cs->setup(&d->b), 0);
	CKEQ(weft_spawn(&tf, tick, &t, NULL), 0);
	weft_sleep(3 * WEFT_MSEC); /* the ticker is running */
	for (int i = 0; i < 3; i++) {
		int64_t dl = weft_now() + (10 + 10 * i) * WEFT_MSEC;
		long before = atomic_load(&t.ticks);
		int rc = d->cs->block(&d->b, dl);
		int64_t now = weft_now();

		if (rc != d->cs->timeout_rc || now < dl)
			fprintf(stderr, "deadline: %s: %s, %lld ns %s\n",
				d->cs->name, weft_strerror(rc),
				(long long)(now > dl ? now - dl : dl - now),
				now >= dl ? "late" : "EARLY");
		CKEQ(rc, d->cs->timeout_rc);
		CK(now >= dl); /* never early */
		/* The loop ran the ticker while this coroutine waited. */
		if (atomic_load(&t.ticks) < before + 1)
			fprintf(stderr, "deadline: %s: no tick in %lld ms\n",
				d->cs->name,
				(long long)(now - dl) / WEFT_MSEC + 10 +
					10 * i);
		CK(atomic_load(&t.ticks) >= before + 1);
	}
	atomic_store(&t.stop, true);
	CKEQ(await(tf, NULL), 0);
	weft_future_release(tf);
	d->cs->teardown(&d->b);
	return 0;
}

/* Every blocking call, from a coroutine with a short deadline: -ETIMEDOUT
 * (weft_sleep: 0), never before the deadline, while a ticker coroutine
 * keeps running. */
static void deadlines_every_call(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		struct dl_run d = { .cs = &cases[i] };

		if (is_proc_case(&cases[i]) && !can_spawn())
			continue;
		run_both(deadline_main, &d);
	}
}

struct victim {
	const struct bcase *cs;
	struct bctx *b;
	atomic_bool started, cleaned;
	int rc;
	bool ret_cancel; /* return what the call said, else 0 + a result */
};

static int victim(void *arg, void **res)
{
	struct victim *v = arg;
	int rc;

	atomic_store(&v->started, true);
	rc = v->cs->block(v->b, WEFT_FOREVER);
	/* Cleanup after the cancelled call: runs normally. */
	v->rc = rc;
	CK(weft_cancelled());
	atomic_store(&v->cleaned, true);
	if (v->ret_cancel)
		return rc;
	*res = V(0xC0DE);
	return 0;
}

static int cancel_fn(void *arg, void **res)
{
	weft_future *f = arg;
	int rc = weft_future_cancel(f);

	(void)res;
	weft_future_release(f);
	return rc;
}

struct cancel_run {
	const struct bcase *cs;
	bool by_thread, ret_cancel;
	struct bctx b;
};

static int cancel_main(void *arg, void **res)
{
	struct cancel_run *cr = arg;
	struct victim v = { .cs = cr->cs,
			    .b = &cr->b,
			    .ret_cancel = cr->ret_cancel };
	uint32_t base = weft__park_sleepers();
	weft_future *f;
	void *r = NULL;
	int rc;

	(void)res;
	memset(&cr->b, 0, sizeof(cr->b));
	CKEQ(cr->cs->setup(&cr->b), 0);
	CKEQ(weft_spawn(&f, victim, &v, NULL), 0);
	if (cr->cs->wait_fn_start)
		while (!atomic_load(&cr->b.fn_started))
			weft_yield();
	/* The victim is suspended in its call (and its helpers parked). */
	wait_sleepers(base + 1 + (uint32_t)cr->cs->extra_sleepers);
	CK(atomic_load(&v.started));
	CK(!weft_future_done(f));
	if (cr->by_thread) {
		struct thr t;

		thr_start(&t, cancel_fn, weft_future_retain(f));
		CKEQ(thr_join(&t, NULL), 0);
	} else {
		CKEQ(weft_future_cancel(f), 0);
	}
	rc = await(f, &r);
	if (v.rc != -ECANCELED)
		fprintf(stderr, "cancel: %s: %s\n", cr->cs->name,
			weft_strerror(v.rc));
	CKEQ(v.rc, -ECANCELED);
	CK(atomic_load(&v.cleaned));
	if (cr->ret_cancel) {
		CKEQ(rc, -ECANCELED);
		CKEQ(weft_future_state(f), WEFT_FUTURE_FAILED);
	} else {
		CKEQ(rc, 0);
		CKEQ(U(r), 0xC0DE);
		CKEQ(weft_future_state(f), WEFT_FUTURE_DONE);
	}
	/* Cancelling again changes nothing. */
	CKEQ(weft_future_cancel(f), -EBUSY);
	weft_future_release(f);
	cr->cs->teardown(&cr->b);
	return 0;
}

/* Every blocking call, suspended in a coroutine, returns -ECANCELED when
 * a coroutine or a thread cancels it; the cleanup after it runs and the
 * future settles with what the coroutine returned. */
static void cancel_every_call(void **state)
{
	(void)state;
	for (size_t i = 0; i < NCASES; i++) {
		if (is_proc_case(&cases[i]) && !can_spawn())
			continue;
		for (int k = 0; k < 2; k++) {
			struct cancel_run cr = { .cs = &cases[i],
						 .by_thread = k,
						 .ret_cancel = (i + k) % 2 };

			run_both(cancel_main, &cr);
		}
	}
}

static int never_runs(void *arg, void **res)
{
	atomic_int *ran = arg;

	(void)res;
	atomic_fetch_add(ran, 1);
	return 0;
}

#define NB_START 100

static int cancel_before_start_main(void *arg, void **res)
{
	atomic_int *ran = arg;
	weft_future *f[NB_START];

	(void)res;
	atomic_store(ran, 0);
	for (int i = 0; i < NB_START; i++)
		CKEQ(weft_spawn(&f[i], never_runs, ran, NULL), 0);
	/* No blocking call since the spawns: none has started. */
	for (int i = 0; i < NB_START; i++)
		CKEQ(weft_future_cancel(f[i]), 0);
	for (int i = 0; i < NB_START; i++) {
		CKEQ(await(f[i], NULL), -ECANCELED);
		CKEQ(weft_future_state(f[i]), WEFT_FUTURE_CANCELLED);
		weft_future_release(f[i]);
	}
	weft_sleep(WEFT_MSEC);
	CKEQ(atomic_load(ran), 0);
	return 0;
}

/* A coroutine cancelled before it starts never runs; its future is
 * CANCELLED. One loop: with two, the other may start one meanwhile. */
static void cancel_before_start(void **state)
{
	atomic_int ran;

	(void)state;
	run_in(cancel_before_start_main, &ran, 1);
	assert_int_equal(atomic_load(&ran), 0);
}

struct cond_cancel {
	weft_mutex m;
	weft_cond c;
	atomic_bool in_wait;
	int wait_rc, unlock_rc;
};

static int cond_victim(void *arg, void **res)
{
	struct cond_cancel *cc = arg;

	(void)res;
	CKEQ(weft_mutex_lock(&cc->m), 0);
	atomic_store(&cc->in_wait, true);
	cc->wait_rc = weft_cond_wait(&cc->c, &cc->m, WEFT_FOREVER);
	/* cond_wait returns with the mutex held, cancelled or not. */
	cc->unlock_rc = weft_mutex_unlock(&cc->m);
	return 0;
}

static int cond_cancel_main(void *arg, void **res)
{
	struct cond_cancel *cc = arg;
	uint32_t base = weft__park_sleepers();
	weft_future *f;

	(void)res;
	weft_mutex_init(&cc->m);
	weft_cond_init(&cc->c);
	atomic_store(&cc->in_wait, false);
	CKEQ(weft_spawn(&f, cond_victim, cc, NULL), 0);
	wait_sleepers(base + 1);
	CK(atomic_load(&cc->in_wait));
	/* Take the mutex the victim gave up, then cancel it. */
	CKEQ(weft_mutex_lock(&cc->m), 0);
	CKEQ(weft_future_cancel(f), 0);
	weft_sleep(20 * WEFT_MSEC);
	/* It cannot have returned from cond_wait: we hold its mutex. */
	CK(!weft_future_done(f));
	CKEQ(weft_mutex_unlock(&cc->m), 0);
	CKEQ(await(f, NULL), 0);
	CKEQ(cc->wait_rc, -ECANCELED);
	CKEQ(cc->unlock_rc, 0);
	CK(!weft_mutex_is_locked(&cc->m));
	weft_future_release(f);
	return 0;
}

/*
 * Regression test: weft_cond_wait used to re-lock with weft_mutex_lock,
 * which in a cancelled coroutine returns -ECANCELED at once when the mutex
 * is contended, so cond_wait returned without the mutex and the caller's
 * unlock released someone else's lock.
 *
 * Cancelled in weft_cond_wait while another holds the mutex: cond_wait
 * still returns with the mutex held (it waits for it, as pthread's
 * cancellation does), so the caller's unlock is its own. */
static void cond_cancel_relocks_contended_mutex(void **state)
{
	struct cond_cancel cc;

	(void)state;
	run_both(cond_cancel_main, &cc);
}

/* ==== processes from coroutines ==== */

#define NPROC 64

struct pjob {
	int i;
	size_t len;
	int expect_status;
};

static char pbyte(size_t k, int i)
{
	return (char)((k * 7 + (size_t)i * 13) % 253);
}

static int proc_job(void *arg, void **res)
{
	struct pjob *j = arg;
	char code[16];
	const char *cat[] = { PROC_CHILD, "cat", NULL };
	const char *ex[] = { PROC_CHILD, "exit", code, NULL };
	bool is_cat = j->i % 5 != 0;
	char *in = NULL;
	weft_buf out = { 0 };
	weft_proc *p;
	int rc, status = -1000;

	(void)res;
	snprintf(code, sizeof(code), "%d", j->expect_status);
	rc = weft_proc_spawn(&p, &(weft_spawn_opts){
					 .argv = is_cat ? cat : ex,
					 .in = WEFT_PIPE,
					 .out = WEFT_PIPE,
				 });
	CKEQ(rc, 0);
	if (rc)
		return rc;
	if (is_cat) {
		in = malloc(j->len);
		for (size_t k = 0; k < j->len; k++)
			in[k] = pbyte(k, j->i);
	}
	rc = weft_proc_communicate(p, in, is_cat ? j->len : 0, &out, NULL,
				   weft_now() + 60 * WEFT_SEC);
	CKEQ(rc, 0);
	if (is_cat) {
		CKEQ(out.len, j->len);
		CK(out.len == j->len && memcmp(out.data, in, j->len) == 0);
	} else {
		CKEQ(out.len, 0);
	}
	rc = weft_proc_wait(p, &status, weft_now() + 60 * WEFT_SEC);
	CKEQ(rc, 0);
	CKEQ(status, j->expect_status);
	weft_proc_free(p);
	weft_buf_free(&out);
	free(in);
	return 0;
}

static int procs_main(void *arg, void **res)
{
	struct pjob jobs[NPROC];
	weft_future *f[NPROC];
	int n = STRESS(NPROC, 24);

	(void)arg;
	(void)res;
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct pjob){
			.i = i,
			/* Some above a pipe's 64 KiB: both ways at once. */
			.len = i % 4 == 1 ? 300000 : 1000 + (size_t)i * 37,
			.expect_status = i % 5 == 0 ? 1 + i % 100 : 0,
		};
		CKEQ(weft_spawn(&f[i], proc_job, &jobs[i], NULL), 0);
	}
	for (int i = 0; i < n; i++) {
		CKEQ(await(f[i], NULL), 0);
		weft_future_release(f[i]);
	}
	return 0;
}

/* 64 coroutines each spawn a child, communicate (input and captured
 * output), wait: right bytes, right exit codes, no zombie, no fd left. */
static void procs_from_coroutines(void **state)
{
	(void)state;
	if (!can_spawn())
		skip();
	run_both(procs_main, NULL);
}

/* ==== a coroutine never changes thread ==== */

struct affinity {
	weft_mutex m;
	weft_sem s;
	weft_queue *q;
	atomic_int moved, calls;
	pthread_mutex_t tl;
	pid_t tids[8];
	int ntids;
};

static int worker_tid(void *arg, void **res)
{
	(void)arg;
	*res = V(gettid());
	return 0;
}

static void note_tid(struct affinity *a, pid_t t)
{
	pthread_mutex_lock(&a->tl);
	for (int i = 0; i < a->ntids; i++)
		if (a->tids[i] == t)
			goto out;
	if (a->ntids < 8)
		a->tids[a->ntids++] = t;
out:
	pthread_mutex_unlock(&a->tl);
}

static int stay(void *arg, void **res)
{
	struct affinity *a = arg;
	pid_t me = gettid();

	(void)res;
	note_tid(a, me);
	for (int i = 0; i < 12; i++) {
		void *item, *r = NULL;

		switch (i % 6) {
		case 0:
			weft_sleep((i * 37 % 5) * 100 * WEFT_USEC);
			break;
		case 1:
			weft_yield();
			break;
		case 2:
			CKEQ(weft_mutex_lock(&a->m), 0);
			weft_yield();
			CKEQ(weft_mutex_unlock(&a->m), 0);
			break;
		case 3:
			CKEQ(weft_sem_acquire(&a->s, WEFT_FOREVER), 0);
			weft_sleep(100 * WEFT_USEC);
			weft_sem_release(&a->s, 1);
			break;
		case 4:
			CKEQ(weft_queue_put(a->q, V(1), WEFT_FOREVER), 0);
			CKEQ(weft_queue_get(a->q, &item, WEFT_FOREVER), 0);
			break;
		case 5:
			CKEQ(weft_to_thread(worker_tid, NULL, &r, WEFT_FOREVER),
			     0);
			CK((pid_t)U(r) != me);
			break;
		}
		atomic_fetch_add(&a->calls, 1);
		if (gettid() != me)
			atomic_fetch_add(&a->moved, 1);
	}
	return 0;
}

static int affinity_main(void *arg, void **res)
{
	struct affinity *a = arg;
	int n = STRESS(300, 60);
	weft_future **f = calloc((size_t)n, sizeof(*f));

	(void)res;
	for (int i = 0; i < n; i++)
		CKEQ(weft_spawn(&f[i], stay, a, NULL), 0);
	for (int i = 0; i < n; i++) {
		CKEQ(await(f[i], NULL), 0);
		weft_future_release(f[i]);
	}
	free(f);
	CKEQ(atomic_load(&a->calls), n * 12);
	return 0;
}

/*
 * With two loops, every coroutine stays on the thread it started on after
 * every kind of blocking call; and both loop threads ran coroutines. A
 * descheduled second loop can leave the first to start all of them, so a
 * run where only one thread took part is run again (at most 5 in all):
 * every run must keep every coroutine on its thread, and one must have
 * used both.
 */
static void coroutine_never_changes_thread(void **state)
{
	struct affinity a = { .m = WEFT_MUTEX_INIT };

	(void)state;
	weft_sem_init(&a.s, 3);
	assert_int_equal(weft_queue_new(&a.q, 8), 0);
	pthread_mutex_init(&a.tl, NULL);
	for (int run = 0; run < 5 && a.ntids < 2; run++) {
		a.ntids = 0;
		atomic_store(&a.calls, 0);
		run_in(affinity_main, &a, 2);
		assert_int_equal(atomic_load(&a.moved), 0);
	}
	assert_true(a.ntids >= 2);
	pthread_mutex_destroy(&a.tl);
	weft_queue_free(a.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(queue_mpmc_mixed),
		LEAK_CHECKED(queue_close_wakes_coroutines),
		LEAK_CHECKED(mutex_counter_mixed),
		LEAK_CHECKED(cond_handoff_mixed),
		LEAK_CHECKED(event_thread_wakes_coroutines),
		LEAK_CHECKED(sem_bounds_mixed),
		LEAK_CHECKED(withdrawn_waiter_owes_no_kick),
		LEAK_CHECKED(coroutine_awaits_pool_future),
		LEAK_CHECKED(thread_awaits_coroutine_future),
		LEAK_CHECKED(wait_as_completed_mixed),
		LEAK_CHECKED(to_thread_keeps_loop_running),
		LEAK_CHECKED(deadlines_every_call),
		LEAK_CHECKED(cancel_every_call),
		LEAK_CHECKED(cancel_before_start),
		LEAK_CHECKED(cond_cancel_relocks_contended_mutex),
		LEAK_CHECKED(procs_from_coroutines),
		LEAK_CHECKED(coroutine_never_changes_thread),
	};

	/* MIXED_TEST=name runs the tests whose name matches (cmocka glob). */
	if (getenv("MIXED_TEST"))
		cmocka_set_test_filter(getenv("MIXED_TEST"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
