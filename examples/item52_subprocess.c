/*
 * Effective Python, item 52: "Use subprocess to manage child processes" — in C.
 *
 *   item52_subprocess [-n pipelines] [-d digest] [-s bytes]
 *
 * Walks through the item: run a child and capture its output, poll it, run
 * children in parallel, give up on one at a deadline, and then the seed's
 * finale: N pipelines of `openssl enc -des3 | openssl dgst -whirlpool
 * -binary`, started together, each fed random bytes.
 *
 * On OpenSSL 3 (Debian 12) whirlpool lives only in the legacy provider, so
 * the seed's command as written fails; the example shows which stage failed,
 * its status and its stderr, then runs the digest with the legacy provider
 * loaded (`-provider legacy -provider default`), and if that is missing too,
 * falls back to sha512 and says so.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <weft.h>

static double ms_since(int64_t t0)
{
	return (double)(weft_now() - t0) / (double)WEFT_MSEC;
}

static int die(const char *what, int rc)
{
	fprintf(stderr, "item52: %s: %s\n", what, weft_strerror(rc));
	return 1;
}

/* subprocess.run(['echo', 'Hello from the child!'], capture_output=True) */
static int hello(void)
{
	const char *argv[] = { "echo", "Hello from the child!", NULL };
	weft_buf out = { 0 };
	weft_proc *p;
	int status, rc;

	rc = weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
						     .out = WEFT_PIPE });
	if (rc < 0)
		return die("spawn echo", rc);
	rc = weft_proc_communicate(p, NULL, 0, &out, NULL, WEFT_FOREVER);
	if (rc == 0)
		rc = weft_proc_wait(p, &status, WEFT_FOREVER);
	weft_proc_free(p);
	if (rc < 0)
		return die("echo", rc);
	printf("1. captured from a child: %.*s", (int)out.len, out.data);
	weft_buf_free(&out);
	return 0;
}

/* The poll loop: the parent works while the child runs. */
static int poll_child(void)
{
	const char *argv[] = { "sleep", "0.1", NULL };
	weft_proc *p;
	int status, rc, polls = 0;

	rc = weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv });
	if (rc < 0)
		return die("spawn sleep", rc);
	/* Each round does "work" for up to 10 ms while the child runs. */
	while ((rc = weft_proc_wait(p, &status, weft_now() + 10 * WEFT_MSEC)) ==
	       -ETIMEDOUT)
		polls++;
	weft_proc_free(p);
	if (rc < 0)
		return die("wait sleep", rc);
	printf("2. polled a child %d times while it ran; exit status %d\n",
	       polls, status);
	return 0;
}

/* Ten `sleep 0.1` at once take 0.1 s, not 1 s: children run in parallel. */
static int parallel_children(void)
{
	const char *argv[] = { "sleep", "0.1", NULL };
	weft_proc *p[10];
	int64_t t0 = weft_now();
	int rc, n = 0;

	for (; n < 10; n++) {
		rc = weft_proc_spawn(&p[n], &(weft_spawn_opts){ .argv = argv });
		if (rc < 0)
			break;
	}
	for (int i = 0; i < n; i++) {
		weft_proc_wait(p[i], NULL, WEFT_FOREVER);
		weft_proc_free(p[i]);
	}
	if (n < 10)
		return die("spawn sleep", rc);
	printf("3. ten `sleep 0.1` children in parallel: %.0f ms\n",
	       ms_since(t0));
	return 0;
}

/* A deadline: Python's proc.communicate(timeout=0.1) and proc.terminate(). */
static int deadline(void)
{
	const char *argv[] = { "sleep", "10", NULL };
	weft_proc *p;
	int status, rc;
	int64_t t0 = weft_now();

	rc = weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv });
	if (rc < 0)
		return die("spawn sleep", rc);
	rc = weft_proc_wait(p, &status, t0 + 100 * WEFT_MSEC);
	printf("4. waited %.0f ms for `sleep 10`: %s; ", ms_since(t0),
	       weft_strerror(rc));
	weft_proc_terminate(p);
	rc = weft_proc_wait(p, &status, WEFT_FOREVER);
	weft_proc_free(p);
	if (rc < 0)
		return die("wait sleep", rc);
	printf("terminated, status %d (-SIGTERM)\n", status);
	return 0;
}

struct job {
	weft_pipeline *pl;
	unsigned char data[4096];
	weft_buf out;
	weft_buf errs[2];
};

static void print_stderr(const char *who, const weft_buf *b)
{
	const char *s = b->data, *end = b->data + b->len;
	int lines = 0;

	while (s < end && lines < 4) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		int len = (int)((nl ? nl : end) - s);

		printf("     %s stderr: %.*s\n", who, len, s);
		s = nl ? nl + 1 : end;
		lines++;
	}
}

/*
 * The seed's finale: n pipelines of encrypt | digest, all started before any
 * is read. Returns 0 when every pipeline succeeded, 1 when one failed (after
 * reporting which stage, its status and stderr), or a negative error.
 */
static int encrypt_and_hash(int n, size_t size, const char *const *dgst_argv)
{
	const char *enc_argv[] = { "openssl", "enc",	      "-des3",
				   "-pass",   "env:password", NULL };
	/* os.environ.copy() with password set: an override, not a setenv. */
	const char *env[] = { "password=zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1",
			      NULL };
	struct job *jobs = calloc((size_t)n, sizeof(*jobs));
	int rc = 0, failed = 0, started = 0;
	int64_t t0 = weft_now();

	if (!jobs)
		return -ENOMEM;
	for (; started < n; started++) {
		struct job *j = &jobs[started];
		weft_spawn_opts stages[] = {
			{ .argv = enc_argv,
			  .env = env,
			  .in = WEFT_PIPE,
			  .err = WEFT_PIPE },
			{ .argv = dgst_argv,
			  .out = WEFT_PIPE,
			  .err = WEFT_PIPE },
		};
		size_t bad;

		if (getrandom(j->data, size, 0) != (ssize_t)size) {
			rc = -errno;
			break;
		}
		rc = weft_pipeline_spawn(&j->pl, stages, 2, &bad);
		if (rc < 0) {
			fprintf(stderr,
				"item52: stage %zu (%s) did not start: %s\n",
				bad, bad ? dgst_argv[0] : enc_argv[0],
				weft_strerror(rc));
			break;
		}
	}
	for (int i = 0; i < started; i++) {
		struct job *j = &jobs[i];
		int status, r;

		r = weft_pipeline_communicate(j->pl, j->data, size, &j->out,
					      j->errs, WEFT_FOREVER);
		if (r == 0)
			r = weft_pipeline_wait(j->pl, &status, WEFT_FOREVER);
		if (r < 0) {
			rc = rc ? rc : r;
			continue;
		}
		if (status != 0) {
			int stage = weft_pipeline_failed_stage(j->pl);

			printf("   pipeline %d failed: stage %d (%s) exited "
			       "with "
			       "status %d\n",
			       i, stage,
			       stage == 0 ? "openssl enc" : "openssl dgst",
			       status);
			for (int s = 0; s < 2; s++) {
				int st;

				weft_pipeline_status(j->pl, (size_t)s, &st);
				printf("     stage %d status %d\n", s, st);
			}
			print_stderr(stage == 0 ? "enc" : "dgst",
				     &j->errs[stage]);
			failed++;
			continue;
		}
		printf("   pipeline %d: last 10 digest bytes ", i);
		for (size_t b = j->out.len > 10 ? j->out.len - 10 : 0;
		     b < j->out.len; b++)
			printf("%02x", (unsigned char)j->out.data[b]);
		printf("\n");
	}
	printf("   %d pipelines (%d processes) in %.1f ms\n", started,
	       2 * started, ms_since(t0));
	for (int i = 0; i < started; i++) {
		weft_pipeline_free(jobs[i].pl);
		weft_buf_free(&jobs[i].out);
		weft_buf_free(&jobs[i].errs[0]);
		weft_buf_free(&jobs[i].errs[1]);
	}
	free(jobs);
	if (rc < 0)
		return rc;
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *digest = "whirlpool";
	char dflag[64];
	size_t size = 100;
	int n = 3, c, rc;

	while ((c = getopt(argc, argv, "n:d:s:h")) != -1) {
		switch (c) {
		case 'n':
			n = atoi(optarg);
			break;
		case 'd':
			digest = optarg;
			break;
		case 's':
			size = (size_t)atol(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n pipelines] [-d digest] "
				"[-s bytes per pipeline, <= 4096]\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (n < 1 || size < 1 || size > 4096) {
		fprintf(stderr, "item52: need -n >= 1 and 1 <= -s <= 4096\n");
		return 2;
	}
	snprintf(dflag, sizeof(dflag), "-%s", digest);

	if (hello() || poll_child() || parallel_children() || deadline())
		return 1;

	const char *seed[] = { "openssl", "dgst", dflag, "-binary", NULL };
	printf("5. %d x `openssl enc -des3 | openssl dgst %s -binary`, as the "
	       "seed wrote it:\n",
	       n, dflag);
	rc = encrypt_and_hash(n, size, seed);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return die("pipelines", rc);

	const char *legacy[] = { "openssl", "dgst",	 "-provider",
				 "legacy",  "-provider", "default",
				 dflag,	    "-binary",	 NULL };
	printf("6. OpenSSL 3 keeps %s in its legacy provider; again with "
	       "`-provider legacy -provider default`:\n",
	       digest);
	rc = encrypt_and_hash(n, size, legacy);
	if (rc == 0)
		return 0;
	if (rc < 0)
		return die("pipelines", rc);

	const char *fallback[] = { "openssl", "dgst", "-sha512", "-binary",
				   NULL };
	printf("7. no legacy provider here either; falling back to sha512:\n");
	rc = encrypt_and_hash(n, size, fallback);
	return rc == 0 ? 0 : 1;
}
