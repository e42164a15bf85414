/*
 * bench_queue — weft's queue and mutex against their peers, side by side.
 *
 * Measures, in one invocation (this machine is shared; only ratios taken
 * in the same run mean much):
 *   - weft_queue, 1 producer -> 1 consumer and 4 -> 4, capacity 1024;
 *   - the same shapes through a plain pthread mutex + two condvars ring
 *     (the textbook bounded buffer: the baseline);
 *   - Go's buffered channel (cap 1024) and Python's queue.Queue(1024), by
 *     running bench/peers/queue_chan.go and queue_queue.py and parsing
 *     their "name shape ns" lines;
 *   - uncontended weft_mutex lock+unlock vs pthread_mutex lock+unlock.
 * Every figure is the median of several runs, in ns per item (or per
 * lock+unlock pair). Usage:
 *   bench_queue [-n items] [-r reps] [--no-peers] [--weft-only]
 * (--weft-only: just weft's figures, e.g. under strace -c to count syscalls)
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busy.h"
#include "peer.h"
#include "result.h"
#include "weft/queue.h"
#include "weft/sync.h"

#ifndef WEFT_SOURCE_DIR
#define WEFT_SOURCE_DIR "."
#endif

#define CAP 1024

static long n_items = 4000000;
static int reps = 5;

/* ---- the textbook ring: pthread mutex + not_empty / not_full ---- */

struct ring {
	pthread_mutex_t m;
	pthread_cond_t not_empty, not_full;
	void *buf[CAP];
	size_t head, count;
	int waiting_get, waiting_put;
	bool closed;
};

static void ring_init(struct ring *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->m, NULL);
	pthread_cond_init(&r->not_empty, NULL);
	pthread_cond_init(&r->not_full, NULL);
}

static void ring_destroy(struct ring *r)
{
	pthread_mutex_destroy(&r->m);
	pthread_cond_destroy(&r->not_empty);
	pthread_cond_destroy(&r->not_full);
}

static void ring_put(struct ring *r, void *item)
{
	pthread_mutex_lock(&r->m);
	while (r->count == CAP) {
		r->waiting_put++;
		pthread_cond_wait(&r->not_full, &r->m);
		r->waiting_put--;
	}
	r->buf[(r->head + r->count++) % CAP] = item;
	if (r->waiting_get)
		pthread_cond_signal(&r->not_empty);
	pthread_mutex_unlock(&r->m);
}

static int ring_get(struct ring *r, void **item)
{
	pthread_mutex_lock(&r->m);
	while (r->count == 0 && !r->closed) {
		r->waiting_get++;
		pthread_cond_wait(&r->not_empty, &r->m);
		r->waiting_get--;
	}
	if (r->count == 0) {
		pthread_mutex_unlock(&r->m);
		return -EPIPE;
	}
	*item = r->buf[r->head];
	r->head = (r->head + 1) % CAP;
	r->count--;
	if (r->waiting_put)
		pthread_cond_signal(&r->not_full);
	pthread_mutex_unlock(&r->m);
	return 0;
}

static void ring_close(struct ring *r)
{
	pthread_mutex_lock(&r->m);
	r->closed = true;
	pthread_cond_broadcast(&r->not_empty);
	pthread_mutex_unlock(&r->m);
}

/* ---- one run of np -> nc through either queue ---- */

struct side {
	bool weft;
	weft_queue *q;
	struct ring *r;
	long per;
	long first;
	uintptr_t sum;
};

static void *producer(void *arg)
{
	struct side *s = arg;

	for (long i = 1; i <= s->per; i++) {
		void *v = (void *)(uintptr_t)(s->first + i);

		if (s->weft) {
			if (weft_queue_put(s->q, v, WEFT_FOREVER))
				abort();
		} else {
			ring_put(s->r, v);
		}
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct side *s = arg;
	void *v;

	if (s->weft)
		while (weft_queue_get(s->q, &v, WEFT_FOREVER) == 0)
			s->sum += (uintptr_t)v;
	else
		while (ring_get(s->r, &v) == 0)
			s->sum += (uintptr_t)v;
	return NULL;
}

static double run_once(bool weft, int np, int nc)
{
	struct side p[4], c[4];
	pthread_t pt[4], ct[4];
	struct ring *r = NULL;
	weft_queue *q = NULL;
	long per = n_items / np;
	uintptr_t sum = 0, m = (uintptr_t)(per * np);
	int64_t t0, t1;

	if (weft) {
		if (weft_queue_new(&q, CAP))
			abort();
	} else {
		r = malloc(sizeof(*r));
		if (!r)
			abort();
		ring_init(r);
	}
	t0 = weft_now();
	for (int i = 0; i < nc; i++) {
		c[i] = (struct side){ .weft = weft, .q = q, .r = r };
		pthread_create(&ct[i], NULL, consumer, &c[i]);
	}
	for (int i = 0; i < np; i++) {
		p[i] = (struct side){ .weft = weft,
				      .q = q,
				      .r = r,
				      .per = per,
				      .first = i * per };
		pthread_create(&pt[i], NULL, producer, &p[i]);
	}
	for (int i = 0; i < np; i++)
		pthread_join(pt[i], NULL);
	if (weft)
		weft_queue_close(q);
	else
		ring_close(r);
	for (int i = 0; i < nc; i++) {
		pthread_join(ct[i], NULL);
		sum += c[i].sum;
	}
	t1 = weft_now();
	if (sum != m * (m + 1) / 2) {
		fprintf(stderr, "bench_queue: wrong checksum\n");
		exit(1);
	}
	if (weft) {
		weft_queue_free(q);
	} else {
		ring_destroy(r);
		free(r);
	}
	return (double)(t1 - t0) / (double)m;
}

static double run_median(bool weft, int np, int nc)
{
	double v[64];
	int n = reps < 64 ? reps : 64;

	for (int i = 0; i < n; i++)
		v[i] = run_once(weft, np, nc);
	return median(v, n);
}

/* ---- uncontended lock + unlock ---- */

static double lock_pairs(bool weft)
{
	static weft_mutex wm = WEFT_MUTEX_INIT;
	static pthread_mutex_t pm = PTHREAD_MUTEX_INITIALIZER;
	const long n = 20000000;
	double v[64];
	int r = reps < 64 ? reps : 64;

	for (int k = 0; k < r; k++) {
		int64_t t0 = weft_now();

		if (weft)
			for (long i = 0; i < n; i++) {
				weft_mutex_lock(&wm);
				weft_mutex_unlock(&wm);
			}
		else
			for (long i = 0; i < n; i++) {
				pthread_mutex_lock(&pm);
				pthread_mutex_unlock(&pm);
			}
		v[k] = (double)(weft_now() - t0) / (double)n;
	}
	return median(v, r);
}

/* ---- peers ---- */

struct peer_fig {
	double go[2], py[2]; /* [0] 1x1, [1] 4x4; 0 = not measured */
};

static const char *const shape_keys[] = { "1x1", "4x4" };

static void print_row(const char *what, double ns, double weft_ns)
{
	if (ns <= 0) {
		printf("  %-34s %10s\n", what, "n/a");
		return;
	}
	printf("  %-34s %10.1f   %8.2fx\n", what, ns, ns / weft_ns);
}

int main(int argc, char **argv)
{
	bool peers = true, weft_only = false, busy = false;
	struct peer_fig pf = { { 0, 0 }, { 0, 0 } };
	double wq[2], ring[2], wm, pm;
	char cmd[1024];
	const int shapes[2][2] = { { 1, 1 }, { 4, 4 } };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n_items = atol(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-peers"))
			peers = false;
		else if (!strcmp(argv[i], "--weft-only")) /* for strace -c */
			weft_only = true, peers = false;
		else if (!strcmp(argv[i], "--busy"))
			busy = true;
		else {
			fprintf(stderr,
				"usage: %s [-n items] [-r reps] [--no-peers] "
				"[--weft-only] [--busy]\n",
				argv[0]);
			return 2;
		}
	}
	if (n_items < 1000 || reps < 1) {
		fprintf(stderr, "bench_queue: -n >= 1000, -r >= 1\n");
		return 2;
	}
	if (busy && busy_start() < 0)
		return 1;
	printf("bench_queue: %ld items per run, capacity %d, median of %d "
	       "runs%s\n",
	       n_items, CAP, reps,
	       busy ? ", one core busy with a spinning process" : "");
	for (int s = 0; s < 2; s++) {
		wq[s] = run_median(true, shapes[s][0], shapes[s][1]);
		ring[s] = weft_only ? 0
				    : run_median(false, shapes[s][0],
						 shapes[s][1]);
	}
	wm = lock_pairs(true);
	pm = weft_only ? 0 : lock_pairs(false);
	if (peers) {
		snprintf(cmd, sizeof(cmd),
			 "cd '%s' && go run bench/peers/queue_chan.go %ld %d",
			 WEFT_SOURCE_DIR, n_items, reps);
		run_peer(cmd, "go_chan", shape_keys, pf.go, 2);
		/* queue.Queue is ~25x slower: fewer items, same shapes. */
		snprintf(cmd, sizeof(cmd),
			 "/usr/bin/python3 '%s/bench/peers/queue_queue.py' %ld "
			 "%d",
			 WEFT_SOURCE_DIR,
			 n_items / 20 < 1000 ? 1000 : n_items / 20,
			 reps < 3 ? reps : 3);
		run_peer(cmd, "py_queue", shape_keys, pf.py, 2);
	}
	for (int s = 0; s < 2; s++) {
		printf("\n%d -> %d threads, ns per item (ratio = peer / weft, "
		       "higher is better for weft)\n",
		       shapes[s][0], shapes[s][1]);
		print_row("weft_queue", wq[s], wq[s]);
		print_row("Go buffered channel (cap 1024)", pf.go[s], wq[s]);
		print_row("pthread mutex+condvar ring", ring[s], wq[s]);
		print_row("Python queue.Queue(1024)", pf.py[s], wq[s]);
	}
	printf("\nuncontended lock+unlock, ns per pair\n");
	print_row("weft_mutex", wm, wm);
	print_row("pthread_mutex", pm, wm);
	busy_stop();
	printf("\n");
	for (int s = 0; s < 2; s++) {
		const char *sfx = busy ? "_busy" : "";
		char name[64];

		snprintf(name, sizeof(name), "queue_%dx%d", shapes[s][0],
			 shapes[s][1]);
		print_result(name, sfx, wq[s], "go_chan", pf.go[s],
			     ratio_of(pf.go[s], wq[s]), "ns/item");
		snprintf(name, sizeof(name), "queue_%dx%d_vs_condvar",
			 shapes[s][0], shapes[s][1]);
		print_result(name, sfx, wq[s], "mutex_condvar", ring[s],
			     ratio_of(ring[s], wq[s]), "ns/item");
		snprintf(name, sizeof(name), "queue_%dx%d_vs_python",
			 shapes[s][0], shapes[s][1]);
		print_result(name, sfx, wq[s], "py_queue", pf.py[s],
			     ratio_of(pf.py[s], wq[s]), "ns/item");
	}
	print_result("mutex_pair", busy ? "_busy" : "", wm, "pthread", pm,
		     ratio_of(pm, wm), "ns/pair");
	return 0;
}
