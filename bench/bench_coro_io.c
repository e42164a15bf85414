/*
 * bench_coro_io — weft's coroutines waiting on processes and on a thread
 * pool, against Python's asyncio doing the same, in one run.
 *
 *   bench_coro_io [-q] [-n pipelines] [-r rounds] [-t trips]
 *                 [--cat] [--spawn-on-thread] [--no-peers]
 *                 [--only pipelines|await]
 *     -q     quick: 100 pipelines, 1 round, fewer trips
 *     --cat  `cat | cat` pipelines instead of openssl (both sides): the
 *            children then cost little, so the parents' own costs show
 *     --no-peers  weft only (to perf or strace it alone)
 *     --spawn-on-thread  weft starts each pipeline on a worker thread
 *
 * 1. pipelines: the seed's N concurrent `openssl enc -des3 | openssl dgst
 *    -whirlpool -binary` pipelines (item 52; the digest with OpenSSL 3's
 *    legacy provider loaded, as examples/item52_subprocess.c finds it
 *    needs), each fed 100 random bytes, N = 500. weft: weft_run with one
 *    coroutine per pipeline (weft_pipeline_spawn, weft_pipeline_communicate
 *    with the input, weft_pipeline_wait: the coroutine suspends while its
 *    pipeline runs), with 1 loop and with 2 loops. Python
 *    (bench/peers/coro_io_peer.py): the seed's own code — subprocess.Popen
 *    chained through stdin=enc.stdout, all N started (each fed as it
 *    starts), then communicate() on each. Both are timed from the first
 *    spawn to the last status; wall seconds, median of the rounds. Without
 *    openssl (or its legacy provider) both sides run `cat | cat` instead,
 *    and the table says so.
 * 2. await: one round trip to a 2-worker thread pool for a trivial task,
 *    in ns: a coroutine doing weft_pool_submit + weft_future_result (the
 *    coroutine suspends, its loop sleeps), a plain thread doing the same
 *    (it blocks), and a coroutine's weft_to_thread; Python: `await
 *    loop.run_in_executor(pool, f)` on a 2-worker ThreadPoolExecutor,
 *    `await asyncio.to_thread(f)`, and a thread's pool.submit(f).result().
 *    Median of the rounds, each after a 10% warm-up.
 *
 * The run ends with one machine-readable line per figure (bench/result.h),
 * ratio > 1 meaning weft is ahead (python/weft, both costs):
 *   RESULT pipelines_<N>_s         weft (1 loop) vs python, unit=s
 *   RESULT pipelines_<N>_s_loops2  weft (2 loops) vs python
 *          (pipelines_cat_<N>_s... when the pipelines are `cat | cat`)
 *   RESULT await_pool_future_ns    coroutine vs run_in_executor, unit=ns
 *   RESULT await_pool_future_thread_ns  thread vs submit().result()
 *   RESULT to_thread_ns            weft_to_thread vs asyncio.to_thread
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>

/* 0 until the coroutine runtime is in libweft: weft's figures say n/a. */

#include <weft.h>

#include "peer.h"
#include "result.h"
#include "weft/coro.h"

#ifndef PEERS_DIR
#define PEERS_DIR "."
#endif

static int reps = 3;

/* A table row: the figure and the ratio given (n/a if not measured). */
static void row(const char *what, double v, const char *unit, double ratio)
{
	if (v > 0)
		printf("  %-52s %12.*f %-3s %9.2fx\n", what,
		       !strcmp(unit, "s") ? 3 : 0, v, unit, ratio);
	else
		printf("  %-52s %12s\n", what, "n/a");
}

/* ------------------------------------------------------------------ */
/* 1. pipelines                                                       */
/* ------------------------------------------------------------------ */

static const char *enc_argv[] = { "openssl", "enc",	     "-des3",
				  "-pass",   "env:password", NULL };
static const char *dgst_argv[] = { "openssl",	 "dgst",      "-provider",
				   "legacy",	 "-provider", "default",
				   "-whirlpool", "-binary",   NULL };
static const char *cat_argv[] = { "cat", NULL };
static const char *pw_env[] = { "password=zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1",
				NULL };
static bool use_openssl = true, force_cat, no_peers;

/* Can this machine run the seed's pipeline (openssl, legacy whirlpool)? */
static bool openssl_works(void)
{
	const char *argv[] = { "openssl",   "dgst",    "-provider",  "legacy",
			       "-provider", "default", "-whirlpool", NULL };
	weft_run_result r = { 0 };
	int rc = weft_proc_run(&r,
			       &(weft_run_opts){ .spawn.argv = argv,
						 .spawn.err = WEFT_DEVNULL,
						 .input = "x",
						 .input_len = 1,
						 .capture_out = true },
			       weft_now() + 10 * WEFT_SEC);
	bool ok = rc == 0 && r.status == 0;

	weft_run_result_free(&r);
	return ok;
}

struct pipe_job {
	int rc;
};

/*
 * --spawn-on-thread: each coroutine starts its pipeline on a worker
 * (weft_to_thread) instead of on its loop, whose thread a process start
 * holds for 0.5-2 ms: the measurement behind spawning inline.
 */
static bool spawn_on_thread;

struct spawn_args {
	weft_pipeline **pl;
	weft_spawn_opts *st;
};

static int spawn_task(void *arg, void **res)
{
	struct spawn_args *a = arg;

	(void)res;
	return weft_pipeline_spawn(a->pl, a->st, 2, NULL);
}

static int pipeline_coro(void *arg, void **result)
{
	weft_spawn_opts st[2] = {
		{ .argv = use_openssl ? enc_argv : cat_argv,
		  .env = use_openssl ? pw_env : NULL,
		  .in = WEFT_PIPE,
		  .err = WEFT_DEVNULL },
		{ .argv = use_openssl ? dgst_argv : cat_argv,
		  .out = WEFT_PIPE },
	};
	unsigned char data[100];
	size_t want = use_openssl ? 64 : sizeof(data);
	weft_pipeline *pl;
	weft_buf out = { 0 };
	int rc, status = -1;

	if (getrandom(data, sizeof(data), 0) != (ssize_t)sizeof(data))
		return -EIO;
	if (spawn_on_thread) {
		struct spawn_args a = { &pl, st };

		rc = weft_to_thread(spawn_task, &a, NULL, WEFT_FOREVER);
	} else {
		rc = weft_pipeline_spawn(&pl, st, 2, NULL);
	}
	if (rc < 0)
		return rc;
	rc = weft_pipeline_communicate(pl, data, sizeof(data), &out, NULL,
				       WEFT_FOREVER);
	if (rc == 0)
		rc = weft_pipeline_wait(pl, &status, WEFT_FOREVER);
	if (rc == 0 && (status != 0 || out.len != want))
		rc = -EIO;
	weft_pipeline_free(pl);
	weft_buf_free(&out);
	return rc;
}

struct pipes_run {
	int n;
	double secs;
};

static int pipelines_main(void *arg, void **result)
{
	struct pipes_run *pr = arg;
	int64_t t0 = weft_now();
	weft_group *g;
	int rc = weft_group_new(&g, WEFT_GROUP_CANCEL_ON_ERROR);

	if (rc < 0)
		return rc;
	for (int i = 0; i < pr->n && rc == 0; i++)
		rc = weft_group_spawn(g, NULL, pipeline_coro, NULL, NULL);
	if (rc < 0) {
		weft_group_cancel(g);
		weft_group_free(g);
		return rc;
	}
	rc = weft_group_wait(g, WEFT_FOREVER);
	weft_group_free(g);
	pr->secs = (double)(weft_now() - t0) / 1e9;
	return rc;
}

/* CPU seconds (user + system) of this process or of its reaped children. */
static double cpu_s(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The CPU seconds a side spent: its own (the parent's), its children's. */
struct side_cpu {
	double self, kids;
};

/*
 * n pipelines from coroutines on `loops` loops: wall seconds, or -1.
 * cpu gets this process's CPU and its children's over the whole weft_run.
 */
static double weft_pipelines(int n, unsigned loops, struct side_cpu *cpu)
{
	struct pipes_run pr = { .n = n };
	double self0 = cpu_s(RUSAGE_SELF), kids0 = cpu_s(RUSAGE_CHILDREN);
	int rc = weft_run(pipelines_main, &pr, NULL,
			  &(weft_loops_opts){ .loops = loops });

	cpu->self = cpu_s(RUSAGE_SELF) - self0;
	cpu->kids = cpu_s(RUSAGE_CHILDREN) - kids0;

	if (rc < 0) {
		fprintf(stderr, "bench_coro_io: pipelines: %s\n",
			weft_strerror(rc));
		return -1;
	}
	return pr.secs;
}

/* The peer's wall seconds; cpu gets its own CPU and its children's. */
static double python_pipelines(int n, struct side_cpu *cpu)
{
	char cmd[512];
	double v[3] = { 0, 0, 0 };
	const char *keys[] = { "pipelines", "self_cpu", "kids_cpu" };

	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 '%s/coro_io_peer.py' pipelines %d %s",
		 PEERS_DIR, n, use_openssl ? "openssl" : "cat");
	if (!no_peers)
		run_peer(cmd, "python", keys, v, 3);
	cpu->self = v[1];
	cpu->kids = v[2];
	return v[0];
}

static void pipe_row(const char *what, double wall, double ratio,
		     const double *self, const double *kids)
{
	if (wall > 0)
		printf("  %-48s %8.3f %8.2fx %9.3f %9.3f\n", what, wall, ratio,
		       median(self, reps), median(kids, reps));
	else
		printf("  %-48s %8s\n", what, "n/a");
}

static void bench_pipelines(int n)
{
	double w1[16], w2[16], py[16], m1, m2, mp;
	double s1[16], s2[16], sp[16], k1[16], k2[16], kp[16];
	struct side_cpu c;
	char name[64];

	use_openssl = !force_cat && openssl_works();
	printf("\n%d concurrent pipelines `%s`, median of %d round%s\n", n,
	       use_openssl ? "openssl enc -des3 | openssl dgst -whirlpool "
			     "-binary"
	       : force_cat ? "cat | cat (--cat)"
			   : "cat | cat (openssl with legacy whirlpool is "
			     "missing)",
	       reps, reps > 1 ? "s" : "");
	weft_pipelines(n < 20 ? n : 20, 1, &c); /* warm the page cache */
	for (int r = 0; r < reps; r++) {
		w1[r] = weft_pipelines(n, 1, &c);
		s1[r] = c.self;
		k1[r] = c.kids;
		w2[r] = weft_pipelines(n, 2, &c);
		s2[r] = c.self;
		k2[r] = c.kids;
		py[r] = python_pipelines(n, &c);
		sp[r] = c.self;
		kp[r] = c.kids;
		fprintf(stderr,
			"  round %d: weft1 %.3f s  weft2 %.3f s  "
			"python %.3f s\n",
			r + 1, w1[r], w2[r], py[r]);
	}
	m1 = median(w1, reps);
	m2 = median(w2, reps);
	mp = median(py, reps);
	printf("  %-48s %8s %9s %9s %9s\n", "(seconds; lower is better)",
	       "wall", "python/x", "own CPU", "kids' CPU");
	pipe_row("weft, coroutine per pipeline, 1 loop", m1, ratio_of(mp, m1),
		 s1, k1);
	pipe_row("weft, coroutine per pipeline, 2 loops", m2, ratio_of(mp, m2),
		 s2, k2);
	pipe_row("Python, Popen chain, start all, communicate each", mp,
		 mp > 0 ? 1.0 : 0, sp, kp);
	printf("  (own CPU: the parent's user + system time; kids': the "
	       "pipelines' processes'. The kids' CPU is the same work on "
	       "both sides and bounds the ratio on 2 cores.)\n");
	snprintf(name, sizeof(name), "pipelines_%s%d_s",
		 use_openssl ? "" : "cat_", n);
	print_result(name, "", m1, "python", mp, ratio_of(mp, m1), "s");
	snprintf(name, sizeof(name), "pipelines_%s%d_s_loops2",
		 use_openssl ? "" : "cat_", n);
	print_result(name, "", m2, "python", mp, ratio_of(mp, m2), "s");
}

/* ------------------------------------------------------------------ */
/* 2. await a pool future                                             */
/* ------------------------------------------------------------------ */

static int trivial(void *arg, void **result)
{
	return 0;
}

struct trips {
	weft_pool *pool;
	long n;
	double ns, ns_to_thread;
};

/* n submit + result round trips from the caller (coroutine or thread). */
static double pool_trips(weft_pool *pool, long n)
{
	long warm = n / 10;
	int64_t t0 = 0;

	for (long i = 0; i < warm + n; i++) {
		weft_future *f;

		if (i == warm)
			t0 = weft_now();
		if (weft_pool_submit(pool, trivial, NULL, &f) < 0 ||
		    weft_future_result(f, NULL, WEFT_FOREVER) != 0)
			return -1;
		weft_future_release(f);
	}
	return (double)(weft_now() - t0) / (double)n;
}

static int trips_main(void *arg, void **result)
{
	struct trips *t = arg;
	long warm = t->n / 10;
	int64_t t0 = 0;

	t->ns = pool_trips(t->pool, t->n);
	for (long i = 0; i < warm + t->n; i++) {
		if (i == warm)
			t0 = weft_now();
		if (weft_to_thread(trivial, NULL, NULL, WEFT_FOREVER) != 0)
			return -EIO;
	}
	t->ns_to_thread = (double)(weft_now() - t0) / (double)t->n;
	return 0;
}

static void bench_await(long n)
{
	double co[16], th[16], tt[16], pa[16], pt[16], ps[16];
	double mco, mth, mtt, mpa, mpt, mps;
	const char *keys[] = { "await", "to_thread", "thread" };
	char cmd[512];
	weft_pool *pool;

	if (weft_pool_new(&pool, &(struct weft_pool_options){
					 .max_workers = 2 }) < 0) {
		fprintf(stderr, "bench_coro_io: no pool\n");
		return;
	}
	printf("\none round trip to a 2-worker pool for a trivial task, ns "
	       "(lower is better), median of %d round%s\n",
	       reps, reps > 1 ? "s" : "");
	/* Python is ~100x slower: fewer trips, at least 2000. */
	snprintf(cmd, sizeof(cmd),
		 "/usr/bin/python3 '%s/coro_io_peer.py' await %ld", PEERS_DIR,
		 n / 20 < 2000 ? 2000 : n / 20);
	for (int r = 0; r < reps; r++) {
		struct trips t = {
			.pool = pool, .n = n, .ns = -1, .ns_to_thread = -1
		};
		double pv[3] = { 0, 0, 0 };

		int rc = weft_run(trips_main, &t, NULL,
				  &(weft_loops_opts){ .loops = 1 });

		if (rc < 0)
			fprintf(stderr, "bench_coro_io: await: %s\n",
				weft_strerror(rc));
		co[r] = t.ns;
		tt[r] = t.ns_to_thread;
		th[r] = pool_trips(pool, n);
		if (!no_peers)
			run_peer(cmd, "python", keys, pv, 3);
		pa[r] = pv[0];
		pt[r] = pv[1];
		ps[r] = pv[2];
		fprintf(stderr,
			"  round %d: coro %.0f  thread %.0f  to_thread %.0f  "
			"python await %.0f  to_thread %.0f  thread %.0f ns\n",
			r + 1, co[r], th[r], tt[r], pa[r], pt[r], ps[r]);
	}
	weft_pool_free(pool);
	mco = median(co, reps);
	mth = median(th, reps);
	mtt = median(tt, reps);
	mpa = median(pa, reps);
	mpt = median(pt, reps);
	mps = median(ps, reps);
	printf("  %-52s %12s     %9s\n", "", "", "x/weft coro");
	row("weft coroutine: pool submit + future result", mco, "ns",
	    ratio_of(mco, mco));
	row("weft thread: pool submit + future result", mth, "ns",
	    ratio_of(mth, mco));
	row("weft coroutine: weft_to_thread", mtt, "ns", ratio_of(mtt, mco));
	row("Python: await loop.run_in_executor(pool, f)", mpa, "ns",
	    ratio_of(mpa, mco));
	row("Python: await asyncio.to_thread(f)", mpt, "ns",
	    ratio_of(mpt, mco));
	row("Python thread: pool.submit(f).result()", mps, "ns",
	    ratio_of(mps, mco));
	print_result("await_pool_future_ns", "", mco, "python", mpa,
		     ratio_of(mpa, mco), "ns");
	print_result("await_pool_future_thread_ns", "", mth, "python", mps,
		     ratio_of(mps, mth), "ns");
	print_result("to_thread_ns", "", mtt, "python", mpt, ratio_of(mpt, mtt),
		     "ns");
}

int main(int argc, char **argv)
{
	int n_pipes = 500;
	long n_trips = 200000;
	const char *only = NULL;
	struct rlimit rl;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "-q")) {
			n_pipes = 100;
			n_trips = 20000;
			reps = 1;
		} else if (!strcmp(a, "-n") && more) {
			n_pipes = atoi(argv[++i]);
		} else if (!strcmp(a, "-r") && more) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(a, "-t") && more) {
			n_trips = atol(argv[++i]);
		} else if (!strcmp(a, "--no-peers")) {
			no_peers = true;
		} else if (!strcmp(a, "--spawn-on-thread")) {
			spawn_on_thread = true;
		} else if (!strcmp(a, "--cat")) {
			force_cat = true;
		} else if (!strcmp(a, "--only") && more) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: bench_coro_io [-q] [-n "
					"pipelines] "
					"[-r rounds] [-t trips] "
					"[--only pipelines|await]\n");
			return 2;
		}
	}
	if (reps < 1 || reps > 16 || n_pipes < 1 || n_trips < 10)
		return 2;
	/* 500 pipelines hold ~2500 fds; the Python peer raises its own. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	printf("bench_coro_io: weft coroutines vs Python asyncio%s%s\n",
	       reps == 1 ? " (one round)" : "", "");
	if (!only || !strcmp(only, "pipelines"))
		bench_pipelines(n_pipes);
	if (!only || !strcmp(only, "await"))
		bench_await(n_trips);
	return 0;
}
