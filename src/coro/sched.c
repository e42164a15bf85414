/*
 * sched.c — the loops: weft_run(), one scheduler per thread, run queues,
 * starting and stealing coroutines that have not run yet, shutdown.
 *
 * One iteration of a scheduler: take the inbox (coroutines woken from
 * other threads), resume every coroutine that was ready when the
 * iteration began (FIFO; seeded mode picks at random), start up to
 * START_BATCH coroutines from the unstarted deque (or steal a batch when
 * idle), then poll the loop: without blocking while anything is runnable,
 * else — after a short spin while another loop is busy — sleep in epoll
 * until an fd, a timer, a post or new work wakes it.
 */
#include "coro/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weft/base.h"

_Thread_local struct weft__sched *weft__sched_current;

static _Atomic uint64_t double_kicks, steals;

uint64_t weft__coro_double_kicks(void)
{
	return atomic_load(&double_kicks);
}

uint64_t weft__coro_steals(void)
{
	return atomic_load_explicit(&steals, memory_order_relaxed);
}

/* ---- the run queue (loop thread only) ---- */

static int rq_grow(struct weft__sched *s)
{
	uint32_t cap = s->rq_cap ? s->rq_cap * 2 : 256;
	struct weft__coro **q = malloc(cap * sizeof(*q));

	if (!q)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->rq_len; i++)
		q[i] = s->rq[(s->rq_head + i) & (s->rq_cap - 1)];
	free(s->rq);
	s->rq = q;
	s->rq_head = 0;
	s->rq_cap = cap;
	return 0;
}

static void rq_push(struct weft__sched *s, struct weft__coro *c)
{
	if (c->queued) {
		/* Queued by a yield: its next wait takes this kick. */
		if (!c->wake_pending)
			c->wake_pending = true;
		else /* two kicks for one wait: the tests count it (0) */
			atomic_fetch_add(&double_kicks, 1);
		return;
	}
	while (s->rq_len == s->rq_cap) {
		if (rq_grow(s) == 0)
			break;
		/* No memory for a bigger queue: let others finish first. */
		weft__loop_poll(&s->loop, false, NULL, NULL);
		usleep(1000);
	}
	c->queued = true;
	s->rq[(s->rq_head + s->rq_len++) & (s->rq_cap - 1)] = c;
}

static uint64_t rng_next(struct weft__sched *s)
{
	/* xorshift64*: reproducible from the seed, fast. */
	uint64_t x = s->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return x * UINT64_C(2685821657736338717);
}

static struct weft__coro *rq_pop(struct weft__sched *s)
{
	uint32_t mask = s->rq_cap - 1, i = 0;
	struct weft__coro *c;

	if (!s->rq_len)
		return NULL;
	if (s->rt->seed && s->rq_len > 1) {
		/* Swap a random entry to the front, then pop the front. */
		i = (uint32_t)(rng_next(s) % s->rq_len);
		c = s->rq[(s->rq_head + i) & mask];
		s->rq[(s->rq_head + i) & mask] = s->rq[s->rq_head];
		s->rq[s->rq_head] = c;
	}
	c = s->rq[s->rq_head];
	s->rq_head = (s->rq_head + 1) & mask;
	s->rq_len--;
	c->queued = false;
	return c;
}

void weft__coro_ready(struct weft__coro *c)
{
	struct weft__sched *s = c->sched;

	if (weft__sched_current == s)
		rq_push(s, c);
	else
		weft__loop_post(&s->loop, &c->inbox);
}

/* ---- the unstarted deque (any loop thread, under dq_lock) ---- */

/*
 * A ring of pointers: the oldest at dq[dq_tail], the newest at the other
 * end. The owner starts the newest (depth first, its stack still warm in
 * the cache); a thief takes the oldest half at once (Go's runqsteal), so
 * a loop that finds work elsewhere comes back for more only after
 * starting a batch, and the two loops rarely meet on one lock.
 */
#define DQ_AT(s, i) ((s)->dq[((s)->dq_tail + (i)) & ((s)->dq_cap - 1)])

static int dq_grow(struct weft__sched *s)
{
	uint32_t cap = s->dq_cap ? s->dq_cap * 2 : 256;
	struct weft__coro **q = malloc(cap * sizeof(*q));
	uint32_t len = atomic_load_explicit(&s->dq_len, memory_order_relaxed);

	if (!q)
		return -ENOMEM;
	for (uint32_t i = 0; i < len; i++)
		q[i] = DQ_AT(s, i);
	free(s->dq);
	s->dq = q;
	s->dq_tail = 0;
	s->dq_cap = cap;
	return 0;
}

int weft__sched_push_new(struct weft__sched *s, struct weft__coro *c)
{
	struct weft__runtime *rt = s->rt;
	uint32_t len;

	if (rt->seed) {
		/* One loop, and the seeded pick also orders starts. */
		rq_push(s, c);
		return 0;
	}
	weft__spin_lock(&s->dq_lock);
	len = atomic_load_explicit(&s->dq_len, memory_order_relaxed);
	if (len == s->dq_cap && dq_grow(s)) {
		weft__spin_unlock(&s->dq_lock);
		return -ENOMEM;
	}
	DQ_AT(s, len) = c;
	/*
	 * seq_cst, with the load of idle below: the Dekker pair with a loop
	 * going to sleep (idle++, sleeping = 1, then has_work() reads
	 * dq_len). Either it sees this coroutine or this sees it asleep and
	 * wakes it — a loop whose own thread is busy in user code must not
	 * leave new work unstolen.
	 */
	atomic_store(&s->dq_len, len + 1);
	weft__spin_unlock(&s->dq_lock);
	/* Work for an idle loop: wake one (its notify is coalesced). */
	if (len > 0 && atomic_load(&rt->idle)) {
		for (unsigned i = 0; i < rt->nloops; i++) {
			if (&rt->loops[i] != s &&
			    atomic_load(&rt->loops[i].loop.sleeping)) {
				weft__loop_notify(&rt->loops[i].loop);
				break;
			}
		}
	}
	return 0;
}

/* The owner: the newest, or NULL. */
static struct weft__coro *dq_take(struct weft__sched *s)
{
	struct weft__coro *c = NULL;
	uint32_t len;

	if (!atomic_load_explicit(&s->dq_len, memory_order_relaxed))
		return NULL;
	weft__spin_lock(&s->dq_lock);
	len = atomic_load_explicit(&s->dq_len, memory_order_relaxed);
	if (len) {
		c = DQ_AT(s, len - 1);
		atomic_store_explicit(&s->dq_len, len - 1,
				      memory_order_relaxed);
	}
	weft__spin_unlock(&s->dq_lock);
	return c;
}

/*
 * A drained deque that had grown past DQ_KEEP slots gives its ring back
 * (the owner, between starts): a burst of a million spawns leaves no
 * 8 MB ring behind once they have all started.
 */
#define DQ_KEEP 4096

static void dq_shrink(struct weft__sched *s)
{
	struct weft__coro **q = NULL;

	if (atomic_load_explicit(&s->dq_len, memory_order_relaxed))
		return;
	weft__spin_lock(&s->dq_lock);
	if (!atomic_load_explicit(&s->dq_len, memory_order_relaxed)) {
		q = s->dq;
		s->dq = NULL;
		s->dq_cap = 0;
		s->dq_tail = 0;
	}
	weft__spin_unlock(&s->dq_lock);
	free(q);
}

#define STEAL_MAX 128

/* A thief: up to half of v's oldest (at most STEAL_MAX) into out. */
static uint32_t dq_steal(struct weft__sched *v, struct weft__coro **out)
{
	uint32_t len, n = 0;

	if (!atomic_load_explicit(&v->dq_len, memory_order_relaxed))
		return 0;
	weft__spin_lock(&v->dq_lock);
	len = atomic_load_explicit(&v->dq_len, memory_order_relaxed);
	n = (len + 1) / 2;
	if (n > STEAL_MAX)
		n = STEAL_MAX;
	for (uint32_t i = 0; i < n; i++)
		out[i] = DQ_AT(v, i);
	v->dq_tail = (v->dq_tail + n) & (v->dq_cap - 1);
	atomic_store_explicit(&v->dq_len, len - n, memory_order_relaxed);
	weft__spin_unlock(&v->dq_lock);
	return n;
}

/*
 * Idle: steal a batch from another loop, keep all but the newest on our
 * own deque (where a third loop may steal them on) and return that one.
 * Were our deque full and unable to grow, they would be started here and
 * now instead: never dropped.
 */
static struct weft__coro *steal(struct weft__sched *s)
{
	struct weft__runtime *rt = s->rt;
	struct weft__coro *batch[STEAL_MAX];

	for (unsigned k = 1; k < rt->nloops; k++) {
		uint32_t n =
			dq_steal(&rt->loops[(s->id + k) % rt->nloops], batch);

		if (!n)
			continue;
		atomic_fetch_add_explicit(&steals, 1, memory_order_relaxed);
		for (uint32_t i = 0; i + 1 < n; i++)
			if (weft__sched_push_new(s, batch[i]))
				weft__sched_start(s, batch[i]);
		return batch[n - 1];
	}
	return NULL;
}

/* ---- running coroutines ---- */

static void release_dead(struct weft__sched *s)
{
	struct weft__coro *c = s->dead;
	struct weft__stack st;

	if (!c)
		return;
	s->dead = NULL;
	weft__fiber_destroy(&c->fiber);
	st = c->stack; /* the record lives on it */
	weft__stack_put(&st);
}

static void resume(struct weft__sched *s, struct weft__coro *c)
{
	s->cur = c;
	weft__park_ops_current = &weft__coro_park_ops;
	weft__park_ctx_current = c;
	weft__fiber_switch(&s->main, &c->fiber);
	weft__park_ops_current = NULL;
	weft__park_ctx_current = NULL;
	s->cur = NULL;
	release_dead(s);
}

void weft__coro_suspend(struct weft__coro *c)
{
	if (c->wake_pending) {
		c->wake_pending = false; /* kicked already: go on */
		return;
	}
	weft__fiber_switch(&c->fiber, &c->sched->main);
}

void weft__coro_yield(struct weft__coro *c)
{
	rq_push(c->sched, c);
	weft__fiber_switch(&c->fiber, &c->sched->main);
}

static void finish(struct weft__sched *s, struct weft__coro *c);

/*
 * Coroutines started per iteration, at most: enough to spread the
 * iteration's fixed costs (the inbox, the clock, the poll) over many
 * starts, few enough that woken coroutines are not kept waiting behind a
 * burst of new ones.
 */
#define START_BATCH 32

static void coro_entry(void *arg)
{
	struct weft__coro *c = arg;
	struct weft__sched *s = c->sched;

	weft__fiber_entered(&s->main);
	weft__future_run_claimed(c->f, 0, false);
	/* No cancel_running() call may still be reading this record. */
	weft__future_quiesce(c->f);
	if (c->group)
		weft__group_child_done(c, weft_future_result(c->f, NULL, 0));
	finish(s, c);
	weft__fiber_switch_final(&c->fiber, &s->main);
}

static void wake_all_loops(struct weft__runtime *rt)
{
	for (unsigned i = 0; i < rt->nloops; i++)
		weft__loop_notify(&rt->loops[i].loop);
}

/*
 * Every coroutine spawned has ended. Each loop counts the coroutines it
 * spawned and those that ended on it, each count written by its own
 * thread only (no line all loops fight over on every spawn and every
 * end), all seq_cst. Ends are summed first: a coroutine alive then was
 * counted as spawned before that, so the spawn sum read afterwards
 * exceeds the end sum, and equal sums mean nothing was alive. After main
 * has returned nothing new can appear, so that answer holds.
 */
static bool all_ended(struct weft__runtime *rt)
{
	uint64_t ended = 0, spawned = 0;

	for (unsigned i = 0; i < rt->nloops; i++)
		ended += atomic_load(&rt->loops[i].ended);
	for (unsigned i = 0; i < rt->nloops; i++)
		spawned += atomic_load(&rt->loops[i].spawned);
	return ended == spawned;
}

/* This loop thread counts one it spawned or one that ended on it. */
void weft__sched_count(_Atomic uint64_t *n)
{
	atomic_store(n, atomic_load_explicit(n, memory_order_relaxed) + 1);
}

/* One coroutine fewer (finished, or discarded before it started). */
static void gone(struct weft__runtime *rt)
{
	weft__sched_count(&weft__sched_current->ended);
	if (atomic_load(&rt->stopping) && all_ended(rt))
		wake_all_loops(rt);
}

static void finish(struct weft__sched *s, struct weft__coro *c)
{
	struct weft__runtime *rt = s->rt;
	bool main = c->main;

	weft_future_release(c->f); /* the owner's reference */
	c->f = NULL;
	if (c->prev)
		c->prev->next = c->next;
	else
		s->started = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->dead = c;
	if (main) {
		atomic_store(&rt->stopping, 1);
		wake_all_loops(rt);
	}
	gone(rt);
}

/* Discard a coroutine that will never start (cancelled, or stopping). */
static void discard(struct weft__coro *c)
{
	struct weft__runtime *rt = c->rt;
	struct weft__stack st = c->stack;

	if (c->group)
		weft__group_child_done(c, -ECANCELED);
	weft__future_cancel_drop(c->f);
	weft__stack_put(&st);
	gone(rt);
}

void weft__sched_start(struct weft__sched *s, struct weft__coro *c)
{
	size_t rec = sizeof(*c);

	/* Before the claim: a RUNNING future's canceller reaches c->lock. */
	weft__coro_init_started(c);
	if (atomic_load(&s->rt->stopping) ||
	    (c->group && !weft__group_admit(c)) || !weft__future_claim(c->f)) {
		discard(c);
		return;
	}
	if (c->group)
		weft__group_link(s, c);
	c->sched = s;
	c->next = s->started;
	if (s->started)
		s->started->prev = c;
	s->started = c;
	weft__fiber_make(&c->fiber, c->stack.lo, c->stack.size - rec,
			 coro_entry, c);
	resume(s, c);
}

/* Resume c: start it if it has never run (seeded mode queues new ones). */
static void run_one(struct weft__sched *s, struct weft__coro *c)
{
	if (c->sched)
		resume(s, c);
	else
		weft__sched_start(s, c);
}

/* main returned: cancel everything this loop has, once. */
static void stop_local(struct weft__sched *s)
{
	struct weft__coro *c;

	s->stop_seen = true;
	while ((c = dq_take(s)))
		discard(c);
	for (c = s->started; c; c = c->next)
		weft__coro_cancel(c);
}

static bool has_work(void *arg)
{
	struct weft__sched *s = arg;
	struct weft__runtime *rt = s->rt;

	if (!weft__loop_inbox_empty(&s->loop) || s->rq_len)
		return true;
	if (atomic_load(&rt->stopping) && (!s->stop_seen || all_ended(rt)))
		return true;
	for (unsigned i = 0; i < rt->nloops; i++)
		if (atomic_load(&rt->loops[i].dq_len))
			return true;
	return false;
}

/*
 * About to sleep with nothing to run: look for work a little longer
 * first, as Go's spinning Ms do, but only while another loop is busy (it
 * may spawn or wake something for us any moment; a loop spawning a
 * generation of children would otherwise pay an eventfd write, and this
 * loop a sleep and a wake-up, for every batch it steals). All loops
 * idle: sleep at once. True: there is work after all.
 */
#define IDLE_SPINS 2000 /* pauses: about 10-50 us */
#define IDLE_SPIN_WINDOW (200 * WEFT_USEC)

static bool idle_spin(struct weft__sched *s)
{
	struct weft__runtime *rt = s->rt;
	int64_t next;

	if (rt->nloops < 2 ||
	    atomic_load_explicit(&rt->idle, memory_order_relaxed) + 1 >=
		    rt->nloops)
		return false;
	/* Nor while an fd or a timer due soon could need this loop. */
	next = weft__loop_next_timer(&s->loop);
	if (s->loop.fd_waits ||
	    (next >= 0 && next - weft_now() < IDLE_SPIN_WINDOW))
		return false;
	for (unsigned i = 0; i < IDLE_SPINS; i++) {
		if (has_work(s))
			return true;
		weft__cpu_relax();
	}
	return false;
}

void weft__sched_run(struct weft__sched *s)
{
	struct weft__runtime *rt = s->rt;

	weft__sched_current = s;
	weft__fiber_init_thread(&s->main);
	for (;;) {
		struct weft__inbox_node *n = weft__loop_take(&s->loop);
		struct weft__coro *c;
		uint32_t ready;
		bool block;

		while (n) {
			struct weft__inbox_node *next = n->next;

			c = (struct weft__coro *)((char *)n -
						  offsetof(struct weft__coro,
							   inbox));
			rq_push(s, c);
			n = next;
		}
		if (atomic_load(&rt->stopping) && !s->stop_seen)
			stop_local(s);
		ready = s->rq_len;
		while (ready-- && (c = rq_pop(s)))
			run_one(s, c);
		for (unsigned k = 0; k < START_BATCH && (c = dq_take(s)); k++)
			weft__sched_start(s, c);
		if (s->dq_cap > DQ_KEEP)
			dq_shrink(s);
		if (!s->rq_len &&
		    !atomic_load_explicit(&s->dq_len, memory_order_relaxed) &&
		    (c = steal(s)))
			weft__sched_start(s, c);
		if (atomic_load(&rt->stopping) && all_ended(rt))
			break;
		block = !s->rq_len &&
			!atomic_load_explicit(&s->dq_len, memory_order_relaxed);
		if (block && idle_spin(s))
			continue;
		if (block)
			atomic_fetch_add(&rt->idle, 1);
		weft__loop_poll(&s->loop, block, has_work, s);
		if (block)
			atomic_fetch_sub(&rt->idle, 1);
	}
	weft__sched_current = NULL;
}

/* ---- weft_run ---- */

static void *loop_thread(void *arg)
{
	weft__sched_run(arg);
	return NULL;
}

static void cancel_running(struct weft__executor *ex, weft_future *f)
{
	(void)ex;
	weft__coro_cancel(f->arg); /* a coroutine future's arg: its record */
}

static unsigned default_loops(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static uint64_t env_seed(void)
{
	const char *e = getenv("WEFT_SCHED_SEED");
	char *end;
	unsigned long long v;

	if (!e || !*e)
		return 0;
	v = strtoull(e, &end, 0);
	return *end ? 0 : (uint64_t)v;
}

int weft_run(weft_task_fn *main, void *arg, void **result,
	     const weft_loops_opts *opts)
{
	weft_loops_opts o = { 0 };
	struct weft__runtime *rt;
	weft_future *f = NULL;
	unsigned started = 1;
	int rc;

	if (!main)
		return -EINVAL;
	if (weft__sched_current)
		return -EBUSY;
	if (opts)
		o = *opts;
	if (o.stack_kind != WEFT_STACK_GUARDED &&
	    o.stack_kind != WEFT_STACK_PACKED)
		return -EINVAL;
	if (o.stack_size && o.stack_size < WEFT__FIBER_MIN_STACK + 1024)
		return -EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return -ENOMEM;
	rt->ex.cancel_running = cancel_running;
	rt->seed = o.seed ? o.seed : env_seed();
	rt->nloops = rt->seed ? 1 : o.loops ? o.loops : default_loops();
	if (rt->nloops > 1024)
		rt->nloops = 1024;
	rt->stack_size = o.stack_size ? o.stack_size : 256 * 1024;
	rt->stack_kind = o.stack_kind;
	rt->to_thread_workers = o.to_thread_workers ? o.to_thread_workers : 16;
	atomic_init(&rt->pool, NULL);
	pthread_mutex_init(&rt->pool_lock, NULL);
	rt->loops = calloc(rt->nloops, sizeof(*rt->loops));
	rc = rt->loops ? 0 : -ENOMEM;
	for (unsigned i = 0; i < rt->nloops && !rc; i++) {
		struct weft__sched *s = &rt->loops[i];

		rc = weft__loop_init(&s->loop);
		if (rc) {
			rt->nloops = i;
			break;
		}
		s->rt = rt;
		s->id = i;
		s->rng = (rt->seed ^ UINT64_C(0x9E3779B97F4A7C15)) | 1;
	}
	if (!rc)
		rc = weft__coro_spawn(&rt->loops[0], &f, main, arg, NULL, true,
				      NULL);
	for (; !rc && started < rt->nloops; started++)
		if (pthread_create(&rt->loops[started].thread, NULL,
				   loop_thread, &rt->loops[started]))
			break; /* run with the loops we have */
	if (!rc) {
		/*
		 * Loops whose thread could not start stay idle: nothing is
		 * spawned on them, and stealing from them finds nothing.
		 */
		weft__sched_run(&rt->loops[0]);
		for (unsigned i = 1; i < started; i++)
			pthread_join(rt->loops[i].thread, NULL);
		rc = weft_future_result(f, result, 0);
		weft_future_release(f);
	}
	if (atomic_load(&rt->pool)) {
		weft_pool_shutdown(atomic_load(&rt->pool), true, false);
		weft_pool_free(atomic_load(&rt->pool));
	}
	for (unsigned i = 0; rt->loops && i < rt->nloops; i++) {
		weft__loop_destroy(&rt->loops[i].loop);
		free(rt->loops[i].rq);
		free(rt->loops[i].dq);
	}
	pthread_mutex_destroy(&rt->pool_lock);
	free(rt->loops);
	free(rt);
	return rc;
}
