/*
 * model_serial.c — item 56: one cell after another, no concurrency. The
 * fan-out is a loop; there is no fan-in to wait for.
 */
#include "life.h"

static int run(const struct life_model_opts *o, struct life_grid *grid,
	       int gens, life_gen_fn *after, void *arg)
{
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_grid next;
	int rc = life_grid_init(&next, grid->rows, grid->cols);

	for (int gen = 1; rc == 0 && gen <= gens; gen++) {
		for (int y = 0; rc == 0 && y < grid->rows; y++)
			for (int x = 0; rc == 0 && x < grid->cols; x++)
				rc = life_step_cell(o->io, &conn, grid, &next,
						    y, x);
		if (rc)
			break;
		rc = life_advance(grid, &next, gen, after, arg);
	}
	life_conn_close(&conn);
	life_grid_free(&next);
	return rc;
}

const struct life_model life_model_serial = { "serial", run };
