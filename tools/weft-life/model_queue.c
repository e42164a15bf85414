/*
 * model_queue.c — item 58 (with item 55's queues): a fixed set of worker
 * threads fed through weft queues. Fan-out: every cell goes into in_q;
 * each worker gets a cell, steps it and puts the result into out_q.
 * Fan-in: the main thread counts rows*cols results out of out_q. Closing
 * in_q at the end stops the workers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "weft/base.h"
#include "weft/queue.h"

#include "life.h"

#define DEFAULT_WORKERS 100

struct shared {
	const struct life_model_opts *o;
	weft_queue *in_q, *out_q;
	/* the generation being computed: set before its cells are put,
	 * read after a get (the queue orders the two) */
	const struct life_grid *cur;
	struct life_grid *next;
};

/* Items: a cell index + 1 in; an error code as -rc + 1 out (never NULL). */
static void *worker(void *arg)
{
	struct shared *s = arg;
	struct life_conn conn = LIFE_CONN_INIT; /* one per worker */
	void *item;

	while (weft_queue_get(s->in_q, &item, WEFT_FOREVER) == 0) {
		size_t i = (uintptr_t)item - 1;
		int cols = s->cur->cols;
		int rc = life_step_cell(s->o->io, &conn, s->cur, s->next,
					(int)(i / (size_t)cols),
					(int)(i % (size_t)cols));

		weft_queue_put(s->out_q, (void *)(uintptr_t)(1 - rc),
			       WEFT_FOREVER);
	}
	life_conn_close(&conn);
	return NULL;
}

static int run(const struct life_model_opts *o, struct life_grid *grid,
	       int gens, life_gen_fn *after, void *arg)
{
	int nworkers = o->workers > 0 ? o->workers : DEFAULT_WORKERS;
	size_t n = (size_t)grid->rows * (size_t)grid->cols;
	pthread_t *tids = calloc((size_t)nworkers, sizeof(*tids));
	struct shared s = { o, NULL, NULL, grid, NULL };
	struct life_grid next;
	int started = 0, rc = life_grid_init(&next, grid->rows, grid->cols);

	if (!tids && rc == 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = weft_queue_new(&s.in_q, n);
	if (rc == 0)
		rc = weft_queue_new(&s.out_q, n);
	for (; rc == 0 && started < nworkers; started++)
		if (pthread_create(&tids[started], NULL, worker, &s))
			rc = -EAGAIN;
	for (int gen = 1; rc == 0 && gen <= gens; gen++) {
		size_t put = 0;

		s.cur = grid;
		s.next = &next;
		for (; rc == 0 && put < n; put++) /* fan-out */
			rc = weft_queue_put(s.in_q,
					    (void *)(uintptr_t)(put + 1),
					    WEFT_FOREVER);
		if (rc)
			put--;			   /* the failed put */
		for (size_t i = 0; i < put; i++) { /* fan-in: count results */
			void *res;

			if (weft_queue_get(s.out_q, &res, WEFT_FOREVER))
				break;
			if (rc == 0)
				rc = 1 - (int)(uintptr_t)res;
		}
		if (rc)
			break;
		rc = life_advance(grid, &next, gen, after, arg);
	}
	if (s.in_q)
		weft_queue_close(s.in_q); /* workers drain, then stop */
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	weft_queue_free(s.in_q);
	weft_queue_free(s.out_q);
	life_grid_free(&next);
	free(tids);
	return rc;
}

const struct life_model life_model_queue = { "queue", run };
