/*
 * park.h — weft's one waiting mechanism (private to the library).
 *
 * Every blocking primitive (mutex, condition, event, semaphore, queue, and
 * later futures, process waits and fd readiness) keeps a wait list and does
 * three things with it: enqueue a waiter and park it until woken or until a
 * deadline, wake one, wake all. Nothing else in weft calls futex() or
 * pthread_cond_*; nothing else asks "am I a thread or a coroutine?".
 *
 * The waiter. A struct weft__waiter lives where the waiting happens: on the
 * waiting thread's stack (blocking allocates nothing), later inside the
 * waiting coroutine. Its `state` word is the whole protocol:
 *
 *   WAITING  --park: about to sleep-->  SLEEPING   (parker, CAS)
 *   WAITING | SLEEPING  --waker-->      WOKEN      (waker, CAS, list locked)
 *   WAITING | SLEEPING  --deadline-->   TIMEDOUT   (parker, CAS)
 *   WAITING | SLEEPING  --cancel-->     CANCELED   (canceller, CAS)
 *
 * Exactly one CAS leaves WAITING/SLEEPING, so a wake is either delivered to
 * a waiter that will return 0, or refused, in which case the waker moves on
 * to the next waiter: a wake is never lost and never delivered to a waiter
 * that has left. A waker pops the waiter off the list and CASes its state
 * while holding the list lock; a parker that timed out takes the list lock
 * to unlink itself if no waker popped it first, so the waker never touches
 * freed memory. The only thing done after the lock is dropped is the
 * "kick" (a futex wake, or for a coroutine a push onto its loop's inbox),
 * and it uses only what was captured under the lock.
 *
 * The hook. A waiter carries `ops`, the way to wait and the way to kick,
 * captured by weft__waiter_init() from the calling context:
 *   - NULL (today, always): a thread. wait = spin briefly on `state`, then
 *     FUTEX_WAIT_BITSET with an absolute CLOCK_MONOTONIC deadline (the
 *     SLEEPING state tells the waker that a FUTEX_WAKE syscall is needed;
 *     a waiter still spinning is woken by the CAS alone, no syscall).
 *   - a coroutine's (src/coro): wait = arm a timer for the deadline on
 *     the loop and switch to the scheduler; kick = make the coroutine
 *     runnable (its loop's run queue, or from another thread its inbox
 *     and eventfd). The coroutine runtime sets the per-thread
 *     weft__park_ops_current while a coroutine runs; nothing in
 *     sync/queue/futures/proc changes.
 * A coroutine is resumed by exactly one party: whoever wins the CAS out of
 * WAITING/SLEEPING (a waker: WOKEN; its deadline timer: TIMEDOUT; a
 * canceller: CANCELED) and only that party makes it runnable. A timer
 * that loses the CAS does nothing, so no kick is ever owed to a coroutine
 * that has resumed: a late kick cannot re-queue one that has moved on.
 * A coroutine waiter's memory stays valid until it is kicked (it cannot
 * resume before), a thread waiter's may vanish once the state leaves
 * SLEEPING: the thread kick needs only the address, never dereferences it.
 *
 * Callers re-check their own condition after weft__park() returns: a 0 is
 * "something changed, look again", never "the condition holds".
 */
#ifndef WEFT_PARK_H
#define WEFT_PARK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <poll.h>

#include "base/deadline.h"

enum {
	WEFT__WAITING = 0,
	WEFT__SLEEPING = 1,
	WEFT__WOKEN = 2,
	WEFT__TIMEDOUT = 3,
	WEFT__CANCELED = 4,
};

struct weft__waiter;

/*
 * A wait list: waiters in FIFO order under a tiny spinlock, and their
 * count, which wakers read without the lock ("anyone asleep?"). All zero
 * is an empty list, so zeroed memory is one.
 */
struct weft__waitlist {
	_Atomic uint32_t lock;
	_Atomic uint32_t nwaiters;
	struct weft__waiter *head, *tail;
};
/* clang-format off */
#define WEFT__WAITLIST_INIT {0, 0, NULL, NULL}
/* clang-format on */

static inline void weft__waitlist_init(struct weft__waitlist *wl)
{
	atomic_init(&wl->lock, 0);
	atomic_init(&wl->nwaiters, 0);
	wl->head = wl->tail = NULL;
}

/*
 * How a kind of waiter waits and is woken. The thread's wait() returns
 * once `state` has left WAITING/SLEEPING or the deadline has passed (it
 * may return early on a spurious wake-up: weft__park() loops). A
 * coroutine's wait() is its whole park: it returns only with the state
 * final (WOKEN, TIMEDOUT or CANCELED) and with any kick owed to it
 * consumed. kick() is called after the list lock is dropped with the
 * waiter's ctx captured under the lock, and only when the waker's CAS
 * succeeded.
 */
struct weft__park_ops {
	void (*wait)(struct weft__waiter *w, int64_t deadline);
	void (*kick)(_Atomic uint32_t *state, uint32_t old_state, void *ctx);
	/* weft__yield() and weft__fd_wait() for this kind of waiter. */
	void (*yield)(void *ctx);
	int (*fd_wait)(void *ctx, struct pollfd *fds, unsigned n,
		       int64_t deadline);
};

struct weft__waiter {
	struct weft__waiter *next, *prev; /* list links, under the list lock */
	struct weft__waitlist *list;	  /* set while linked (list lock) */
	struct weft__waitlist *home;	  /* last list pushed on; owner only */
	const struct weft__park_ops *ops; /* NULL: a thread (futex) */
	void *ctx;			  /* the coroutine, for its ops */
	bool shielded; /* a coroutine's wait that cancellation leaves alone */
	_Atomic uint32_t state; /* WEFT__WAITING ... ; the futex word */
};

/*
 * Per-thread hook: non-NULL while a coroutine runs on this thread (set by the
 * coroutine runtime; always NULL until it exists).
 */
extern _Thread_local const struct weft__park_ops *weft__park_ops_current;
extern _Thread_local void *weft__park_ctx_current;

/* A woken waiter's kick, captured under the list lock. */
struct weft__kick {
	_Atomic uint32_t *state;
	const struct weft__park_ops *ops;
	void *ctx;
	uint32_t old;
};

static inline bool weft__waiting(uint32_t s)
{
	return s == WEFT__WAITING || s == WEFT__SLEEPING;
}

/*
 * The one way out of WAITING/SLEEPING: move w to `to` (WOKEN, TIMEDOUT,
 * CANCELED) with a CAS. true if this call did it (*old, if not NULL, gets
 * the state it left); false if another party got there first.
 */
static inline bool weft__waiter_settle(struct weft__waiter *w, uint32_t to,
				       uint32_t *old)
{
	uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);

	while (weft__waiting(s)) {
		if (atomic_compare_exchange_weak_explicit(
			    &w->state, &s, to, memory_order_acq_rel,
			    memory_order_acquire)) {
			if (old)
				*old = s;
			return true;
		}
	}
	return false;
}

/*
 * weft's one spinlock (wait lists, the scheduler's deques, a coroutine's
 * record): for critical sections of a few loads. Spins, then yields
 * (weft__yield: a preempted holder on 2 cores, or a coroutine of the same
 * loop, gets to run).
 */
void weft__spin_lock(_Atomic uint32_t *lock);
static inline void weft__spin_unlock(_Atomic uint32_t *lock)
{
	atomic_store_explicit(lock, 0, memory_order_release);
}

/* Prepare a waiter on the caller's stack for one park. */
void weft__waiter_init(struct weft__waiter *w);

/* The wait list's own lock (weft__spin_lock). */
static inline void weft__waitlist_lock(struct weft__waitlist *wl)
{
	weft__spin_lock(&wl->lock);
}
static inline void weft__waitlist_unlock(struct weft__waitlist *wl)
{
	weft__spin_unlock(&wl->lock);
}

/* Append w (list locked). nwaiters++ is a seq_cst RMW: see queue.c. */
void weft__waitlist_push_locked(struct weft__waitlist *wl,
				struct weft__waiter *w);
/* Lock, append, unlock. */
void weft__waitlist_push(struct weft__waitlist *wl, struct weft__waiter *w);

/*
 * Withdraw a waiter that decided not to park after all (it re-checked its
 * condition and found it true). If a waker popped it meanwhile, that wake
 * was delivered to it: the caller is about to retry anyway (a coroutine
 * first takes the kick that wake owes it, so it is never resumed later).
 */
void weft__waitlist_remove(struct weft__waitlist *wl, struct weft__waiter *w);

/*
 * Park w (already pushed on its list) until woken or deadline. Returns 0
 * (woken: re-check), -ETIMEDOUT (w is off the list again) or -ECANCELED.
 */
int weft__park(struct weft__waiter *w, int64_t deadline);

/*
 * Pop waiters until one accepts the wake (list locked). Returns true and
 * fills *k if one did; the caller unlocks and then calls weft__kick(k).
 */
bool weft__wake_one_locked(struct weft__waitlist *wl, struct weft__kick *k);
void weft__kick(const struct weft__kick *k);

/*
 * Pop the waiter a wake goes to, if any (one load when the list is empty),
 * and fill *k without kicking it: for a waker that holds another lock and
 * delivers the kick (weft__kick) once that lock is dropped.
 */
bool weft__wake_one_deferred(struct weft__waitlist *wl, struct weft__kick *k);

/* Wake one waiter if any (fast: one load when the list is empty). */
bool weft__wake_one(struct weft__waitlist *wl);

/* Wake every waiter present when called. Returns how many were woken. */
int weft__wake_all(struct weft__waitlist *wl);

/* Number of linked waiters: a seq_cst load, the "anyone asleep?" flag. */
static inline uint32_t weft__waitlist_count(struct weft__waitlist *wl)
{
	return atomic_load(&wl->nwaiters);
}

/* A CPU relax hint for spin loops. */
static inline void weft__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/*
 * Give the CPU away for a moment without parking: the one place weft does
 * (a thread yields to the kernel; a coroutine to its loop's other
 * coroutines). Primitives never yield by any other way.
 */
void weft__yield(void);

/*
 * Backoff before parking, the same shape everywhere: `spins` tries with a
 * pause between them, then `yields` tries with weft__yield() between them,
 * then the caller parks. Waiting for someone in flight who will not wake
 * us (a claimed slot being published, a lock holder) uses steps past the
 * budget: weft__backoff_wait() keeps yielding.
 *
 *	struct weft__backoff b = WEFT__BACKOFF(32, 16);
 *	while (weft__backoff(&b))
 *		if (try()) return 0;
 *	park...
 */
struct weft__backoff {
	uint32_t i, spins, yields;
};
#define WEFT__BACKOFF(spins, yields) \
	((struct weft__backoff){ 0, (spins), (yields) })

/*
 * One pause or yield; false (and nothing done) once the budget is spent.
 * A coroutine skips the pauses: what it waits for is mostly another
 * coroutine of its own loop, which runs only once it yields.
 */
static inline bool weft__backoff(struct weft__backoff *b)
{
	if (b->i == 0 && b->spins && weft__park_ops_current)
		b->i = b->spins; /* checked once per backoff, not per step */
	if (b->i < b->spins)
		weft__cpu_relax();
	else if (b->i - b->spins < b->yields)
		weft__yield();
	else
		return false;
	b->i++;
	return true;
}

/* True while still in the pause phase (no yield taken yet). */
static inline bool weft__backoff_spinning(const struct weft__backoff *b)
{
	return b->i < b->spins;
}

/* The next step is a yield (callers time or announce it). */
static inline bool weft__backoff_yielding(const struct weft__backoff *b)
{
	return b->i >= b->spins && b->i - b->spins < b->yields;
}

/* At least one yield has been taken. */
static inline bool weft__backoff_yielded(const struct weft__backoff *b)
{
	return b->i > b->spins;
}

/* Steps (pauses and yields) taken so far. */
static inline uint32_t weft__backoff_steps(const struct weft__backoff *b)
{
	return b->i;
}

/*
 * Wait for a peer in flight (never parks): pause, and every `every`-th
 * step yield, however long it takes.
 */
static inline void weft__backoff_wait(struct weft__backoff *b, uint32_t every)
{
	if (++b->i % every == 0)
		weft__yield();
	else
		weft__cpu_relax();
}

/*
 * Wait until one of `fds` is ready or the deadline passes: poll()'s
 * contract (revents filled in) with a weft deadline. Returns the number of
 * ready entries (> 0), -ETIMEDOUT, or -errno (-EINVAL, -ENOMEM); EINTR is
 * retried. The one way weft waits for an fd (a pipe, a pidfd, a socket): a
 * thread blocks in ppoll(); a coroutine parks on its loop's epoll instead
 * (then also -ECANCELED, -EBUSY: see weft/loop.h). A coroutine's readiness
 * may be stale by the time it runs, as with any poll: read until EAGAIN.
 */
int weft__fd_wait(struct pollfd *fds, unsigned n, int64_t deadline);

/*
 * Test hook: waiters now asleep (a thread in FUTEX_WAIT, a coroutine
 * suspended in a wait).
 * Tests wait for this to reach a count before they wake, so the slow path
 * they claim to test is really taken. Counted only after
 * weft__park_count_sleepers() (a test calls it before any thread parks);
 * otherwise the sleeping path reads one flag and counts nothing.
 */
void weft__park_count_sleepers(void);
uint32_t weft__park_sleepers(void);
/* A suspended coroutine counts as a sleeper too: its runtime says so. */
void weft__park_note_sleeper(int delta);

#endif /* WEFT_PARK_H */
