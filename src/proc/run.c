/*
 * weft_proc_run: subprocess.run in one call — spawn, feed the input, collect
 * the output, wait; at the deadline terminate, allow a grace period, kill,
 * reap. Built only from the public calls of this module.
 */
#include <errno.h>
#include <signal.h>

#include "proc/proc_internal.h"

/* Signal the child, or its whole group when it leads one. */
static void signal_child(weft_proc *p, int sig)
{
	if (p->group && weft_proc_signal_group(p, sig) == 0)
		return;
	(void)weft_proc_send_signal(p, sig);
}

/*
 * The deadline passed (or something failed): SIGTERM, keep draining the
 * pipes for the grace period (a child writing as it exits must not block),
 * then SIGKILL and reap. After the kill only what is already in the pipes is
 * read: descendants that still hold them must not make us wait.
 */
static int stop(weft_proc *p, int64_t grace, weft_buf *out, weft_buf *err,
		int *status)
{
	int rc;

	if (grace == 0)
		grace = WEFT_RUN_GRACE;
	if (grace > 0) {
		int64_t until = weft_now() + grace;

		signal_child(p, SIGTERM);
		(void)weft_proc_communicate(p, NULL, 0, out, err, until);
		rc = weft_proc_wait(p, status, until);
		if (rc != -ETIMEDOUT) {
			(void)weft_proc_communicate(p, NULL, 0, out, err, 0);
			return rc;
		}
	}
	signal_child(p, SIGKILL);
	rc = weft_proc_wait(p, status, WEFT_FOREVER);
	(void)weft_proc_communicate(p, NULL, 0, out, err, 0);
	return rc;
}

int weft_proc_run(weft_run_result *res, const weft_run_opts *o,
		  int64_t deadline)
{
	weft_spawn_opts so;
	weft_buf *out, *err;
	weft_proc *p;
	int rc;

	if (!res || !o || (o->input_len && !o->input))
		return -EINVAL;
	res->status = 0;
	so = o->spawn;
	if (o->input)
		so.in = WEFT_PIPE;
	if (o->capture_out)
		so.out = WEFT_PIPE;
	if (o->capture_err)
		so.err = WEFT_PIPE;
	out = o->capture_out ? &res->out : NULL;
	err = o->capture_err ? &res->err : NULL;
	rc = weft_proc_spawn(&p, &so);
	if (rc == 0) {
		rc = weft_proc_communicate(p, o->input, o->input_len, out, err,
					   deadline);
		if (rc == 0)
			rc = weft_proc_wait(p, &res->status, deadline);
		if (rc < 0 && rc != -ECHILD) {
			int r = stop(p, o->grace, out, err, &res->status);

			if (r == -ECHILD)
				rc = r;
		}
		weft_proc_free(p);
	}
	if (weft__buf_terminate(&res->out) < 0 ||
	    weft__buf_terminate(&res->err) < 0)
		rc = rc < 0 ? rc : -ENOMEM;
	return rc;
}

void weft_run_result_free(weft_run_result *res)
{
	if (!res)
		return;
	weft_buf_free(&res->out);
	weft_buf_free(&res->err);
}
