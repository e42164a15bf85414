/*
 * Waiting for and signalling a child.
 *
 * Every child has a pidfd from the moment it exists (spawn.c), so waiting is
 * "wait for the pidfd to become readable, then waitid(P_PIDFD, WNOHANG)":
 * the wait goes through weft__fd_wait, the one way weft waits for an fd
 * (a coroutine will park on its loop there), and waitid never blocks. No
 * SIGCHLD handler, no sleeping, no polling.
 *
 * If the child is reaped by someone else — the program set SIGCHLD to
 * SIG_IGN (the kernel reaps at exit) or called waitpid(-1, ...) — its exit
 * status is gone for everyone: waitid answers ECHILD once the child has
 * exited, and weft_proc_wait returns -ECHILD, then and on every later call.
 * The pidfd still tells us when the child exited, so this never hangs.
 *
 * Signals go through the pidfd too: the kernel answers ESRCH for a child
 * that has been reaped, never a stranger that inherited its pid number.
 */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "park/park.h"
#include "proc/proc_internal.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif
#ifndef PIDFD_SIGNAL_PROCESS_GROUP
#define PIDFD_SIGNAL_PROCESS_GROUP (1u << 2) /* Linux 6.9 */
#endif

static int status_of(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return si->si_status;
	return -si->si_status; /* CLD_KILLED, CLD_DUMPED */
}

/* Reap without blocking: 1 reaped, 0 still running, or -errno. */
static int try_reap(weft_proc *p)
{
	siginfo_t si;

	si.si_pid = 0;
	if (waitid((idtype_t)P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) <
	    0) {
		if (errno == EINTR)
			return 0;
		if (errno == ECHILD)
			atomic_store(&p->lost, true); /* reaped elsewhere */
		return -errno;
	}
	if (si.si_pid == 0)
		return 0;
	p->status = status_of(&si);
	atomic_store(&p->reaped, true);
	return 1;
}

int weft_proc_wait(weft_proc *p, int *status, int64_t deadline)
{
	if (!p)
		return -EINVAL;
	for (;;) {
		struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
		int r;

		if (atomic_load(&p->reaped)) {
			if (status)
				*status = p->status;
			return 0;
		}
		if (atomic_load(&p->lost))
			return -ECHILD;
		r = try_reap(p);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		r = weft__fd_wait(&pfd, 1, deadline);
		if (r < 0)
			return r; /* -ETIMEDOUT: still running, left so */
	}
}

int weft_proc_send_signal(weft_proc *p, int sig)
{
	if (!p || sig < 0 || sig >= NSIG)
		return -EINVAL;
	if (atomic_load(&p->reaped) || atomic_load(&p->lost))
		return -ESRCH;
	/* Signals this child even if its pid was recycled meanwhile: the
	 * kernel answers ESRCH once it has been reaped. */
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0) < 0)
		return -errno;
	return 0;
}

/*
 * The group's id is the leader's pid. While the leader is unreaped its pid
 * cannot be reused, so neither can the group id; the pidfd pins the leader's
 * struct pid even past that, so PIDFD_SIGNAL_PROCESS_GROUP signals exactly
 * the group our child started, whatever happens to pid numbers. Kernels
 * before 6.9 lack the flag: there kill(-pid) is used only after the pidfd
 * shows the leader has not exited — a running leader cannot have been reaped
 * by anyone, so its group id still names its group.
 */
int weft_proc_signal_group(weft_proc *p, int sig)
{
	struct pollfd pfd;

	if (!p || sig < 0 || sig >= NSIG || !p->group)
		return -EINVAL;
	if (atomic_load(&p->reaped) || atomic_load(&p->lost))
		return -ESRCH;
	if (syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL,
		    PIDFD_SIGNAL_PROCESS_GROUP) == 0)
		return 0;
	if (errno != EINVAL)
		return -errno;
	pfd = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
	if (weft__fd_wait(&pfd, 1, 0) > 0)
		return -ESRCH; /* exited: maybe reaped elsewhere, don't guess */
	if (kill(-p->pid, sig) < 0)
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
