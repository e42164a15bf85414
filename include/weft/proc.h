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
 *   rc = weft_proc_wait(p, &status, WEFT_FOREVER);
 *   weft_proc_free(p);
 *   weft_buf_free(&out);
 *
 * Or, for the common case, subprocess.run in one call:
 *
 *   weft_run_result r = {0};
 *   rc = weft_proc_run(&r, &(weft_run_opts){ .spawn.argv = argv,
 *           .input = data, .input_len = len, .capture_out = true },
 *           weft_now() + 5 * WEFT_SEC);
 *   // r.status, r.out.data (NUL-terminated), r.out.len
 *   weft_run_result_free(&r);
 *
 * Errors from spawn are the exec error itself, reported by spawn: a missing
 * program gives -ENOENT, a file that is not executable -EACCES, a missing
 * working directory -ENOENT — never a child that silently exits 127.
 *
 * File descriptors: every fd weft opens is close-on-exec. A child inherits
 * its three stdio fds and the fds listed in pass_fds, and nothing else, even
 * fds of the parent that lack FD_CLOEXEC.
 *
 * Reaping: weft installs no SIGCHLD handler. Each child is created with its
 * pidfd (clone(CLONE_PIDFD): no window in which the pid could be reaped and
 * recycled first) and reaped by weft_proc_wait through it, so a recycled pid
 * is never waited for or signalled. If the program sets SIGCHLD to SIG_IGN
 * (the kernel then reaps children itself) or reaps children with
 * waitpid(-1, ...), spawning still works, but the exit status is lost to
 * everyone: weft_proc_wait returns -ECHILD once the child has exited —
 * promptly, it does not hang — and signals give -ESRCH from then on.
 *
 * Signals: the child starts with an empty signal mask, and SIGPIPE and
 * SIGXFSZ at their default action even if the parent ignores them (as
 * Python does); handled signals are reset to default in the child before
 * exec (until exec it shares the parent's memory, so no handler of the
 * parent may run there).
 *
 * Thread-safety: spawning is thread-safe (many threads may spawn at once). A
 * weft_proc (and a weft_pipeline) is owned by one thread at a time: calls on
 * the same handle must not overlap, except weft_proc_send_signal,
 * weft_proc_signal_group and weft_pipeline_send_signal, which may be called
 * from any thread while another waits. A weft_buf is plain caller memory
 * with no locking.
 *
 * NULL handles: every call that can fail returns -EINVAL for a NULL handle;
 * the accessors give a documented value (weft_proc_pid and weft_proc_stdin/
 * stdout/stderr -1, weft_pipeline_len 0, weft_pipeline_proc NULL); the
 * _free calls accept NULL.
 *
 * Deadlines follow weft/base.h: WEFT_FOREVER waits forever, any other value
 * is an absolute weft_now() time, and one already past (0 included) looks
 * once and never waits.
 *
 * Kernel: Linux >= 5.9 (clone with CLONE_PIDFD, waitid(P_PIDFD),
 * close_range); group signalling is exact on >= 6.9 (see
 * weft_proc_signal_group).
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
	/*
	 * Extra fds the child inherits at the same numbers (>= 3). The child
	 * closes the rest with one close_range per gap: the cost does not
	 * depend on how high the numbers are.
	 */
	const int *pass_fds;
	size_t n_pass_fds;
	/*
	 * Put the child in a new process group (its pid), or a new session
	 * (which is a new group too): weft_proc_signal_group then reaches it
	 * and its descendants.
	 */
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

/* The child's pid (for logs; signal through weft), -1 for NULL. */
WEFT_API pid_t weft_proc_pid(const weft_proc *p);

/*
 * The parent's end of a WEFT_STDIO_PIPE stream, or -1 (also for NULL). The
 * fd stays owned by the weft_proc (closed by weft_proc_free); read or write
 * it directly if you like, or use weft_proc_communicate.
 */
WEFT_API int weft_proc_stdin(const weft_proc *p);
WEFT_API int weft_proc_stdout(const weft_proc *p);
WEFT_API int weft_proc_stderr(const weft_proc *p);

/*
 * Close the parent's end of the stdin pipe now, so the child sees EOF.
 * 0 (also when there is no stdin pipe), or -EINVAL for NULL.
 */
WEFT_API int weft_proc_close_stdin(weft_proc *p);

/*
 * Wait until the child exits or `deadline` passes. On 0, *status (if
 * non-NULL) is the exit code (0..255), or -signo if a signal killed it.
 * Returns -ETIMEDOUT if the child is still running at the deadline (then it
 * is left running: kill or wait again as you like). Once reaped, further
 * calls return 0 and the same status at once. A deadline of 0 polls.
 * -ECHILD: the child exited but was reaped by someone else (SIGCHLD set to
 * SIG_IGN, or a waitpid(-1) elsewhere): its status is lost; every later
 * call says -ECHILD again. -EINVAL for NULL.
 */
WEFT_API int weft_proc_wait(weft_proc *p, int *status, int64_t deadline);

/* weft_proc_wait with deadline 0: -ETIMEDOUT while the child runs. */
static inline int weft_proc_poll(weft_proc *p, int *status)
{
	return weft_proc_wait(p, status, 0);
}

/*
 * Send `sig` to the child (through its pidfd). Returns 0, -ESRCH once the
 * child has been reaped (its pid may belong to someone else by then; weft
 * never signals it), or -EINVAL for NULL or a bad signal. Safe to call from
 * another thread while one waits.
 */
WEFT_API int weft_proc_send_signal(weft_proc *p, int sig);
WEFT_API int weft_proc_terminate(weft_proc *p); /* SIGTERM */
WEFT_API int weft_proc_kill(weft_proc *p);	/* SIGKILL */

/*
 * Send `sig` to the child's whole process group — the child and every
 * descendant that stayed in its group (a shell's jobs, say) — without a raw
 * kill(-pid). The child must have been started with new_process_group or
 * new_session, else -EINVAL (also for NULL or a bad signal); -ESRCH once
 * weft has reaped it (or it was reaped elsewhere).
 *
 * Safe from pid recycling: the group's id is the child's pid, and a pid is
 * not reused while the process that has it is unreaped — weft reaps only in
 * weft_proc_wait, so until then the id names our child's group. On Linux
 * >= 6.9 the signal goes through the pidfd (PIDFD_SIGNAL_PROCESS_GROUP),
 * which names that group even against reaping elsewhere; older kernels use
 * kill(-pid) after checking through the pidfd that the child has not exited
 * (an exited child gives -ESRCH there). Like weft_proc_send_signal it may be
 * called from another thread while one waits.
 */
WEFT_API int weft_proc_signal_group(weft_proc *p, int sig);

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
 *
 * After weft_proc_communicate, weft_pipeline_communicate or weft_proc_run
 * has filled it, a buffer is always NUL-terminated (data[len] == '\0', data
 * never NULL), so text output can be used as a string; len excludes the NUL.
 * A stream that sent nothing allocates nothing: data then points at a
 * static "" and cap stays 0 (cap == 0 means "owns no memory": weft_buf_free
 * and weft_buf_reserve never free or realloc such data).
 */
typedef struct weft_buf {
	char *data;
	size_t len;
	size_t cap;
} weft_buf;

/* Make room for at least `extra` more bytes. 0, -ENOMEM, -EINVAL (NULL). */
WEFT_API int weft_buf_reserve(weft_buf *b, size_t extra);
/*
 * Release the memory b owns (none when cap is 0) and leave it empty,
 * ready for reuse. NULL is fine.
 */
WEFT_API void weft_buf_free(weft_buf *b);

/*
 * Send `input` to the child's stdin pipe (then close it), and read its stdout
 * and stderr pipes into `out` and `err` (appending), all at once in one loop
 * that waits on every pipe together, so no size of input or output can
 * deadlock. Returns 0 once stdin is written and closed and stdout and stderr
 * reach EOF — it does not wait for the child to exit; call weft_proc_wait
 * for its status.
 *
 * Streams that are not pipes are skipped; `input` must be NULL/0 when stdin
 * is not a pipe still open. A NULL `out`/`err` discards what that pipe sends
 * (it is still drained). A child that closes its stdin early is not an
 * error: the rest of the input is dropped, as Python does.
 *
 * Returns -ETIMEDOUT at the deadline with nothing lost: what was read is in
 * out/err, and the input written so far is remembered, so calling again with
 * the same input (after killing the child, say) continues where it left off.
 * The deadline holds however busy the pipes are (it is checked on every
 * round, and each round reads a bounded amount), so what is buffered is what
 * arrived before it. A deadline already past reads what is in the pipes now
 * (and their EOF) once, and never waits.
 * Other errors: -EINVAL (NULL p, input given but stdin not a pipe), -ENOMEM,
 * -EIO.
 *
 * SIGPIPE: blocked around each write() only (a SIGPIPE a write raised is
 * consumed), never across a wait, so no signal mask change spans the call.
 */
WEFT_API int weft_proc_communicate(weft_proc *p, const void *input,
				   size_t input_len, weft_buf *out,
				   weft_buf *err, int64_t deadline);

/*
 * subprocess.run: the options of weft_proc_run. Zero means the sensible
 * default for every field.
 */
typedef struct weft_run_opts {
	/*
	 * How to start the child, as for weft_proc_spawn (.spawn.argv is
	 * required). Streams that run takes over (see below) are overridden.
	 */
	weft_spawn_opts spawn;
	/*
	 * Non-NULL: stdin is a pipe fed with input[0..input_len) and then
	 * closed ("" with 0 gives an empty stdin). NULL: spawn.in as given
	 * (default: inherited), and input_len must be 0.
	 */
	const void *input;
	size_t input_len;
	/* Capture stdout / stderr into the result's out / err (pipes). With
	 * .spawn.err = WEFT_TO_STDOUT, stderr joins out. */
	bool capture_out;
	bool capture_err;
	/*
	 * At the deadline the child is sent SIGTERM, given `grace` ns to exit
	 * (its pipes still drained), then SIGKILLed and reaped. 0: the default
	 * WEFT_RUN_GRACE; < 0: SIGKILL at once. A child started with
	 * new_process_group or new_session is signalled as a whole group.
	 */
	int64_t grace;
} weft_run_opts;

#define WEFT_RUN_GRACE (1 * WEFT_SEC)

/*
 * What weft_proc_run returns. Zero-initialise it; run appends the output to
 * out and err (as communicate does) and leaves both NUL-terminated, captured
 * or not. The caller owns the buffers: weft_run_result_free releases them
 * (or set len = 0 and reuse the result).
 */
typedef struct weft_run_result {
	int status; /* exit code (0..255) or -signo; see weft_proc_run */
	weft_buf out, err;
} weft_run_result;

/*
 * Run a child to completion: spawn, write the input, collect the output,
 * wait. Returns 0 with res->status the child's status (non-zero exit codes
 * are not errors: check status). At the deadline: terminate, grace period,
 * kill, reap (see weft_run_opts.grace), then -ETIMEDOUT, with res->status
 * the status it died with and whatever output was read kept in res. Output
 * still in the pipes after the kill is read without waiting, so descendants
 * holding a pipe open cannot stall the return.
 *
 * Errors: spawn's (-ENOENT, -EACCES, ... : then nothing ran and status is
 * 0), -EINVAL (NULL res or opts, input_len without input), -ECHILD (the
 * status was lost: SIGCHLD ignored, see the top of this file), -ENOMEM.
 * No child is left running or unreaped on any return. Thread-safe.
 */
WEFT_API int weft_proc_run(weft_run_result *res, const weft_run_opts *opts,
			   int64_t deadline);
/* weft_buf_free on out and err. NULL allowed. */
WEFT_API void weft_run_result_free(weft_run_result *res);

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

/* The number of stages; 0 for NULL. */
WEFT_API size_t weft_pipeline_len(const weft_pipeline *pl);
/* Stage i's weft_proc, owned by the pipeline; NULL for NULL or i >= len. */
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
WEFT_API int weft_pipeline_wait(weft_pipeline *pl, int *status,
				int64_t deadline);
/*
 * After a successful weft_pipeline_wait: the index of the rightmost stage
 * whose status is not 0, or -1 if all succeeded (or not all are reaped yet).
 * -EINVAL for NULL.
 */
WEFT_API int weft_pipeline_failed_stage(const weft_pipeline *pl);
/*
 * Stage i's status once reaped: 0 and *status; -EAGAIN while it has not
 * been reaped (would block: wait first); -EINVAL for NULL or i >= len.
 */
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
