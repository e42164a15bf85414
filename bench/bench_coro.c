/*
 * bench_coro — weft's coroutines (the CPU side) against their peers, side
 * by side in one invocation (this machine is shared: only ratios from the
 * same run mean much).
 *
 * Every measurement runs in a fresh process, weft's too (this program
 * re-executes itself with --child), so that no contender inherits another
 * one's warm caches or memory: the figure is timed (or its memory taken)
 * inside that process and printed as one line "NAME KEY VALUE"
 * (bench/peer.h). The contenders run in rotation, one run each per round
 * (weft, peer, peer, ..., weft, peer, ...), and each figure is the median
 * of its rounds (-r, 3 by default).
 *
 *   coro_switch_ns   two coroutines ping-ponging on one loop
 *                    (weft_loops_opts.loops = 1): each calls weft_yield() N
 *                    times; ns per switch = time / 2N (after an untimed
 *                    N/10 warm-up). Peers: Boost.Fiber, two fibers calling
 *                    this_fiber::yield() (round_robin, one thread); Go,
 *                    two goroutines ping-ponging over two unbuffered
 *                    channels with GOMAXPROCS=1 (ns per handoff);
 *                    asyncio, two tasks each awaiting asyncio.sleep(0).
 *   coro_create_ns   create + run + join one trivial coroutine, in a loop:
 *                    weft_spawn + weft_future_result + weft_future_release
 *                    from the main coroutine, loops = 1, the default
 *                    (guarded) stack; a row with a small PACKED stack too.
 *                    Peers: Boost.Context callcc with pooled_fixedsize_stack
 *                    (create + enter + finish a context), Boost.Fiber
 *                    fiber + join with pooled_fixedsize_stack, Go
 *                    `go f(); <-done` (GOMAXPROCS=1), asyncio
 *                    `await create_task(f())`. Goal: <= 33 ns.
 *   skynet_ms        skynet: 1,111,111 coroutines in a 10-ary tree, each
 *   skynet_1core_ms  leaf returning its number, each parent spawning 10
 *                    children and summing their results (weft: futures,
 *                    PACKED stacks of --skynet-stack bytes); the total
 *                    499999500000 is checked; ms from the root's spawn to
 *                    its result, first run in a fresh process. loops = 2
 *                    (skynet_ms) and 1 (skynet_1core_ms). Peers: Go's
 *                    skynet (goroutines + channels, GOMAXPROCS=2 / 1),
 *                    Boost.Fiber's own skynet (fibers::async, 8 KiB
 *                    stacks; work_stealing on 2 threads / round_robin on
 *                    one), asyncio (one thread: the same runs serve both
 *                    tables).
 *   coro_rss_bytes   resident memory per suspended coroutine: N = 10^6
 *                    coroutines (weft: PACKED stacks of --rss-stack bytes,
 *                    detached, loops = 1) each blocked in weft_event_wait
 *                    on one shared weft_event; /proc/self/statm resident
 *                    delta (from before the first spawn to when all are
 *                    blocked) / N; then the event is set and every one
 *                    finishes. Also the default GUARDED stacks at 30,000
 *                    (table only: a mapping plus a guard page each, and
 *                    vm.max_map_count is 65530). Peers: Go goroutines
 *                    blocked receiving from one channel, asyncio tasks
 *                    awaiting one asyncio.Event (same statm delta).
 *                    Goal: <= 4.2 KB each.
 *
 * The run ends with one line per figure (bench/result.h), the peer being
 * the best one measured in this run (ratio = peer / weft: higher is
 * better for weft):
 *   RESULT <name> weft=<value> <peer>=<value> ratio=<r> unit=<unit>
 * Usage:
 *   bench_coro [-r reps] [-v] [--busy] [--no-peers]
 *              [--only switch|create|skynet|rss] [--switch N] [--create N]
 *              [--skynet LEAVES] [--rss N] [--guarded N]
 *              [--skynet-stack BYTES] [--rss-stack BYTES]
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "busy.h"
#include "peer.h"
#include "result.h"
#include "weft/coro.h"
#include "weft/sync.h"

#ifndef PEERS_DIR
#define PEERS_DIR "."
#endif
#ifndef PEER_BIN_DIR
#define PEER_BIN_DIR "."
#endif

static long n_switch = 2000000;
static long n_create = 2000000;
static long n_skynet = 1000000; /* leaves: a power of 10 */
static long n_rss = 1000000;
static long n_guarded = 30000;
static size_t skynet_stack = 8192;
static size_t rss_stack = 8192;
static int reps = 3;
static bool verbose;

/* ---- the weft side, run in a child process (--child) ---- */

static _Noreturn void die(const char *what, int rc)
{
	fprintf(stderr, "bench_coro: %s: %s\n", what, weft_strerror(rc));
	exit(1);
}

static long child_n;
static size_t child_stack;
static int child_kind;
static double child_out; /* the figure main_* computes */

static int yielder(void *arg, void **res)
{
	long n = (long)(intptr_t)arg;

	for (long i = 0; i < n; i++) {
		int rc = weft_yield();

		if (rc)
			return rc;
	}
	return 0;
}

static int64_t pingpong(long n)
{
	weft_future *a, *b;
	int64_t t0 = weft_now();
	int rc;

	if ((rc = weft_spawn(&a, yielder, (void *)(intptr_t)n, NULL)) ||
	    (rc = weft_spawn(&b, yielder, (void *)(intptr_t)n, NULL)))
		die("weft_spawn", rc);
	if ((rc = weft_future_result(a, NULL, WEFT_FOREVER)) ||
	    (rc = weft_future_result(b, NULL, WEFT_FOREVER)))
		die("yielder", rc);
	weft_future_release(a);
	weft_future_release(b);
	return weft_now() - t0;
}

static int main_switch(void *arg, void **res)
{
	pingpong(child_n / 10);
	child_out = (double)pingpong(child_n) / (2.0 * (double)child_n);
	return 0;
}

static int trivial(void *arg, void **res)
{
	*res = arg;
	return 0;
}

static int main_create(void *arg, void **res)
{
	weft_coro_opts o = { .stack_size = child_stack,
			     .stack_kind = child_kind };
	const weft_coro_opts *op = child_stack ? &o : NULL;
	int64_t t0 = 0;

	for (long i = -child_n / 10; i < child_n; i++) {
		weft_future *f;
		void *r;
		int rc;

		if (i == 0)
			t0 = weft_now();
		if ((rc = weft_spawn(&f, trivial, (void *)(intptr_t)i, op)))
			die("weft_spawn", rc);
		if ((rc = weft_future_result(f, &r, WEFT_FOREVER)) ||
		    (intptr_t)r != i)
			die("trivial coroutine", rc ? rc : -EPROTO);
		weft_future_release(f);
	}
	child_out = (double)(weft_now() - t0) / (double)child_n;
	return 0;
}

/*
 * skynet: the argument packs a coroutine's first number and its level
 * (size = 10^level) as num * 16 + level; no allocation per coroutine
 * besides the runtime's own.
 */
static weft_coro_opts skynet_opts;

static int skynet(void *arg, void **res)
{
	uintptr_t a = (uintptr_t)arg, num = a >> 4, level = a & 15, sub = 1;
	weft_future *f[10];
	uintptr_t sum = 0;
	int rc;

	if (level == 0) {
		*res = (void *)num;
		return 0;
	}
	for (uintptr_t l = 1; l < level; l++)
		sub *= 10;
	for (uintptr_t i = 0; i < 10; i++)
		if ((rc = weft_spawn(&f[i], skynet,
				     (void *)((num + i * sub) << 4 |
					      (level - 1)),
				     &skynet_opts)))
			die("weft_spawn", rc);
	for (int i = 0; i < 10; i++) {
		void *r;

		if ((rc = weft_future_result(f[i], &r, WEFT_FOREVER)))
			die("skynet child", rc);
		sum += (uintptr_t)r;
		weft_future_release(f[i]);
	}
	*res = (void *)sum;
	return 0;
}

static int main_skynet(void *arg, void **res)
{
	uintptr_t level = 0, want = (uintptr_t)child_n * (child_n - 1) / 2;
	weft_future *f;
	int64_t t0;
	void *r;
	int rc;

	for (long s = child_n; s > 1; s /= 10)
		level++;
	skynet_opts = (weft_coro_opts){ .stack_size = child_stack,
					.stack_kind = WEFT_STACK_PACKED };
	t0 = weft_now();
	if ((rc = weft_spawn(&f, skynet, (void *)level, &skynet_opts)) ||
	    (rc = weft_future_result(f, &r, WEFT_FOREVER)))
		die("skynet", rc);
	child_out = (double)(weft_now() - t0) / 1e6;
	weft_future_release(f);
	if ((uintptr_t)r != want) {
		fprintf(stderr, "bench_coro: skynet sum %zu, want %zu\n",
			(size_t)(uintptr_t)r, (size_t)want);
		exit(1);
	}
	return 0;
}

static weft_event rss_event = WEFT_EVENT_INIT;
static atomic_long rss_blocked, rss_done;

static long resident_bytes(void)
{
	long size, res = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
		die("/proc/self/statm", -errno);
	fclose(f);
	return res * sysconf(_SC_PAGESIZE);
}

static int rss_waiter(void *arg, void **res)
{
	int rc;

	atomic_fetch_add(&rss_blocked, 1);
	rc = weft_event_wait(&rss_event, WEFT_FOREVER);
	atomic_fetch_add(&rss_done, 1);
	return rc;
}

static int main_rss(void *arg, void **res)
{
	weft_coro_opts o = { .stack_size = child_stack,
			     .stack_kind = child_kind };
	long r0, r1;
	int rc;

	r0 = resident_bytes();
	for (long i = 0; i < child_n; i++)
		if ((rc = weft_spawn(NULL, rss_waiter, NULL, &o)))
			die("weft_spawn", rc);
	while (atomic_load(&rss_blocked) < child_n)
		weft_yield();
	r1 = resident_bytes();
	if ((rc = weft_event_set(&rss_event)))
		die("weft_event_set", rc);
	while (atomic_load(&rss_done) < child_n)
		weft_yield();
	child_out = (double)(r1 - r0) / (double)child_n;
	return 0;
}

/* bench_coro --child MODE N [loops] [stack]: one figure, "weft KEY V". */
static int child(int argc, char **argv)
{
	weft_loops_opts ro = { .loops = 1 };
	weft_task_fn *fn;
	const char *mode = argv[0];
	int rc;

	if (argc < 2)
		return 2;
	child_n = atol(argv[1]);
	if (argc > 2)
		ro.loops = (unsigned)atoi(argv[2]);
	if (argc > 3)
		child_stack = (size_t)atol(argv[3]);
	if (!strcmp(mode, "switch")) {
		fn = main_switch;
	} else if (!strcmp(mode, "create")) {
		fn = main_create;
	} else if (!strcmp(mode, "create_packed")) {
		fn = main_create;
		child_kind = WEFT_STACK_PACKED;
	} else if (!strcmp(mode, "skynet")) {
		fn = main_skynet;
	} else if (!strcmp(mode, "rss")) {
		fn = main_rss;
		child_kind = WEFT_STACK_PACKED;
	} else if (!strcmp(mode, "rss_guarded")) {
		fn = main_rss;
		child_kind = WEFT_STACK_GUARDED;
	} else {
		fprintf(stderr, "bench_coro: unknown child mode %s\n", mode);
		return 2;
	}
	if ((rc = weft_run(fn, NULL, NULL, &ro)))
		die(mode, rc);
	printf("weft %s %.3f\n", mode, child_out);
	return 0;
}

/* ---- the parent: contenders in rotation, medians, tables ---- */

struct contender {
	const char *label; /* the table's row */
	const char *peer;  /* RESULT's name for a peer; NULL for weft */
	char cmd[2048];
	const char *name, *key; /* the line it prints: "name key value" */
	bool skip;		/* not built / not wanted */
	double v[64];
	int nv;
	double med; /* 0: not measured */
};

static struct contender *add(struct contender *c, int *n, bool want,
			     const char *label, const char *peer,
			     const char *name, const char *key)
{
	struct contender *e = &c[(*n)++];

	memset(e, 0, sizeof(*e));
	e->label = label;
	e->peer = peer;
	e->name = name;
	e->key = key;
	e->skip = !want;
	return e;
}

static void run_all(struct contender *c, int n)
{
	int r = reps < 64 ? reps : 64;

	for (int i = 0; i < r; i++)
		for (int j = 0; j < n; j++) {
			double v = 0;
			const char *keys[1] = { c[j].key };

			if (c[j].skip)
				continue;
			if (verbose)
				fprintf(stderr, "  run: %s\n", c[j].cmd);
			run_peer(c[j].cmd, c[j].name, keys, &v, 1);
			if (v > 0)
				c[j].v[c[j].nv++] = v;
		}
	for (int j = 0; j < n; j++) {
		if (!c[j].nv)
			continue;
		qsort(c[j].v, (size_t)c[j].nv, sizeof(double), cmp_double);
		c[j].med = c[j].v[c[j].nv / 2];
		if (verbose) {
			fprintf(stderr, "  %-44s", c[j].label);
			for (int i = 0; i < c[j].nv; i++)
				fprintf(stderr, " %.3f", c[j].v[i]);
			fprintf(stderr, "\n");
		}
	}
}

/* Rows: value and peer/weft (costs: higher is better for weft). */
static void table(const char *title, struct contender *c, int n, double weft)
{
	printf("\n%s\n", title);
	for (int j = 0; j < n; j++) {
		if (c[j].med <= 0)
			printf("  %-48s %11s\n", c[j].label,
			       c[j].skip ? "skipped" : "n/a");
		else if (c[j].peer && weft > 0)
			printf("  %-48s %11.1f   peer/weft %7.2fx\n",
			       c[j].label, c[j].med, c[j].med / weft);
		else
			printf("  %-48s %11.1f\n", c[j].label, c[j].med);
	}
	fflush(stdout);
}

/* The best (lowest) peer measured among c[0..n-1]. */
static const struct contender *best_peer(const struct contender *c, int n)
{
	const struct contender *b = NULL;

	for (int j = 0; j < n; j++)
		if (c[j].peer && c[j].med > 0 && (!b || c[j].med < b->med))
			b = &c[j];
	return b;
}

/* One RESULT line: weft's figure and the best peer's (copied out). */
struct figure {
	const char *name, *unit;
	double weft;
	const char *peer; /* "none": not measured */
	double peer_val;
};

static struct figure figure(const char *name, const char *unit, double weft,
			    const struct contender *peer)
{
	return (struct figure){ name, unit, weft, peer ? peer->peer : "none",
				peer ? peer->med : 0 };
}

static void result(const struct figure *f, const char *sfx)
{
	print_result(f->name, sfx, f->weft, f->peer, f->peer_val,
		     ratio_of(f->peer_val, f->weft), f->unit);
}

static bool exists(const char *path)
{
	return access(path, X_OK) == 0;
}

static bool is_power_of_10(long n)
{
	while (n >= 10 && n % 10 == 0)
		n /= 10;
	return n == 1;
}

int main(int argc, char **argv)
{
	bool peers = true, busy = false;
	const char *only = NULL;
	char self[512];
	const char *go = PEER_BIN_DIR "/coro_go", *bst = PEER_BIN_DIR "/coro_"
								      "boost";
	const char *py = "/usr/bin/python3 '" PEERS_DIR "/coro_asyncio.py'";
	bool have_go, have_boost, have_py;
	struct figure figs[6];
	int nfig = 0;
	ssize_t len;

	if (argc > 2 && !strcmp(argv[1], "--child"))
		return child(argc - 2, argv + 2);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "-r") && more)
			reps = atoi(argv[++i]);
		else if (!strcmp(a, "-v"))
			verbose = true;
		else if (!strcmp(a, "--busy"))
			busy = true;
		else if (!strcmp(a, "--no-peers"))
			peers = false;
		else if (!strcmp(a, "--only") && more)
			only = argv[++i];
		else if (!strcmp(a, "--switch") && more)
			n_switch = atol(argv[++i]);
		else if (!strcmp(a, "--create") && more)
			n_create = atol(argv[++i]);
		else if (!strcmp(a, "--skynet") && more)
			n_skynet = atol(argv[++i]);
		else if (!strcmp(a, "--rss") && more)
			n_rss = atol(argv[++i]);
		else if (!strcmp(a, "--guarded") && more)
			n_guarded = atol(argv[++i]);
		else if (!strcmp(a, "--skynet-stack") && more)
			skynet_stack = (size_t)atol(argv[++i]);
		else if (!strcmp(a, "--rss-stack") && more)
			rss_stack = (size_t)atol(argv[++i]);
		else {
			fprintf(stderr,
				"usage: %s [-r reps] [-v] [--busy] "
				"[--no-peers] [--only switch|create|skynet|"
				"rss] [--switch N] [--create N] [--skynet "
				"LEAVES] [--rss N] [--guarded N] "
				"[--skynet-stack BYTES] [--rss-stack BYTES]\n",
				argv[0]);
			return 2;
		}
	}
	if (reps < 1 || n_switch < 100 || n_create < 100 || n_rss < 100 ||
	    n_guarded < 100 || n_skynet < 10 || !is_power_of_10(n_skynet) ||
	    skynet_stack < 1024 || rss_stack < 1024 ||
	    (only && strcmp(only, "switch") && strcmp(only, "create") &&
	     strcmp(only, "skynet") && strcmp(only, "rss"))) {
		fprintf(stderr, "bench_coro: -r >= 1, counts >= 100, --skynet "
				"a power of 10, stacks >= 1024, --only "
				"switch|create|skynet|rss\n");
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0 || len >= (ssize_t)sizeof(self) - 1) {
		fprintf(stderr, "bench_coro: cannot find itself\n");
		return 1;
	}
	self[len] = 0;
	have_go = peers && exists(go);
	have_boost = peers && exists(bst);
	have_py = peers && exists("/usr/bin/python3");
	if (peers && !have_go)
		printf("  (Go peer not built: %s)\n", go);
	if (peers && !have_boost)
		printf("  (Boost peers not built: %s)\n", bst);
	if (busy && busy_start() < 0)
		return 1;
	printf("bench_coro: median of %d runs, each in a fresh process%s\n",
	       reps, busy ? ", one core busy (a spinner)" : ", quiet");
	fflush(stdout);

	if (!only || !strcmp(only, "switch")) {
		struct contender c[4];
		int n = 0;
		struct contender *w;
		long npy = n_switch / 20 < 100 ? 100 : n_switch / 20;

		w = add(c, &n, true, "weft: weft_yield, 2 coroutines, 1 loop",
			NULL, "weft", "switch");
		snprintf(w->cmd, sizeof(w->cmd), "'%s' --child switch %ld 1",
			 self, n_switch);
		snprintf(add(c, &n, have_boost,
			     "Boost.Fiber: this_fiber::yield, 2 fibers",
			     "boost_fiber", "fiber", "switch")
				 ->cmd,
			 sizeof(w->cmd), "'%s' fswitch %ld", bst, n_switch);
		snprintf(add(c, &n, have_go,
			     "Go: unbuffered chan ping-pong, GOMAXPROCS=1",
			     "go", "go", "switch")
				 ->cmd,
			 sizeof(w->cmd), "GOMAXPROCS=1 '%s' switch %ld", go,
			 n_switch);
		snprintf(add(c, &n, have_py,
			     "asyncio: 2 tasks, await asyncio.sleep(0)",
			     "asyncio", "py", "switch")
				 ->cmd,
			 sizeof(w->cmd), "%s switch %ld", py, npy);
		run_all(c, n);
		table("coro_switch_ns: one switch between two coroutines, ns "
		      "(lower is better)",
		      c, n, c[0].med);
		figs[nfig++] = figure("coro_switch_ns", "ns", c[0].med,
				      best_peer(c, n));
	}
	if (!only || !strcmp(only, "create")) {
		struct contender c[6];
		int n = 0;
		struct contender *w;
		long npy = n_create / 20 < 100 ? 100 : n_create / 20;
		char lbl[80];

		w = add(c, &n, true,
			"weft: spawn+result+release, default stack", NULL,
			"weft", "create");
		snprintf(w->cmd, sizeof(w->cmd), "'%s' --child create %ld 1",
			 self, n_create);
		snprintf(lbl, sizeof(lbl),
			 "weft: the same, PACKED %zu-byte stack", skynet_stack);
		snprintf(add(c, &n, true, lbl, NULL, "weft", "create_packed")
				 ->cmd,
			 sizeof(w->cmd), "'%s' --child create_packed %ld 1 %zu",
			 self, n_create, skynet_stack);
		snprintf(add(c, &n, have_boost,
			     "Boost.Context: callcc, pooled_fixedsize_stack",
			     "boost_context", "context", "create")
				 ->cmd,
			 sizeof(w->cmd), "'%s' ccreate %ld", bst, n_create);
		snprintf(add(c, &n, have_boost,
			     "Boost.Fiber: fiber+join, pooled_fixedsize_stack",
			     "boost_fiber", "fiber", "create")
				 ->cmd,
			 sizeof(w->cmd), "'%s' fcreate %ld", bst, n_create);
		snprintf(add(c, &n, have_go, "Go: go f(); <-done, GOMAXPROCS=1",
			     "go", "go", "create")
				 ->cmd,
			 sizeof(w->cmd), "GOMAXPROCS=1 '%s' create %ld", go,
			 n_create);
		snprintf(add(c, &n, have_py, "asyncio: await create_task(f())",
			     "asyncio", "py", "create")
				 ->cmd,
			 sizeof(w->cmd), "%s create %ld", py, npy);
		run_all(c, n);
		table("coro_create_ns: create + run + join one trivial "
		      "coroutine, ns (lower is better; goal <= 33)",
		      c, n, c[0].med);
		figs[nfig++] = figure("coro_create_ns", "ns", c[0].med,
				      best_peer(c, n));
	}
	if (!only || !strcmp(only, "skynet")) {
		/* [0..3]: 2 threads; [4..7]: 1 thread; asyncio in both. */
		struct contender c[8];
		int n = 0;
		struct contender *w;
		char lbl[2][80];

		for (int t = 2; t >= 1; t--) {
			snprintf(lbl[2 - t], sizeof(lbl[0]),
				 "weft: loops=%d, PACKED %zu-byte stacks", t,
				 skynet_stack);
			w = add(c, &n, true, lbl[2 - t], NULL, "weft",
				"skynet");
			snprintf(w->cmd, sizeof(w->cmd),
				 "'%s' --child skynet %ld %d %zu", self,
				 n_skynet, t, skynet_stack);
			snprintf(add(c, &n, have_go,
				     t == 2 ? "Go: goroutines+chans, "
					      "GOMAXPROCS=2"
					    : "Go: goroutines+chans, "
					      "GOMAXPROCS=1",
				     "go", "go", "skynet")
					 ->cmd,
				 sizeof(w->cmd),
				 "GOMAXPROCS=%d '%s' skynet %ld", t, go,
				 n_skynet);
			snprintf(add(c, &n, have_boost,
				     t == 2 ? "Boost.Fiber: work_stealing, 2 "
					      "threads"
					    : "Boost.Fiber: round_robin, 1 "
					      "thread",
				     "boost_fiber", "fiber", "skynet")
					 ->cmd,
				 sizeof(w->cmd), "'%s' skynet %ld %d", bst,
				 n_skynet, t);
			if (t == 2)
				snprintf(add(c, &n, have_py,
					     "asyncio (one thread)", "asyncio",
					     "py", "skynet")
						 ->cmd,
					 sizeof(w->cmd), "%s skynet %ld", py,
					 n_skynet);
		}
		run_all(c, n);
		c[7] = c[3]; /* asyncio's runs, in the 1-thread table */
		c[7].label = "asyncio (the same runs)";
		table("skynet_ms: skynet on 2 threads, ms (lower is better)", c,
		      4, c[0].med);
		table("skynet_1core_ms: skynet on 1 thread, ms (lower is "
		      "better)",
		      c + 4, 4, c[4].med);
		printf("  (%ld leaves, %ld coroutines; the sum checked)\n",
		       n_skynet, n_skynet + (n_skynet - 1) / 9);
		figs[nfig++] =
			figure("skynet_ms", "ms", c[0].med, best_peer(c, 4));
		figs[nfig++] = figure("skynet_1core_ms", "ms", c[4].med,
				      best_peer(c + 4, 4));
	}
	if (!only || !strcmp(only, "rss")) {
		struct contender c[4];
		int n = 0;
		struct contender *w;
		char lbl[2][80];
		long maps = 0;
		FILE *f = fopen("/proc/sys/vm/max_map_count", "r");

		if (f) {
			if (fscanf(f, "%ld", &maps) != 1)
				maps = 0;
			fclose(f);
		}
		snprintf(lbl[0], sizeof(lbl[0]),
			 "weft: %ld, PACKED %zu-byte stacks", n_rss, rss_stack);
		w = add(c, &n, true, lbl[0], NULL, "weft", "rss");
		snprintf(w->cmd, sizeof(w->cmd), "'%s' --child rss %ld 1 %zu",
			 self, n_rss, rss_stack);
		snprintf(add(c, &n, have_go,
			     "Go: goroutines blocked on one chan", "go", "go",
			     "rss")
				 ->cmd,
			 sizeof(w->cmd), "GOMAXPROCS=1 '%s' rss %ld", go,
			 n_rss);
		snprintf(add(c, &n, have_py,
			     "asyncio: tasks awaiting one Event", "asyncio",
			     "py", "rss")
				 ->cmd,
			 sizeof(w->cmd), "%s rss %ld", py, n_rss);
		snprintf(lbl[1], sizeof(lbl[1]),
			 "weft: %ld, GUARDED default stacks (not a peer)",
			 n_guarded);
		w = add(c, &n, true, lbl[1], NULL, "weft", "rss_guarded");
		snprintf(w->cmd, sizeof(w->cmd),
			 "'%s' --child rss_guarded %ld 1", self, n_guarded);
		run_all(c, n);
		table("coro_rss_bytes: resident bytes per suspended coroutine "
		      "(lower is better; goal <= 4200)",
		      c, n, c[0].med);
		printf("  (peers at %ld too; GUARDED cannot reach 10^6: two "
		       "mappings each (stack + guard page), vm.max_map_count "
		       "= %ld, so at most ~%ld)\n",
		       n_rss, maps, maps / 2);
		figs[nfig++] = figure("coro_rss_bytes", "bytes", c[0].med,
				      best_peer(c, 3));
		figs[nfig++] = figure("coro_rss_guarded_bytes", "bytes",
				      c[3].med, NULL);
	}
	printf("\n");
	for (int i = 0; i < nfig; i++)
		result(&figs[i], busy ? "_busy" : "");
	busy_stop();
	return 0;
}
