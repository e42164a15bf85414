/*
 * model_coro.c — item 60: a coroutine per cell per generation. Fan-out:
 * weft_group_spawn for every cell (asyncio's tasks); fan-in:
 * weft_group_wait (asyncio.gather). weft_run runs the loops on every core
 * (or --loops N). The cells' weft_sleep (or tcp round trip) suspends the
 * coroutine, not its loop, so 10,000 cells wait at once on two threads.
 * Each coroutine has its own life_conn and a small packed stack.
 */
#include <errno.h>
#include <stdlib.h>

#include "weft/coro.h"

#include "life.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CELL_STACK (64 * 1024) /* sanitizers' frames are larger */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CELL_STACK (64 * 1024)
#endif
#endif
#ifndef CELL_STACK
#define CELL_STACK (16 * 1024)
#endif

struct cell {
	const struct life_model_opts *o;
	const struct life_grid *cur;
	struct life_grid *next;
	int y, x;
};

struct run_args {
	const struct life_model_opts *o;
	struct life_grid *grid;
	int gens;
	life_gen_fn *after;
	void *arg;
};

static int step(void *arg, void **result)
{
	struct cell *c = arg;
	struct life_conn conn = LIFE_CONN_INIT; /* the coroutine's own */
	int rc = life_step_cell(c->o->io, &conn, c->cur, c->next, c->y, c->x);

	life_conn_close(&conn);
	return rc;
}

static int simulate(void *arg, void **result)
{
	struct run_args *a = arg;
	struct life_grid *grid = a->grid, next;
	size_t n = (size_t)grid->rows * (size_t)grid->cols;
	struct cell *cells = calloc(n, sizeof(*cells));
	const weft_coro_opts copt = { .stack_size = CELL_STACK,
				      .stack_kind = WEFT_STACK_PACKED };
	int rc = life_grid_init(&next, grid->rows, grid->cols);

	if (!cells && rc == 0)
		rc = -ENOMEM;
	for (int gen = 1; rc == 0 && gen <= a->gens; gen++) {
		weft_group *g = NULL;

		rc = weft_group_new(&g, WEFT_GROUP_CANCEL_ON_ERROR);
		for (size_t i = 0; rc == 0 && i < n; i++) { /* fan-out */
			cells[i] =
				(struct cell){ a->o, grid, &next,
					       (int)(i / (size_t)grid->cols),
					       (int)(i % (size_t)grid->cols) };
			rc = weft_group_spawn(g, NULL, step, &cells[i], &copt);
		}
		if (rc == 0) {
			rc = weft_group_wait(g, WEFT_FOREVER); /* fan-in */
			weft_group_free(g);
		} else if (g) {
			weft_group_free(g); /* cancels what did start */
		}
		if (rc)
			break;
		rc = life_advance(grid, &next, gen, a->after, a->arg);
	}
	life_grid_free(&next);
	free(cells);
	return rc;
}

static int run(const struct life_model_opts *o, struct life_grid *grid,
	       int gens, life_gen_fn *after, void *arg)
{
	struct run_args a = { o, grid, gens, after, arg };
	weft_loops_opts lopt = { .loops = o->loops };

	return weft_run(simulate, &a, NULL, &lopt);
}

const struct life_model life_model_coro = { "coro", run };
