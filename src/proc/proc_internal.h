/* What a weft_proc is, shared by the files of the proc module. */
#ifndef WEFT_PROC_INTERNAL_H
#define WEFT_PROC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "base/deadline.h"
#include "weft/proc.h"

struct weft_proc {
	pid_t pid;
	int pidfd;		   /* from clone(CLONE_PIDFD): always valid */
	int fd_in, fd_out, fd_err; /* parent's pipe ends, -1 when none */
	atomic_bool reaped;	   /* set once by wait; read by send_signal */
	atomic_bool lost;	   /* reaped by someone else: status unknown */
	bool group;		   /* leads its own process group */
	int status;		   /* exit code or -signo, valid once reaped */
	size_t in_off;		   /* input bytes communicate has written */
};

/* One pipe communicate reads until EOF, appending to buf (NULL: discard). */
struct weft__reader {
	int *fd;
	weft_buf *buf;
	bool grown;	     /* pipe buffer already enlarged */
	const char *pf_base; /* buf->data when pf_end was set */
	size_t pf_end;	     /* buf offset pre-faulted up to */
};

/*
 * The poll loop behind weft_proc_communicate and weft_pipeline_communicate:
 * writes input[*in_off..] to *in_fd, reads every reader to EOF, closing each
 * fd (and setting it to -1) when done with it.
 */
int weft__communicate(int *in_fd, const char *input, size_t input_len,
		      size_t *in_off, struct weft__reader *readers,
		      size_t n_readers, int64_t deadline);

/*
 * Leave b NUL-terminated (NULL b: nothing). A buffer that owns no memory
 * (cap 0, len 0) gets data = a static "" and still owns none. 0, -ENOMEM.
 */
int weft__buf_terminate(weft_buf *b);

/* Close *fd if open and mark it closed. */
void weft__close_fd(int *fd);

#endif
