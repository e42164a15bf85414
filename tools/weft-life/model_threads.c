/*
 * model_threads.c — item 57: a new thread per cell per generation. Fan-out:
 * pthread_create for every cell; fan-in: pthread_join every thread.
 *
 * Its limits, shown rather than hidden: every generation starts rows*cols
 * threads (10,000 at 100x100), each costing a stack mapping and a clone();
 * when the system refuses one (threads-max, RLIMIT_NPROC, memory), the
 * threads already started are joined and the run fails with -EAGAIN.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "life.h"

/* ThreadSanitizer kills the process past 8128 threads it tracks (joined
 * ones are recycled late): under it, refuse early instead of dying. */
#if defined(__SANITIZE_THREAD__)
#define MAX_THREADS 4000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAX_THREADS 4000
#endif
#endif
#ifndef MAX_THREADS
#define MAX_THREADS ((size_t)-1)
#endif

struct cell {
	const struct life_model_opts *o;
	const struct life_grid *cur;
	struct life_grid *next;
	int y, x, rc;
};

static void *step(void *arg)
{
	struct cell *c = arg;
	struct life_conn conn = LIFE_CONN_INIT; /* the thread's own */

	c->rc = life_step_cell(c->o->io, &conn, c->cur, c->next, c->y, c->x);
	life_conn_close(&conn);
	return NULL;
}

static int run(const struct life_model_opts *o, struct life_grid *grid,
	       int gens, life_gen_fn *after, void *arg)
{
	size_t n = (size_t)grid->rows * (size_t)grid->cols;
	struct cell *cells = calloc(n, sizeof(*cells));
	pthread_t *tids = calloc(n, sizeof(*tids));
	struct life_grid next;
	pthread_attr_t attr;
	int rc = life_grid_init(&next, grid->rows, grid->cols);

	if (!cells || !tids)
		rc = -ENOMEM;
	if (n > MAX_THREADS)
		rc = -EAGAIN;
	pthread_attr_init(&attr);
	/* small stacks: step_cell is shallow (sanitizers need more) */
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (int gen = 1; rc == 0 && gen <= gens; gen++) {
		size_t started = 0;

		for (size_t i = 0; i < n; i++) { /* fan-out */
			cells[i] = (struct cell){ o,
						  grid,
						  &next,
						  (int)(i / (size_t)grid->cols),
						  (int)(i % (size_t)grid->cols),
						  0 };
			if (pthread_create(&tids[i], &attr, step, &cells[i])) {
				rc = -EAGAIN; /* the system's thread limit */
				break;
			}
			started++;
		}
		for (size_t i = 0; i < started; i++) { /* fan-in */
			pthread_join(tids[i], NULL);
			if (rc == 0)
				rc = cells[i].rc;
		}
		if (rc)
			break;
		rc = life_advance(grid, &next, gen, after, arg);
	}
	pthread_attr_destroy(&attr);
	life_grid_free(&next);
	free(cells);
	free(tids);
	return rc;
}

const struct life_model life_model_threads = { "threads", run };
