/*
 * coro.c — a coroutine's life: spawn, park and wake, cancellation, sleep,
 * yield, fd waits on the loop, and weft_to_thread.
 *
 * The park hooks are the whole of "park learns coroutines": a coroutine
 * waiter waits by arming its deadline timer and switching to the
 * scheduler, and is resumed only by the one party that won the CAS on its
 * state (park.h). Here are the three parties a coroutine adds beside
 * wakers: its deadline timer (TIMEDOUT), an fd record (WOKEN) and a
 * canceller (CANCELED).
 */
#include "coro/sched.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "weft/base.h"

/* ---- park hooks ---- */

static void timer_fired(struct weft__timer *t)
{
	struct weft__coro *c =
		(struct weft__coro *)((char *)t -
				      offsetof(struct weft__coro, timer));

	/* Lost the race to a waker or canceller: they make c runnable. */
	if (c->waiter && weft__waiter_settle(c->waiter, WEFT__TIMEDOUT, NULL))
		weft__coro_ready(c);
}

/*
 * The coroutine's whole park (weft__park delegates here): returns once
 * w's state is final, and never while a kick is owed. Either this call
 * settles the state itself (deadline already past, cancelled, no memory
 * for the timer), and nobody will kick; or somebody else wins the CAS and
 * makes c runnable exactly once, which the one suspend below consumes —
 * also when they won before c even got here.
 */
static void coro_wait(struct weft__waiter *w, int64_t deadline)
{
	struct weft__coro *c = w->ctx;

	/*
	 * The loop's cached clock is never ahead of the real one: a deadline
	 * it shows expired is; one that passed since is the timer's to fire,
	 * on the loop's next poll. One clock read fewer per wait.
	 */
	if (weft__expired_at(deadline, weft__loop_now(&c->sched->loop))) {
		if (weft__waiter_settle(w, WEFT__TIMEDOUT, NULL))
			return;
		weft__coro_suspend(c); /* woken meanwhile: take its kick */
		return;
	}
	weft__spin_lock(&c->lock);
	if (!w->shielded &&
	    atomic_load_explicit(&c->cancelled, memory_order_relaxed)) {
		bool mine = weft__waiter_settle(w, WEFT__CANCELED, NULL);

		weft__spin_unlock(&c->lock);
		if (!mine)
			weft__coro_suspend(c);
		return;
	}
	c->waiter = w;
	weft__spin_unlock(&c->lock);
	if (!weft__forever(deadline) &&
	    weft__timer_arm(&c->sched->loop, &c->timer, deadline) &&
	    weft__waiter_settle(w, WEFT__TIMEDOUT, NULL)) {
		/* No memory for the timer: time out now rather than hang. */
	} else {
		weft__park_note_sleeper(1);
		weft__coro_suspend(c);
		weft__park_note_sleeper(-1);
	}
	weft__timer_disarm(&c->sched->loop, &c->timer);
	weft__spin_lock(&c->lock);
	c->waiter = NULL;
	weft__spin_unlock(&c->lock);
}

static void coro_kick(_Atomic uint32_t *state, uint32_t old, void *ctx)
{
	(void)state;
	(void)old;
	weft__coro_ready(ctx);
}

static void coro_yield(void *ctx)
{
	weft__coro_yield(ctx);
}

void weft__coro_cancel(struct weft__coro *c)
{
	bool won = false;

	weft__spin_lock(&c->lock);
	atomic_store(&c->cancelled, true);
	if (c->waiter && !c->waiter->shielded)
		won = weft__waiter_settle(c->waiter, WEFT__CANCELED, NULL);
	weft__spin_unlock(&c->lock);
	/* c cannot resume before this: nobody else won its waiter. */
	if (won)
		weft__coro_ready(c);
}

/* One fd of a coroutine's fd wait, on its loop's fd table. */
struct fdwait {
	struct weft__fdrec rec;
	struct weft__waiter *w;
	struct weft__coro *c;
	struct pollfd *pfd;
	bool armed;
};

static void fd_ready(struct weft__fdrec *r, uint32_t ev)
{
	struct fdwait *fw = (struct fdwait *)r;
	short want = fw->pfd->events | POLLERR | POLLHUP;

	fw->armed = false;
	/* epoll's bits are poll's on Linux (EPOLLIN == POLLIN, ...). */
	fw->pfd->revents |= (short)(ev & (uint32_t)(unsigned short)want);
	if (fw->pfd->revents == 0)
		fw->pfd->revents = POLLERR;
	if (weft__waiter_settle(fw->w, WEFT__WOKEN, NULL))
		weft__coro_ready(fw->c);
}

#define FDWAIT_STACK 8

static int coro_fd_wait(void *ctx, struct pollfd *fds, unsigned n,
			int64_t deadline)
{
	struct weft__coro *c = ctx;
	struct weft__loop *l = &c->sched->loop;
	struct fdwait local[FDWAIT_STACK], *fw = local;
	struct weft__waiter w;
	int rc = 0, ready = 0;

	if (weft__expired(deadline) || n == 0) {
		/* A poll: look once, as a thread would. */
		int r = poll(fds, n, 0);

		if (r < 0)
			return -errno;
		return r > 0 ? r : -ETIMEDOUT;
	}
	if (n > FDWAIT_STACK) {
		fw = calloc(n, sizeof(*fw));
		if (!fw)
			return -ENOMEM;
	}
	weft__waiter_init(&w);
	for (unsigned i = 0; i < n; i++) {
		uint32_t ev = 0;
		int r;

		fds[i].revents = 0;
		fw[i] = (struct fdwait){ { fd_ready }, &w, c, &fds[i], false };
		if (fds[i].fd < 0)
			continue;
		if (fds[i].events & (POLLIN | POLLPRI | POLLRDHUP))
			ev |= EPOLLIN;
		if (fds[i].events & POLLOUT)
			ev |= EPOLLOUT;
		if (!ev)
			ev = EPOLLIN; /* errors and hang-ups only: as poll */
		r = weft__loop_fd_arm(l, fds[i].fd, ev, &fw[i].rec);
		if (r == 0) {
			fw[i].armed = true;
		} else if (r == -EBADF || r == -EPERM) {
			/* poll's answers: not an fd; a file is always ready. */
			fds[i].revents = r == -EBADF ? POLLNVAL
						     : (fds[i].events &
							(POLLIN | POLLOUT));
			ready++;
		} else {
			rc = r; /* -EBUSY, -ENOMEM */
			break;
		}
	}
	if (!rc && !ready)
		rc = weft__park(&w, deadline);
	for (unsigned i = 0; i < n; i++)
		if (fw[i].armed)
			weft__loop_fd_disarm(l, fds[i].fd, &fw[i].rec);
	if (fw != local)
		free(fw);
	if (rc)
		return rc;
	ready = 0;
	for (unsigned i = 0; i < n; i++)
		ready += fds[i].revents != 0;
	return ready;
}

const struct weft__park_ops weft__coro_park_ops = {
	.wait = coro_wait,
	.kick = coro_kick,
	.yield = coro_yield,
	.fd_wait = coro_fd_wait,
};

/* ---- spawning ---- */

/*
 * The task of every coroutine's future: its record is the future's arg
 * (so cancel_running finds it without a field of its own in every future).
 */
static int coro_task(void *arg, void **result)
{
	struct weft__coro *c = arg;

	return c->fn(c->arg, result);
}

void weft__coro_init_started(struct weft__coro *c)
{
	c->inbox.next = NULL;
	c->next = c->prev = NULL;
	atomic_init(&c->lock, 0);
	atomic_init(&c->cancelled, false);
	c->waiter = NULL;
	weft__timer_init(&c->timer, timer_fired);
	c->gnext = c->gprev = NULL;
	c->gcancel_sent = false;
}

int weft__coro_spawn(struct weft__sched *s, weft_future **fp, weft_task_fn *fn,
		     void *arg, const weft_coro_opts *opts, bool main,
		     struct weft_group *g)
{
	struct weft__runtime *rt = s->rt;
	size_t rec = sizeof(struct weft__coro);
	size_t size = opts && opts->stack_size ? opts->stack_size
					       : rt->stack_size;
	int kind = opts && opts->stack_kind ? opts->stack_kind : rt->stack_kind;
	struct weft__stack st;
	struct weft__coro *c;
	weft_future *f;
	int rc;

	if (fp)
		*fp = NULL;
	if (!fn)
		return -EINVAL;
	if (kind != WEFT_STACK_GUARDED && kind != WEFT_STACK_PACKED)
		return -EINVAL;
	if (size < rec + WEFT__FIBER_MIN_STACK)
		return -EINVAL; /* too big: weft__stack_get says -EINVAL */
	rc = weft__stack_get(&st, size,
			     kind == WEFT_STACK_PACKED ? WEFT__STACK_PACKED
						       : WEFT__STACK_GUARDED);
	if (rc)
		return rc;
	/* The record at the top of the stack: its first page holds both. */
	c = (struct weft__coro *)((char *)st.lo + st.size - rec);
	f = weft__future_make(&rt->ex, coro_task, c);
	if (!f) {
		weft__stack_put(&st);
		return -ENOMEM;
	}
	/* The spawner's half only (sched.h); weft__coro_init_started the rest. */
	c->stack = st;
	c->rt = rt;
	c->f = f;
	c->fn = fn;
	c->arg = arg;
	c->sched = NULL;
	c->group = NULL;
	c->queued = false;
	c->wake_pending = false;
	c->main = main;
	if (g && (rc = weft__group_adopt(g, c)))
		goto undo;
	weft__sched_count(&s->spawned);
	rc = weft__sched_push_new(s, c);
	if (rc) {
		weft__sched_count(&s->ended); /* never to start */
		if (g)
			weft__group_child_done(c, 0);
		goto undo;
	}
	if (fp)
		*fp = f;
	else
		weft_future_release(f);
	return 0;
undo:
	weft_future_release(f); /* both references: nobody saw it */
	weft_future_release(f);
	weft__stack_put(&st);
	return rc;
}

int weft_spawn(weft_future **fp, weft_task_fn *fn, void *arg,
	       const weft_coro_opts *opts)
{
	struct weft__coro *self = weft__coro_self();

	if (fp)
		*fp = NULL;
	if (!self)
		return -EPERM;
	return weft__coro_spawn(self->sched, fp, fn, arg, opts, false, NULL);
}

/* ---- the calls a coroutine makes ---- */

bool weft_in_coro(void)
{
	return weft__coro_self() != NULL;
}

bool weft_cancelled(void)
{
	struct weft__coro *c = weft__coro_self();

	return c && atomic_load(&c->cancelled);
}

int weft_yield(void)
{
	struct weft__coro *c = weft__coro_self();

	if (!c) {
		weft__yield();
		return 0;
	}
	if (!atomic_load(&c->cancelled))
		coro_yield(c);
	return atomic_load(&c->cancelled) ? -ECANCELED : 0;
}

int weft_sleep_until(int64_t deadline)
{
	struct weft__waiter w;
	struct timespec ts;
	int rc;

	if (weft__forever(deadline) && !weft__coro_self())
		return -EINVAL; /* a thread asleep forever: surely a bug */
	if (weft__coro_self()) {
		weft__waiter_init(&w);
		rc = weft__park(&w, deadline);
		return rc == -ETIMEDOUT ? 0 : rc;
	}
	if (weft__expired(deadline))
		return 0;
	ts = weft__timespec(deadline);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL))
		; /* EINTR: sleep on to the same deadline */
	return 0;
}

int weft_sleep(int64_t ns)
{
	return weft_sleep_until(ns < 0 ? 0 : weft_deadline_in(ns));
}

/* ---- weft_to_thread ---- */

static weft_pool *to_thread_pool(struct weft__runtime *rt, int *rc)
{
	weft_pool *p = atomic_load(&rt->pool);

	if (p)
		return p;
	pthread_mutex_lock(&rt->pool_lock);
	p = atomic_load(&rt->pool);
	if (!p) {
		struct weft_pool_options o = {
			.max_workers = (int)rt->to_thread_workers,
			.thread_name_prefix = "weft-thread",
		};

		*rc = weft_pool_new(&p, &o);
		if (*rc == 0)
			atomic_store(&rt->pool, p);
	}
	pthread_mutex_unlock(&rt->pool_lock);
	return p;
}

int weft_to_thread(weft_task_fn *fn, void *arg, void **result, int64_t deadline)
{
	struct weft__coro *c = weft__coro_self();
	weft_future *f;
	weft_pool *p;
	void *res = NULL;
	int rc = 0;

	if (!fn)
		return -EINVAL;
	if (!c) {
		rc = fn(arg, &res);
		if (result && !rc)
			*result = res;
		return rc;
	}
	if (atomic_load(&c->cancelled))
		return -ECANCELED;
	p = to_thread_pool(c->rt, &rc);
	if (!p)
		return rc;
	rc = weft_pool_submit(p, fn, arg, &f);
	if (rc)
		return rc;
	rc = weft_future_result(f, result, deadline);
	weft_future_release(f);
	return rc;
}
