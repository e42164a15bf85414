/*
 * Waiting for and signalling a child.
 *
 * With a pidfd (Linux >= 5.3) waiting is poll() on the pidfd with the
 * deadline as timeout, then waitid(P_PIDFD) to reap — no SIGCHLD handler, no
 * sleeping, and the pidfd can later join an event loop. Without one (old
 * kernel, seccomp, or WEFT_PROC_NO_PIDFD=1 in the environment for tests)
 * waiting polls waitpid(WNOHANG) with a backoff from 50 µs to 5 ms, bounded by
 * the deadline; a WEFT_FOREVER wait simply blocks in waitpid.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc/proc_internal.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return -si->si_status; /* CLD_KILLED, CLD_DUMPED */
}

static void set_reaped(weft_proc *p, int status)
{
	p->status = status;
	atomic_store(&p->reaped, true);
}

/* Reap without blocking: 1 reaped, 0 still running, or -errno. */
static int try_reap(weft_proc *p, bool block)
{
	siginfo_t si;
	int opts = WEXITED | (block ? 0 : WNOHANG);
	int r;

	si.si_pid = 0;
	if (p->pidfd >= 0)
		r = waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, opts);
	else
		r = waitid(P_PID, (id_t)p->pid, &si, opts);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (si.si_pid == 0)
		return 0;
	set_reaped(p, status_of(&si));
	return 1;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / WEFT_SEC,
			       .tv_nsec = ns % WEFT_SEC };

	nanosleep(&ts, NULL); /* EINTR just shortens one backoff step */
}

int weft_proc_wait(weft_proc *p, int64_t deadline, int *status)
{
	int64_t backoff = 50 * WEFT_USEC;
	int r;

	if (!p)
		return -EINVAL;
	for (;;) {
		if (atomic_load(&p->reaped)) {
			if (status)
				*status = p->status;
			return 0;
		}
		r = try_reap(p, deadline == WEFT_FOREVER);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (deadline != WEFT_FOREVER && weft_now() >= deadline)
			return -ETIMEDOUT;
		if (p->pidfd >= 0) {
			struct pollfd pfd = { .fd = p->pidfd,
					      .events = POLLIN };

			r = poll(&pfd, 1, weft_deadline_ms(deadline));
			if (r < 0 && errno != EINTR)
				return -errno;
		} else if (deadline != WEFT_FOREVER) {
			int64_t left = deadline - weft_now();

			sleep_ns(backoff < left ? backoff
				 : left > 0	? left
						: 0);
			if (backoff < 5 * WEFT_MSEC)
				backoff *= 2;
		}
	}
}

int weft_proc_send_signal(weft_proc *p, int sig)
{
	if (!p || sig < 0 || sig >= NSIG)
		return -EINVAL;
	if (atomic_load(&p->reaped))
		return -ESRCH;
	if (p->pidfd >= 0) {
		/* Signals this child even if its pid was recycled meanwhile:
		 * the kernel answers ESRCH once it has been reaped. */
		if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
			return -errno;
		return 0;
	}
	/* Without a pidfd a concurrent reap could race with this kill; the
	 * reaped flag narrows the window to the two calls. */
	if (kill(p->pid, sig) < 0)
		return -errno;
	return 0;
}

int weft_proc_terminate(weft_proc *p)
{
	return weft_proc_send_signal(p, SIGTERM);
}

int weft_proc_kill(weft_proc *p)
{
	return weft_proc_send_signal(p, SIGKILL);
}
