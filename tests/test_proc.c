/*
 * weft/proc.h: spawning, stdio wiring, communicate, wait, signals,
 * pipelines. Every test runs under the fd/zombie leak check.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "check.h"
#include "weft/proc.h"

#define CHILD PROC_CHILD
#define SOON (weft_now() + 60 * WEFT_SEC) /* generous: sanitizer builds */

/* Run proc_child with args, stdout piped; return its status and stdout. */
static int run_child(weft_spawn_opts o, weft_buf *out, int *status)
{
	weft_proc *p;
	int rc;

	o.out = WEFT_PIPE;
	rc = weft_proc_spawn(&p, &o);
	if (rc < 0)
		return rc;
	rc = weft_proc_communicate(p, NULL, 0, out, NULL, SOON);
	assert_int_equal(rc, 0);
	rc = weft_proc_wait(p, status, SOON);
	weft_proc_free(p);
	return rc;
}

/* out as a NUL-terminated string */
static const char *str(weft_buf *b)
{
	assert_int_equal(weft_buf_reserve(b, 1), 0);
	b->data[b->len] = '\0';
	return b->data;
}

static void exit_codes(void **state)
{
	int status = -1;

	(void)state;
	for (int code = 0; code < 256; code += 51) {
		char arg[8];
		const char *argv[] = { CHILD, "exit", arg, NULL };
		weft_proc *p;

		snprintf(arg, sizeof(arg), "%d", code);
		assert_int_equal(
			weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv }),
			0);
		assert_true(weft_proc_pid(p) > 0);
		assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
		assert_int_equal(status, code);
		/* Reaped: the same answer again, at once. */
		status = -1;
		assert_int_equal(weft_proc_wait(p, &status, 0), 0);
		assert_int_equal(status, code);
		assert_int_equal(weft_proc_send_signal(p, SIGTERM), -ESRCH);
		weft_proc_free(p);
	}
}

static void path_lookup_and_exec_errors(void **state)
{
	weft_proc *p = (weft_proc *)1;
	char tmpl[] = "/tmp/weft-noexec-XXXXXX";
	int fd;

	(void)state;
	const char *missing[] = { "weft-no-such-program-xyz", NULL };
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = missing }),
			 -ENOENT);
	assert_null(p);
	const char *missing_path[] = { "/nonexistent/dir/prog", NULL };
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = missing_path }),
		-ENOENT);

	/* A file that exists but is not executable. */
	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	const char *noexec[] = { tmpl, NULL };
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = noexec }),
			 -EACCES);
	/* A directory is not a program either. */
	const char *dir[] = { "/tmp", NULL };
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = dir }),
			 -EACCES);
	unlink(tmpl);

	/* Bad working directory: reported by spawn, not by a child exiting 127. */
	const char *ok[] = { CHILD, "exit", "0", NULL };
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = ok,
								 .cwd = "/nonex"
									"istent"
									"-weft-"
									"di"
									"r" }),
			 -ENOENT);
	assert_null(p);

	/* PATH of a replaced environment decides the lookup. */
	const char *t[] = { "true", NULL };
	const char *no_path[] = { "PATH=/nonexistent", NULL };
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = t,
							.env = no_path,
							.env_replace = true }),
		-ENOENT);
	const char *good_path[] = { "PATH=/nonexistent:/usr/bin:/bin", NULL };
	int status = -1;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = t,
							.env = good_path,
							.env_replace = true }),
		0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);

	/* .file overrides argv[0] for the lookup; argv[0] is what the child sees. */
	const char *named[] = { "some-name", "exit", "7", NULL };
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = named,
							     .file = CHILD }),
			 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 7);
	weft_proc_free(p);
}

static void bad_input_is_an_error_code(void **state)
{
	weft_proc *p = NULL;
	int fds[2];
	const char *argv[] = { CHILD, "exit", "0", NULL };
	const char *empty[] = { "", NULL };
	const char *none[] = { NULL };

	(void)state;
	assert_int_equal(weft_proc_spawn(NULL,
					 &(weft_spawn_opts){ .argv = argv }),
			 -EINVAL);
	assert_int_equal(weft_proc_spawn(&p, NULL), -EINVAL);
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ 0 }), -EINVAL);
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = empty }),
			 -EINVAL);
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = none }),
			 -EINVAL);
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
								 .file = "" }),
			 -EINVAL);
	/* stdio kinds on the wrong stream, or out of range */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.in = WEFT_TO_STDOUT }),
		-EINVAL);
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = argv,
						    .out = WEFT_CHAIN(NULL) }),
		-EINVAL);
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = argv,
						    .in = WEFT_CHAIN(NULL) }),
		-EINVAL);
	assert_int_equal(
		weft_proc_spawn(
			&p,
			&(weft_spawn_opts){
				.argv = argv,
				.err = { .kind = (enum weft_stdio_kind)42 } }),
		-EINVAL);
	/* fds that are not open */
	assert_true(pipe(fds) == 0);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = argv,
						    .out = WEFT_FD(fds[0]) }),
		-EBADF);
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.out = WEFT_FD(-1) }),
		-EBADF);
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.pass_fds = &fds[0],
							.n_pass_fds = 1 }),
		-EBADF);
	int two = 2;
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = argv,
							     .pass_fds = &two,
							     .n_pass_fds = 1 }),
			 -EINVAL);
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = argv,
							     .n_pass_fds = 1 }),
			 -EINVAL);
	/* a chain source whose stdout is not a pipe */
	weft_proc *src;
	assert_int_equal(
		weft_proc_spawn(&src, &(weft_spawn_opts){ .argv = argv }), 0);
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = argv,
						    .in = WEFT_CHAIN(src) }),
		-EINVAL);
	assert_int_equal(weft_proc_wait(src, NULL, SOON), 0);
	weft_proc_free(src);
	/* communicate with input but no stdin pipe */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv }), 0);
	assert_int_equal(weft_proc_communicate(p, "x", 1, NULL, NULL, SOON),
			 -EINVAL);
	assert_int_equal(weft_proc_communicate(p, NULL, 1, NULL, NULL, SOON),
			 -EINVAL);
	assert_int_equal(weft_proc_send_signal(p, -1), -EINVAL);
	assert_int_equal(weft_proc_send_signal(p, 1000), -EINVAL);
	assert_int_equal(weft_proc_wait(p, NULL, SOON), 0);
	weft_proc_free(p);
	weft_proc_free(NULL);
	assert_int_equal(weft_pipeline_spawn(NULL, NULL, 0, NULL), -EINVAL);
}

static void environment(void **state)
{
	weft_buf out = { 0 };
	int status;

	(void)state;
	setenv("WEFT_TEST_INHERITED", "parent", 1);
	setenv("WEFT_TEST_GONE", "x", 1);

	const char *get[] = { CHILD, "env", "WEFT_TEST_INHERITED", NULL };
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = get }, &out, &status), 0);
	assert_string_equal(str(&out), "parent\n");

	/* Replace: exactly the given environment. */
	const char *all[] = { CHILD, "envall", NULL };
	const char *repl[] = { "A=1", "B=two words", NULL };
	out.len = 0;
	assert_int_equal(run_child((weft_spawn_opts){ .argv = all,
						      .env = repl,
						      .env_replace = true },
				   &out, &status),
			 0);
	assert_string_equal(str(&out), "A=1\nB=two words\n");
	out.len = 0;
	const char *nothing[] = { NULL };
	assert_int_equal(run_child((weft_spawn_opts){ .argv = all,
						      .env = nothing,
						      .env_replace = true },
				   &out, &status),
			 0);
	assert_string_equal(str(&out), "");

	/* Override: set, replace, unset in a copy of ours (the seed's password). */
	const char *over[] = { "password=s3cret", "WEFT_TEST_INHERITED=first",
			       "WEFT_TEST_INHERITED=child", "WEFT_TEST_GONE",
			       NULL };
	out.len = 0;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = all, .env = over }, &out,
			  &status),
		0);
	str(&out);
	assert_non_null(strstr(out.data, "password=s3cret\n"));
	assert_non_null(strstr(out.data, "WEFT_TEST_INHERITED=child\n"));
	assert_null(strstr(out.data, "WEFT_TEST_INHERITED=first"));
	assert_null(strstr(out.data, "WEFT_TEST_GONE"));
	assert_non_null(strstr(out.data, "PATH="));
	/* ours is untouched */
	assert_string_equal(getenv("WEFT_TEST_INHERITED"), "parent");
	assert_string_equal(getenv("WEFT_TEST_GONE"), "x");
	unsetenv("WEFT_TEST_INHERITED");
	unsetenv("WEFT_TEST_GONE");
	weft_buf_free(&out);
}

static void working_directory(void **state)
{
	weft_buf out = { 0 };
	int status;
	const char *argv[] = { CHILD, "cwd", NULL };

	(void)state;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = argv, .cwd = "/usr" },
			  &out, &status),
		0);
	assert_string_equal(str(&out), "/usr\n");
	/* A relative program path is resolved in the new directory, as exec does. */
	const char *rel[] = { "./bin/true", NULL };
	weft_proc *p;
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = rel,
								 .cwd = "/us"
									"r" }),
			 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);
	weft_buf_free(&out);
}

static void fill(char *p, size_t n, int salt)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)((i * 31 + (size_t)salt) % 251);
}

/* 64 MiB in and 64 MiB out at once: a naive write-then-read deadlocks. */
static void large_io_both_ways(void **state)
{
	size_t n = 64u << 20;
	char *in = malloc(n);
	weft_buf out = { 0 }, err = { 0 };
	weft_proc *p;
	int status;
	const char *argv[] = { CHILD, "cat", NULL };

	(void)state;
	fill(in, n, 5);
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.in = WEFT_PIPE,
							.out = WEFT_PIPE,
							.err = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(p, in, n, &out, &err, SOON), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	assert_int_equal(out.len, n);
	assert_true(memcmp(out.data, in, n) == 0);
	assert_int_equal(err.len, 0);
	/* every pipe end is closed after communicate */
	assert_int_equal(weft_proc_stdin(p), -1);
	assert_int_equal(weft_proc_stdout(p), -1);
	assert_int_equal(weft_proc_stderr(p), -1);
	weft_proc_free(p);

	/* 64 MiB on stdout and on stderr at once, interleaved by the child. */
	const char *prod[] = { CHILD, "produce", "67108864", NULL };
	out.len = 0;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = prod,
							.out = WEFT_PIPE,
							.err = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, &err, SOON),
			 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	assert_int_equal(out.len, n);
	assert_int_equal(err.len, n);
	fill(in, n, 1);
	assert_true(memcmp(out.data, in, n) == 0);
	fill(in, n, 2);
	assert_true(memcmp(err.data, in, n) == 0);
	weft_proc_free(p);
	free(in);
	weft_buf_free(&out);
	weft_buf_free(&err);
}

static void communicate_deadline_keeps_data(void **state)
{
	weft_buf out = { 0 };
	weft_proc *p;
	int status;
	const char *argv[] = { CHILD, "sleep", "30000", "hello", NULL };
	int64_t t0, dt;

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.out = WEFT_PIPE }),
		0);
	t0 = weft_now();
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, NULL,
					       t0 + 300 * WEFT_MSEC),
			 -ETIMEDOUT);
	dt = weft_now() - t0;
	assert_true(dt >= 300 * WEFT_MSEC);
	assert_true(dt < 10 * WEFT_SEC);
	assert_string_equal(str(&out), "hello\n");
	/* Left running, as Python leaves it: the caller decides. */
	assert_int_equal(weft_proc_poll(p, &status), -ETIMEDOUT);
	assert_int_equal(weft_proc_kill(p), 0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, NULL, SOON),
			 0);
	assert_string_equal(str(&out),
			    "hello\n"); /* nothing lost, nothing twice */
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	weft_proc_free(p);

	/* An expired deadline still polls once: data already there is read. */
	const char *quick[] = { CHILD, "both", NULL };
	out.len = 0;
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = quick,
						    .out = WEFT_PIPE,
						    .err = WEFT_TO_STDOUT }),
		0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, NULL, 0), 0);
	assert_string_equal(str(&out), "out\nerr\n");
	weft_proc_free(p);
	weft_buf_free(&out);
}

/* Input interrupted by a deadline resumes where it stopped, byte-exact. */
static void communicate_resumes_input(void **state)
{
	size_t n = 8u << 20;
	char *in = malloc(n);
	weft_buf out = { 0 };
	weft_proc *p;
	int status;
	const char *argv[] = { CHILD, "cat", "500",
			       NULL }; /* reads after 500 ms */

	(void)state;
	fill(in, n, 9);
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.in = WEFT_PIPE,
							.out = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(p, in, n, &out, NULL,
					       weft_now() + 100 * WEFT_MSEC),
			 -ETIMEDOUT);
	assert_true(out.len < n);
	assert_int_equal(weft_proc_communicate(p, in, n, &out, NULL, SOON), 0);
	assert_int_equal(out.len, n);
	assert_true(memcmp(out.data, in, n) == 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);
	free(in);
	weft_buf_free(&out);
}

/* A child that exits without reading its input: no SIGPIPE kills us. */
static void child_ignores_input(void **state)
{
	size_t n = 4u << 20;
	char *in = calloc(1, n);
	weft_proc *p;
	int status;
	const char *argv[] = { CHILD, "exit", "0", NULL };

	(void)state;
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = argv,
							     .in = WEFT_PIPE }),
			 0);
	assert_int_equal(weft_proc_communicate(p, in, n, NULL, NULL, SOON), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);
	free(in);
	/* No SIGPIPE left pending for us either. */
	sigset_t pending;
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
}

static void wait_deadline_and_signals(void **state)
{
	weft_proc *p;
	int status;
	int64_t t0, dt;
	const char *sleeper[] = { CHILD, "sleep", "30000", NULL };

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper }), 0);
	t0 = weft_now();
	assert_int_equal(weft_proc_wait(p, &status, t0 + 200 * WEFT_MSEC),
			 -ETIMEDOUT);
	dt = weft_now() - t0;
	assert_true(dt >= 200 * WEFT_MSEC);
	assert_true(dt < 5 * WEFT_SEC);
	assert_int_equal(weft_proc_poll(p, &status), -ETIMEDOUT);
	assert_int_equal(weft_proc_terminate(p), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGTERM);
	weft_proc_free(p);

	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper }), 0);
	assert_int_equal(weft_proc_kill(p), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	assert_int_equal(weft_proc_kill(p), -ESRCH);
	weft_proc_free(p);

	/* A child that kills itself. */
	const char *raiser[] = { CHILD, "raise", "6", NULL };
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = raiser }), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGABRT);
	weft_proc_free(p);
}

static void stdio_kinds(void **state)
{
	weft_buf out = { 0 };
	weft_proc *p;
	int status;
	char tmpl[] = "/tmp/weft-out-XXXXXX";

	(void)state;
	/* /dev/null in: cat sees EOF at once; err to stdout merges. */
	const char *cat[] = { CHILD, "cat", NULL };
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = cat, .in = WEFT_DEVNULL },
			  &out, &status),
		0);
	assert_int_equal(out.len, 0);
	const char *both[] = { CHILD, "both", NULL };
	assert_int_equal(run_child((weft_spawn_opts){ .argv = both,
						      .err = WEFT_TO_STDOUT },
				   &out, &status),
			 0);
	assert_string_equal(str(&out), "out\nerr\n");
	/* stdout to /dev/null, stderr piped */
	weft_buf err = { 0 };
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = both,
							.out = WEFT_DEVNULL,
							.err = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_stdout(p), -1);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, NULL, &err, SOON),
			 0);
	assert_string_equal(str(&err), "err\n");
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);
	/* A file of ours as stdout; we keep our fd. */
	int fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = both,
						    .out = WEFT_FD(fd),
						    .err = WEFT_TO_STDOUT }),
		0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);
	char got[16] = { 0 };
	assert_int_equal(pread(fd, got, sizeof(got) - 1, 0), 8);
	assert_string_equal(got, "out\nerr\n");
	assert_true(fcntl(fd, F_GETFD) >= 0);
	close(fd);
	unlink(tmpl);
	/* stdin from our fd 0 routed onto stdout: source fds in 0..2 */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	assert_int_equal(write(pfd[1], "swap", 4), 4);
	close(pfd[1]);
	int saved_in = dup(0);
	assert_true(dup2(pfd[0], 0) == 0);
	close(pfd[0]);
	out.len = 0;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = cat, .in = WEFT_FD(0) },
			  &out, &status),
		0);
	assert_string_equal(str(&out), "swap");
	assert_true(dup2(saved_in, 0) == 0);
	close(saved_in);
	weft_buf_free(&out);
	weft_buf_free(&err);
}

static void process_group_and_session(void **state)
{
	weft_buf out = { 0 };
	int status, pid, pgrp, sid;
	const char *ids[] = { CHILD, "ids", NULL };

	(void)state;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = ids }, &out, &status), 0);
	assert_int_equal(sscanf(str(&out), "%d %d %d", &pid, &pgrp, &sid), 3);
	assert_int_equal(pgrp, getpgrp());
	out.len = 0;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = ids,
					     .new_process_group = true },
			  &out, &status),
		0);
	assert_int_equal(sscanf(str(&out), "%d %d %d", &pid, &pgrp, &sid), 3);
	assert_int_equal(pgrp, pid);
	assert_int_equal(sid, getsid(0));
	out.len = 0;
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = ids, .new_session = true },
			  &out, &status),
		0);
	assert_int_equal(sscanf(str(&out), "%d %d %d", &pid, &pgrp, &sid), 3);
	assert_int_equal(sid, pid);
	assert_int_equal(pgrp, pid);
	weft_buf_free(&out);
}

static void child_signal_state_is_clean(void **state)
{
	weft_buf out = { 0 };
	int status;
	sigset_t block, old;
	struct sigaction ign = { .sa_handler = SIG_IGN }, was;
	const char *argv[] = { CHILD, "signals", NULL };

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	sigaction(SIGPIPE, &ign, &was);
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = argv }, &out, &status), 0);
	assert_string_equal(str(&out), "default unblocked\n");
	sigaction(SIGPIPE, &was, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	weft_buf_free(&out);
}

/* Parse the child's "fds" line. */
static int parse_fds(const char *s, int *fds, int max)
{
	int n = 0, off;

	while (n < max && sscanf(s, "%d%n", &fds[n], &off) == 1) {
		n++;
		s += off;
	}
	return n;
}

static void only_stdio_and_pass_fds_are_inherited(void **state)
{
	weft_buf out = { 0 };
	int status, leaky[2], passed[2], got[64], n;
	const char *argv[] = { CHILD, "fds", NULL };

	(void)state;
	/* Both pipes lack O_CLOEXEC on purpose: weft closes them anyway. */
	assert_int_equal(pipe(leaky), 0);
	assert_int_equal(pipe(passed), 0);
	assert_int_equal(
		run_child((weft_spawn_opts){ .argv = argv }, &out, &status), 0);
	n = parse_fds(str(&out), got, 64);
	assert_int_equal(n, 3);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[2], 2);

	int pass[] = { passed[1], passed[0],
		       passed[1] }; /* unsorted, duplicated */
	out.len = 0;
	assert_int_equal(run_child((weft_spawn_opts){ .argv = argv,
						      .pass_fds = pass,
						      .n_pass_fds = 3 },
				   &out, &status),
			 0);
	n = parse_fds(str(&out), got, 64);
	assert_int_equal(n, 5);
	int lo = passed[0] < passed[1] ? passed[0] : passed[1];
	int hi = passed[0] < passed[1] ? passed[1] : passed[0];
	assert_int_equal(got[3], lo);
	assert_int_equal(got[4], hi);
	/* a pass_fd with O_CLOEXEC set is still passed */
	fcntl(passed[0], F_SETFD, FD_CLOEXEC);
	out.len = 0;
	assert_int_equal(run_child((weft_spawn_opts){ .argv = argv,
						      .pass_fds = &passed[0],
						      .n_pass_fds = 1 },
				   &out, &status),
			 0);
	n = parse_fds(str(&out), got, 64);
	assert_int_equal(n, 4);
	assert_int_equal(got[3], passed[0]);
	close(leaky[0]);
	close(leaky[1]);
	close(passed[0]);
	close(passed[1]);
	weft_buf_free(&out);
}

/* Three processes chained by hand, the seed's stdin=proc.stdout. */
static void chaining_three_processes(void **state)
{
	weft_proc *a, *b, *c;
	weft_buf out = { 0 };
	int status;
	const char *prod[] = { CHILD, "produce", "1000000", NULL };
	const char *cat[] = { CHILD, "cat", NULL };
	const char *count[] = { CHILD, "count", NULL };

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&a, &(weft_spawn_opts){ .argv = prod,
							.out = WEFT_PIPE,
							.err = WEFT_DEVNULL }),
		0);
	assert_int_equal(
		weft_proc_spawn(&b, &(weft_spawn_opts){ .argv = cat,
							.in = WEFT_CHAIN(a),
							.out = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_stdout(a), -1); /* moved into b */
	assert_int_equal(
		weft_proc_spawn(&c, &(weft_spawn_opts){ .argv = count,
							.in = WEFT_CHAIN(b),
							.out = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(c, NULL, 0, &out, NULL, SOON),
			 0);
	assert_string_equal(str(&out), "1000000\n");
	assert_int_equal(weft_proc_wait(a, &status, SOON), 0);
	assert_int_equal(status, 0);
	assert_int_equal(weft_proc_wait(b, &status, SOON), 0);
	assert_int_equal(status, 0);
	assert_int_equal(weft_proc_wait(c, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(a);
	weft_proc_free(b);
	weft_proc_free(c);
	weft_buf_free(&out);
}

static void pipeline_reports_failing_stage(void **state)
{
	weft_pipeline *pl;
	weft_buf out = { 0 }, errs[3] = { { 0 } };
	int status;
	size_t bad;
	const char *cat[] = { CHILD, "cat", NULL };
	const char *fail[] = { CHILD, "exit", "3", NULL };
	const char *count[] = { CHILD, "count", NULL };

	(void)state;
	/* all good: 1 MiB through cat | cat | count */
	weft_spawn_opts ok[] = {
		{ .argv = cat, .in = WEFT_PIPE },
		{ .argv = cat },
		{ .argv = count, .out = WEFT_PIPE, .err = WEFT_PIPE },
	};
	size_t n = 1u << 20;
	char *in = calloc(1, n);
	assert_int_equal(weft_pipeline_spawn(&pl, ok, 3, &bad), 0);
	assert_int_equal(weft_pipeline_len(pl), 3);
	assert_int_equal(weft_pipeline_communicate(pl, in, n, &out, errs, SOON),
			 0);
	assert_string_equal(str(&out), "1048576\n");
	assert_int_equal(weft_pipeline_wait(pl, &status, SOON), 0);
	assert_int_equal(status, 0);
	assert_int_equal(weft_pipeline_failed_stage(pl), -1);
	weft_pipeline_free(pl);

	/* the middle stage fails without reading: pipefail names it */
	weft_spawn_opts bad_mid[] = {
		{ .argv = cat, .in = WEFT_PIPE },
		{ .argv = fail, .err = WEFT_PIPE },
		{ .argv = count, .out = WEFT_PIPE },
	};
	out.len = 0;
	assert_int_equal(weft_pipeline_spawn(&pl, bad_mid, 3, &bad), 0);
	assert_int_equal(weft_pipeline_communicate(pl, in, n, &out, errs, SOON),
			 0);
	assert_string_equal(str(&out), "0\n");
	assert_int_equal(weft_pipeline_wait(pl, &status, SOON), 0);
	assert_int_equal(status, 3);
	assert_int_equal(weft_pipeline_failed_stage(pl), 1);
	int s0, s1, s2;
	assert_int_equal(weft_pipeline_status(pl, 0, &s0), 0);
	assert_true(s0 == 0 || s0 == -SIGPIPE ||
		    s0 == 99); /* writer lost its reader */
	assert_int_equal(weft_pipeline_status(pl, 1, &s1), 0);
	assert_int_equal(s1, 3);
	assert_int_equal(weft_pipeline_status(pl, 2, &s2), 0);
	assert_int_equal(s2, 0);
	assert_int_equal(weft_pipeline_status(pl, 3, &s2), -EINVAL);
	weft_pipeline_free(pl);

	/* a stage that cannot start: nothing left running, the stage named */
	const char *missing[] = { "weft-no-such-program-xyz", NULL };
	weft_spawn_opts no_prog[] = { { .argv = cat, .in = WEFT_PIPE },
				      { .argv = cat },
				      { .argv = missing } };
	assert_int_equal(weft_pipeline_spawn(&pl, no_prog, 3, &bad), -ENOENT);
	assert_int_equal(bad, 2);
	/* a chained stream set by the caller is refused */
	weft_spawn_opts clash[] = { { .argv = cat, .out = WEFT_PIPE },
				    { .argv = cat } };
	assert_int_equal(weft_pipeline_spawn(&pl, clash, 2, &bad), -EINVAL);
	assert_int_equal(bad, 0);

	/* kill a pipeline stuck on input */
	weft_spawn_opts stuck[] = { { .argv = cat, .in = WEFT_PIPE },
				    { .argv = cat } };
	assert_int_equal(weft_pipeline_spawn(&pl, stuck, 2, NULL), 0);
	assert_int_equal(weft_pipeline_wait(pl, &status,
					    weft_now() + 50 * WEFT_MSEC),
			 -ETIMEDOUT);
	assert_int_equal(weft_pipeline_status(pl, 0, &s0), -EAGAIN);
	assert_int_equal(weft_pipeline_send_signal(pl, SIGKILL), 0);
	assert_int_equal(weft_pipeline_wait(pl, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	weft_pipeline_free(pl);
	for (int i = 0; i < 3; i++)
		weft_buf_free(&errs[i]);
	weft_buf_free(&out);
	free(in);
}

/* 10,000 spawns with pipes: no fd left open, no zombie (the teardown). */
static void many_spawns_leak_nothing(void **state)
{
	weft_buf out = { 0 };
	const char *argv[] = { "/bin/true", NULL };
	const char *echo[] = { CHILD, "both", NULL };
	int fds0 = count_open_fds();

	(void)state;
	for (int i = 0; i < 10000; i++) {
		weft_proc *p;
		int status = -1;

		if (i % 2) {
			assert_int_equal(
				weft_proc_spawn(&p,
						&(weft_spawn_opts){
							.argv = argv,
							.in = WEFT_DEVNULL }),
				0);
		} else {
			out.len = 0;
			assert_int_equal(
				weft_proc_spawn(&p,
						&(weft_spawn_opts){
							.argv = echo,
							.in = WEFT_PIPE,
							.out = WEFT_PIPE,
							.err = WEFT_TO_STDOUT }),
				0);
			assert_int_equal(weft_proc_communicate(p, NULL, 0, &out,
							       NULL, SOON),
					 0);
			assert_int_equal(out.len, 8);
		}
		assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
		assert_int_equal(status, 0);
		weft_proc_free(p);
	}
	assert_int_equal(count_open_fds(), fds0);
	assert_true(no_children_left());
	weft_buf_free(&out);
}

/* Threads spawning at once never hand each other's pipes to children. */
static void *spawn_worker(void *arg)
{
	weft_buf out = { 0 };
	const char *argv[] = { CHILD, "fds", NULL };
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 150; i++) {
		weft_proc *p;
		int status;

		out.len = 0;
		if (weft_proc_spawn(
			    &p, &(weft_spawn_opts){ .argv = argv,
						    .in = WEFT_PIPE,
						    .out = WEFT_PIPE }) < 0) {
			bad++;
			continue;
		}
		weft_proc_communicate(p, NULL, 0, &out, NULL, SOON);
		weft_proc_wait(p, &status, SOON);
		weft_proc_free(p);
		str(&out);
		if (status != 0 || strcmp(out.data, "0 1 2\n") != 0)
			bad++;
	}
	weft_buf_free(&out);
	return (void *)bad;
}

static void concurrent_spawns(void **state)
{
	pthread_t t[4];
	void *bad;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, spawn_worker, NULL), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((long)bad, 0);
	}
}

/* wait in one thread, signal from another */
static void *killer(void *arg)
{
	usleep(100 * 1000);
	return (void *)(long)weft_proc_kill(arg);
}

static void signal_from_another_thread(void **state)
{
	weft_proc *p;
	pthread_t t;
	void *rc;
	int status;
	const char *sleeper[] = { CHILD, "sleep", "30000", NULL };

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper }), 0);
	assert_int_equal(pthread_create(&t, NULL, killer, p), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	pthread_join(t, &rc);
	assert_int_equal((long)rc, 0);
	weft_proc_free(p);
}

/* Signals arriving without SA_RESTART: every EINTR is retried inside weft. */
static void on_usr1(int sig)
{
	(void)sig;
}

struct pester {
	pthread_t target;
	atomic_bool stop;
};

static void *pester_thread(void *arg)
{
	struct pester *ps = arg;

	while (!atomic_load(&ps->stop)) {
		pthread_kill(ps->target, SIGUSR1);
		usleep(2000);
	}
	return NULL;
}

static void interrupted_calls_are_retried(void **state)
{
	struct sigaction sa = { .sa_handler = on_usr1 }, old;
	struct pester ps = { .target = pthread_self() };
	const char *sleeper[] = { CHILD, "sleep", "300", "tick", NULL };
	const char *cat[] = { CHILD, "cat", "100", NULL };
	weft_buf out = { 0 };
	weft_proc *p;
	pthread_t t;
	int status;
	char in[300000];

	(void)state;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: syscalls fail with EINTR */
	sigaction(SIGUSR1, &sa, &old);
	atomic_init(&ps.stop, false);
	assert_int_equal(pthread_create(&t, NULL, pester_thread, &ps), 0);

	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper,
							.out = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, NULL, SOON),
			 0);
	assert_string_equal(str(&out), "tick\n");
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);

	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper,
							.out = WEFT_DEVNULL }),
		0);
	assert_int_equal(weft_proc_wait(p, &status, WEFT_FOREVER), 0);
	assert_int_equal(status, 0);
	weft_proc_free(p);

	fill(in, sizeof(in), 3);
	out.len = 0;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = cat,
							.in = WEFT_PIPE,
							.out = WEFT_PIPE }),
		0);
	assert_int_equal(
		weft_proc_communicate(p, in, sizeof(in), &out, NULL, SOON), 0);
	assert_int_equal(out.len, sizeof(in));
	assert_true(memcmp(out.data, in, sizeof(in)) == 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);

	atomic_store(&ps.stop, true);
	pthread_join(t, NULL);
	sigaction(SIGUSR1, &old, NULL);
	weft_buf_free(&out);
}

/*
 * Issue 7, bug 1: a child keeping stdout and stderr busy forever. The
 * deadline must hold (communicate used to look at it only when poll()
 * found nothing ready, and read gigabytes past it). A watchdog kills the
 * group well past the deadline, so a regression fails instead of hanging.
 */
struct watchdog {
	weft_proc *p;
	int64_t at;
	atomic_bool stop, fired;
};

static void *watchdog_thread(void *arg)
{
	struct watchdog *w = arg;

	while (!atomic_load(&w->stop) && weft_now() < w->at)
		usleep(10 * 1000);
	if (!atomic_load(&w->stop)) {
		atomic_store(&w->fired, true);
		weft_proc_signal_group(w->p, SIGKILL);
	}
	return NULL;
}

/*
 * One round: a shell whose children keep both pipes full (several writers
 * each, so the pipes are rarely empty when communicate polls — the only
 * moment the old loop looked at its deadline).
 */
static void busy_pipes_round(void)
{
	const char *argv[] = { "/bin/sh", "-c",
			       "for i in 1 2 3; do cat /dev/zero & "
			       "cat /dev/zero >&2 & done; exec cat /dev/zero",
			       NULL };
	struct watchdog w;
	weft_buf out = { 0 }, err = { 0 };
	weft_proc *p;
	pthread_t t;
	int64_t t0, dt, deadline;
	int status, rc;

	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
							.out = WEFT_PIPE,
							.err = WEFT_PIPE,
							.new_process_group =
								true }),
		0);
	usleep(20 * 1000); /* let the writers start */
	t0 = weft_now();
	deadline = t0 + 200 * WEFT_MSEC;
	w.p = p;
	w.at = deadline + 5 * WEFT_SEC;
	atomic_init(&w.stop, false);
	atomic_init(&w.fired, false);
	assert_int_equal(pthread_create(&t, NULL, watchdog_thread, &w), 0);
	rc = weft_proc_communicate(p, NULL, 0, &out, &err, deadline);
	dt = weft_now() - t0;
	atomic_store(&w.stop, true);
	pthread_join(t, NULL);
	fprintf(stderr, "busy pipes: %.0f ms, %zu + %zu bytes read\n",
		(double)dt / 1e6, out.len, err.len);
	assert_false(atomic_load(&w.fired));
	assert_int_equal(rc, -ETIMEDOUT);
	assert_true(dt >= 200 * WEFT_MSEC);
	assert_true(dt < 700 * WEFT_MSEC); /* generous: not a bench */
	/* Memory: what is buffered is what was read, and nothing runs away. */
	assert_true(out.cap <= 2 * out.len + (1u << 20));
	assert_true(err.cap <= 2 * err.len + (1u << 20));
	assert_true(out.len + err.len < (2ull << 30));
	for (size_t i = 0; i < out.len; i += 4093)
		assert_int_equal(out.data[i], 0); /* the child's zeros */
	assert_int_equal(weft_proc_signal_group(p, SIGKILL), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	out.len = err.len = 0;
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, &err, SOON),
			 0);
	weft_proc_free(p);
	weft_buf_free(&out);
	weft_buf_free(&err);
}

/*
 * Five rounds: the old loop overran a round by 0.1 to 5 s, by more than
 * 0.5 s in about half of them; now a round ends within a few ms of its
 * deadline, so the 0.5 s slack is generous even for sanitizer builds.
 */
static void communicate_deadline_holds_with_busy_pipes(void **state)
{
	(void)state;
	for (int i = 0; i < 5; i++)
		busy_pipes_round();
}

/*
 * Issue 7, bug 2: with SIGCHLD ignored the kernel reaps children as they
 * exit. spawn used to lose the race to pidfd_open() (-ESRCH, after a
 * SIGKILL to a pid it no longer owned). Now every spawn succeeds and wait
 * says the status is lost (-ECHILD), promptly.
 */
/*
 * Spawn argv n times, waiting for each: count spawns that failed and
 * statuses lost to another reaper (-ECHILD: never -ETIMEDOUT, no hang).
 * A lost child's pid is free for anyone: weft must not signal it.
 * Otherwise the status must be `code`.
 */
static void spawn_many(const char **argv, int n, int code, int *failed,
		       int *lost)
{
	weft_proc *p;
	int status;

	for (int i = 0; i < n; i++) {
		int rc =
			weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv });

		if (rc < 0) {
			fprintf(stderr, "spawn %d: %s\n", i, weft_strerror(rc));
			(*failed)++;
			continue;
		}
		rc = weft_proc_wait(p, &status, SOON);
		if (rc == -ECHILD) {
			(*lost)++;
			assert_int_equal(weft_proc_kill(p), -ESRCH);
			assert_int_equal(weft_proc_send_signal(p, 0), -ESRCH);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(status, code);
		}
		weft_proc_free(p);
	}
}

static void sigchld_ignored(void **state)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	const char *quick[] = { CHILD, "exit", "3", NULL };
	const char *both[] = { CHILD, "both", NULL };
	weft_buf out = { 0 };
	int failed = 0, lost = 0, status;
	weft_proc *p;

	(void)state;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGCHLD, &ign, &old);
	spawn_many(quick, 500, 3, &failed, &lost);
	fprintf(stderr, "SIGCHLD ignored: %d of 500 spawns failed, %d lost\n",
		failed, lost);
	assert_int_equal(failed, 0);
	assert_int_equal(lost, 500); /* the kernel reaped every one */

	/* Pipes still work; the status is lost, every time; no signal. */
	assert_int_equal(
		weft_proc_spawn(&p,
				&(weft_spawn_opts){ .argv = both,
						    .out = WEFT_PIPE,
						    .err = WEFT_TO_STDOUT }),
		0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, NULL, SOON),
			 0);
	assert_string_equal(out.data, "out\nerr\n");
	assert_int_equal(weft_proc_wait(p, &status, WEFT_FOREVER), -ECHILD);
	assert_int_equal(weft_proc_wait(p, &status, 0), -ECHILD);
	assert_int_equal(weft_proc_kill(p), -ESRCH);
	weft_proc_free(p);
	/* An exec error is still spawn's error (the child side failed). */
	assert_int_equal(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = quick,
								 .cwd = "/nonex"
									"istent"
									"-wef"
									"t" }),
			 -ENOENT);
	sigaction(SIGCHLD, &old, NULL);
	weft_buf_free(&out);
}

/* Bug 2 again: another thread reaping with waitpid(-1) all the time. */
struct reaper {
	atomic_bool stop;
	atomic_long reaped;
};

static void *reaper_thread(void *arg)
{
	struct reaper *r = arg;

	while (!atomic_load(&r->stop)) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid > 0)
			atomic_fetch_add(&r->reaped, 1);
		else
			usleep(50);
	}
	return NULL;
}

static void foreign_reaper_never_breaks_spawn(void **state)
{
	struct reaper r;
	const char *quick[] = { CHILD, "exit", "0", NULL };
	const char *sleeper[] = { CHILD, "sleep", "30000", NULL };
	int failed = 0, lost = 0, status;
	weft_proc *p;
	pthread_t t;

	(void)state;
	atomic_init(&r.stop, false);
	atomic_init(&r.reaped, 0);
	assert_int_equal(pthread_create(&t, NULL, reaper_thread, &r), 0);
	spawn_many(quick, 500, 0, &failed, &lost);
	/* A long-running child reaped by the other thread after a kill. */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper }), 0);
	assert_int_equal(weft_proc_kill(p), 0);
	int rc = weft_proc_wait(p, &status, SOON);
	assert_true(rc == -ECHILD || (rc == 0 && status == -SIGKILL));
	weft_proc_free(p);
	atomic_store(&r.stop, true);
	pthread_join(t, NULL);
	fprintf(stderr, "foreign reaper: %d of 500 spawns failed, %d lost\n",
		failed, lost);
	assert_int_equal(failed, 0);
}

/*
 * Issue 7, bug 7: one pass_fd at a high number. The child keeps exactly
 * 0, 1, 2 and that fd; the holes are closed by range (bench_proc shows
 * the cost no longer grows with the number; no timing here).
 */
static void pass_fd_at_a_high_number(void **state)
{
	struct rlimit rl, old;
	weft_buf out = { 0 };
	int fds[2], high, got[64], n, status;
	const char *argv[] = { CHILD, "fds", NULL };

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	rl = old;
	if (rl.rlim_cur < 20000 && rl.rlim_max >= 20000)
		rl.rlim_cur = 20000;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
	high = rl.rlim_cur >= 20000 ? 19990 : (int)rl.rlim_cur - 10;
	assert_int_equal(pipe(fds), 0); /* no O_CLOEXEC: must not leak */
	assert_int_equal(dup2(fds[1], high), high);
	assert_int_equal(run_child((weft_spawn_opts){ .argv = argv,
						      .pass_fds = &high,
						      .n_pass_fds = 1 },
				   &out, &status),
			 0);
	n = parse_fds(str(&out), got, 64);
	assert_int_equal(n, 4);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], high);
	/* And the pass_fd really is the pipe: the child can write to it. */
	close(high);
	close(fds[0]);
	close(fds[1]);
	setrlimit(RLIMIT_NOFILE, &old);
	weft_buf_free(&out);
}

/* weft_proc_signal_group reaches a shell's children. */
static bool exits_soon(int pidfd)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 20000) == 1;
}

static void signal_a_process_group(void **state)
{
	const char *script[] = { "/bin/sh", "-c",
				 "sleep 100 >/dev/null & echo $!; sleep 100 "
				 ">/dev/null & echo $!; "
				 "wait",
				 NULL };
	const char *sleeper[] = { CHILD, "sleep", "30000", NULL };
	char line[64] = { 0 };
	size_t len = 0;
	int kids[2], pidfd[2], status;
	weft_proc *p;

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = script,
							.out = WEFT_PIPE,
							.new_process_group =
								true }),
		0);
	/* Two pids, one a line: the shell's background children. */
	while (memchr(line, '\n', len) == strrchr(line, '\n') ||
	       !strchr(line, '\n')) {
		ssize_t k = read(weft_proc_stdout(p), line + len,
				 sizeof(line) - 1 - len);
		assert_true(k > 0);
		len += (size_t)k;
	}
	assert_int_equal(sscanf(line, "%d %d", &kids[0], &kids[1]), 2);
	for (int i = 0; i < 2; i++) {
		pidfd[i] = (int)syscall(SYS_pidfd_open, kids[i], 0);
		assert_true(pidfd[i] >= 0);
	}
	assert_int_equal(weft_proc_signal_group(p, 0), 0);
	assert_int_equal(weft_proc_signal_group(p, SIGTERM), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGTERM);
	for (int i = 0; i < 2; i++) {
		assert_true(exits_soon(pidfd[i])); /* the whole group died */
		close(pidfd[i]);
	}
	/* Reaped now: refused, nothing is signalled. */
	assert_int_equal(weft_proc_signal_group(p, SIGTERM), -ESRCH);
	assert_int_equal(weft_proc_signal_group(p, -1), -EINVAL);
	weft_proc_free(p);

	/* A new session leads its group too. */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper,
							.new_session = true }),
		0);
	assert_int_equal(weft_proc_signal_group(p, SIGKILL), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	assert_int_equal(status, -SIGKILL);
	weft_proc_free(p);

	/* Not a group leader: refused (its group is ours). */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = sleeper }), 0);
	assert_int_equal(weft_proc_signal_group(p, SIGKILL), -EINVAL);
	assert_int_equal(weft_proc_kill(p), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);
	assert_int_equal(weft_proc_signal_group(NULL, SIGKILL), -EINVAL);
}

/* weft_proc_run: subprocess.run, one option at a time. */
static void run_options(void **state)
{
	const char *cat[] = { CHILD, "cat", NULL };
	const char *both[] = { CHILD, "both", NULL };
	const char *code[] = { CHILD, "exit", "7", NULL };
	const char *sleeper[] = { CHILD, "sleep", "30000", "started", NULL };
	const char *stubborn[] = { "/bin/sh", "-c",
				   "trap '' TERM; echo started; exec sleep 100",
				   NULL };
	const char *missing[] = { "weft-no-such-program-xyz", NULL };
	weft_run_result r = { 0 };
	int64_t t0, dt;

	(void)state;
	/* input and captured stdout */
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = cat,
							 .input = "hello",
							 .input_len = 5,
							 .capture_out = true },
				       SOON),
			 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out.data, "hello");
	assert_string_equal(r.err.data, ""); /* not captured: still a string */
	assert_int_equal(r.err.cap, 0);
	weft_run_result_free(&r);

	/* empty input: EOF at once (not our stdin) */
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = cat,
							 .input = "",
							 .capture_out = true },
				       SOON),
			 0);
	assert_int_equal(r.out.len, 0);
	assert_string_equal(r.out.data, "");
	weft_run_result_free(&r);

	/* stdout and stderr apart, then merged */
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = both,
							 .capture_out = true,
							 .capture_err = true },
				       SOON),
			 0);
	assert_string_equal(r.out.data, "out\n");
	assert_string_equal(r.err.data, "err\n");
	weft_run_result_free(&r);
	assert_int_equal(
		weft_proc_run(&r,
			      &(weft_run_opts){ .spawn.argv = both,
						.spawn.err = WEFT_TO_STDOUT,
						.capture_out = true },
			      SOON),
		0);
	assert_string_equal(r.out.data, "out\nerr\n");
	weft_run_result_free(&r);
	/* only stderr captured; stdout elsewhere */
	assert_int_equal(
		weft_proc_run(&r,
			      &(weft_run_opts){ .spawn.argv = both,
						.spawn.out = WEFT_DEVNULL,
						.capture_err = true },
			      SOON),
		0);
	assert_string_equal(r.out.data, "");
	assert_string_equal(r.err.data, "err\n");
	weft_run_result_free(&r);

	/* a failing exit code is a status, not an error; nothing captured */
	assert_int_equal(
		weft_proc_run(&r, &(weft_run_opts){ .spawn.argv = code }, SOON),
		0);
	assert_int_equal(r.status, 7);
	weft_run_result_free(&r);

	/* spawn errors are run's */
	assert_int_equal(
		weft_proc_run(&r, &(weft_run_opts){ .spawn.argv = missing },
			      SOON),
		-ENOENT);
	weft_run_result_free(&r);

	/* deadline: SIGTERM suffices; output read so far is kept */
	t0 = weft_now();
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = sleeper,
							 .capture_out = true },
				       t0 + 200 * WEFT_MSEC),
			 -ETIMEDOUT);
	dt = weft_now() - t0;
	assert_true(dt < 200 * WEFT_MSEC + WEFT_SEC);
	assert_int_equal(r.status, -SIGTERM);
	assert_string_equal(r.out.data, "started\n");
	weft_run_result_free(&r);

	/* a child that ignores SIGTERM: killed after the grace period */
	assert_int_equal(
		weft_proc_run(&r,
			      &(weft_run_opts){ .spawn.argv = stubborn,
						.capture_out = true,
						.grace = 100 * WEFT_MSEC },
			      weft_now() + 300 * WEFT_MSEC),
		-ETIMEDOUT);
	assert_int_equal(r.status, -SIGKILL);
	assert_string_equal(r.out.data, "started\n");
	weft_run_result_free(&r);

	/* grace < 0: SIGKILL at once */
	assert_int_equal(
		weft_proc_run(&r,
			      &(weft_run_opts){ .spawn.argv = sleeper,
						.spawn.out = WEFT_DEVNULL,
						.grace = -1 },
			      weft_now() + 50 * WEFT_MSEC),
		-ETIMEDOUT);
	assert_int_equal(r.status, -SIGKILL);
	weft_run_result_free(&r);

	/* bad arguments */
	assert_int_equal(weft_proc_run(NULL,
				       &(weft_run_opts){ .spawn.argv = cat },
				       SOON),
			 -EINVAL);
	assert_int_equal(weft_proc_run(&r, NULL, SOON), -EINVAL);
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = cat,
							 .input_len = 3 },
				       SOON),
			 -EINVAL);
	weft_run_result_free(NULL);
}

/*
 * run's deadline with a descendant holding the output pipe: as a group the
 * whole tree goes; without one, the child is killed and run returns anyway
 * (it reads what is in the pipe, it does not wait for the descendant).
 */
static void run_deadline_with_descendants(void **state)
{
	/* The first case's tree dies as a group; in the second, the "sleep 3"
	 * outlives its killed parent, holding the stdout pipe for 3 s. */
	const char *tree[] = { "/bin/sh", "-c",
			       "sleep 3 2>/dev/null & echo started; "
			       "exec sleep 100",
			       NULL };
	weft_run_result r = { 0 };
	int64_t t0, dt;

	(void)state;
	t0 = weft_now();
	assert_int_equal(
		weft_proc_run(&r,
			      &(weft_run_opts){ .spawn.argv = tree,
						.spawn.new_process_group = true,
						.capture_out = true },
			      t0 + 200 * WEFT_MSEC),
		-ETIMEDOUT);
	dt = weft_now() - t0;
	assert_true(dt < 200 * WEFT_MSEC + 2 * WEFT_SEC);
	assert_int_equal(r.status, -SIGTERM);
	assert_string_equal(r.out.data, "started\n");
	weft_run_result_free(&r);

	t0 = weft_now();
	assert_int_equal(weft_proc_run(&r,
				       &(weft_run_opts){ .spawn.argv = tree,
							 .capture_out = true,
							 .grace = -1 },
				       t0 + 200 * WEFT_MSEC),
			 -ETIMEDOUT);
	dt = weft_now() - t0;
	assert_true(dt < 200 * WEFT_MSEC + 2 * WEFT_SEC); /* not sleep 3 */
	assert_int_equal(r.status, -SIGKILL);
	assert_string_equal(r.out.data, "started\n");
	weft_run_result_free(&r);
}

/* weft_buf: always a string; an empty stream allocates nothing. */
static void buf_is_a_string_and_empty_costs_nothing(void **state)
{
	const char *quiet[] = { CHILD, "exit", "0", NULL };
	const char *echo[] = { CHILD, "sleep", "0", "hi", NULL };
	weft_buf out = { 0 }, err = { 0 };
	weft_proc *p;
	int status;

	(void)state;
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = echo,
							.out = WEFT_PIPE,
							.err = WEFT_PIPE }),
		0);
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, &err, SOON),
			 0);
	assert_int_equal(out.len, 3);
	assert_int_equal(out.data[3], '\0');
	assert_string_equal(out.data, "hi\n");
	assert_non_null(err.data);
	assert_int_equal(err.len, 0);
	assert_int_equal(err.cap, 0); /* nothing reserved */
	assert_string_equal(err.data, "");
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);

	/* reused (len = 0) and the stream sends nothing: "" again */
	assert_int_equal(
		weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = quiet,
							.out = WEFT_PIPE,
							.err = WEFT_PIPE }),
		0);
	out.len = 0;
	assert_int_equal(weft_proc_communicate(p, NULL, 0, &out, &err, SOON),
			 0);
	assert_string_equal(out.data, "");
	assert_int_equal(err.cap, 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);

	/* the static "" is never freed or realloc'd */
	assert_int_equal(weft_buf_reserve(&err, 10), 0);
	assert_true(err.cap >= 10);
	memcpy(err.data, "x", 2);
	weft_buf_free(&err);
	assert_null(err.data);
	weft_buf_free(&out);
	assert_int_equal(weft_buf_reserve(NULL, 1), -EINVAL);
	weft_buf_free(NULL);
}

/* Every call that takes a handle survives NULL. */
static void null_handles(void **state)
{
	int status = 12345;

	(void)state;
	assert_int_equal(weft_proc_pid(NULL), -1);
	assert_int_equal(weft_proc_stdin(NULL), -1);
	assert_int_equal(weft_proc_stdout(NULL), -1);
	assert_int_equal(weft_proc_stderr(NULL), -1);
	assert_int_equal(weft_proc_close_stdin(NULL), -EINVAL);
	assert_int_equal(weft_proc_wait(NULL, &status, 0), -EINVAL);
	assert_int_equal(weft_proc_wait(NULL, NULL, WEFT_FOREVER), -EINVAL);
	assert_int_equal(weft_proc_poll(NULL, &status), -EINVAL);
	assert_int_equal(status, 12345);
	assert_int_equal(weft_proc_send_signal(NULL, SIGTERM), -EINVAL);
	assert_int_equal(weft_proc_terminate(NULL), -EINVAL);
	assert_int_equal(weft_proc_kill(NULL), -EINVAL);
	assert_int_equal(weft_proc_signal_group(NULL, SIGTERM), -EINVAL);
	assert_int_equal(weft_proc_communicate(NULL, NULL, 0, NULL, NULL, 0),
			 -EINVAL);
	weft_proc_free(NULL);
	assert_int_equal(weft_pipeline_len(NULL), 0);
	assert_null(weft_pipeline_proc(NULL, 0));
	assert_int_equal(weft_pipeline_communicate(NULL, NULL, 0, NULL, NULL,
						   0),
			 -EINVAL);
	assert_int_equal(weft_pipeline_wait(NULL, &status, 0), -EINVAL);
	assert_int_equal(weft_pipeline_failed_stage(NULL), -EINVAL);
	assert_int_equal(weft_pipeline_status(NULL, 0, &status), -EINVAL);
	assert_int_equal(weft_pipeline_send_signal(NULL, SIGTERM), -EINVAL);
	weft_pipeline_free(NULL);
	assert_int_equal(status, 12345);
}

/* communicate leaves this thread's signal mask as it found it. */
static void communicate_keeps_the_signal_mask(void **state)
{
	size_t n = 4u << 20;
	char *in = calloc(1, n);
	const char *argv[] = { CHILD, "exit", "0", NULL };
	sigset_t block, before, after, pending;
	weft_proc *p;
	int status;

	(void)state;
	/* SIGPIPE blocked by the caller: still blocked after, not pending */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &before);
	assert_int_equal(weft_proc_spawn(&p,
					 &(weft_spawn_opts){ .argv = argv,
							     .in = WEFT_PIPE }),
			 0);
	assert_int_equal(weft_proc_communicate(p, in, n, NULL, NULL, SOON), 0);
	assert_int_equal(weft_proc_wait(p, &status, SOON), 0);
	weft_proc_free(p);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	assert_true(sigismember(&after, SIGPIPE));
	sigpending(&pending);
	assert_false(sigismember(&pending, SIGPIPE));
	pthread_sigmask(SIG_SETMASK, &before, NULL);
	free(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(exit_codes),
		LEAK_CHECKED(path_lookup_and_exec_errors),
		LEAK_CHECKED(bad_input_is_an_error_code),
		LEAK_CHECKED(environment),
		LEAK_CHECKED(working_directory),
		LEAK_CHECKED(large_io_both_ways),
		LEAK_CHECKED(communicate_deadline_keeps_data),
		LEAK_CHECKED(communicate_resumes_input),
		LEAK_CHECKED(child_ignores_input),
		LEAK_CHECKED(wait_deadline_and_signals),
		LEAK_CHECKED(stdio_kinds),
		LEAK_CHECKED(process_group_and_session),
		LEAK_CHECKED(child_signal_state_is_clean),
		LEAK_CHECKED(only_stdio_and_pass_fds_are_inherited),
		LEAK_CHECKED(chaining_three_processes),
		LEAK_CHECKED(pipeline_reports_failing_stage),
		LEAK_CHECKED(concurrent_spawns),
		LEAK_CHECKED(signal_from_another_thread),
		LEAK_CHECKED(interrupted_calls_are_retried),
		LEAK_CHECKED(many_spawns_leak_nothing),
		LEAK_CHECKED(communicate_deadline_holds_with_busy_pipes),
		LEAK_CHECKED(sigchld_ignored),
		LEAK_CHECKED(foreign_reaper_never_breaks_spawn),
		LEAK_CHECKED(pass_fd_at_a_high_number),
		LEAK_CHECKED(signal_a_process_group),
		LEAK_CHECKED(run_options),
		LEAK_CHECKED(run_deadline_with_descendants),
		LEAK_CHECKED(buf_is_a_string_and_empty_costs_nothing),
		LEAK_CHECKED(null_handles),
		LEAK_CHECKED(communicate_keeps_the_signal_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
