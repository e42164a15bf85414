/*
 * Effective Python, item 60, applied to item 52's finale: many child
 * process pipelines driven at once by coroutines instead of by one thread
 * polling them in turn.
 *
 *   item60_pipelines [-n pipelines] [-s bytes] [-l loops]
 *
 * Each of N (default 500) coroutines runs its own pipeline of the seed's
 *
 *     openssl enc -des3 -pass env:password | openssl dgst -whirlpool -binary
 *
 * feeding it random bytes and collecting the digest with
 * weft_pipeline_communicate, then weft_pipeline_wait — the same calls
 * item52 makes from a plain thread. In a coroutine they suspend only that
 * coroutine: while one pipeline's children run, the loop feeds and reads
 * the others, so all N are in flight at once on a couple of threads.
 *
 * OpenSSL 3 (Debian 12) keeps whirlpool in its legacy provider, so the
 * seed's command as written fails there. As item52 does, the program
 * first tries one pipeline as written, then with `-provider legacy
 * -provider default`, then falls back to sha512, and says which it runs.
 *
 * Prints a summary and the time taken; exits 1 if any pipeline failed
 * (reporting the first failure: its stage, status and stderr).
 */
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>

#include <weft.h>

#define MAX_INPUT 65536

static const char *enc_argv[] = { "openssl", "enc",	     "-des3",
				  "-pass",   "env:password", NULL };
/* os.environ.copy() with password set: an override, not a setenv. */
static const char *enc_env[] = { "password=zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1",
				 NULL };

struct run {
	const char *const *dgst_argv;
	size_t size;
	int64_t deadline;
	atomic_int ok, failed, running, peak;
	atomic_flag reported;
	int n;		    /* pipelines in the batch */
	atomic_int spawned; /* started (or failed to start) so far */
	weft_event all_started;
	size_t digest_len; /* from the probe: every digest must have it */
};

struct result {
	int rc;	       /* 0, or a weft error */
	int status;    /* pipefail status */
	int stage;     /* the failed stage, or -1 */
	size_t digest; /* digest bytes read */
	char err[512]; /* the failed stage's stderr (start) */
};

/*
 * One pipeline, start to finish, from the calling coroutine (or thread).
 * With `barrier`, wait after starting it until every pipeline of the
 * batch has started: the seed's "start them all, then feed them".
 */
static void one_pipeline(struct run *r, struct result *res, bool barrier)
{
	weft_spawn_opts stages[] = {
		{ .argv = enc_argv,
		  .env = enc_env,
		  .in = WEFT_PIPE,
		  .err = WEFT_PIPE },
		{ .argv = r->dgst_argv, .out = WEFT_PIPE, .err = WEFT_PIPE },
	};
	unsigned char data[MAX_INPUT];
	weft_buf out = { 0 }, errs[2] = { { 0 }, { 0 } };
	weft_pipeline *pl;
	size_t bad;

	memset(res, 0, sizeof(*res));
	res->stage = -1;
	if (getrandom(data, r->size, 0) != (ssize_t)r->size) {
		res->rc = -EIO;
		return;
	}
	res->rc = weft_pipeline_spawn(&pl, stages, 2, &bad);
	if (barrier && atomic_fetch_add(&r->spawned, 1) + 1 == r->n)
		weft_event_set(&r->all_started);
	if (res->rc) {
		res->stage = (int)bad;
		return;
	}
	if (barrier) {
		int now = atomic_fetch_add(&r->running, 1) + 1;
		int peak = atomic_load(&r->peak);

		while (now > peak &&
		       !atomic_compare_exchange_weak(&r->peak, &peak, now))
			;
		weft_event_wait(&r->all_started, r->deadline);
	}
	res->rc = weft_pipeline_communicate(pl, data, r->size, &out, errs,
					    r->deadline);
	if (res->rc == 0)
		res->rc = weft_pipeline_wait(pl, &res->status, r->deadline);
	if (res->rc) {
		/* Deadline or error: leave nothing running behind us. */
		weft_pipeline_send_signal(pl, SIGKILL);
		weft_pipeline_wait(pl, NULL, WEFT_FOREVER);
	} else if (res->status) {
		res->stage = weft_pipeline_failed_stage(pl);
		if (res->stage >= 0)
			snprintf(res->err, sizeof(res->err), "%s",
				 errs[res->stage].data);
	}
	res->digest = out.len;
	if (barrier)
		atomic_fetch_sub(&r->running, 1);
	weft_pipeline_free(pl);
	weft_buf_free(&out);
	weft_buf_free(&errs[0]);
	weft_buf_free(&errs[1]);
}

static void report_failure(const char *what, const struct result *res)
{
	if (res->rc)
		printf("   %s: %s%s\n", what, weft_strerror(res->rc),
		       res->stage >= 0 ? " (starting a stage)" : "");
	else
		printf("   %s: stage %d (%s) exited with status %d%s%s", what,
		       res->stage,
		       res->stage == 0 ? "openssl enc" : "openssl dgst",
		       res->status, res->err[0] ? "; stderr:\n     " : "\n",
		       res->err);
	if (res->err[0] && res->err[strlen(res->err) - 1] != '\n')
		printf("\n");
}

/* The coroutine per pipeline. */
static int pipeline_coro(void *arg, void **result)
{
	struct run *r = arg;
	struct result res;

	(void)result;
	one_pipeline(r, &res, true);
	if (res.rc == 0 && res.status == 0 && res.digest == r->digest_len) {
		atomic_fetch_add(&r->ok, 1);
		return 0;
	}
	atomic_fetch_add(&r->failed, 1);
	if (!atomic_flag_test_and_set(&r->reported)) {
		if (res.rc == 0 && res.status == 0)
			printf("   first failure: a %zu-byte digest, "
			       "expected %zu\n",
			       res.digest, r->digest_len);
		else
			report_failure("first failure", &res);
	}
	return 0;
}

struct opts {
	int n;
	size_t size;
	unsigned loops;
	int rc;
};

static int main_coro(void *arg, void **result)
{
	struct opts *o = arg;
	static char dflag[] = "-whirlpool";
	static const char *seed[] = { "openssl", "dgst", dflag, "-binary",
				      NULL };
	static const char *legacy[] = { "openssl", "dgst",	"-provider",
					"legacy",  "-provider", "default",
					dflag,	   "-binary",	NULL };
	static const char *fallback[] = { "openssl", "dgst", "-sha512",
					  "-binary", NULL };
	static const struct {
		const char *const *argv;
		const char *says;
	} tries[] = {
		{ seed, "openssl dgst -whirlpool (as the seed wrote it)" },
		{ legacy, "openssl dgst -whirlpool with the legacy provider" },
		{ fallback, "openssl dgst -sha512 (no whirlpool here)" },
	};
	struct run r = { .size = o->size };
	weft_group *g;
	int64_t t0;
	int rc;

	(void)result;
	/* Probe: one pipeline per variant until one works. */
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		struct result res;

		r.dgst_argv = tries[i].argv;
		r.deadline = weft_now() + 30 * WEFT_SEC;
		one_pipeline(&r, &res, false);
		if (res.rc == 0 && res.status == 0 && res.digest > 0) {
			r.digest_len = res.digest;
			printf("digest: %s\n", tries[i].says);
			break;
		}
		report_failure(tries[i].says, &res);
		if (res.rc == -ENOENT) {
			printf("no openssl on PATH\n");
			o->rc = 1;
			return 0;
		}
	}
	if (!r.digest_len) {
		printf("no openssl digest pipeline works here\n");
		o->rc = 1;
		return 0;
	}
	printf("%d pipelines (%d processes) at once, one coroutine each, "
	       "%zu random bytes in each...\n",
	       o->n, 2 * o->n, o->size);
	fflush(stdout);
	t0 = weft_now();
	r.deadline = t0 + 120 * WEFT_SEC;
	r.n = o->n;
	weft_event_init(&r.all_started);
	rc = weft_group_new(&g, 0);
	for (int i = 0; rc == 0 && i < o->n; i++)
		rc = weft_group_spawn(g, NULL, pipeline_coro, &r, NULL);
	if (rc) {
		fprintf(stderr, "item60: spawn: %s\n", weft_strerror(rc));
		weft_event_set(&r.all_started); /* nobody waits for the rest */
	}
	weft_group_wait(g, WEFT_FOREVER);
	weft_group_free(g);
	printf("%d ok, %d failed, in %.1f ms (%d pipelines running at "
	       "once)\n",
	       atomic_load(&r.ok), atomic_load(&r.failed),
	       (double)(weft_now() - t0) / WEFT_MSEC, atomic_load(&r.peak));
	o->rc = rc || atomic_load(&r.failed) || atomic_load(&r.ok) != o->n ? 1
									   : 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .n = 500, .size = 100 };
	struct rlimit rl;
	int c, rc;

	while ((c = getopt(argc, argv, "n:s:l:h")) != -1) {
		switch (c) {
		case 'n':
			o.n = atoi(optarg);
			break;
		case 's':
			o.size = (size_t)atol(optarg);
			break;
		case 'l':
			o.loops = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n pipelines (500)] [-s bytes "
				"per pipeline (100), <= 65536] [-l loops]\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (o.n < 1 || o.n > 100000 || o.size < 1 || o.size > MAX_INPUT) {
		fprintf(stderr, "item60: need 1 <= -n <= 100000 and "
				"1 <= -s <= 65536\n");
		return 2;
	}
	/* Each pipeline in flight holds six fds (4 pipes, 2 pidfds). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	rc = weft_run(main_coro, &o, NULL,
		      &(weft_loops_opts){ .loops = o.loops });
	if (rc) {
		fprintf(stderr, "item60: %s\n", weft_strerror(rc));
		return 1;
	}
	return o.rc;
}
