/*
 * Pipelines: stage i's stdout chained into stage i+1's stdin, exactly as a
 * caller would do by hand with WEFT_PIPE and WEFT_CHAIN, plus the bookkeeping
 * of `set -o pipefail`.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include "proc/proc_internal.h"

struct weft_pipeline {
	size_t n;
	weft_proc *procs[];
};

static void abandon(weft_pipeline *pl, size_t started)
{
	for (size_t i = 0; i < started; i++) {
		weft_proc_kill(pl->procs[i]);
		weft_proc_wait(pl->procs[i], NULL, WEFT_FOREVER);
		weft_proc_free(pl->procs[i]);
	}
	free(pl);
}

int weft_pipeline_spawn(weft_pipeline **out, const weft_spawn_opts *stages,
			size_t n, size_t *failed_stage)
{
	weft_pipeline *pl;
	size_t i;
	int rc;

	if (failed_stage)
		*failed_stage = 0;
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!stages || n == 0 ||
	    n > (SIZE_MAX - sizeof(*pl)) / sizeof(pl->procs[0]))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if ((i > 0 && stages[i].in.kind != WEFT_STDIO_INHERIT) ||
		    (i + 1 < n && stages[i].out.kind != WEFT_STDIO_INHERIT)) {
			if (failed_stage)
				*failed_stage = i;
			return -EINVAL;
		}
	}
	pl = calloc(1, sizeof(*pl) + n * sizeof(pl->procs[0]));
	if (!pl)
		return -ENOMEM;
	pl->n = n;
	for (i = 0; i < n; i++) {
		weft_spawn_opts o = stages[i];

		if (i > 0)
			o.in = WEFT_CHAIN(pl->procs[i - 1]);
		if (i + 1 < n)
			o.out = WEFT_PIPE;
		rc = weft_proc_spawn(&pl->procs[i], &o);
		if (rc < 0) {
			if (failed_stage)
				*failed_stage = i;
			abandon(pl, i);
			return rc;
		}
	}
	*out = pl;
	return 0;
}

size_t weft_pipeline_len(const weft_pipeline *pl)
{
	return pl ? pl->n : 0;
}

weft_proc *weft_pipeline_proc(weft_pipeline *pl, size_t i)
{
	return pl && i < pl->n ? pl->procs[i] : NULL;
}

int weft_pipeline_communicate(weft_pipeline *pl, const void *input,
			      size_t input_len, weft_buf *out, weft_buf *errs,
			      int64_t deadline)
{
	struct weft__reader *r;
	weft_proc *first, *last;
	size_t n = 0;
	int rc;

	if (!pl || (input_len && !input))
		return -EINVAL;
	first = pl->procs[0];
	last = pl->procs[pl->n - 1];
	r = malloc((pl->n + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	r[n++] = (struct weft__reader){ .fd = &last->fd_out, .buf = out };
	for (size_t i = 0; i < pl->n; i++)
		r[n++] = (struct weft__reader){ .fd = &pl->procs[i]->fd_err,
						.buf = errs ? &errs[i] : NULL };
	rc = weft__communicate(&first->fd_in, input, input_len, &first->in_off,
			       r, n, deadline);
	free(r);
	return rc;
}

int weft_pipeline_wait(weft_pipeline *pl, int *status, int64_t deadline)
{
	int rc;

	if (!pl)
		return -EINVAL;
	for (size_t i = 0; i < pl->n; i++) {
		rc = weft_proc_wait(pl->procs[i], NULL, deadline);
		if (rc < 0)
			return rc;
	}
	if (status) {
		int f = weft_pipeline_failed_stage(pl);

		*status = f < 0 ? 0 : pl->procs[f]->status;
	}
	return 0;
}

int weft_pipeline_failed_stage(const weft_pipeline *pl)
{
	if (!pl)
		return -EINVAL;
	for (size_t i = pl->n; i-- > 0;) {
		const weft_proc *p = pl->procs[i];

		if (!atomic_load(&p->reaped))
			return -1;
		if (p->status != 0)
			return (int)i;
	}
	return -1;
}

int weft_pipeline_status(const weft_pipeline *pl, size_t i, int *status)
{
	if (!pl || i >= pl->n)
		return -EINVAL;
	if (!atomic_load(&pl->procs[i]->reaped))
		return -EAGAIN; /* would block: still running */
	if (status)
		*status = pl->procs[i]->status;
	return 0;
}

int weft_pipeline_send_signal(weft_pipeline *pl, int sig)
{
	int first = 0;

	if (!pl)
		return -EINVAL;
	for (size_t i = 0; i < pl->n; i++) {
		int rc = weft_proc_send_signal(pl->procs[i], sig);

		if (rc < 0 && rc != -ESRCH && first == 0)
			first = rc;
	}
	return first;
}

void weft_pipeline_free(weft_pipeline *pl)
{
	if (!pl)
		return;
	for (size_t i = 0; i < pl->n; i++)
		weft_proc_free(pl->procs[i]);
	free(pl);
}
