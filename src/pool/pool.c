/*
 * pool.c — the executor: per-worker lock-free rings, work stealing, an
 * overflow list, idle workers parked through park/wake.
 *
 * Rings. Each worker owns a bounded MPMC ring of task slots (weft's one
 * Vyukov ring, src/ring/ring.h, the queue's too). Anyone may push
 * (external submitters round-robin over the rings; a worker's own tasks
 * push onto its ring) and anyone may pop (the
 * owner, and thieves when their own ring is empty): one CAS each, no lock.
 * A slot holds fn, arg and the future (NULL for a detached task). CLOSED,
 * the top bit of a ring's tail, refuses pushes once the pool shuts down,
 * so a submit either landed in a ring before the close or fails with
 * -ESHUTDOWN; the workers drain every ring before they exit.
 *
 * Overflow. When every ring is full, submit appends to one shared list
 * under a mutex (a growable circular array). Workers take from it when
 * their ring is empty, and every OVERFLOW_TICK tasks so it cannot starve;
 * they move a batch into their own ring, where thieves can see it.
 *
 * Sleeping without losing wake-ups (Dekker, all seq_cst):
 *   worker:    nspinning--, push itself on `idle` (nwaiters++), then look at
 *              every ring and the overflow count: work? unlist, go on; else
 *              park.
 *   submitter: push (CAS on a ring's tail, or overflow count++), then load
 *              nspinning and idle.nwaiters: nobody spinning and someone
 *              parked -> wake one.
 * Either the submitter's push precedes the worker's look (it sees the task)
 * or the worker's registration precedes the submitter's loads (it is
 * woken, or a spinning worker will find the task). A submit that sees a
 * worker spinning wakes nobody; so a worker leaving the search (it spun,
 * perhaps parked and was woken) decrements nspinning, takes a task, and if
 * no one else spins and work is left, wakes a parked worker: the task it
 * took may not be the one that submit pushed (found by a test: a spinner
 * took a long task, the short one stayed queued beside a parked worker).
 *
 * Spinning (may_spin, spin): Go's rules — few spinners, spinning only
 * while it pays, yields only when they help our own work — and a nudge
 * hook through which a waiter whose task nobody started wakes a parked
 * worker (a spinner may be preempted on a busy machine).
 *
 * Futures. The pool is an executor of src/future/ (future_internal.h):
 * it makes, claims, runs and cancels futures and answers two hooks; the
 * futures module never names the pool. A cancelling shutdown cancels
 * everything queued before it returns (cancel_queued), closing the gap of
 * a task popped but not yet claimed with per-worker claim windows.
 */
#include "weft/pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "park/park.h"
#include "future/future_internal.h"
#include "ring/ring.h"
#include "weft/sync.h"

#define RING_CAP 1024

/*
 * An idle worker's spin (spin()): SPIN_MIN..SPIN_MAX pauses (adapted),
 * and yields only to the submitter, at most IDLE_YIELDS, while they pay.
 */
#define SPIN_MIN 128
#define SPIN_MAX 512
#define SPIN_START 128
#define IDLE_YIELDS 8
/* A yield that gave the CPU away this long means the submitter ran. */
#define YIELD_LONG (50 * WEFT_USEC)
/* Spins that may still yield after a long one; every this-many-th probes. */
#define YIELD_CREDIT 4
#define YIELD_PROBE 16
/* Tasks run in a row that make a burst: more will come, do not park. */
#define BURST 16
/* Pauses before the yields of a spin after a burst. */
#define BURST_SPIN 16
/* An outside submitter finding every ring full yields this often first. */
#ifndef SUBMIT_YIELDS
#define SUBMIT_YIELDS 16
#endif
/* A worker with work in its ring looks at the overflow this often. */
#define OVERFLOW_TICK 32
/* At most this many tasks move from the overflow to a ring at once. */
#define OVERFLOW_BATCH 64

struct task {
	weft_task_fn *fn;
	void *arg;
	weft_future *fut; /* NULL: detached */
};

struct worker {
	struct weft__ring ring; /* over slots[], below */
	alignas(64) struct weft_pool *pool;
	pthread_t thread;
	int index;
	bool started;
	unsigned tick;
	uint32_t spin;		      /* pauses of the next spin (adapted) */
	uint32_t yield_credit;	      /* spins that may still yield (adapted) */
	uint32_t probe;		      /* counts spins, to probe yields */
	uint32_t streak, last_streak; /* tasks run between searches */
	/*
	 * Odd while the worker looks for a task and claims the future it
	 * popped (the pop, the look at `cancel`, the claim CAS): a
	 * cancelling shutdown waits for it to move on, so that no popped
	 * future is still PENDING when shutdown returns.
	 */
	_Atomic uint32_t claim_seq;
	/* The ring's slots: a task each, 32 KiB. */
	alignas(64) unsigned char slots[RING_CAP *
					WEFT__RING_STRIDE(sizeof(struct task))];
};

struct weft_pool {
	/* Read-mostly. */
	alignas(64) struct worker *workers; /* mmap'd, zeroed */
	size_t workers_size;
	int n;
	uint32_t ncpu; /* CPUs we may run on, when the pool started */
	int (*initializer)(void *, int);
	void *initarg;
	char prefix[16];
	struct weft__executor ex; /* what futures know of us: the hooks */

	/*
	 * Written on idle <-> busy transitions, read by every submit: the
	 * spinner count (changes whenever a worker starts or stops spinning)
	 * apart from the parked list and the submitter's CPU (change
	 * seldom), so a submit's look at the parked count usually hits.
	 */
	alignas(64) _Atomic uint32_t nspinning;
	alignas(64) struct weft__waitlist idle;
	_Atomic int submit_cpu; /* the CPU of the last outside submit */

	bool membarrier; /* the claim windows use membarrier(): see run loop */

	alignas(64) _Atomic uint32_t shut; /* rings closed: drain and exit */
	_Atomic uint32_t cancel;	   /* cancel what is still pending */
	_Atomic int broken;		   /* an initializer's error */
	_Atomic uint32_t live;		   /* workers not yet exited */
	weft_event exited;		   /* set when live reaches 0 */
	weft_mutex shutdown_lock;	   /* serialises the closing */

	alignas(64) _Atomic uint64_t ov_count; /* tasks in the overflow */
	weft_mutex ov_lock;
	struct task *ov_buf; /* circular, ov_cap a power of two */
	size_t ov_cap, ov_head, ov_len;
	bool ov_closed;
};

static _Thread_local struct worker *cur_worker;
static _Thread_local unsigned rr_next;

#define POOL_OF(e)                                                           \
	((struct weft_pool *)(void *)((char *)(e)-offsetof(struct weft_pool, \
							   ex)))

/*
 * The executor hooks (future_internal.h). allow_inline: may a worker of
 * ours run a pending future of ours inline? Not once a cancelling
 * shutdown began: it is cancelling them, and a task waiting on one gets
 * -ECANCELED instead.
 */
static bool pool_allow_inline(struct weft__executor *ex)
{
	return !atomic_load_explicit(&POOL_OF(ex)->cancel,
				     memory_order_relaxed);
}

static void pool_nudge(struct weft__executor *ex);

/* ---- the ring (src/ring/ring.h) ---- */

/* 0, -EAGAIN (full), -ESHUTDOWN (closed, unless force). */
static inline int ring_push(struct weft__ring *r, const struct task *t,
			    bool force)
{
	int rc = weft__ring_push(r, t, sizeof(*t), force);

	return rc == -EPIPE ? -ESHUTDOWN : rc;
}

/* true and *t, or false: empty (or the next slot's push is in flight). */
static inline bool ring_pop(struct weft__ring *r, struct task *t)
{
	return weft__ring_pop(r, t, sizeof(*t)) == 0;
}

/* ---- the overflow list ---- */

/* ov_lock held. 0 or -ENOMEM. */
static int ov_append_locked(struct weft_pool *p, const struct task *t)
{
	if (p->ov_len == p->ov_cap) {
		size_t cap = p->ov_cap ? 2 * p->ov_cap : 1024;
		struct task *b = malloc(cap * sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < p->ov_len; i++)
			b[i] = p->ov_buf[(p->ov_head + i) & (p->ov_cap - 1)];
		free(p->ov_buf);
		p->ov_buf = b;
		p->ov_cap = cap;
		p->ov_head = 0;
	}
	p->ov_buf[(p->ov_head + p->ov_len) & (p->ov_cap - 1)] = *t;
	p->ov_len++;
	atomic_fetch_add(&p->ov_count, 1); /* seq_cst: Dekker with parking */
	return 0;
}

static int ov_push(struct weft_pool *p, const struct task *t)
{
	int rc;

	weft_mutex_lock(&p->ov_lock);
	rc = p->ov_closed ? -ESHUTDOWN : ov_append_locked(p, t);
	weft_mutex_unlock(&p->ov_lock);
	return rc;
}

/*
 * Move up to a batch from the overflow into w's ring (forced past CLOSED:
 * these tasks were accepted). Returns how many moved.
 */
static int ov_grab(struct worker *w)
{
	struct weft_pool *p = w->pool;
	size_t want;
	int moved = 0;

	if (!atomic_load_explicit(&p->ov_count, memory_order_relaxed))
		return 0;
	weft_mutex_lock(&p->ov_lock);
	want = p->ov_len / (size_t)p->n + 1;
	if (want > OVERFLOW_BATCH)
		want = OVERFLOW_BATCH;
	while (p->ov_len && (size_t)moved < want) {
		struct task *t = &p->ov_buf[p->ov_head];

		if (ring_push(&w->ring, t, true))
			break;
		p->ov_head = (p->ov_head + 1) & (p->ov_cap - 1);
		p->ov_len--;
		atomic_fetch_sub(&p->ov_count, 1);
		moved++;
	}
	weft_mutex_unlock(&p->ov_lock);
	return moved;
}

/* ---- waking ---- */

static void maybe_wake(struct weft_pool *p)
{
	/* The quiet line first: nspinning is read only if someone parked. */
	if (weft__waitlist_count(&p->idle) && !atomic_load(&p->nspinning))
		weft__wake_one(&p->idle);
}

static bool any_work(struct weft_pool *p)
{
	if (atomic_load(&p->ov_count))
		return true;
	for (int i = 0; i < p->n; i++)
		if (weft__ring_busy(&p->workers[i].ring))
			return true;
	return false;
}

/*
 * Spinning workers look with weft__ring_peek(): the slot at each ring's
 * head, a line the next pop reads anyway. Unlike any_work() it leaves the
 * tails alone (the submitter's line: spinning readers would make every
 * push miss), and it misses a push still in flight, so parking decisions
 * use any_work().
 */
static bool peek_work(struct weft_pool *p)
{
	if (atomic_load_explicit(&p->ov_count, memory_order_relaxed))
		return true;
	for (int i = 0; i < p->n; i++)
		if (weft__ring_peek(&p->workers[i].ring))
			return true;
	return false;
}

/*
 * A waiter is about to give up the CPU for a future nobody has started.
 * The submit that queued it woke nobody if a worker counted as spinning;
 * on a busy machine that worker may be preempted, and the task would
 * wait for its next time slice (milliseconds). Wake a parked worker if
 * work is queued, spinner or not.
 */
static void pool_nudge(struct weft__executor *ex)
{
	struct weft_pool *p = POOL_OF(ex);

	if (weft__waitlist_count(&p->idle) && any_work(p))
		weft__wake_one(&p->idle);
}

/* ---- running ---- */

/*
 * The claim window (see struct worker and cancel_queued): a Dekker pair
 * between the worker (mark the window, then look at `cancel`) and a
 * cancelling shutdown (set `cancel`, then look at the marks). It needs a
 * store-load barrier on one side. The worker opens a window for every
 * task, so where the kernel has membarrier() the shutdown, which is rare,
 * pays for both: membarrier(PRIVATE_EXPEDITED) runs a full barrier on
 * every CPU running one of our threads (liburcu's asymmetric fence), and
 * the worker's side is a plain store and a compiler barrier. Elsewhere
 * the worker's store is seq_cst (an xchg, ~8 ns a task here).
 */
static inline uint32_t open_window(struct worker *w)
{
	uint32_t seq =
		atomic_load_explicit(&w->claim_seq, memory_order_relaxed);

	if (w->pool->membarrier) {
		atomic_store_explicit(&w->claim_seq, seq + 1,
				      memory_order_relaxed);
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_store(&w->claim_seq, seq + 1);
	}
	return seq;
}

/*
 * A worker took t off a ring inside its claim window (claim_seq odd, see
 * worker_main): decide its fate and close the window. true if the caller
 * is to run it (a detached task, or a future now RUNNING); a future that
 * is cancelled here, or was claimed inline or cancelled meanwhile, is
 * done with (the pool's reference given back).
 */
static bool take_task(struct worker *w, struct task *t, uint32_t seq)
{
	struct weft_pool *p = w->pool;
	bool run;

	/* Read after the window opened: see open_window(). */
	if (atomic_load(&p->cancel)) {
		if (t->fut)
			weft__future_cancel_drop(t->fut);
		run = false;
	} else {
		run = !t->fut || weft__future_claim(t->fut);
		if (!run)
			weft_future_release(t->fut);
	}
	atomic_store_explicit(&w->claim_seq, seq + 2, memory_order_release);
	return run;
}

static void run_task(struct weft_pool *p, struct task *t)
{
	int broken = atomic_load_explicit(&p->broken, memory_order_relaxed);
	void *result = NULL;

	if (t->fut)
		weft__future_run_claimed(t->fut, broken, true);
	else if (!broken)
		t->fn(t->arg, &result);
}

/*
 * Go's rule for spinning (runtime/proc.go, findRunnable): a worker out of
 * work spins only while fewer than half of the workers not parked are
 * spinning already, counting at most as many workers as CPUs — with 2
 * workers, one spinner at most. More spinners find the same work no
 * faster, and on a busy machine they take the CPU from the worker doing
 * the work and from the submitter.
 */
static bool may_spin(struct weft_pool *p)
{
	uint32_t parked = weft__waitlist_count(&p->idle);
	uint32_t awake = (uint32_t)p->n > parked ? (uint32_t)p->n - parked : 1;

	if (awake > p->ncpu)
		awake = p->ncpu;
	return 2 * atomic_load_explicit(&p->nspinning, memory_order_relaxed) <
	       awake;
}

/*
 * Look for work without parking, as long as it pays; true if work showed
 * up. Two phases, through the backoff helper:
 *
 * Pauses (only for a spinner, see may_spin; counted in nspinning so that
 * submits need not wake anyone): w->spin of them, adapted like Go's
 * spinning Ms are bounded — doubled after a spin that found work while
 * pausing, halved after one that found nothing, within
 * [SPIN_MIN, SPIN_MAX] (~5-20 us here).
 *
 * Yields, only when they pay. A yield keeps the worker runnable, so the
 * next task needs no futex wake from the submitter, and hands the CPU to
 * whoever shares it; a parked worker costs the submitter a wake-up. But
 * handed to another program (a busy machine), a yield gives away the rest
 * of our time slice (EEVDF pushes a yielder's deadline back a whole
 * slice), and when a waiter is waiting for the next task's result that
 * slice is latency: idle workers that yielded took the CPU from the
 * submitter and the working worker and turned 0.2 us round trips into
 * 1-10 us. So a worker yields (IDLE_YIELDS at most) when
 *  - its last streak was a burst (BURST tasks in a row between searches):
 *    work comes in bulk, throughput counts, stay runnable rather than
 *    park (a round trip's streak is one task), and yield after only
 *    BURST_SPIN pauses: the submitter may be waiting for our CPU;
 *  - or it shares its CPU with the outside submitter and the yields are
 *    long (the submitter ran at least YIELD_LONG with the CPU: producing,
 *    not waiting — a waiting submitter gives the CPU straight back, and
 *    yielding to it would keep the two trading one core while the other
 *    idles, as the scheduler leaves ping-ponging threads where they are);
 *    after a short yield, only on credit left by a long one, probing
 *    every YIELD_PROBE-th spin.
 */
static bool spin(struct worker *w, bool pauses)
{
	struct weft_pool *p = w->pool;
	struct weft__backoff b;
	uint32_t yields = 0;
	int64_t yield_at = 0;
	bool found = false;

	bool burst = w->last_streak >= BURST;

	if (burst)
		yields = IDLE_YIELDS;
	else if (sched_getcpu() == atomic_load_explicit(&p->submit_cpu,
							memory_order_relaxed) &&
		 (w->yield_credit || (++w->probe & (YIELD_PROBE - 1)) == 0))
		yields = IDLE_YIELDS;
	/* In a burst the submitter is producing: give it the CPU soon. */
	b = WEFT__BACKOFF(!pauses ? 0 : burst ? BURST_SPIN : w->spin, yields);
	if (pauses)
		atomic_fetch_add(&p->nspinning, 1);
	for (;;) {
		if (weft__backoff_yielding(&b) && !weft__backoff_yielded(&b))
			yield_at = weft_now(); /* the first yield comes next */
		if (!weft__backoff(&b))
			break;
		if (peek_work(p)) {
			found = true;
			break;
		}
		if (weft__backoff_yielded(&b)) {
			/* We just yielded: did the submitter run long? */
			int64_t now = weft_now();

			if (burst || now - yield_at >= YIELD_LONG)
				w->yield_credit = YIELD_CREDIT;
			else if (w->yield_credit)
				w->yield_credit--;
			if (!w->yield_credit)
				break;
			yield_at = now;
		}
	}
	if (pauses) {
		atomic_fetch_sub(&p->nspinning, 1);
		if (found && !weft__backoff_yielded(&b) && w->spin < SPIN_MAX)
			w->spin *= 2;
		else if (!found && w->spin > SPIN_MIN)
			w->spin /= 2;
	}
	return found;
}

static bool find_task(struct worker *w, struct task *t)
{
	struct weft_pool *p = w->pool;

	if (++w->tick % OVERFLOW_TICK == 0)
		ov_grab(w);
	if (ring_pop(&w->ring, t))
		return true;
	if (ov_grab(w) > 1)
		maybe_wake(p); /* more than we will run soon: share it */
	if (ring_pop(&w->ring, t))
		return true;
	for (int i = 1; i < p->n; i++) {
		struct worker *v = &p->workers[(w->index + i) % p->n];

		if (ring_pop(&v->ring, t))
			return true;
	}
	return false;
}

static void set_thread_name(struct worker *w)
{
	char name[32];

	/* The kernel keeps 15 characters: cut the prefix, keep the index. */
	snprintf(name, sizeof(name), "%.10s-%d", w->pool->prefix,
		 w->index % 10000);
	name[15] = '\0';
	pthread_setname_np(pthread_self(), name);
}

static void pool_break(struct weft_pool *p, int rc);

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct weft_pool *p = w->pool;
	struct weft__waiter wt;
	bool searching = false;
	struct task t;

	cur_worker = w;
	weft__executor_current = &p->ex;
	set_thread_name(w);
	if (p->initializer) {
		int rc = p->initializer(p->initarg, w->index);

		if (rc)
			pool_break(p, rc);
	}
	for (;;) {
		bool run;
		/*
		 * The claim window opens before the pop (seq_cst): from
		 * here until take_task() a task we pop is in our hands
		 * only, and a cancelling shutdown that swept the rings
		 * waits for the window to close (cancel_queued).
		 */
		uint32_t seq = open_window(w);

		if (find_task(w, &t)) {
			run = take_task(w, &t, seq);
			/*
			 * Leaving the search (spinning, or woken): a submit
			 * that saw us spinning woke nobody, and the task we
			 * took may not be the one it pushed. If no one else
			 * is spinning and work is left, wake a parked worker
			 * for it (Go's rule). nspinning was decremented
			 * before this look: the Dekker pair with the
			 * submitter's push, then load of nspinning. (The
			 * quiet idle count first: nspinning and the rings'
			 * tails are hot lines, read only when someone is
			 * parked.)
			 */
			if (searching) {
				searching = false;
				if (weft__waitlist_count(&p->idle) &&
				    !atomic_load(&p->nspinning) && any_work(p))
					weft__wake_one(&p->idle);
			}
			if (run)
				run_task(p, &t);
			w->streak++;
			continue;
		}
		atomic_store_explicit(&w->claim_seq, seq + 2,
				      memory_order_release);
		if (!searching) {
			w->last_streak = w->streak;
			w->streak = 0;
		}
		searching = true;
		if (spin(w, may_spin(p)))
			continue;
		if (atomic_load(&p->shut) && !any_work(p))
			break;
		weft__waiter_init(&wt);
		weft__waitlist_push(&p->idle, &wt); /* seq_cst, then look */
		if (any_work(p) || atomic_load(&p->shut)) {
			weft__waitlist_remove(&p->idle, &wt);
			continue;
		}
		weft__park(&wt, WEFT_FOREVER);
	}
	cur_worker = NULL;
	weft__executor_current = NULL;
	if (atomic_fetch_sub(&p->live, 1) == 1)
		weft_event_set(&p->exited);
	return NULL;
}

/* ---- the API ---- */

int weft_pool_default_workers(void)
{
	cpu_set_t set;
	int cores = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		cores = CPU_COUNT(&set);
	if (cores <= 0)
		cores = 1;
	return cores + 4 < 32 ? cores + 4 : 32;
}

static void close_all(struct weft_pool *p)
{
	weft_mutex_lock(&p->shutdown_lock);
	if (!atomic_load(&p->shut)) {
		for (int i = 0; i < p->n; i++)
			weft__ring_close(&p->workers[i].ring);
		weft_mutex_lock(&p->ov_lock);
		p->ov_closed = true;
		weft_mutex_unlock(&p->ov_lock);
		/* Every ring closed first: nothing can slip in after this. */
		atomic_store(&p->shut, 1);
	}
	weft_mutex_unlock(&p->shutdown_lock);
	weft__wake_all(&p->idle);
}

static void pool_break(struct weft_pool *p, int rc)
{
	int zero = 0;

	atomic_compare_exchange_strong(&p->broken, &zero, rc);
	close_all(p);
}

static void pool_destroy(struct weft_pool *p)
{
	free(p->ov_buf);
	munmap(p->workers, p->workers_size);
	free(p);
}

int weft_pool_new(weft_pool **pp, const struct weft_pool_options *opt)
{
	static const struct weft_pool_options defaults;
	struct weft_pool *p;
	const char *prefix;
	cpu_set_t cpus;
	int n, rc = 0;

	if (!pp)
		return -EINVAL;
	*pp = NULL;
	if (!opt)
		opt = &defaults;
	if (opt->max_workers < 0 || opt->max_workers > WEFT_POOL_MAX_WORKERS)
		return -EINVAL;
	n = opt->max_workers ? opt->max_workers : weft_pool_default_workers();
	p = aligned_alloc(64, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	/*
	 * The rings (32 KiB each) straight from mmap: page-aligned, and
	 * freeing them later does not hand the malloc heap a large free
	 * block, which would make glibc consolidate and trim it, giving
	 * back to the kernel the memory of every freed future and making
	 * the next ones page-fault afresh (measured: 8x slower submits).
	 */
	p->workers_size = (size_t)n * sizeof(struct worker);
	p->workers = mmap(NULL, p->workers_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->workers == MAP_FAILED) {
		free(p);
		return -ENOMEM;
	}
	p->n = n;
	p->ncpu = 1;
	if (sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus))
		p->ncpu = (uint32_t)CPU_COUNT(&cpus);
	p->initializer = opt->initializer;
	p->initarg = opt->initarg;
	/* Idempotent, once per process in effect; ~free after the first. */
	p->membarrier = syscall(SYS_membarrier,
				MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0,
				0) == 0;
	p->ex.allow_inline = pool_allow_inline;
	p->ex.nudge = pool_nudge;
	p->ex.cancel_running = NULL; /* a running task cannot be stopped */
	prefix = opt->thread_name_prefix ? opt->thread_name_prefix
					 : "weft-pool";
	snprintf(p->prefix, sizeof(p->prefix), "%.10s", prefix);
	atomic_init(&p->nspinning, 0);
	atomic_init(&p->submit_cpu, -1);
	p->idle = (struct weft__waitlist)WEFT__WAITLIST_INIT;
	atomic_init(&p->shut, 0);
	atomic_init(&p->cancel, 0);
	atomic_init(&p->broken, 0);
	atomic_init(&p->live, (uint32_t)n);
	weft_event_init(&p->exited);
	weft_mutex_init(&p->shutdown_lock);
	atomic_init(&p->ov_count, 0);
	weft_mutex_init(&p->ov_lock);
	for (int i = 0; i < n; i++) {
		struct worker *w = &p->workers[i];

		/*
		 * mmap's memory is zero: an empty ring, every slot free for
		 * turn 0, each page touched only when first used.
		 */
		weft__ring_init(&w->ring, w->slots, RING_CAP,
				sizeof(struct task));
		w->pool = p;
		w->index = i;
		w->spin = SPIN_START;
	}
	for (int i = 0; i < n; i++) {
		rc = -pthread_create(&p->workers[i].thread, NULL, worker_main,
				     &p->workers[i]);
		if (rc)
			goto err_stop;
		p->workers[i].started = true;
	}
	*pp = p;
	return 0;

err_stop:
	/* Threads that never started count as exited. */
	for (int i = 0; i < n; i++)
		if (!p->workers[i].started &&
		    atomic_fetch_sub(&p->live, 1) == 1)
			weft_event_set(&p->exited);
	close_all(p);
	for (int i = 0; i < n; i++)
		if (p->workers[i].started)
			pthread_join(p->workers[i].thread, NULL);
	pool_destroy(p);
	return rc == -EAGAIN || rc == -ENOMEM ? rc : -EAGAIN;
}

/* Tasks taken from the rings so far (a progress meter). */
static uint64_t popped(struct weft_pool *p)
{
	uint64_t sum = 0;

	for (int i = 0; i < p->n; i++)
		sum += atomic_load_explicit(&p->workers[i].ring.head,
					    memory_order_relaxed);
	return sum;
}

/* Push onto the first ring, from `start` on, that has room. */
static int push_any(struct weft_pool *p, unsigned start, const struct task *t)
{
	unsigned i = start;
	int rc;

	for (int k = 0; k < p->n; k++) {
		rc = ring_push(&p->workers[i].ring, t, false);
		if (rc != -EAGAIN)
			return rc;
		if (++i == (unsigned)p->n)
			i = 0;
	}
	return -EAGAIN;
}

int weft_pool_submit(weft_pool *p, weft_task_fn *fn, void *arg,
		     weft_future **fp)
{
	struct task t = { fn, arg, NULL };
	unsigned start;
	int rc, broken;

	if (fp)
		*fp = NULL;
	if (!p || !fn)
		return -EINVAL;
	if (fp) {
		t.fut = weft__future_make(&p->ex, fn, arg);
		if (!t.fut)
			return -ENOMEM;
	}
	if (cur_worker && cur_worker->pool == p) {
		/* A task's subtasks go on its own worker's ring. */
		rc = push_any(p, (unsigned)cur_worker->index, &t);
	} else {
		/* Where the submitter runs, for the workers' yield rule. */
		if (rr_next % 16 == 0) {
			int cpu = sched_getcpu();

			if (atomic_load_explicit(&p->submit_cpu,
						 memory_order_relaxed) != cpu)
				atomic_store_explicit(&p->submit_cpu, cpu,
						      memory_order_relaxed);
		}
		start = rr_next++;
		rc = push_any(p, start % (unsigned)p->n, &t);
		/*
		 * Every ring full: the workers are behind. Let them run
		 * (on few cores the submitter competes with them for the
		 * CPU) before resorting to the locked overflow list, as
		 * long as they make progress and the overflow is empty.
		 */
		struct weft__backoff b = WEFT__BACKOFF(0, SUBMIT_YIELDS);

		while (rc == -EAGAIN &&
		       !atomic_load_explicit(&p->ov_count,
					     memory_order_relaxed)) {
			uint64_t before = popped(p);

			if (!weft__backoff(&b))
				break;
			rc = push_any(p, start % (unsigned)p->n, &t);
			if (rc == -EAGAIN && popped(p) == before)
				break; /* they are stuck (long tasks): no use */
		}
	}
	if (rc == -EAGAIN)
		rc = ov_push(p, &t);
	if (rc) {
		broken = atomic_load(&p->broken);
		if (rc == -ESHUTDOWN && broken)
			rc = broken;
		if (t.fut) {
			/* Never visible to anyone: free both references. */
			weft_future_release(t.fut);
			weft_future_release(t.fut);
		}
		return rc;
	}
	maybe_wake(p);
	if (fp)
		*fp = t.fut;
	return 0;
}

int weft_pool_map(weft_pool *p, weft_task_fn *fn, void *const *args,
		  void **results, size_t n, int64_t deadline)
{
	weft_future **fs;
	size_t submitted = 0;
	int rc = 0;

	if (!p || !fn || (n && !args))
		return -EINVAL;
	if (n == 0)
		return 0;
	fs = calloc(n, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	for (; submitted < n; submitted++) {
		rc = weft_pool_submit(p, fn, args[submitted], &fs[submitted]);
		if (rc)
			break;
	}
	for (size_t i = 0; i < submitted && !rc; i++) {
		void *res = NULL;

		rc = weft_future_result(fs[i], &res, deadline);
		if (!rc && results)
			results[i] = res;
	}
	if (rc && submitted) {
		/*
		 * Stop: cancel what has not started, and wait for what has,
		 * but never past the deadline (a poll once it has passed).
		 * What still runs then keeps running; its future is freed
		 * when it settles (the pool holds a reference).
		 */
		for (size_t i = 0; i < submitted; i++)
			weft_future_cancel(fs[i]);
		weft_wait(fs, submitted, WEFT_ALL_COMPLETED, deadline);
	}
	for (size_t i = 0; i < submitted; i++)
		weft_future_release(fs[i]);
	free(fs);
	return rc;
}

/* A task that will never run: cancel its future, drop the pool's ref. */
static void drop_task(struct task *t)
{
	if (t->fut)
		weft__future_cancel_drop(t->fut);
}

/*
 * A cancelling shutdown, after every ring and the overflow were closed:
 * cancel every task still queued, here and now, so that when shutdown
 * returns no future of ours is PENDING (Python's cancel_futures). The
 * overflow first (nothing moves into a ring after that), then each ring
 * (waiting out pushes still in flight), then the claim windows of workers
 * that popped a task just before `cancel` was set (see open_window).
 * Callbacks of cancelled futures run here, outside every lock.
 */
static void cancel_queued(struct weft_pool *p)
{
	struct task *buf, t;
	size_t cap, head, len;

	/* `cancel` is set: the other half of open_window()'s barrier. */
	while (p->membarrier &&
	       syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0))
		weft__yield(); /* registered in weft_pool_new: never in practice */
	weft_mutex_lock(&p->ov_lock);
	buf = p->ov_buf;
	cap = p->ov_cap;
	head = p->ov_head;
	len = p->ov_len;
	p->ov_buf = NULL;
	p->ov_cap = p->ov_head = p->ov_len = 0;
	atomic_fetch_sub(&p->ov_count, len);
	weft_mutex_unlock(&p->ov_lock);
	for (size_t i = 0; i < len; i++)
		drop_task(&buf[(head + i) & (cap - 1)]);
	free(buf);

	for (int i = 0; i < p->n; i++) {
		struct weft__backoff b = WEFT__BACKOFF(0, 0);

		while (weft__ring_drain_one(&p->workers[i].ring, &t, sizeof(t),
					    &b) == 0)
			drop_task(&t);
	}
	for (int i = 0; i < p->n; i++) {
		struct worker *w = &p->workers[i];
		struct weft__backoff b = WEFT__BACKOFF(0, 0);
		uint32_t seq = atomic_load(&w->claim_seq);

		/*
		 * Our own window is open if we are a worker cancelling a
		 * future whose callback shut the pool down: it is decided.
		 */
		if (w == cur_worker)
			continue;
		while ((seq & 1) && atomic_load(&w->claim_seq) == seq)
			weft__backoff_wait(&b, 16);
	}
}

int weft_pool_shutdown(weft_pool *p, bool wait, bool cancel_pending)
{
	if (!p)
		return -EINVAL;
	if (cancel_pending)
		atomic_store(&p->cancel, 1); /* seq_cst: see open_window */
	close_all(p);
	if (cancel_pending)
		cancel_queued(p);
	if (!wait)
		return 0;
	if (cur_worker && cur_worker->pool == p)
		return -EDEADLK;
	weft_event_wait(&p->exited, WEFT_FOREVER);
	return 0;
}

void weft_pool_free(weft_pool *p)
{
	if (!p)
		return;
	if (cur_worker && cur_worker->pool == p) {
		weft_pool_shutdown(p, false, false);
		return; /* documented: leaked rather than deadlock */
	}
	weft_pool_shutdown(p, true, false);
	for (int i = 0; i < p->n; i++)
		pthread_join(p->workers[i].thread, NULL);
	pool_destroy(p);
}

int weft_pool_max_workers(weft_pool *p)
{
	return p ? p->n : -EINVAL;
}
