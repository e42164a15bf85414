/*
 * Spawning a child.
 *
 * weft starts children with its own clone, as musl's posix_spawn does, for
 * one reason glibc 2.36 cannot give: the pidfd must exist from the moment the
 * child does. clone(CLONE_PIDFD) hands the parent a pidfd atomically with
 * the new process, so there is no window in which the child has exited and
 * been reaped by someone else (SIGCHLD set to SIG_IGN, another thread's
 * waitpid(-1)) and its pid recycled before weft holds it — the window a
 * posix_spawn followed by pidfd_open() had. Every later wait and signal goes
 * through that pidfd; weft never signals a bare pid.
 *
 * Everything that can allocate or fail slowly happens in the parent, before
 * the clone: resolve the program on PATH, build the environment, open the
 * pipes, sort the pass_fds. The clone is CLONE_VM|CLONE_VFORK, so the child
 * borrows this address space on a small heap stack while the parent thread
 * sleeps until the child execs or exits. The parent blocks every signal
 * around the clone, so no handler of ours can run in the child before it
 * has reset them. The child then, with raw system calls only (no locks, no
 * allocation, nothing a sanitizer intercepts):
 *
 *   1. resets every caught signal to SIG_DFL (the handler's memory is ours)
 *      and SIGPIPE and SIGXFSZ to SIG_DFL even when ignored, as Python does;
 *   2. setsid() or setpgid(0, 0) when asked;
 *   3. chdir(cwd);
 *   4. dup3()s each stdio source onto 0, 1, 2 (a source in 0..2 that is not
 *      its own target was copied above 2 by the parent, so an earlier dup
 *      cannot clobber it; a source that is its target only loses CLOEXEC);
 *   5. closes every fd from 3 up except the pass_fds and the error pipe with
 *      one close_range() per gap, so the cost does not depend on fd numbers,
 *      and clears FD_CLOEXEC on the pass_fds;
 *   6. unblocks all signals and execve()s;
 *   7. on any failure writes errno to the error pipe (close-on-exec, so the
 *      parent reads 0 bytes when exec worked) and exits 127.
 *
 * The parent then reads the pipe: an errno there is spawn's error, and the
 * failed child is reaped through its pidfd before spawn returns.
 *
 * Every fd this file opens is close-on-exec, so concurrent spawns in other
 * threads never inherit each other's pipes.
 *
 * Kernel: Linux >= 5.9 (clone with CLONE_PIDFD 5.2, waitid(P_PIDFD) 5.4,
 * close_range 5.9).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/sanitizer.h"
#include "proc/proc_internal.h"

extern char **environ;

void weft__close_fd(int *fd)
{
	if (*fd >= 0) {
		/* Linux closes the fd even when close reports EINTR. */
		close(*fd);
		*fd = -1;
	}
}

/* Move an fd of ours above the stdio range so a dup2 into 0..2 can't hit it. */
static int fd_above_stdio(int *fd)
{
	int nfd;

	if (*fd > 2)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

static int pipe_cloexec(int fds[2])
{
	int rc;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	rc = fd_above_stdio(&fds[0]);
	if (rc == 0)
		rc = fd_above_stdio(&fds[1]);
	if (rc < 0) {
		weft__close_fd(&fds[0]);
		weft__close_fd(&fds[1]);
	}
	return rc;
}

/* ---- environment ---- */

static size_t key_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool same_key(const char *a, const char *b)
{
	size_t la = key_len(a);

	return la == key_len(b) && memcmp(a, b, la) == 0;
}

/*
 * The child's environment as an array of pointers into the caller's strings
 * and environ (nothing is copied). *owned is the array to free, or NULL when
 * the result is environ or the caller's own list.
 */
static int build_env(const weft_spawn_opts *o, char *const **envp,
		     char ***owned)
{
	size_t n_parent = 0, n_over = 0, n = 0;
	char **env;

	*owned = NULL;
	if (!o->env) {
		*envp = environ;
		return 0;
	}
	if (o->env_replace) {
		*envp = (char *const *)o->env;
		return 0;
	}
	while (environ[n_parent])
		n_parent++;
	while (o->env[n_over])
		n_over++;
	env = malloc((n_parent + n_over + 1) * sizeof(*env));
	if (!env)
		return -ENOMEM;
	for (size_t i = 0; i < n_parent; i++) {
		bool overridden = false;

		for (size_t j = 0; j < n_over && !overridden; j++)
			overridden = same_key(environ[i], o->env[j]);
		if (!overridden)
			env[n++] = environ[i];
	}
	for (size_t j = 0; j < n_over; j++) {
		bool later = false;

		if (!strchr(o->env[j], '='))
			continue; /* an unset */
		/* The last setting of a key wins. */
		for (size_t k = j + 1; k < n_over && !later; k++)
			later = same_key(o->env[j], o->env[k]);
		if (!later)
			env[n++] = (char *)o->env[j];
	}
	env[n] = NULL;
	*envp = env;
	*owned = env;
	return 0;
}

static const char *env_path(char *const *envp)
{
	for (size_t i = 0; envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			return envp[i] + 5;
	return "/bin:/usr/bin";
}

/* ---- program lookup ---- */

/* 0 if `path` is an executable regular file, else -EACCES or -ENOENT. */
static int check_exec(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno == EACCES ? -EACCES : -ENOENT;
	if (!S_ISREG(st.st_mode) ||
	    faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
		return -EACCES;
	return 0;
}

/*
 * Find `name` on `path` as execvp does: the first executable match wins; if
 * none, -EACCES when some candidate existed but could not be run, else
 * -ENOENT. The result is written to buf.
 */
static int search_path(const char *name, const char *path, char *buf,
		       size_t size)
{
	size_t nlen = strlen(name);
	int err = -ENOENT;

	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);

		if (dlen + 1 + nlen + 1 <= size) {
			if (dlen == 0) {
				buf[0] = '.';
				dlen = 1;
			} else {
				memcpy(buf, p, dlen);
			}
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, name, nlen + 1);
			int rc = check_exec(buf);
			if (rc == 0)
				return 0;
			if (rc == -EACCES)
				err = -EACCES;
		}
		if (!*end)
			return err;
		p = end;
	}
}

/* ---- stdio plan ---- */

/* What the child's fd `target` becomes. */
struct stream {
	int src;    /* fd to dup2 into target, -1: leave inherited */
	int tmp;    /* an fd we opened only for this spawn, closed after */
	int parent; /* parent's end of a pipe, handed to the weft_proc */
};

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) < 0 ? -EBADF : 0;
}

static int plan_stream(const weft_stdio *s, int target, int *devnull,
		       struct stream *st)
{
	int fds[2], rc;

	st->src = st->tmp = st->parent = -1;
	switch (s->kind) {
	case WEFT_STDIO_INHERIT:
		return 0;
	case WEFT_STDIO_PIPE:
		rc = pipe_cloexec(fds);
		if (rc < 0)
			return rc;
		/* stdin: the child reads fds[0]; stdout/err: it writes fds[1]. */
		st->tmp = st->src = target == 0 ? fds[0] : fds[1];
		st->parent = target == 0 ? fds[1] : fds[0];
		return 0;
	case WEFT_STDIO_NULL:
		if (*devnull < 0) {
			*devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
			if (*devnull < 0)
				return -errno;
			rc = fd_above_stdio(devnull);
			if (rc < 0) {
				weft__close_fd(devnull);
				return rc;
			}
		}
		st->src = *devnull;
		return 0;
	case WEFT_STDIO_FD:
		if (s->fd < 0)
			return -EBADF;
		rc = fd_is_open(s->fd);
		if (rc < 0)
			return rc;
		st->src = s->fd;
		break;
	case WEFT_STDIO_STDOUT:
		if (target != 2)
			return -EINVAL;
		st->src = 1; /* dup2(1, 2) after stdout is in place */
		return 0;
	case WEFT_STDIO_CHAIN:
		if (target != 0 || !s->from || s->from->fd_out < 0)
			return -EINVAL;
		st->src = s->from->fd_out;
		break;
	default:
		return -EINVAL;
	}
	/* A caller's fd in 0..2 other than the target: copy it out of reach. */
	if (st->src <= 2 && st->src != target) {
		st->tmp = fcntl(st->src, F_DUPFD_CLOEXEC, 3);
		if (st->tmp < 0)
			return -errno;
		st->src = st->tmp;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/*
 * The fds the child keeps from 3 up: the pass_fds, sorted, without
 * duplicates, in *keep (malloc'd with one slot spare for the error pipe).
 * Checks each is >= 3 and open — before spawn opens any fd of its own, so
 * a closed pass_fd cannot be mistaken for one of ours.
 */
static int plan_keep(const weft_spawn_opts *o, int **keep, size_t *n_keep)
{
	size_t n = o->n_pass_fds, m = 0;
	int *fds;

	*keep = NULL;
	*n_keep = 0;
	if (n && !o->pass_fds)
		return -EINVAL;
	fds = malloc((n + 1) * sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (o->pass_fds[i] < 3) {
			free(fds);
			return -EINVAL;
		}
		rc = fd_is_open(o->pass_fds[i]);
		if (rc < 0) {
			free(fds);
			return rc;
		}
		fds[i] = o->pass_fds[i];
	}
	qsort(fds, n, sizeof(*fds), cmp_int);
	for (size_t i = 0; i < n; i++)
		if (m == 0 || fds[i] != fds[m - 1])
			fds[m++] = fds[i];
	*keep = fds;
	*n_keep = m;
	return 0;
}

/* Insert fd (not yet present) into the sorted keep list (room for it). */
static void keep_insert(int *keep, size_t *n, int fd)
{
	size_t i = *n;

	for (; i > 0 && keep[i - 1] > fd; i--)
		keep[i] = keep[i - 1];
	keep[i] = fd;
	(*n)++;
}

/* ---- the child ---- */

/* What the child needs, all prepared by the parent. */
struct child_args {
	const char *file;
	char *const *argv;
	char *const *envp;
	const char *cwd;
	int src[3];	 /* fd to put on 0, 1, 2; -1: leave inherited */
	const int *keep; /* sorted: pass_fds and err_fd */
	size_t n_keep;
	int err_fd; /* write end of the error pipe (close-on-exec) */
	int rtmin;  /* signals 32..rtmin-1 belong to the C library */
	bool new_session, new_pgroup;
};

/* The kernel's struct sigaction for rt_sigaction (not the C library's). */
struct ksigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

#define KSIGSET_SIZE 8 /* the kernel's sigset_t: 64 signals */
#define KNSIG 65

/*
 * The child side: runs on its own stack in the parent's memory while the
 * parent thread is suspended (CLONE_VFORK). Raw system calls only — libc's
 * sigaction, close and dup2 may be intercepted (sanitizers) or take locks —
 * and no sanitizer instrumentation, since the sanitizer runtimes know
 * nothing of this borrowed stack. syscall() may write errno: that is the
 * suspended parent thread's errno, which spawn does not promise to keep.
 */
__attribute__((noinline,
	       no_sanitize("address", "thread", "undefined"))) static int
child_main(void *arg)
{
	const struct child_args *a = arg;
	uint64_t none = 0;
	int err;

	for (int sig = 1; sig < KNSIG; sig++) {
		struct ksigaction sa = { 0 }, old;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		if (sig == SIGPIPE || sig == SIGXFSZ) {
			sa.handler = SIG_DFL;
		} else {
			if (syscall(SYS_rt_sigaction, sig, NULL, &old,
				    KSIGSET_SIZE) != 0 ||
			    old.handler == SIG_DFL || old.handler == SIG_IGN)
				continue;
			/* A C library's own signals (glibc: 32, 33) are ignored
			 * rather than made fatal, as glibc's spawn does. */
			sa.handler = sig >= 32 && sig < a->rtmin ? SIG_IGN
								 : SIG_DFL;
		}
		syscall(SYS_rt_sigaction, sig, &sa, NULL, KSIGSET_SIZE);
	}
	if (a->new_session) {
		if (syscall(SYS_setsid) < 0)
			goto fail;
	} else if (a->new_pgroup) {
		if (syscall(SYS_setpgid, 0, 0) < 0)
			goto fail;
	}
	if (a->cwd && syscall(SYS_chdir, a->cwd) < 0)
		goto fail;
	for (int i = 0; i < 3; i++) {
		int s = a->src[i];

		if (s < 0)
			continue;
		if (s == i) {
			if (syscall(SYS_fcntl, i, F_SETFD, 0) < 0)
				goto fail;
		} else if (syscall(SYS_dup3, s, i, 0) < 0) {
			goto fail;
		}
	}
	{
		unsigned lo = 3;

		for (size_t k = 0; k < a->n_keep; k++) {
			unsigned fd = (unsigned)a->keep[k];

			if (fd > lo &&
			    syscall(SYS_close_range, lo, fd - 1, 0) < 0)
				goto fail;
			lo = fd + 1;
			if (a->keep[k] != a->err_fd &&
			    syscall(SYS_fcntl, a->keep[k], F_SETFD, 0) < 0)
				goto fail;
		}
		if (syscall(SYS_close_range, lo, ~0u, 0) < 0)
			goto fail;
	}
	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
		    KSIGSET_SIZE) < 0)
		goto fail;
	syscall(SYS_execve, a->file, a->argv, a->envp);
fail:
	err = errno;
	while (syscall(SYS_write, a->err_fd, &err, sizeof(err)) < 0 &&
	       errno == EINTR)
		;
	syscall(SYS_exit, 127);
	return 127;
}

/*
 * ThreadSanitizer intercepts clone() and treats the child as a fork: with
 * CLONE_VM its bookkeeping lands in our own (shared) runtime state, and the
 * parent is then taken for a forked child ("starting new threads after
 * multi-threaded fork"). The child here runs no instrumented code, so the
 * TSan build calls the C library's clone directly.
 */

typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);

static clone_fn libc_clone(void)
{
#ifdef WEFT_TSAN
	static _Atomic(clone_fn) real;
	clone_fn f = atomic_load_explicit(&real, memory_order_acquire);

	if (!f) {
		void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);

		if (h)
			f = (clone_fn)dlsym(h, "clone");
		if (!f)
			f = clone;
		atomic_store_explicit(&real, f, memory_order_release);
	}
	return f;
#else
	return clone;
#endif
}

/* The child's stack: the child frame and libc's syscall(), nothing more. */
#define CHILD_STACK (16 * 1024)

/*
 * Clone the child with its pidfd; wait (CLONE_VFORK) until it has exec'd or
 * failed. Returns 0 with *pidfd and *pid, or -errno (the exec error; the
 * failed child is reaped and nothing is left open).
 */
static int start_child(struct child_args *a, int err_rd, int *err_wr,
		       int *pidfd_out, pid_t *pid_out)
{
	sigset_t all, old;
	char *stack;
	int pidfd = -1, e = 0, cs, n;
	pid_t pid;

	stack = malloc(CHILD_STACK);
	if (!stack)
		return -ENOMEM;
	sigfillset(&all);
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cs);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pid = libc_clone()(child_main, stack + CHILD_STACK,
			   CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, a,
			   &pidfd);
	if (pid < 0)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_setcancelstate(cs, NULL);
	free(stack);
	/* The child has exec'd or exited, so its copy of the write end is
	 * gone; with ours closed too, the read sees EOF or the errno. */
	weft__close_fd(err_wr);
	if (pid < 0)
		return -e;
	do
		n = (int)read(err_rd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	if (n == (int)sizeof(e)) {
		siginfo_t si;

		/* Reap the failed child. ECHILD: someone else did (SIGCHLD
		 * ignored, a waitpid(-1) elsewhere) — all the same to us. */
		while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) <
			       0 &&
		       errno == EINTR)
			;
		close(pidfd);
		return e > 0 ? -e : -EIO;
	}
	*pidfd_out = pidfd;
	*pid_out = pid;
	return 0;
}

/* ---- spawn ---- */

int weft_proc_spawn(weft_proc **out, const weft_spawn_opts *o)
{
	struct stream st[3];
	const weft_stdio *io[3];
	struct child_args a = { 0 };
	char *const *envp;
	char **env_owned = NULL;
	char pathbuf[4096];
	const char *file;
	weft_proc *p;
	int *keep = NULL;
	size_t n_keep = 0;
	int devnull = -1, errp[2] = { -1, -1 }, rc, i;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!o || !o->argv || !o->argv[0] || !o->argv[0][0])
		return -EINVAL;
	if (o->file && !o->file[0])
		return -EINVAL;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->pidfd = p->fd_in = p->fd_out = p->fd_err = -1;

	rc = build_env(o, &envp, &env_owned);
	if (rc < 0)
		goto out_free;

	file = o->file ? o->file : o->argv[0];
	if (!strchr(file, '/')) {
		rc = search_path(file, env_path(o->env ? envp : environ),
				 pathbuf, sizeof(pathbuf));
		if (rc < 0)
			goto out_env;
		file = pathbuf;
	}

	io[0] = &o->in;
	io[1] = &o->out;
	io[2] = &o->err;
	for (i = 0; i < 3; i++)
		st[i].src = st[i].tmp = st[i].parent = -1;
	rc = plan_keep(o, &keep, &n_keep);
	if (rc < 0)
		goto out_streams;
	for (i = 0; i < 3; i++) {
		rc = plan_stream(io[i], i, &devnull, &st[i]);
		if (rc < 0)
			goto out_streams;
	}
	rc = pipe_cloexec(errp);
	if (rc < 0)
		goto out_streams;
	keep_insert(keep, &n_keep, errp[1]);

	a.file = file;
	a.argv = (char *const *)o->argv;
	a.envp = envp;
	a.cwd = o->cwd;
	for (i = 0; i < 3; i++)
		a.src[i] = st[i].src;
	a.keep = keep;
	a.n_keep = n_keep;
	a.err_fd = errp[1];
	a.rtmin = SIGRTMIN;
	a.new_session = o->new_session;
	a.new_pgroup = o->new_process_group;

	rc = start_child(&a, errp[0], &errp[1], &p->pidfd, &p->pid);
	if (rc < 0)
		goto out_streams;

	p->group = o->new_session || o->new_process_group;
	p->fd_in = st[0].parent;
	p->fd_out = st[1].parent;
	p->fd_err = st[2].parent;
	st[0].parent = st[1].parent = st[2].parent = -1;
	if (o->in.kind == WEFT_STDIO_CHAIN)
		weft__close_fd(&o->in.from->fd_out); /* so EOF flows */
	*out = p;
	p = NULL;
	rc = 0;

out_streams:
	free(keep);
	weft__close_fd(&errp[0]);
	weft__close_fd(&errp[1]);
	for (i = 0; i < 3; i++) {
		weft__close_fd(&st[i].tmp);
		weft__close_fd(&st[i].parent);
	}
	weft__close_fd(&devnull);
out_env:
	free(env_owned);
out_free:
	free(p);
	return rc;
}

pid_t weft_proc_pid(const weft_proc *p)
{
	return p ? p->pid : -1;
}

int weft_proc_stdin(const weft_proc *p)
{
	return p ? p->fd_in : -1;
}

int weft_proc_stdout(const weft_proc *p)
{
	return p ? p->fd_out : -1;
}

int weft_proc_stderr(const weft_proc *p)
{
	return p ? p->fd_err : -1;
}

int weft_proc_close_stdin(weft_proc *p)
{
	if (!p)
		return -EINVAL;
	weft__close_fd(&p->fd_in);
	return 0;
}

void weft_proc_free(weft_proc *p)
{
	if (!p)
		return;
	if (!p->reaped)
		(void)weft_proc_wait(p, NULL, 0); /* reap if already exited */
	weft__close_fd(&p->fd_in);
	weft__close_fd(&p->fd_out);
	weft__close_fd(&p->fd_err);
	weft__close_fd(&p->pidfd);
	free(p);
}
