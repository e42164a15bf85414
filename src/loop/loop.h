/*
 * loop.h — one event loop per thread (private): epoll, timers, an
 * fd table, and the cross-thread inbox.
 *
 * The loop knows nothing of coroutines. It offers three sources of events
 * to the scheduler above it (src/coro), all handled on the loop's own
 * thread:
 *   timers   weft__timer_arm / _disarm (timer.c): fire() runs once the
 *            loop's cached clock has reached the deadline, so never early;
 *            ties fire in arming order.
 *   fds      weft__loop_fd_arm(fd, events, rec): rec->ready(rec, revents)
 *            runs when epoll reports fd. Registrations are EPOLLONESHOT and
 *            re-armed per wait (MOD, then ADD if the kernel forgot the fd
 *            because it was closed), so a closed and reused fd number can
 *            never leave a stale registration behind.
 *   inbox    weft__loop_post(loop, node) from any thread: a lock-free MPSC
 *            list (Treiber push; the loop takes the whole list at once and
 *            reverses it, so there is no ABA). The poster writes the
 *            loop's eventfd only if the loop sleeps or is about to, and
 *            only once until the loop has woken: one eventfd write per
 *            loop iteration at most; the wake may be coalesced, the work
 *            never.
 * io_uring can replace epoll behind weft__loop_fd_arm and
 * weft__loop_poll without the scheduler noticing.
 */
#ifndef WEFT_LOOP_LOOP_H
#define WEFT_LOOP_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct weft__timer {
	uint32_t idx; /* where it is armed (timer.c); UINT32_MAX: not armed */
	void (*fire)(struct weft__timer *t);
};

/* A timer's place: its key (deadline, arming order) and the timer. */
struct weft__timer_slot {
	int64_t when;
	uint64_t seq; /* arming order: ties fire first-armed first */
	struct weft__timer *t;
};

/*
 * A run: a ring of slots whose deadlines never decrease in arming order
 * (t == NULL: disarmed). timer.c keeps a few, and a 4-ary heap.
 */
struct weft__timer_run {
	struct weft__timer_slot *slot;
	uint32_t head, len, cap, dead;
};

#define WEFT__TIMER_RUNS 4

struct weft__timers {
	struct weft__timer_run run[WEFT__TIMER_RUNS];
	struct weft__timer_slot *heap;
	uint32_t nheap, capheap;
	uint64_t seq;
};

/* A wait on one fd: ready() runs on the loop thread with epoll's events. */
struct weft__fdrec {
	void (*ready)(struct weft__fdrec *r, uint32_t revents);
};

struct weft__inbox_node {
	struct weft__inbox_node *next;
};

struct weft__fdslot {
	struct weft__fdrec *rd, *wr; /* who waits to read / to write */
	uint32_t rd_ev, wr_ev;	     /* the epoll events each asked for */
};

struct weft__loop {
	int epfd, evfd;
	int64_t now; /* the cached clock, read once per iteration */
	/* the inbox */
	_Atomic(struct weft__inbox_node *) inbox;
	_Atomic uint32_t sleeping; /* in epoll_wait or about to be */
	_Atomic uint32_t notified; /* an eventfd write is pending */
	_Atomic uint32_t posting;  /* posters inside weft__loop_post */
	struct weft__timers timers;
	/* fds */
	struct weft__fdslot *fds;
	uint32_t nfds;	   /* table size */
	uint32_t fd_waits; /* armed records: epoll worth asking when busy */
};

int weft__loop_init(struct weft__loop *l);
void weft__loop_destroy(struct weft__loop *l);

/* The cached clock (weft__loop_poll refreshes it). */
static inline int64_t weft__loop_now(const struct weft__loop *l)
{
	return l->now;
}

/* ---- timers (loop thread only) ---- */

static inline void weft__timer_init(struct weft__timer *t,
				    void (*fire)(struct weft__timer *))
{
	t->idx = UINT32_MAX;
	t->fire = fire;
}
static inline bool weft__timer_armed(const struct weft__timer *t)
{
	return t->idx != UINT32_MAX;
}
/* 0 or -ENOMEM (the heap could not grow). */
int weft__timer_arm(struct weft__loop *l, struct weft__timer *t, int64_t when);
void weft__timer_disarm(struct weft__loop *l, struct weft__timer *t);
/* Deadline of the next timer, or -1 if none. */
int64_t weft__loop_next_timer(const struct weft__loop *l);
/* For the loop: any timer armed; fire the due ones; free it all. */
static inline bool weft__timers_any(const struct weft__loop *l)
{
	const struct weft__timers *ts = &l->timers;
	uint32_t n = ts->nheap;

	for (int i = 0; i < WEFT__TIMER_RUNS; i++)
		n |= ts->run[i].len;
	return n != 0;
}
void weft__timers_fire(struct weft__loop *l);
void weft__timers_free(struct weft__loop *l);

/* ---- fds (loop thread only) ---- */

/*
 * Wait for `events` (EPOLLIN and/or EPOLLOUT) on fd with rec: 0, -EBUSY
 * (someone on this loop already waits for that direction), -EBADF,
 * -ENOMEM, or epoll's error (-EPERM for a regular file). The record stays
 * until it fires (then it is disarmed before ready() runs) or
 * weft__loop_fd_disarm.
 */
int weft__loop_fd_arm(struct weft__loop *l, int fd, uint32_t events,
		      struct weft__fdrec *rec);
void weft__loop_fd_disarm(struct weft__loop *l, int fd,
			  struct weft__fdrec *rec);

/* ---- the inbox ---- */

/*
 * From any thread. The loop may finish the posted work (and its owner
 * return from weft_run) before the poster has left this call, so the
 * poster counts itself in `posting` before the node is visible, and
 * weft__loop_destroy waits for the count to drop to 0.
 */
void weft__loop_post(struct weft__loop *l, struct weft__inbox_node *n);
/* Wake the loop if it sleeps (any thread; coalesced). */
void weft__loop_notify(struct weft__loop *l);
/* Loop thread: take everything posted so far, in posting order. */
struct weft__inbox_node *weft__loop_take(struct weft__loop *l);
static inline bool weft__loop_inbox_empty(struct weft__loop *l)
{
	return atomic_load(&l->inbox) == NULL;
}

/*
 * One poll: refresh the clock, fire due timers, run ready fd records.
 * With `block`, sleep until an event, a post or the next timer if nothing
 * is due — unless `idle_check` (called after the loop has announced it
 * sleeps, so a concurrent post either sees that or is seen by it) says
 * there is work. Returns -errno from epoll_wait (never EINTR) or 0.
 */
int weft__loop_poll(struct weft__loop *l, bool block,
		    bool (*idle_check)(void *), void *arg);

#endif /* WEFT_LOOP_LOOP_H */
