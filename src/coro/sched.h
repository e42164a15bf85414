/*
 * sched.h — the coroutine runtime's private structures: a coroutine, the
 * scheduler of one loop thread, and the runtime weft_run() builds.
 *
 * Ownership and threads. A coroutine is spawned on the spawner's loop and
 * sits on that loop's unstarted deque (owner takes the newest, an idle
 * loop steals the oldest) until a loop starts it; from then on only that
 * loop's thread touches its fiber, run-queue slot and timer. Other threads
 * reach a started coroutine in two ways only: a waker or canceller that
 * won the CAS on its waiter posts it to its loop's inbox; a canceller
 * takes its lock to read `waiter` and set `cancelled`.
 *
 * Memory. The record lives at the top of the coroutine's own stack, so a
 * suspended coroutine that used one page costs one page plus its future.
 * The stack (and record) is released by the loop that ran it, after the
 * coroutine's final switch away.
 */
#ifndef WEFT_CORO_SCHED_H
#define WEFT_CORO_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "coro/fiber.h"
#include "coro/stack.h"
#include "future/future_internal.h"
#include "loop/loop.h"
#include "park/park.h"
#include "weft/coro.h"
#include "weft/pool.h"

struct weft__sched;
struct weft__runtime;

/*
 * Two halves, two cache lines each. The first is initialised by the loop
 * that starts the coroutine (weft__sched_start), on its own core; the
 * second by the spawner. A burst of spawns by one coroutine — a
 * generation of weft-life's cells — is serial, and the stacks it reuses
 * were often last written by another loop: each line the spawner writes
 * is a cache miss on its path, so it writes only the two it must.
 */
struct weft__coro {
	/* the starting loop's half */
	struct weft__fiber fiber;
	struct weft__inbox_node inbox;	/* posted by a cross-thread kick */
	struct weft__coro *next, *prev; /* the started list */
	_Atomic uint32_t lock;		/* cancelled + waiter vs cancellers */
	_Atomic bool cancelled;
	struct weft__waiter *waiter; /* the wait in progress (lock) */
	struct weft__timer timer;    /* the wait's deadline */
	/* a group child, started: its links in its loop's shard (its lock) */
	struct weft__coro *gnext, *gprev;
	bool gcancel_sent; /* idem */
	/* the spawner's half */
	_Alignas(64) struct weft__stack stack;
	struct weft__runtime *rt;
	weft_future *f; /* its task is coro_task(c): fn(arg, result) */
	weft_task_fn *fn;
	void *arg;
	struct weft__sched *sched; /* its loop; NULL until started */
	struct weft_group *group;  /* weft_group_spawn's child: its group */
	bool queued;		   /* on a run queue (loop thread) */
	bool wake_pending; /* kicked while queued by a yield (loop thread) */
	bool main;	   /* weft_run's main coroutine */
};

/* Each half is two lines; the record is a whole number of them. */
_Static_assert(sizeof(struct weft__coro) % 64 == 0 &&
		       sizeof(struct weft__coro) <= 256,
	       "a coroutine record is at most four cache lines");

struct weft__sched {
	struct weft__loop loop;
	struct weft__fiber main; /* the loop thread's own context */
	struct weft__runtime *rt;
	struct weft__coro *cur; /* running now; NULL in the scheduler */
	/* ready to resume: a ring of pointers, grown on demand */
	struct weft__coro **rq;
	uint32_t rq_head, rq_len, rq_cap;
	/* spawned, not started: a ring, oldest at dq_tail (dq_lock) */
	_Atomic uint32_t dq_lock;
	_Atomic uint32_t dq_len;
	struct weft__coro **dq;
	uint32_t dq_tail, dq_cap;
	struct weft__coro *started; /* every coroutine this loop runs */
	struct weft__coro *dead;    /* its stack to release after the switch */
	uint64_t rng;		    /* seeded mode's PRNG */
	bool stop_seen;
	unsigned id;
	/* coroutines spawned here, and ended here (this thread writes) */
	_Atomic uint64_t spawned, ended;
	pthread_t thread;
};

struct weft__runtime {
	struct weft__executor ex;
	struct weft__sched *loops;
	unsigned nloops;
	_Atomic uint32_t stopping; /* main has returned */
	_Atomic uint32_t idle;	   /* loops asleep with nothing to run */
	uint64_t seed;		   /* nonzero: seeded order, one loop */
	size_t stack_size;
	int stack_kind;
	unsigned to_thread_workers;
	_Atomic(weft_pool *) pool; /* weft_to_thread's, made on first use */
	pthread_mutex_t pool_lock;
};

/* This thread's scheduler, NULL outside weft_run's loop threads. */
extern _Thread_local struct weft__sched *weft__sched_current;

/* The running coroutine, NULL in a plain thread or the scheduler. */
static inline struct weft__coro *weft__coro_self(void)
{
	struct weft__sched *s = weft__sched_current;

	return s ? s->cur : NULL;
}

/*
 * The kick: make c runnable on its loop, from any thread, once per wait
 * (by whoever won the CAS on its waiter). A coroutine can be kicked while
 * it sits on the run queue because it yielded (it withdrew a waiter a
 * waker had just popped, and yielded while taking the list's lock): then
 * the kick is kept as wake_pending, and the coroutine's next wait takes it
 * without suspending.
 */
void weft__coro_ready(struct weft__coro *c);
/* Suspend the running coroutine c in a wait until its kick. */
void weft__coro_suspend(struct weft__coro *c);
/* Let the loop's other ready coroutines run, then go on (weft__yield). */
void weft__coro_yield(struct weft__coro *c);
/*
 * Spawn on scheduler s (from its loop thread); with a group g, as its
 * child (weft__group_adopt), before any loop can start it.
 */
int weft__coro_spawn(struct weft__sched *s, weft_future **fp, weft_task_fn *fn,
		     void *arg, const weft_coro_opts *opts, bool main,
		     struct weft_group *g);
/*
 * Group bookkeeping lives in the child's record, so a group child costs
 * no allocation (group.c).
 *   adopt      the spawner counts c in g: 0, or -ECANCELED (g cancelled).
 *   admit      loop s is about to claim c: false if g was cancelled (c
 *              must not run; its future is cancelled).
 *   link       s claimed c: it goes on s's shard of g's child list.
 *   child_done c has ended with rc (run, or discarded unstarted: then
 *              -ECANCELED), before its future reference is dropped (a
 *              canceller may retain c->f while c is linked).
 */
int weft__group_adopt(struct weft_group *g, struct weft__coro *c);
bool weft__group_admit(struct weft__coro *c);
void weft__group_link(struct weft__sched *s, struct weft__coro *c);
void weft__group_child_done(struct weft__coro *c, int rc);
/*
 * A new coroutine for loop s: on its unstarted deque (seeded mode: its run
 * queue), waking an idle loop that could steal it. 0 or -ENOMEM.
 */
int weft__sched_push_new(struct weft__sched *s, struct weft__coro *c);
/* A loop thread counts on its own counter (spawned or ended), seq_cst. */
void weft__sched_count(_Atomic uint64_t *n);
/* Ask a started coroutine to stop (any thread; see weft_future_cancel). */
void weft__coro_cancel(struct weft__coro *c);
/* The scheduler: run loop s until the runtime has stopped. */
void weft__sched_run(struct weft__sched *s);
/* The starting loop's half of c's record (before it can be cancelled). */
void weft__coro_init_started(struct weft__coro *c);
/* Start the coroutine c on s (loop thread): claim, make its fiber, run. */
void weft__sched_start(struct weft__sched *s, struct weft__coro *c);

/* The coroutine waiter's park hooks. */
extern const struct weft__park_ops weft__coro_park_ops;

/* Test hook: kicks that found their coroutine already queued (must be 0). */
uint64_t weft__coro_double_kicks(void);
/* Test hook: batches stolen from another loop's unstarted deque. */
uint64_t weft__coro_steals(void);

#endif /* WEFT_CORO_SCHED_H */
