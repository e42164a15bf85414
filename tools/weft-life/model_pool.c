/*
 * model_pool.c — item 59: a weft_pool (ThreadPoolExecutor) with a future
 * per cell. Fan-out: weft_pool_submit for every cell; fan-in:
 * weft_future_result on every future, which also brings back the first
 * error a cell's I/O gave. The pool's threads start once for the run.
 */
#include <errno.h>
#include <stdlib.h>

#include "weft/future.h"
#include "weft/pool.h"

#include "life.h"

#define DEFAULT_WORKERS 100

struct job {
	const struct life_model_opts *o;
	const struct life_grid *cur;
	struct life_grid *next;
	struct life_conn *conns; /* one per worker */
	int y, x;
};

static _Thread_local int worker_index; /* set by the pool's initializer */

static int init_worker(void *initarg, int worker)
{
	worker_index = worker;
	return 0;
}

static int step(void *arg, void **result)
{
	struct job *j = arg;

	return life_step_cell(j->o->io, &j->conns[worker_index], j->cur,
			      j->next, j->y, j->x);
}

static int run(const struct life_model_opts *o, struct life_grid *grid,
	       int gens, life_gen_fn *after, void *arg)
{
	int nworkers = o->workers > 0 ? o->workers : DEFAULT_WORKERS;
	size_t n = (size_t)grid->rows * (size_t)grid->cols;
	struct weft_pool_options popt = { .max_workers = nworkers,
					  .initializer = init_worker };
	struct job *jobs = calloc(n, sizeof(*jobs));
	weft_future **fs = calloc(n, sizeof(*fs));
	struct life_conn *conns = malloc((size_t)nworkers * sizeof(*conns));
	weft_pool *pool = NULL;
	struct life_grid next;
	int rc = life_grid_init(&next, grid->rows, grid->cols);

	if ((!jobs || !fs || !conns) && rc == 0)
		rc = -ENOMEM;
	for (int i = 0; conns && i < nworkers; i++)
		conns[i] = (struct life_conn)LIFE_CONN_INIT;
	if (rc == 0)
		rc = weft_pool_new(&pool, &popt);
	for (int gen = 1; rc == 0 && gen <= gens; gen++) {
		size_t submitted = 0;

		for (; submitted < n; submitted++) { /* fan-out */
			size_t i = submitted;

			jobs[i] = (struct job){ o,
						grid,
						&next,
						conns,
						(int)(i / (size_t)grid->cols),
						(int)(i % (size_t)grid->cols) };
			rc = weft_pool_submit(pool, step, &jobs[i], &fs[i]);
			if (rc)
				break;
		}
		for (size_t i = 0; i < submitted; i++) { /* fan-in */
			int r = weft_future_result(fs[i], NULL, WEFT_FOREVER);

			if (r && rc == 0)
				rc = r; /* the cell's error, raised here */
			weft_future_release(fs[i]);
		}
		if (rc)
			break;
		rc = life_advance(grid, &next, gen, after, arg);
	}
	weft_pool_free(pool); /* waits for the workers */
	for (int i = 0; conns && i < nworkers; i++)
		life_conn_close(&conns[i]);
	life_grid_free(&next);
	free(conns);
	free(fs);
	free(jobs);
	return rc;
}

const struct life_model life_model_pool = { "pool", run };
