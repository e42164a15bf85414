/*
 * bench_pool — weft's thread pool against its peers, side by side.
 *
 * In one invocation (this machine is shared: only ratios from the same
 * run mean much), with 2 worker threads everywhere and one submitting
 * thread:
 *   - throughput of tiny tasks (each increments an atomic counter), in
 *     millions of tasks per second, from the first submit until every
 *     task has run:
 *       weft, detached tasks (weft_pool_submit(.., NULL): no future),
 *       weft with futures (submit every task, then result() on each, as
 *       Python's [ex.submit(..) ...] + [f.result() ...]), and the same
 *       in windows of 1024 outstanding futures,
 *       a plain pthread mutex+condvar pool (the textbook baseline),
 *       GLib GThreadPool and libuv uv_queue_work (when built with them),
 *       Go goroutines + WaitGroup and Python ThreadPoolExecutor (their
 *       peers in bench/peers/ run by this program);
 *   - the round trip of one task: submit, then wait for its result, in
 *     microseconds (weft: submit + weft_future_result).
 * Every figure is the median of several runs. With --busy, everything
 * (the peers included) runs beside a process spinning on one core
 * (bench/busy.h), as on a loaded CI runner. The run ends with one
 * machine-readable line per figure (bench/result.h; names get "_busy"
 * with --busy):
 *   RESULT <name> weft=<value> <peer>=<value> ratio=<...> unit=<unit>
 * Usage:
 *   bench_pool [-n tasks] [-r reps] [-v] [--busy] [--no-peers] [--weft-only]
 *              [--only detached|futures|window|trip|mc]   (one weft figure)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_GLIB
#include <glib.h>
#endif
#ifdef HAVE_UV
#include <uv.h>
#endif

#include "busy.h"
#include "result.h"
#include "peer.h"
#include "weft/pool.h"

#ifndef PEERS_DIR
#define PEERS_DIR "."
#endif

#define WORKERS 2

static long n_tasks = 2000000;
static long n_trips = 20000;
static int reps = 5;
static bool verbose; /* -v: every run's figure on stderr */
static atomic_long counter;

static void check_count(const char *who, long want)
{
	if (atomic_load(&counter) != want) {
		fprintf(stderr, "bench_pool: %s ran %ld tasks, not %ld\n", who,
			atomic_load(&counter), want);
		exit(1);
	}
}

/* ---- weft ---- */

static int weft_inc(void *arg, void **res)
{
	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
	*res = arg;
	return 0;
}

static weft_pool *weft_pool2(void)
{
	struct weft_pool_options o = { .max_workers = WORKERS };
	weft_pool *p;

	if (weft_pool_new(&p, &o))
		abort();
	return p;
}

static double weft_detached(void)
{
	weft_pool *p = weft_pool2();
	int64_t t0;
	double s;

	atomic_store(&counter, 0);
	t0 = weft_now();
	for (long i = 0; i < n_tasks; i++)
		if (weft_pool_submit(p, weft_inc, NULL, NULL))
			abort();
	weft_pool_shutdown(p, true, false);
	s = (double)(weft_now() - t0) / 1e9;
	check_count("weft detached", n_tasks);
	weft_pool_free(p);
	return (double)n_tasks / s / 1e6;
}

static weft_future **fs;

/*
 * Submit with a future each and collect every result, at most `window`
 * futures outstanding (n_tasks: all submitted first, then all collected).
 */
static double weft_futures_in(long window, const char *what)
{
	weft_pool *p = weft_pool2();
	int64_t t0;
	double s;

	atomic_store(&counter, 0);
	t0 = weft_now();
	for (long b = 0; b < n_tasks; b += window) {
		long e = b + window < n_tasks ? b + window : n_tasks;

		for (long i = b; i < e; i++)
			if (weft_pool_submit(p, weft_inc, (void *)(uintptr_t)i,
					     &fs[i]))
				abort();
		for (long i = b; i < e; i++) {
			void *r;

			if (weft_future_result(fs[i], &r, WEFT_FOREVER) ||
			    (uintptr_t)r != (uintptr_t)i)
				abort();
			weft_future_release(fs[i]);
		}
	}
	s = (double)(weft_now() - t0) / 1e9;
	check_count(what, n_tasks);
	weft_pool_free(p);
	return (double)n_tasks / s / 1e6;
}

static double weft_futures(void)
{
	return weft_futures_in(n_tasks, "weft futures");
}

/* Bounded memory: windows of WINDOW outstanding futures. */
#define WINDOW 1024

static double weft_futures_window(void)
{
	return weft_futures_in(WINDOW, "weft futures window");
}

static double weft_trip(void)
{
	weft_pool *p = weft_pool2();
	int64_t t0 = 0;
	double us;

	for (long i = 0; i < n_trips; i++) {
		weft_future *f;

		if (i == n_trips / 10)
			t0 = weft_now(); /* after a warm-up tenth */
		if (weft_pool_submit(p, weft_inc, NULL, &f) ||
		    weft_future_result(f, NULL, WEFT_FOREVER))
			abort();
		weft_future_release(f);
	}
	us = (double)(weft_now() - t0) / 1e3 / (double)(n_trips - n_trips / 10);
	weft_pool_free(p);
	return us;
}

/* ---- the textbook pool: one queue, one mutex, one condvar ---- */

struct mc_task {
	void (*fn)(void *);
	void *arg;
};

struct mc_pool {
	pthread_mutex_t m;
	pthread_cond_t nonempty;
	struct mc_task *buf; /* circular, grows */
	size_t cap, head, len;
	int idle;
	bool stop;
	pthread_t t[WORKERS];
};

static void *mc_worker(void *arg)
{
	struct mc_pool *p = arg;

	pthread_mutex_lock(&p->m);
	for (;;) {
		struct mc_task t;

		while (!p->len && !p->stop) {
			p->idle++;
			pthread_cond_wait(&p->nonempty, &p->m);
			p->idle--;
		}
		if (!p->len)
			break;
		t = p->buf[p->head];
		p->head = (p->head + 1) & (p->cap - 1);
		p->len--;
		pthread_mutex_unlock(&p->m);
		t.fn(t.arg);
		pthread_mutex_lock(&p->m);
	}
	pthread_mutex_unlock(&p->m);
	return NULL;
}

static struct mc_pool *mc_new(void)
{
	struct mc_pool *p = calloc(1, sizeof(*p));

	pthread_mutex_init(&p->m, NULL);
	pthread_cond_init(&p->nonempty, NULL);
	p->cap = 1024;
	p->buf = malloc(p->cap * sizeof(*p->buf));
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&p->t[i], NULL, mc_worker, p);
	return p;
}

static void mc_submit(struct mc_pool *p, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&p->m);
	if (p->len == p->cap) {
		struct mc_task *b = malloc(2 * p->cap * sizeof(*b));

		for (size_t i = 0; i < p->len; i++)
			b[i] = p->buf[(p->head + i) & (p->cap - 1)];
		free(p->buf);
		p->buf = b;
		p->head = 0;
		p->cap *= 2;
	}
	p->buf[(p->head + p->len++) & (p->cap - 1)] =
		(struct mc_task){ fn, arg };
	if (p->idle)
		pthread_cond_signal(&p->nonempty);
	pthread_mutex_unlock(&p->m);
}

static void mc_free(struct mc_pool *p)
{
	pthread_mutex_lock(&p->m);
	p->stop = true;
	pthread_cond_broadcast(&p->nonempty);
	pthread_mutex_unlock(&p->m);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(p->t[i], NULL);
	free(p->buf);
	free(p);
}

static void plain_inc(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static double mc_tasks(void)
{
	struct mc_pool *p = mc_new();
	int64_t t0;
	double s;

	atomic_store(&counter, 0);
	t0 = weft_now();
	for (long i = 0; i < n_tasks; i++)
		mc_submit(p, plain_inc, NULL);
	mc_free(p);
	s = (double)(weft_now() - t0) / 1e9;
	check_count("mutex+condvar", n_tasks);
	return (double)n_tasks / s / 1e6;
}

/* A one-shot "future" for the round trips of the C peers. */
struct done {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool set;
};

static void done_set(void *arg)
{
	struct done *d = arg;

	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
	pthread_mutex_lock(&d->m);
	d->set = true;
	pthread_cond_signal(&d->c);
	pthread_mutex_unlock(&d->m);
}

static void done_wait(struct done *d)
{
	pthread_mutex_lock(&d->m);
	while (!d->set)
		pthread_cond_wait(&d->c, &d->m);
	d->set = false;
	pthread_mutex_unlock(&d->m);
}

static double mc_trip(void)
{
	struct mc_pool *p = mc_new();
	struct done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  false };
	int64_t t0 = 0;
	double us;

	for (long i = 0; i < n_trips; i++) {
		if (i == n_trips / 10)
			t0 = weft_now();
		mc_submit(p, done_set, &d);
		done_wait(&d);
	}
	us = (double)(weft_now() - t0) / 1e3 / (double)(n_trips - n_trips / 10);
	mc_free(p);
	return us;
}

/* ---- GLib GThreadPool ---- */

#ifdef HAVE_GLIB
static void glib_inc(gpointer data, gpointer user)
{
	(void)data;
	(void)user;
	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static double glib_tasks(void)
{
	GThreadPool *p = g_thread_pool_new(glib_inc, NULL, WORKERS, TRUE, NULL);
	int64_t t0;
	double s;

	atomic_store(&counter, 0);
	t0 = weft_now();
	for (long i = 0; i < n_tasks; i++)
		g_thread_pool_push(p, GINT_TO_POINTER(1), NULL);
	g_thread_pool_free(p, FALSE, TRUE); /* waits for every task */
	s = (double)(weft_now() - t0) / 1e9;
	check_count("GThreadPool", n_tasks);
	return (double)n_tasks / s / 1e6;
}

static void glib_done(gpointer data, gpointer user)
{
	(void)user;
	done_set(data);
}

static double glib_trip(void)
{
	GThreadPool *p =
		g_thread_pool_new(glib_done, NULL, WORKERS, TRUE, NULL);
	struct done d = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
			  false };
	int64_t t0 = 0;
	double us;

	for (long i = 0; i < n_trips; i++) {
		if (i == n_trips / 10)
			t0 = weft_now();
		g_thread_pool_push(p, &d, NULL);
		done_wait(&d);
	}
	us = (double)(weft_now() - t0) / 1e3 / (double)(n_trips - n_trips / 10);
	g_thread_pool_free(p, FALSE, TRUE);
	return us;
}
#endif

/* ---- libuv uv_queue_work ---- */

#ifdef HAVE_UV
static uv_work_t *reqs;
static long uv_after;

static void uv_inc(uv_work_t *req)
{
	(void)req;
	atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static void uv_after_cb(uv_work_t *req, int status)
{
	(void)req;
	(void)status;
	uv_after++;
}

static double uv_tasks(void)
{
	uv_loop_t loop;
	int64_t t0;
	double s;

	uv_loop_init(&loop);
	atomic_store(&counter, 0);
	uv_after = 0;
	t0 = weft_now();
	for (long i = 0; i < n_tasks; i++)
		if (uv_queue_work(&loop, &reqs[i], uv_inc, uv_after_cb))
			abort();
	uv_run(&loop, UV_RUN_DEFAULT); /* until every after_work ran */
	s = (double)(weft_now() - t0) / 1e9;
	check_count("uv_queue_work", n_tasks);
	if (uv_after != n_tasks)
		abort();
	uv_loop_close(&loop);
	return (double)n_tasks / s / 1e6;
}

static double uv_trip(void)
{
	uv_loop_t loop;
	uv_work_t req;
	int64_t t0 = 0;
	double us;

	uv_loop_init(&loop);
	uv_after = 0;
	for (long i = 0; i < n_trips; i++) {
		if (i == n_trips / 10)
			t0 = weft_now();
		uv_queue_work(&loop, &req, uv_inc, uv_after_cb);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	us = (double)(weft_now() - t0) / 1e3 / (double)(n_trips - n_trips / 10);
	if (uv_after != n_trips)
		abort();
	uv_loop_close(&loop);
	return us;
}
#endif

/* ---- peers in other languages ---- */

/* Per peer: [0] Mtasks/s, [1] round trip in us; 0 = not measured. */
static const char *const peer_keys[] = { "tasks", "trip" };

/* ---- main ---- */

typedef double bench_fn(void);

/*
 * The in-process measurements, run in rotation (A B C ... A B C ...), one
 * run of each per round, so that a phase of the machine (a burst of load
 * elsewhere, where the scheduler put the busy spinner and our threads)
 * hits every contender alike; each figure is the median of its runs.
 */
struct job {
	const char *name;
	bench_fn *fn;
	double *out;
	double v[64];
};

static int add_job(struct job *jobs, int nj, bool want, const char *name,
		   bench_fn *fn, double *out)
{
	if (want)
		jobs[nj++] = (struct job){ .name = name, .fn = fn, .out = out };
	return nj;
}

static void run_rotation(struct job *jobs, int njobs)
{
	int n = reps < 64 ? reps : 64;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < njobs; j++)
			jobs[j].v[i] = jobs[j].fn();
	for (int j = 0; j < njobs; j++) {
		if (verbose) {
			fprintf(stderr, "  %-16s", jobs[j].name);
			for (int i = 0; i < n; i++)
				fprintf(stderr, " %.2f", jobs[j].v[i]);
			fprintf(stderr, "\n");
		}
		*jobs[j].out = median(jobs[j].v, n);
	}
}

static void row_rate(const char *what, double m, double weft)
{
	if (m <= 0)
		printf("  %-40s %9s\n", what, "n/a");
	else
		printf("  %-40s %9.2f   weft/peer %6.2fx\n", what, m, weft / m);
}

static void row_trip(const char *what, double us, double weft)
{
	if (us <= 0)
		printf("  %-40s %9s\n", what, "n/a");
	else
		printf("  %-40s %9.2f   peer/weft %6.2fx\n", what, us,
		       us / weft);
}

int main(int argc, char **argv)
{
	bool peers = true, weft_only = false, busy = false;
	const char *only = NULL; /* --only: one weft figure, for tuning */
	int busy_cpu = -1;
	double go[2] = { 0, 0 }, py[2] = { 0, 0 };
	double best_c = 0, best_c_trip = 0;
	const char *best_c_name = "none", *best_c_trip_name = "none";
	double wd, wf, ww, wt, mc = 0, mct = 0, gl = 0, glt = 0, uv = 0,
			       uvt = 0;
	char cmd[1024];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n_tasks = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-v"))
			verbose = true;
		else if (!strcmp(argv[i], "--only") && i + 1 < argc)
			only = argv[++i], weft_only = true, peers = false;
		else if (!strcmp(argv[i], "--busy"))
			busy = true;
		else if (!strcmp(argv[i], "--no-peers"))
			peers = false;
		else if (!strcmp(argv[i], "--weft-only"))
			weft_only = true, peers = false;
		else {
			fprintf(stderr,
				"usage: %s [-n tasks] [-r reps] [-v] [--busy] "
				"[--no-peers] [--weft-only] "
				"[--only detached|futures|window|trip|mc]\n",
				argv[0]);
			return 2;
		}
	}
	if (n_tasks < 1000 || reps < 1) {
		fprintf(stderr, "bench_pool: -n >= 1000, -r >= 1\n");
		return 2;
	}
	/* libuv reads its pool size once, at its first uv_queue_work. */
	setenv("UV_THREADPOOL_SIZE", "2", 1);
	fs = malloc((size_t)n_tasks * sizeof(*fs));
	if (!fs)
		return 1;
	memset(fs, 0, (size_t)n_tasks * sizeof(*fs)); /* touch it once */
#ifdef HAVE_UV
	reqs = calloc((size_t)n_tasks, sizeof(*reqs));
	if (!reqs)
		return 1;
	memset(reqs, 0, (size_t)n_tasks * sizeof(*reqs));
#endif
	if (busy) {
		busy_cpu = busy_start();
		if (busy_cpu < 0)
			return 1;
	}
	printf("bench_pool: %d workers, 1 submitting thread, %ld tiny tasks "
	       "per run, %ld round trips, median of %d runs%s\n",
	       WORKERS, n_tasks, n_trips, reps,
	       busy ? ", one core busy (a spinner)" : ", quiet");
	if (busy)
		printf("  the spinner is pinned to CPU %d\n", busy_cpu);
	fflush(stdout);
	wd = wf = ww = wt = 0;
	{
		static struct job jobs[10];
		bool all = !only, c_peers = !weft_only;
		bool mc_only = only && !strcmp(only, "mc");
		int nj = 0;

		nj = add_job(jobs, nj, all || !strcmp(only, "detached"),
			     "weft detached", weft_detached, &wd);
		nj = add_job(jobs, nj, all || !strcmp(only, "futures"),
			     "weft futures", weft_futures, &wf);
		nj = add_job(jobs, nj, all || !strcmp(only, "window"),
			     "weft window", weft_futures_window, &ww);
		nj = add_job(jobs, nj, all || !strcmp(only, "trip"),
			     "weft trip", weft_trip, &wt);
		nj = add_job(jobs, nj, c_peers || mc_only, "mc tasks", mc_tasks,
			     &mc);
		nj = add_job(jobs, nj, c_peers, "mc trip", mc_trip, &mct);
#ifdef HAVE_GLIB
		nj = add_job(jobs, nj, c_peers, "glib tasks", glib_tasks, &gl);
		nj = add_job(jobs, nj, c_peers, "glib trip", glib_trip, &glt);
#endif
#ifdef HAVE_UV
		nj = add_job(jobs, nj, c_peers, "uv tasks", uv_tasks, &uv);
		nj = add_job(jobs, nj, c_peers, "uv trip", uv_trip, &uvt);
#endif
		run_rotation(jobs, nj);
	}
	if (peers) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && GOMAXPROCS=2 go run pool_goroutines.go "
			 "%ld %ld %d",
			 PEERS_DIR, n_tasks, n_trips, reps);
		run_peer(cmd, "go", peer_keys, go, 2);
		/* ThreadPoolExecutor is ~100x slower: fewer tasks. */
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 '%s/pool_executor.py' %ld %ld %d",
			 PEERS_DIR, n_tasks / 20 < 1000 ? 1000 : n_tasks / 20,
			 n_trips / 4, reps < 3 ? reps : 3);
		run_peer(cmd, "python", peer_keys, py, 2);
	}
	printf("\ntiny tasks, millions per second (higher is better)\n");
	row_rate("weft, detached (no future)", wd, wd);
	row_rate("weft, futures, all submitted then result()", wf, wd);
	row_rate("weft, futures, windows of 1024", ww, wd);
	row_rate("pthread mutex+condvar pool", mc, wd);
	row_rate("GLib GThreadPool", gl, wd);
	row_rate("libuv uv_queue_work", uv, wd);
	row_rate("Go goroutines + WaitGroup", go[0], wd);
	row_rate("Python ThreadPoolExecutor (futures)", py[0], wd);
	if (py[0] > 0)
		printf("  with futures on both sides, weft / Python: %.0fx "
		       "(all submitted first), %.0fx (windows)\n",
		       wf / py[0], ww / py[0]);
	{
		double best = mc > gl ? mc : gl;

		best = best > uv ? best : uv;
		best_c = best;
		best_c_name = best == mc   ? "mutex_condvar"
			      : best == gl ? "glib"
					   : "libuv";
		if (best > 0)
			printf("  weft detached / best C peer in this run: "
			       "%.2fx\n",
			       wd / best);
	}
	printf("\nsubmit -> result round trip, microseconds (lower is "
	       "better)\n");
	row_trip("weft submit + weft_future_result", wt, wt);
	row_trip("pthread mutex+condvar pool", mct, wt);
	row_trip("GLib GThreadPool", glt, wt);
	row_trip("libuv uv_queue_work + uv_run", uvt, wt);
	row_trip("Go goroutine + channel", go[1], wt);
	row_trip("Python submit().result()", py[1], wt);
	{
		const double trips[3] = { mct, glt, uvt };
		const char *names[3] = { "mutex_condvar", "glib", "libuv" };

		for (int i = 0; i < 3; i++)
			if (trips[i] > 0 &&
			    (best_c_trip <= 0 || trips[i] < best_c_trip)) {
				best_c_trip = trips[i];
				best_c_trip_name = names[i];
			}
	}
	/* One line per figure, for scripts. */
	printf("\n");
	{
		const char *sfx = busy ? "_busy" : "";

		print_result("tasks_detached_vs_best_c", sfx, wd, best_c_name,
			     best_c, ratio_of(wd, best_c), "Mtasks/s");
		print_result("tasks_futures_window_vs_best_c", sfx, ww,
			     best_c_name, best_c, ratio_of(ww, best_c),
			     "Mtasks/s");
		print_result("tasks_futures_all_vs_python", sfx, wf, "python",
			     py[0], ratio_of(wf, py[0]), "Mtasks/s");
		print_result("trip_vs_go", sfx, wt, "go", go[1],
			     ratio_of(go[1], wt), "us");
		print_result("trip_vs_best_c", sfx, wt, best_c_trip_name,
			     best_c_trip, ratio_of(best_c_trip, wt), "us");
	}
	busy_stop();
	free(fs);
#ifdef HAVE_UV
	free(reqs);
#endif
	return 0;
}
