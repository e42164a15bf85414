/*
 * loop.c — the per-thread event loop: epoll, fd table, inbox, and the
 * poll that runs them and the timers (timer.c). See loop.h for the
 * contract.
 */
#include "loop/loop.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "park/park.h"
#include "weft/base.h"

/* epoll events taken per epoll_wait. */
#define EVENTS_MAX 256
/* epoll_event.data of the eventfd: never a valid fd. */
#define EVFD_TAG UINT64_MAX

int weft__loop_init(struct weft__loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EVFD_TAG };

	memset(l, 0, sizeof(*l));
	atomic_init(&l->inbox, NULL);
	atomic_init(&l->sleeping, 0);
	atomic_init(&l->notified, 0);
	atomic_init(&l->posting, 0);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->evfd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev)) {
		int rc = -errno;

		if (l->evfd >= 0)
			close(l->evfd);
		close(l->epfd);
		return rc;
	}
	l->now = weft_now();
	return 0;
}

void weft__loop_destroy(struct weft__loop *l)
{
	/* A poster from another thread may still be on its way out. */
	while (atomic_load(&l->posting))
		weft__yield();
	close(l->evfd);
	close(l->epfd);
	weft__timers_free(l);
	free(l->fds);
	l->fds = NULL;
}

/* ---- fds ---- */

static int fd_slot(struct weft__loop *l, int fd, struct weft__fdslot **sp)
{
	if (fd < 0)
		return -EBADF;
	if ((uint32_t)fd >= l->nfds) {
		uint32_t n = l->nfds ? l->nfds : 64;
		struct weft__fdslot *s;

		while (n <= (uint32_t)fd)
			n *= 2;
		s = realloc(l->fds, n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		memset(s + l->nfds, 0, (n - l->nfds) * sizeof(*s));
		l->fds = s;
		l->nfds = n;
	}
	*sp = &l->fds[fd];
	return 0;
}

static int rearm(struct weft__loop *l, int fd, struct weft__fdslot *s)
{
	struct epoll_event ev = {
		.events = EPOLLONESHOT | (s->rd ? s->rd_ev : 0) |
			  (s->wr ? s->wr_ev : 0),
		.data.u64 = (uint64_t)fd,
	};

	if (!(ev.events & ~EPOLLONESHOT))
		return 0; /* nobody waits: leave it disarmed (one-shot) */
	if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
		return 0;
	if (errno == ENOENT && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		return 0;
	return -errno;
}

int weft__loop_fd_arm(struct weft__loop *l, int fd, uint32_t events,
		      struct weft__fdrec *rec)
{
	struct weft__fdslot *s;
	bool rd = events & EPOLLIN, wr = events & EPOLLOUT;
	int rc = fd_slot(l, fd, &s);

	if (rc)
		return rc;
	if ((rd && s->rd) || (wr && s->wr) || (!rd && !wr))
		return (!rd && !wr) ? -EINVAL : -EBUSY;
	if (rd) {
		s->rd = rec;
		s->rd_ev = events | EPOLLRDHUP;
	}
	if (wr) {
		s->wr = rec;
		s->wr_ev = events;
	}
	rc = rearm(l, fd, s);
	if (rc) {
		if (rd)
			s->rd = NULL;
		if (wr)
			s->wr = NULL;
		return rc;
	}
	l->fd_waits++;
	return 0;
}

void weft__loop_fd_disarm(struct weft__loop *l, int fd, struct weft__fdrec *rec)
{
	struct weft__fdslot *s;
	bool had = false;

	if (fd < 0 || (uint32_t)fd >= l->nfds)
		return;
	s = &l->fds[fd];
	if (s->rd == rec) {
		s->rd = NULL;
		had = true;
	}
	if (s->wr == rec) {
		s->wr = NULL;
		had = true;
	}
	if (!had)
		return;
	l->fd_waits--;
	/*
	 * The other direction may still wait: re-arm for it alone. An armed
	 * one-shot left for nobody is harmless: its event finds no record.
	 */
	if (s->rd || s->wr)
		rearm(l, fd, s);
}

static void fd_event(struct weft__loop *l, int fd, uint32_t ev)
{
	struct weft__fdslot *s;
	struct weft__fdrec *rd = NULL, *wr = NULL;
	const uint32_t any = EPOLLERR | EPOLLHUP;

	if ((uint32_t)fd >= l->nfds)
		return;
	s = &l->fds[fd];
	if (s->rd && (ev & (EPOLLIN | EPOLLRDHUP | EPOLLPRI | any))) {
		rd = s->rd;
		s->rd = NULL;
		l->fd_waits--;
	}
	if (s->wr && (ev & (EPOLLOUT | any))) {
		wr = s->wr;
		s->wr = NULL;
		if (wr != rd)
			l->fd_waits--;
	}
	/* One-shot: whoever still waits needs the fd armed again. */
	if (s->rd || s->wr)
		rearm(l, fd, s);
	if (rd)
		rd->ready(rd, ev);
	if (wr && wr != rd)
		wr->ready(wr, ev);
}

/* ---- the inbox ---- */

void weft__loop_notify(struct weft__loop *l)
{
	uint64_t one = 1;

	/* seq_cst: the post before this load, against the loop's store. */
	if (atomic_load(&l->sleeping) && !atomic_exchange(&l->notified, 1)) {
		ssize_t r = write(l->evfd, &one, sizeof(one));

		(void)r; /* EAGAIN: the counter is full, a wake is pending */
	}
}

void weft__loop_post(struct weft__loop *l, struct weft__inbox_node *n)
{
	struct weft__inbox_node *head;

	atomic_fetch_add(&l->posting, 1); /* before n is visible */
	head = atomic_load_explicit(&l->inbox, memory_order_relaxed);
	do
		n->next = head;
	while (!atomic_compare_exchange_weak(&l->inbox, &head, n));
	weft__loop_notify(l);
	atomic_fetch_sub_explicit(&l->posting, 1, memory_order_release);
}

struct weft__inbox_node *weft__loop_take(struct weft__loop *l)
{
	struct weft__inbox_node *n, *rev = NULL, *next;

	if (!atomic_load_explicit(&l->inbox, memory_order_relaxed))
		return NULL;
	n = atomic_exchange_explicit(&l->inbox, NULL, memory_order_acquire);
	for (; n; n = next) {
		next = n->next;
		n->next = rev;
		rev = n;
	}
	return rev;
}

/* ---- polling ---- */

/*
 * epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11): a
 * millisecond timeout would round every 1 ms sleep up to 2. Older kernels
 * get epoll_wait with the timeout rounded up, never down.
 */
static int epoll_wait_ns(int epfd, struct epoll_event *evs, int n,
			 int64_t timeout)
{
	static _Atomic bool no_pwait2;
	int64_t ms;

	if (!atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
		struct timespec ts = { timeout / WEFT_SEC, timeout % WEFT_SEC };
		int r = epoll_pwait2(epfd, evs, n, timeout < 0 ? NULL : &ts,
				     NULL);

		if (r >= 0 || errno != ENOSYS)
			return r;
		atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
	}
	if (timeout < 0)
		return epoll_wait(epfd, evs, n, -1);
	ms = (timeout + WEFT_MSEC - 1) / WEFT_MSEC;
	return epoll_wait(epfd, evs, n, ms > INT_MAX ? INT_MAX : (int)ms);
}

int weft__loop_poll(struct weft__loop *l, bool block,
		    bool (*idle_check)(void *), void *arg)
{
	struct epoll_event evs[EVENTS_MAX];
	int64_t timeout = 0; /* ns; -1 forever */
	int n;

	/* The clock is read only when a timer or a sleep needs it. */
	if (weft__timers_any(l) || block) {
		l->now = weft_now();
		weft__timers_fire(l);
	}
	if (block) {
		int64_t next = weft__loop_next_timer(l);

		/* Announce the sleep, then look once more (Dekker pair). */
		atomic_store(&l->sleeping, 1);
		if (idle_check && idle_check(arg)) {
			block = false;
		} else if (next >= 0) {
			timeout = next > l->now ? next - l->now : 0;
		} else {
			timeout = -1;
		}
		if (!block)
			timeout = 0;
	}
	if (!block && !l->fd_waits) {
		atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
		return 0; /* nothing epoll could tell us */
	}
	n = epoll_wait_ns(l->epfd, evs, EVENTS_MAX, timeout);
	atomic_store_explicit(&l->sleeping, 0, memory_order_relaxed);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	if (n || weft__timers_any(l))
		l->now = weft_now();
	for (int i = 0; i < n; i++) {
		if (evs[i].data.u64 == EVFD_TAG) {
			uint64_t v;

			if (read(l->evfd, &v, sizeof(v)) < 0) {
				/* EAGAIN: already drained */
			}
			atomic_store(&l->notified, 0);
			continue;
		}
		fd_event(l, (int)evs[i].data.u64, evs[i].events);
	}
	weft__timers_fire(l);
	return 0;
}
