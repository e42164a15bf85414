/*
 * park.c — park/wake: wait lists and the thread (futex) waiter.
 *
 * See park.h for the protocol. This file is the only place in weft that
 * calls futex(), and the only place that decides how a waiter waits.
 */
#include "park/park.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <linux/futex.h>
#include <sched.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "weft/base.h"

_Thread_local const struct weft__park_ops *weft__park_ops_current;
_Thread_local void *weft__park_ctx_current;

/* Spins of the thread waiter on its state word before FUTEX_WAIT. */
#define PARK_SPINS 64
/* Spins on the list lock before yielding the CPU to the holder. */
#define LOCK_SPINS 128
/* Wakes collected under the lock per round by weft__wake_all(). */
#define WAKE_BATCH 32

/* ---- the thread waiter: futex ---- */

static int futex_wait_abs(_Atomic uint32_t *addr, uint32_t val,
			  int64_t deadline)
{
	struct timespec ts, *tsp = NULL;

	if (!weft__forever(deadline)) {
		/* Never negative: weft__park() returned before on a past one. */
		ts = weft__timespec(deadline > 0 ? deadline : 0);
		tsp = &ts;
	}
	/*
	 * FUTEX_WAIT_BITSET takes an absolute timeout, on CLOCK_MONOTONIC
	 * unless FUTEX_CLOCK_REALTIME is given: exactly weft's deadlines.
	 */
	if (syscall(SYS_futex, addr, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
		    val, tsp, NULL, FUTEX_BITSET_MATCH_ANY) < 0)
		return -errno;
	return 0;
}

static void futex_wake_one(_Atomic uint32_t *addr)
{
	/*
	 * The address may belong to a waiter that already left (it saw WOKEN
	 * while we were on our way here): FUTEX_WAKE only hashes the address,
	 * and at worst wakes a later waiter spuriously, which re-checks.
	 */
	syscall(SYS_futex, addr, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL, NULL,
		0);
}

/*
 * The test hook's count, kept only once a test asked for it: a counter
 * every sleeping thread bumps is a line all cores fight over (measured:
 * 1 -> 1 queue items 30% slower), so production code reads only the flag,
 * a line nobody writes.
 */
static _Atomic bool count_sleepers;
static _Atomic uint32_t sleepers;

void weft__park_count_sleepers(void)
{
	atomic_store(&count_sleepers, true);
}

void weft__park_note_sleeper(int delta)
{
	if (atomic_load_explicit(&count_sleepers, memory_order_relaxed))
		atomic_fetch_add_explicit(&sleepers, (uint32_t)delta,
					  memory_order_relaxed);
}

uint32_t weft__park_sleepers(void)
{
	return atomic_load_explicit(&sleepers, memory_order_relaxed);
}

static void thread_wait(struct weft__waiter *w, int64_t deadline)
{
	uint32_t s;
	bool counted;

	for (int i = 0; i < PARK_SPINS; i++) {
		if (!weft__waiting(atomic_load_explicit(&w->state,
							memory_order_acquire)))
			return;
		weft__cpu_relax();
	}
	s = WEFT__WAITING;
	if (!atomic_compare_exchange_strong(&w->state, &s, WEFT__SLEEPING) &&
	    s != WEFT__SLEEPING)
		return; /* woken (or cancelled) while we spun */
	counted = atomic_load_explicit(&count_sleepers, memory_order_relaxed);
	if (counted)
		atomic_fetch_add_explicit(&sleepers, 1, memory_order_relaxed);
	for (;;) {
		int rc = futex_wait_abs(&w->state, WEFT__SLEEPING, deadline);

		if (atomic_load_explicit(&w->state, memory_order_acquire) !=
		    WEFT__SLEEPING)
			break;
		if (rc == -ETIMEDOUT || weft__expired(deadline))
			break;
		/* EINTR, EAGAIN or a stale kick: wait again. */
	}
	if (counted)
		atomic_fetch_sub_explicit(&sleepers, 1, memory_order_relaxed);
}

static void thread_kick(_Atomic uint32_t *state, uint32_t old, void *ctx)
{
	(void)ctx;
	if (old == WEFT__SLEEPING)
		futex_wake_one(state);
}

static const struct weft__park_ops thread_ops = {
	.wait = thread_wait,
	.kick = thread_kick,
};

void weft__yield(void)
{
	const struct weft__park_ops *ops = weft__park_ops_current;

	if (ops)
		ops->yield(weft__park_ctx_current);
	else
		sched_yield();
}

/* ---- fds ---- */

int weft__fd_wait(struct pollfd *fds, unsigned n, int64_t deadline)
{
	const struct weft__park_ops *ops = weft__park_ops_current;

	if (ops)
		return ops->fd_wait(weft__park_ctx_current, fds, n, deadline);
	for (;;) {
		int64_t left = weft__left(deadline);
		struct timespec ts = weft__timespec(left);
		int r = ppoll(fds, n, weft__forever(deadline) ? NULL : &ts,
			      NULL);

		if (r > 0)
			return r;
		if (r == 0) {
			/* ppoll may round down: only the clock says expired. */
			if (weft__expired(deadline))
				return -ETIMEDOUT;
			continue;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/* ---- waiters and lists ---- */

void weft__waiter_init(struct weft__waiter *w)
{
	w->next = w->prev = NULL;
	w->list = w->home = NULL;
	w->ops = weft__park_ops_current;
	w->ctx = weft__park_ctx_current;
	w->shielded = false;
	atomic_init(&w->state, WEFT__WAITING);
}

void weft__spin_lock(_Atomic uint32_t *lock)
{
	for (;;) {
		for (int i = 0; i < LOCK_SPINS; i++) {
			if (!atomic_load_explicit(lock, memory_order_relaxed) &&
			    !atomic_exchange_explicit(lock, 1,
						      memory_order_acquire))
				return;
			weft__cpu_relax();
		}
		/* The holder was preempted: on 2 cores, let it run. */
		weft__yield();
	}
}

void weft__waitlist_push_locked(struct weft__waitlist *wl,
				struct weft__waiter *w)
{
	w->list = w->home = wl;
	w->next = NULL;
	w->prev = wl->tail;
	if (wl->tail)
		wl->tail->next = w;
	else
		wl->head = w;
	wl->tail = w;
	/* seq_cst RMW: orders this registration before the caller's re-check. */
	atomic_fetch_add(&wl->nwaiters, 1);
}

void weft__waitlist_push(struct weft__waitlist *wl, struct weft__waiter *w)
{
	weft__waitlist_lock(wl);
	weft__waitlist_push_locked(wl, w);
	weft__waitlist_unlock(wl);
}

static void unlink_locked(struct weft__waitlist *wl, struct weft__waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		wl->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		wl->tail = w->prev;
	w->next = w->prev = NULL;
	w->list = NULL;
	atomic_fetch_sub(&wl->nwaiters, 1);
}

void weft__waitlist_remove(struct weft__waitlist *wl, struct weft__waiter *w)
{
	weft__waitlist_lock(wl);
	if (w->list == wl)
		unlink_locked(wl, w);
	weft__waitlist_unlock(wl);
	/*
	 * A waker popped w first and won its CAS: it kicks. A thread's kick
	 * is a harmless futex wake, but a coroutine's makes it runnable, so
	 * a coroutine takes that kick now (a suspend that returns at once)
	 * instead of being resumed by it later, when it has moved on.
	 */
	if (w->ops && atomic_load_explicit(&w->state, memory_order_acquire) ==
			      WEFT__WOKEN)
		w->ops->wait(w, WEFT_FOREVER);
}

bool weft__wake_one_locked(struct weft__waitlist *wl, struct weft__kick *k)
{
	struct weft__waiter *w;

	while ((w = wl->head)) {
		unlink_locked(wl, w);
		/*
		 * Read everything the kick needs before the CAS: once the
		 * state says WOKEN a thread waiter may return and reuse
		 * its stack at once, without taking the list lock.
		 */
		k->state = &w->state;
		k->ops = w->ops;
		k->ctx = w->ctx;
		if (weft__waiter_settle(w, WEFT__WOKEN, &k->old))
			return true;
		/* It timed out or was cancelled: it is leaving, try the next. */
	}
	return false;
}

void weft__kick(const struct weft__kick *k)
{
	if (k->ops)
		k->ops->kick(k->state, k->old, k->ctx);
	else
		thread_kick(k->state, k->old, k->ctx);
}

bool weft__wake_one_deferred(struct weft__waitlist *wl, struct weft__kick *k)
{
	bool woke;

	if (!atomic_load(&wl->nwaiters))
		return false;
	weft__waitlist_lock(wl);
	woke = weft__wake_one_locked(wl, k);
	weft__waitlist_unlock(wl);
	return woke;
}

bool weft__wake_one(struct weft__waitlist *wl)
{
	struct weft__kick k;

	if (!weft__wake_one_deferred(wl, &k))
		return false;
	weft__kick(&k);
	return true;
}

int weft__wake_all(struct weft__waitlist *wl)
{
	struct weft__kick k[WAKE_BATCH];
	int n, total = 0;
	uint32_t left;

	if (!atomic_load(&wl->nwaiters))
		return 0;
	weft__waitlist_lock(wl);
	/* Only those present now: newcomers re-check and see the change. */
	left = atomic_load_explicit(&wl->nwaiters, memory_order_relaxed);
	for (;;) {
		n = 0;
		while (left && n < WAKE_BATCH && wl->head) {
			left--;
			if (weft__wake_one_locked(wl, &k[n]))
				n++;
		}
		weft__waitlist_unlock(wl);
		for (int i = 0; i < n; i++)
			weft__kick(&k[i]);
		total += n;
		if (!left || n < WAKE_BATCH)
			return total;
		weft__waitlist_lock(wl);
	}
}

int weft__park(struct weft__waiter *w, int64_t deadline)
{
	const struct weft__park_ops *ops = &thread_ops;
	uint32_t s;

	if (w->ops) {
		/* A coroutine: its wait returns with the state final. */
		w->ops->wait(w, deadline);
		s = atomic_load_explicit(&w->state, memory_order_acquire);
		if (s == WEFT__WOKEN)
			return 0;
		goto unlink;
	}
	for (;;) {
		s = atomic_load_explicit(&w->state, memory_order_acquire);
		if (s == WEFT__WOKEN)
			return 0;
		if (s == WEFT__CANCELED)
			goto unlink;
		if (weft__expired(deadline)) {
			/* The deadline race, decided once: our CAS or the waker's. */
			if (weft__waiter_settle(w, WEFT__TIMEDOUT, NULL)) {
				s = WEFT__TIMEDOUT;
				goto unlink;
			}
			continue; /* woken or cancelled after all */
		}
		ops->wait(w, deadline);
	}
unlink:
	/* No waker will touch w again; take it off the list if still on. */
	if (w->home)
		weft__waitlist_remove(w->home, w);
	return s == WEFT__CANCELED ? -ECANCELED : -ETIMEDOUT;
}
