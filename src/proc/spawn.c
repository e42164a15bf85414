/*
 * Spawning a child.
 *
 * glibc's posix_spawn does the child side the way we want it (clone with
 * CLONE_VM|CLONE_VFORK, signals blocked while the child runs on a private
 * stack, the exec error handed back to the parent), so weft builds on it
 * rather than carrying its own clone: everything here happens in the parent,
 * before the spawn — resolve the program on PATH, build the environment,
 * open pipes, and turn the caller's wishes into file actions:
 *
 *   1. dup2 each stdio source into 0, 1, 2 (a source that is itself one of
 *      0..2 but not its target is first copied above 2, so an earlier dup2
 *      cannot clobber it);
 *   2. dup2(fd, fd) for each pass_fd, which clears its FD_CLOEXEC;
 *   3. close everything else from 3 up (close_range in the child), leaving
 *      holes for the pass_fds — so the child gets its stdio and pass_fds even
 *      if other code in this process forgot O_CLOEXEC.
 *
 * Every fd this file opens is close-on-exec, so concurrent spawns in other
 * threads never inherit each other's pipes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* Steps 2 and 3 of the file comment: keep pass_fds, close the rest. */
static int plan_fds(posix_spawn_file_actions_t *fa, const weft_spawn_opts *o)
{
	int *fds = NULL, next = 3, rc = 0;
	size_t n = o->n_pass_fds;

	if (n && !o->pass_fds)
		return -EINVAL;
	if (n) {
		fds = malloc(n * sizeof(*fds));
		if (!fds)
			return -ENOMEM;
		memcpy(fds, o->pass_fds, n * sizeof(*fds));
		qsort(fds, n, sizeof(*fds), cmp_int);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (fds[i] < 3) {
			rc = -EINVAL;
			break;
		}
		if (i > 0 && fds[i] == fds[i - 1])
			continue;
		rc = fd_is_open(fds[i]);
		if (rc < 0)
			break;
		/* Holes below a pass_fd: one close action per fd, so pass_fds
		 * cost O(largest pass_fd) close calls in the child. */
		for (; next < fds[i] && rc == 0; next++)
			rc = -posix_spawn_file_actions_addclose(fa, next);
		if (rc == 0)
			rc = -posix_spawn_file_actions_adddup2(fa, fds[i],
							       fds[i]);
		next = fds[i] + 1;
	}
	if (rc == 0)
		rc = -posix_spawn_file_actions_addclosefrom_np(fa, next);
	free(fds);
	return rc;
}

/* ---- spawn ---- */

static int pidfd_open_cloexec(pid_t pid)
{
	static atomic_bool no_pidfd;
	int fd;

	/* Tests force the fallback (waitpid polling) through this variable. */
	if (atomic_load_explicit(&no_pidfd, memory_order_relaxed))
		return -ENOSYS;
	fd = (int)syscall(SYS_pidfd_open, pid, 0); /* pidfds are CLOEXEC */
	if (fd >= 0)
		return fd;
	if (errno == ENOSYS || errno == EPERM) /* old kernel, or seccomp */
		atomic_store_explicit(&no_pidfd, true, memory_order_relaxed);
	return -errno;
}

static bool pidfd_disabled_by_env(void)
{
	const char *v = getenv("WEFT_PROC_NO_PIDFD");

	return v && *v && strcmp(v, "0") != 0;
}

int weft_proc_spawn(weft_proc **out, const weft_spawn_opts *o)
{
	struct stream st[3];
	const weft_stdio *io[3];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *const *envp;
	char **env_owned = NULL;
	char pathbuf[4096];
	const char *file;
	weft_proc *p;
	sigset_t set;
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	int devnull = -1, rc, i;
	pid_t pid;

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
	for (i = 0; i < 3; i++) {
		rc = plan_stream(io[i], i, &devnull, &st[i]);
		if (rc < 0)
			goto out_streams;
	}

	rc = -posix_spawn_file_actions_init(&fa);
	if (rc < 0)
		goto out_streams;
	rc = -posix_spawnattr_init(&attr);
	if (rc < 0)
		goto out_fa;
	if (o->cwd)
		rc = -posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
	for (i = 0; i < 3 && rc == 0; i++)
		if (st[i].src >= 0)
			rc = -posix_spawn_file_actions_adddup2(&fa, st[i].src,
							       i);
	if (rc == 0)
		rc = plan_fds(&fa, o);

	sigemptyset(&set);
	if (rc == 0)
		rc = -posix_spawnattr_setsigmask(&attr, &set);
	/* Python restores these two; an ignored SIGPIPE would otherwise make
	 * `yes | head` run forever. */
	sigaddset(&set, SIGPIPE);
	sigaddset(&set, SIGXFSZ);
	if (rc == 0)
		rc = -posix_spawnattr_setsigdefault(&attr, &set);
	if (o->new_session)
		flags |= POSIX_SPAWN_SETSID;
	else if (o->new_process_group)
		flags |= POSIX_SPAWN_SETPGROUP; /* pgroup 0: the child's pid */
	if (rc == 0)
		rc = -posix_spawnattr_setflags(&attr, flags);
	if (rc < 0)
		goto out_attr;

	rc = -posix_spawn(&pid, file, &fa, &attr, (char *const *)o->argv, envp);
	if (rc < 0)
		goto out_attr;

	p->pid = pid;
	if (!pidfd_disabled_by_env()) {
		p->pidfd = pidfd_open_cloexec(pid);
		if (p->pidfd < 0 && p->pidfd != -ENOSYS && p->pidfd != -EPERM) {
			/* Out of fds: don't leave an unwaitable child behind. */
			rc = p->pidfd;
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			goto out_attr;
		}
		if (p->pidfd < 0)
			p->pidfd = -1;
	}
	p->fd_in = st[0].parent;
	p->fd_out = st[1].parent;
	p->fd_err = st[2].parent;
	st[0].parent = st[1].parent = st[2].parent = -1;
	if (o->in.kind == WEFT_STDIO_CHAIN)
		weft__close_fd(&o->in.from->fd_out); /* so EOF flows */
	*out = p;
	p = NULL;
	rc = 0;

out_attr:
	posix_spawnattr_destroy(&attr);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_streams:
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
	return p->pid;
}

int weft_proc_stdin(const weft_proc *p)
{
	return p->fd_in;
}

int weft_proc_stdout(const weft_proc *p)
{
	return p->fd_out;
}

int weft_proc_stderr(const weft_proc *p)
{
	return p->fd_err;
}

void weft_proc_close_stdin(weft_proc *p)
{
	weft__close_fd(&p->fd_in);
}

void weft_proc_free(weft_proc *p)
{
	if (!p)
		return;
	if (!atomic_load(&p->reaped))
		(void)weft_proc_wait(p, 0, NULL); /* reap if already exited */
	weft__close_fd(&p->fd_in);
	weft__close_fd(&p->fd_out);
	weft__close_fd(&p->fd_err);
	weft__close_fd(&p->pidfd);
	free(p);
}
