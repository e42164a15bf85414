/*
 * weft/proc.h — child processes: what Python's subprocess gives, in C.
 *
 * Spawn a program from an argv (never through a shell unless you run one),
 * with its stdin/stdout/stderr each inherited, piped, sent to /dev/null,
 * taken from an fd of yours, merged into stdout, or chained from another
 * child's stdout. Talk to it without deadlock (weft_proc_communicate), wait
 * with a deadline, signal it, and read its status the Python way: the exit
 * code, or minus the number of the signal that killed it.
 *
 *   const char *argv[] = {"openssl", "dgst", "-sha256", NULL};
 *   weft_proc *p;
 *   int rc = weft_proc_spawn(&p, &(weft_spawn_opts){
 *           .argv = argv, .in = WEFT_PIPE, .out = WEFT_PIPE});
 *   if (rc < 0) ...                       // -ENOENT: no openssl on PATH
 *   weft_buf out = {0};
 *   rc = weft_proc_communicate(p, data, len, &out, NULL,
 *                              weft_now() + 5 * WEFT_SEC);
 *   int status;
 *   rc = weft_proc_wait(p, WEFT_FOREVER, &status);
 *   weft_proc_free(p);
 *   weft_buf_free(&out);
 *
 * Errors from spawn are the exec error itself, reported by spawn: a missing
 * program gives -ENOENT, a file that is not executable -EACCES, a missing
 * working directory -ENOENT — never a child that silently exits 127.
 *
 * File descriptors: every fd weft opens is close-on-exec. A child inherits
 * its three stdio fds and the fds listed in pass_fds, and nothing else, even
 * fds of the parent that lack FD_CLOEXEC.
 *
 * Reaping: weft installs no SIGCHLD handler. Each child is reaped by
 * weft_proc_wait (through a pidfd, so a recycled pid is never waited for or
 * signalled). If the program sets SIGCHLD to SIG_IGN or reaps children with
 * waitpid(-1, ...) itself, weft cannot report their statuses (wait gives
 * -ECHILD).
 *
 * Signals: the child starts with an empty signal mask, and SIGPIPE and
 * SIGXFSZ at their default action even if the parent ignores them (as
 * Python does); handled signals are reset to default by exec.
 *
 * Thread-safety: spawning is thread-safe (many threads may spawn at once). A
 * weft_proc (and a weft_pipeline) is owned by one thread at a time: calls on
 * the same handle must not overlap, except weft_proc_send_signal and
 * weft_pipeline_send_signal, which may be called from any thread while
 * another waits. A weft_buf is plain caller memory with no locking.
 *
 * Handles passed to the accessors (weft_proc_pid, weft_proc_stdin/stdout/
 * stderr, weft_pipeline_len/proc) must be valid; every call that can fail
 * takes NULL and returns -EINVAL.
 *
 * fork(): a weft_proc belongs to the process that spawned it; a forked child
 * must not use the parent's weft_procs except to close their fds.
 */
#ifndef WEFT_PROC_H
#define WEFT_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "weft/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_proc weft_proc;
typedef struct weft_pipeline weft_pipeline;

/* Where one of a child's standard streams goes. */
enum weft_stdio_kind {
	WEFT_STDIO_INHERIT = 0, /* the parent's own fd 0/1/2 (the default) */
	WEFT_STDIO_PIPE,   /* a new pipe; weft_proc owns the parent's end */
	WEFT_STDIO_NULL,   /* /dev/null */
	WEFT_STDIO_FD,	   /* .fd, duplicated; the caller keeps .fd */
	WEFT_STDIO_STDOUT, /* stderr only: wherever the child's stdout goes */
	WEFT_STDIO_CHAIN,  /* stdin only: .from's stdout pipe (see below) */
};

typedef struct weft_stdio {
	enum weft_stdio_kind kind;
	int fd;		 /* WEFT_STDIO_FD */
	weft_proc *from; /* WEFT_STDIO_CHAIN */
} weft_stdio;

#define WEFT_INHERIT ((weft_stdio){ .kind = WEFT_STDIO_INHERIT })
#define WEFT_PIPE ((weft_stdio){ .kind = WEFT_STDIO_PIPE })
#define WEFT_DEVNULL ((weft_stdio){ .kind = WEFT_STDIO_NULL })
#define WEFT_FD(f) ((weft_stdio){ .kind = WEFT_STDIO_FD, .fd = (f) })
#define WEFT_TO_STDOUT ((weft_stdio){ .kind = WEFT_STDIO_STDOUT })
/*
 * stdin from another child's stdout, which must be WEFT_STDIO_PIPE: the
 * seed's `stdin=encrypt_proc.stdout`. On success the pipe's read end moves
 * into the new child and `from` no longer holds it (weft_proc_stdout(from)
 * becomes -1), so EOF flows when `from` exits.
 */
#define WEFT_CHAIN(p) ((weft_stdio){ .kind = WEFT_STDIO_CHAIN, .from = (p) })

/*
 * How to start a child. Zero means the sensible default for every field, so
 * designated initialisers name only what differs.
 */
typedef struct weft_spawn_opts {
	/* Required: NULL-terminated, argv[0] non-empty. Not copied past spawn. */
	const char *const *argv;
	/*
	 * The program to run; NULL means argv[0]. A name without '/' is looked
	 * up in PATH — the child's PATH when env_replace gives one, else the
	 * parent's, else "/bin:/usr/bin" — as execvp does.
	 */
	const char *file;
	/* Working directory of the child; NULL: the parent's. */
	const char *cwd;
	/*
	 * Environment. NULL: inherit the parent's. Otherwise a NULL-terminated
	 * list: with env_replace it is the child's whole environment
	 * ("KEY=VALUE" strings); without, it edits a copy of the parent's:
	 * "KEY=VALUE" sets KEY, a bare "KEY" removes it.
	 */
	const char *const *env;
	bool env_replace;
	/* The child's stdin, stdout and stderr; see enum weft_stdio_kind. */
	weft_stdio in, out, err;
	/* Extra fds the child inherits at the same numbers (>= 3). */
	const int *pass_fds;
	size_t n_pass_fds;
	/* Put the child in a new process group (its pid), or a new session. */
	bool new_process_group;
	bool new_session;
} weft_spawn_opts;

/*
 * Start a child. On success *out owns it; release with weft_proc_free.
 * Returns 0, or: -EINVAL (bad options: no argv, bad stdio kind for the
 * stream, a chain source without a stdout pipe, a pass_fd < 3),
 * -EBADF (a given fd is not open), -ENOENT / -EACCES / -ENOEXEC / ...
 * (the program could not be run, or cwd is missing), -EMFILE, -ENOMEM,
 * -EAGAIN (process limit). On failure nothing is left open or running.
 */
WEFT_API int weft_proc_spawn(weft_proc **out, const weft_spawn_opts *opts);

WEFT_API pid_t weft_proc_pid(const weft_proc *p);

/*
 * The parent's end of a WEFT_STDIO_PIPE stream, or -1. The fd stays owned by
 * the weft_proc (closed by weft_proc_free); read or write it directly if you
 * like, or use weft_proc_communicate.
 */
WEFT_API int weft_proc_stdin(const weft_proc *p);
WEFT_API int weft_proc_stdout(const weft_proc *p);
WEFT_API int weft_proc_stderr(const weft_proc *p);

/* Close the parent's end of the stdin pipe now, so the child sees EOF. */
WEFT_API void weft_proc_close_stdin(weft_proc *p);

/*
 * Wait until the child exits or `deadline` passes. On 0, *status (if
 * non-NULL) is the exit code (0..255), or -signo if a signal killed it.
 * Returns -ETIMEDOUT if the child is still running at the deadline (then it
 * is left running: kill or wait again as you like). Once reaped, further
 * calls return 0 and the same status at once. A deadline of 0 polls.
 */
WEFT_API int weft_proc_wait(weft_proc *p, int64_t deadline, int *status);

/* weft_proc_wait with deadline 0: -ETIMEDOUT while the child runs. */
static inline int weft_proc_poll(weft_proc *p, int *status)
{
	return weft_proc_wait(p, 0, status);
}

/*
 * Send `sig` to the child. Returns 0, -ESRCH once the child has been reaped
 * (its pid may belong to someone else by then; weft never signals it), or
 * -EINVAL for a bad signal. Safe to call from another thread while one waits.
 */
WEFT_API int weft_proc_send_signal(weft_proc *p, int sig);
WEFT_API int weft_proc_terminate(weft_proc *p); /* SIGTERM */
WEFT_API int weft_proc_kill(weft_proc *p);	/* SIGKILL */

/*
 * Release a weft_proc: closes the parent's pipe ends and the pidfd, and reaps
 * the child if it has already exited. It never blocks and never kills: a
 * child still running is left running (and becomes a zombie of this process
 * when it exits), so wait first if that matters. NULL is allowed.
 */
WEFT_API void weft_proc_free(weft_proc *p);

/*
 * A growable byte buffer owned by the caller. Zero-initialise it; weft
 * appends to it and grows it with realloc; weft_buf_free releases the
 * memory. Set len = 0 to reuse the memory already allocated (fresh memory
 * is far slower than warm memory: reuse buffers in loops).
 */
typedef struct weft_buf {
	char *data;
	size_t len;
	size_t cap;
} weft_buf;

/* Make room for at least `extra` more bytes. 0 or -ENOMEM. */
WEFT_API int weft_buf_reserve(weft_buf *b, size_t extra);
WEFT_API void weft_buf_free(weft_buf *b);

/*
 * Send `input` to the child's stdin pipe (then close it), and read its stdout
 * and stderr pipes into `out` and `err` (appending), all at once through
 * poll(), so no size of input or output can deadlock. Returns 0 once stdin is
 * written and closed and stdout and stderr reach EOF — it does not wait for
 * the child to exit; call weft_proc_wait for its status.
 *
 * Streams that are not pipes are skipped; `input` must be NULL/0 when stdin
 * is not a pipe still open. A NULL `out`/`err` discards what that pipe sends
 * (it is still drained). A child that closes its stdin early is not an
 * error: the rest of the input is dropped, as Python does.
 *
 * Returns -ETIMEDOUT at the deadline with nothing lost: what was read is in
 * out/err, and the input written so far is remembered, so calling again with
 * the same input (after killing the child, say) continues where it left off.
 * Other errors: -EINVAL (input given but stdin not a pipe), -ENOMEM, -EIO.
 */
WEFT_API int weft_proc_communicate(weft_proc *p, const void *input,
				   size_t input_len, weft_buf *out,
				   weft_buf *err, int64_t deadline);

/*
 * A pipeline: stages[0] | stages[1] | ... started together. Stage i's stdout
 * feeds stage i+1's stdin through a pipe; those streams must be left at their
 * default (WEFT_INHERIT) in `stages`, or spawn fails -EINVAL. stages[0].in
 * and stages[n-1].out are honoured, as is every stage's err.
 *
 * On failure no stage is left running (started ones are killed and reaped)
 * and, if `failed_stage` is non-NULL, it receives the index of the stage that
 * could not be started.
 */
WEFT_API int weft_pipeline_spawn(weft_pipeline **out,
				 const weft_spawn_opts *stages, size_t n,
				 size_t *failed_stage);

WEFT_API size_t weft_pipeline_len(const weft_pipeline *pl);
/* Stage i's weft_proc, owned by the pipeline. */
WEFT_API weft_proc *weft_pipeline_proc(weft_pipeline *pl, size_t i);

/*
 * weft_proc_communicate across the pipeline: `input` to the first stage's
 * stdin pipe, the last stage's stdout pipe into `out`, and each stage's
 * stderr pipe into errs[i] (errs may be NULL; else an array of n buffers).
 * Same deadline and resumption rules as weft_proc_communicate.
 */
WEFT_API int weft_pipeline_communicate(weft_pipeline *pl, const void *input,
				       size_t input_len, weft_buf *out,
				       weft_buf *errs, int64_t deadline);

/*
 * Wait for every stage. On 0, *status (if non-NULL) is the pipeline's status
 * as `set -o pipefail` gives it: that of the rightmost stage that did not
 * succeed, or 0 when all succeeded. -ETIMEDOUT if some stage is still running
 * at the deadline.
 */
WEFT_API int weft_pipeline_wait(weft_pipeline *pl, int64_t deadline,
				int *status);
/*
 * After a successful weft_pipeline_wait: the index of the rightmost stage
 * whose status is not 0, or -1 if all succeeded (or not all are reaped yet).
 */
WEFT_API int weft_pipeline_failed_stage(const weft_pipeline *pl);
/* Stage i's status once reaped: 0 and *status, or -EBUSY if not reaped. */
WEFT_API int weft_pipeline_status(const weft_pipeline *pl, size_t i,
				  int *status);
/* Send `sig` to every stage still running; 0 or the first error. */
WEFT_API int weft_pipeline_send_signal(weft_pipeline *pl, int sig);
/* weft_proc_free on every stage, then the pipeline. NULL allowed. */
WEFT_API void weft_pipeline_free(weft_pipeline *pl);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_PROC_H */
