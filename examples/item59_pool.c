/*
 * Item 59: consider ThreadPoolExecutor when threads are necessary for
 * concurrency.
 *
 * The book's Game of Life, one generation at a time, each cell's next
 * state computed as a task on a thread pool: submit per cell (fan-out),
 * result() on every future (fan-in). Unlike a thread per cell (item 57),
 * the pool's few threads are started once and reused, so a generation of
 * thousands of cells costs microseconds of overhead, not milliseconds.
 *
 * The error path: with --fail, the task for one cell fails (as the book's
 * game_logic raising OSError). The worker's error code travels through the
 * future and surfaces at the caller's result(), which stops the simulation
 * and reports it — no lost exception, no crash.
 *
 *   item59_pool [-g generations] [-W width] [-H height] [-w workers]
 *               [--fail] [--quiet]
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weft/pool.h"

struct grid {
	int w, h;
	unsigned char *cells;
};

static int grid_new(struct grid *g, int w, int h)
{
	g->w = w;
	g->h = h;
	g->cells = calloc((size_t)w * (size_t)h, 1);
	return g->cells ? 0 : -ENOMEM;
}

static bool get(const struct grid *g, int y, int x)
{
	y = (y + g->h) % g->h; /* the grid wraps around */
	x = (x + g->w) % g->w;
	return g->cells[y * g->w + x];
}

static void set(struct grid *g, int y, int x, bool alive)
{
	g->cells[y * g->w + x] = alive;
}

/* What one task computes: the book's count_neighbors + game_logic. */
struct cell_job {
	const struct grid *old;
	int y, x;
	bool fail; /* the injected I/O problem */
};

static int step_cell(void *arg, void **result)
{
	struct cell_job *j = arg;
	int n = 0;
	bool alive;

	if (j->fail)
		return -EIO; /* raise OSError('Problem with I/O') */
	for (int dy = -1; dy <= 1; dy++)
		for (int dx = -1; dx <= 1; dx++)
			if ((dy || dx) && get(j->old, j->y + dy, j->x + dx))
				n++;
	alive = get(j->old, j->y, j->x);
	*result = (void *)(uintptr_t)(alive ? (n == 2 || n == 3) : n == 3);
	return 0;
}

/*
 * One generation: fan out a task per cell, fan in every result. Returns 0
 * or the first task error, after every task has settled.
 */
static int simulate(weft_pool *pool, const struct grid *old, struct grid *next,
		    struct cell_job *jobs, weft_future **fs, int fail_at)
{
	int n = old->w * old->h, rc = 0;

	for (int i = 0; i < n; i++) {
		jobs[i] = (struct cell_job){ old, i / old->w, i % old->w,
					     i == fail_at };
		rc = weft_pool_submit(pool, step_cell, &jobs[i], &fs[i]);
		if (rc) {
			n = i; /* collect what was submitted */
			break;
		}
	}
	for (int i = 0; i < n; i++) {
		void *alive;
		int r = weft_future_result(fs[i], &alive, WEFT_FOREVER);

		if (r == 0)
			set(next, i / old->w, i % old->w, (uintptr_t)alive);
		else if (rc == 0)
			rc = r; /* the worker's error, raised here */
		weft_future_release(fs[i]);
	}
	return rc;
}

static void print_grid(const struct grid *g)
{
	for (int y = 0; y < g->h; y++) {
		for (int x = 0; x < g->w; x++)
			putchar(get(g, y, x) ? '*' : '-');
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	int gens = 5, w = 9, h = 5, workers = 10, rc = 0, done = 0;
	bool fail = false, quiet = false;
	struct weft_pool_options opt = { 0 };
	struct grid a, b, *cur = &a, *next = &b, *t;
	struct cell_job *jobs;
	weft_future **fs;
	weft_pool *pool;
	int64_t t0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-g") && i + 1 < argc)
			gens = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-W") && i + 1 < argc)
			w = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-H") && i + 1 < argc)
			h = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-w") && i + 1 < argc)
			workers = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--fail"))
			fail = true;
		else if (!strcmp(argv[i], "--quiet"))
			quiet = true;
		else {
			fprintf(stderr,
				"usage: %s [-g gens] [-W width] [-H height] "
				"[-w workers] [--fail] [--quiet]\n",
				argv[0]);
			return 2;
		}
	}
	if (gens < 1 || w < 3 || h < 3 || workers < 1 || w > 4096 || h > 4096) {
		fprintf(stderr, "item59: bad sizes\n");
		return 2;
	}
	if (grid_new(&a, w, h) || grid_new(&b, w, h))
		return 1;
	jobs = calloc((size_t)w * (size_t)h, sizeof(*jobs));
	fs = calloc((size_t)w * (size_t)h, sizeof(*fs));
	if (!jobs || !fs)
		return 1;
	/* The book's glider. */
	set(cur, 0, 3, true);
	set(cur, 1, 4, true);
	set(cur, 2, 2, true);
	set(cur, 2, 3, true);
	set(cur, 2, 4, true);

	opt.max_workers = workers; /* the book: max_workers=10 */
	rc = weft_pool_new(&pool, &opt);
	if (rc) {
		fprintf(stderr, "item59: weft_pool_new: %s\n",
			weft_strerror(rc));
		return 1;
	}
	t0 = weft_now();
	for (int g = 0; g < gens; g++) {
		if (!quiet) {
			printf("generation %d\n", g);
			print_grid(cur);
		}
		/* Fail in the middle of generation 1, if asked. */
		rc = simulate(pool, cur, next, jobs, fs,
			      fail && g == 1 ? (w * h) / 2 : -1);
		if (rc) {
			printf("generation %d failed: %s (the error a task "
			       "returned, reported by result())\n",
			       g, weft_strerror(rc));
			break;
		}
		t = cur, cur = next, next = t;
		done++;
	}
	if (done)
		printf("%d cells x %d generations on %d workers: %.1f us per "
		       "generation (%.2f us per cell task)\n",
		       w * h, done, workers,
		       (double)(weft_now() - t0) / 1e3 / done,
		       (double)(weft_now() - t0) / 1e3 / done / (w * h));
	weft_pool_free(pool);
	free(jobs);
	free(fs);
	free(a.cells);
	free(b.cells);
	if (fail) /* the injected error must have reached the caller */
		return rc == -EIO ? 0 : 1;
	return rc ? 1 : 0;
}
