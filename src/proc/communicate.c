/*
 * Talking to children without deadlock: one loop writes the input and
 * drains every output pipe at once, so a child blocked writing a full stdout
 * pipe never waits on us while we wait on its stdin. The loop waits only
 * through weft__fd_wait (a thread polls; a coroutine will park on its loop).
 *
 * The deadline is checked on every round, not only when nothing is ready:
 * a child that keeps its pipes full forever still gets -ETIMEDOUT on time,
 * and what is buffered is what was read before the deadline (each round
 * reads a bounded amount). A deadline already past still does one round, so
 * output already sitting in the pipes (and their EOF) is collected.
 *
 * For the duration of the loop the parent's pipe ends are non-blocking, so
 * each write moves as much as the pipe takes (Python writes 512 bytes per
 * poll round). SIGPIPE is blocked around each write() only — never across a
 * wait, since coroutines sharing this thread will interleave — so a child
 * that closes its stdin early shows up as EPIPE instead of killing the
 * program, and the SIGPIPE that write raised is consumed before the mask is
 * restored.
 *
 * Every weft_buf given is left NUL-terminated; a stream that sends nothing
 * allocates nothing (see buf.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "park/park.h"
#include "proc/proc_internal.h"

/* Read size floor: fewer syscalls, and a pipe holds 64 KiB by default. */
#define READ_CHUNK (256 * 1024)
/*
 * A pipe that fills up is enlarged to this (the default /proc/sys/fs/
 * pipe-max-size), so a bulk transfer takes 16x fewer wake-ups on each side.
 * Pipes that carry little keep the default size and the kernel's per-user
 * pipe memory stays free for the rest; failure (EPERM past that limit) is
 * harmless.
 */
#define BIG_PIPE (1024 * 1024)
#define DEFAULT_PIPE (64 * 1024)

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

/*
 * Pre-fault the stretch of the output buffer the next reads will fill, in
 * one madvise(MADV_POPULATE_WRITE) (Linux >= 5.14). On this VM a page fault
 * costs ~11 us, so letting read() fault fresh pages one by one caps a cold
 * buffer near 300 MB/s, while populating 2 MiB at a time runs at ~6 GB/s.
 * Advisory: an old kernel's EINVAL just leaves the faults to read().
 */
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#define PREFAULT (2u << 20)

static void prefault(struct weft__reader *r)
{
	static atomic_bool unsupported;
	weft_buf *b = r->buf;
	uintptr_t page = 4096, lo, hi;
	size_t end;

	if (b->data != r->pf_base) {
		r->pf_base = b->data;
		r->pf_end = 0;
	}
	if (r->pf_end > b->len + PREFAULT / 2 ||
	    atomic_load_explicit(&unsupported, memory_order_relaxed))
		return;
	end = b->cap - b->len < PREFAULT ? b->cap : b->len + PREFAULT;
	lo = ((uintptr_t)b->data + (r->pf_end > b->len ? r->pf_end : b->len)) &
	     ~(page - 1);
	hi = ((uintptr_t)b->data + end) & ~(page - 1);
	if (hi > lo && madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE) < 0 &&
	    errno == EINVAL)
		atomic_store_explicit(&unsupported, true, memory_order_relaxed);
	r->pf_end = end;
}

/*
 * Read what is there, up to a bounded amount (16 reads, and only one more
 * once the deadline has passed): 0 if more may come, 1 at EOF, or -errno.
 * A short read goes back to the wait (the pipe is empty: let it fill), but
 * once the deadline has passed one more read is made, which sees EOF if the
 * writer is done — so a past deadline still collects a finished child's
 * output and EOF in one round. Until a stream has sent something its buffer
 * is not touched: the first read goes to the stack, so an empty stream
 * allocates nothing.
 */
static int drain(struct weft__reader *r, int64_t deadline)
{
	char bounce[16 * 1024];
	bool last = false;

	for (int rounds = 0; rounds < 16; rounds++) {
		weft_buf *b = r->buf;
		char *dst = bounce;
		size_t room = sizeof(bounce);
		ssize_t n;

		if (b && b->cap > 0) {
			/* +1: the NUL that always follows the data */
			if (weft_buf_reserve(b, READ_CHUNK + 1) < 0)
				return -ENOMEM;
			if (r->grown)
				prefault(r);
			dst = b->data + b->len;
			room = b->cap - b->len - 1;
		}
		n = read(*r->fd, dst, room);
		if (n >= DEFAULT_PIPE && !r->grown) {
			r->grown = true;
			fcntl(*r->fd, F_SETPIPE_SZ, BIG_PIPE);
		}
		if (n > 0) {
			if (b && dst == bounce) {
				if (weft_buf_reserve(b, (size_t)n + 1) < 0)
					return -ENOMEM;
				memcpy(b->data + b->len, bounce, (size_t)n);
			}
			if (b) /* the NUL: weft__buf_terminate at the end */
				b->len += (size_t)n;
			if (!weft__expired(deadline)) {
				if ((size_t)n < room)
					return 0; /* emptied: back to the wait */
				continue;
			}
			/* Past the deadline: one more read, which sees EOF
			 * if the writer is done, then the caller ends the
			 * call. */
			if (last)
				return 0;
			last = true;
			continue;
		}
		if (n == 0)
			return 1;
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return -errno;
	}
	return 0;
}

/*
 * Write what the pipe takes, with SIGPIPE blocked for this one call: returns
 * the bytes written, or -errno (-EPIPE: the reader is gone). A SIGPIPE the
 * write raised is consumed; one that was already pending (blocked by the
 * caller before we came) is left alone.
 */
static ssize_t write_nosigpipe(int fd, const char *p, size_t n)
{
	static const struct timespec zero;
	sigset_t pipe_set, old, pending;
	bool was_pending = false;
	ssize_t w;
	int e;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	if (sigismember(&old, SIGPIPE)) {
		sigpending(&pending);
		was_pending = sigismember(&pending, SIGPIPE);
	}
	w = write(fd, p, n);
	e = w < 0 ? errno : 0;
	if (e == EPIPE && !was_pending)
		sigtimedwait(&pipe_set, NULL, &zero);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return w < 0 ? -e : w;
}

int weft__communicate(int *in_fd, const char *input, size_t input_len,
		      size_t *in_off, struct weft__reader *readers,
		      size_t n_readers, int64_t deadline)
{
	struct pollfd *pfd;
	int rc = 0;

	if (input_len && (!in_fd || *in_fd < 0) && *in_off < input_len)
		return -EINVAL;
	pfd = malloc((n_readers + 1) * sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;

	if (in_fd && *in_fd >= 0 && *in_off >= input_len)
		weft__close_fd(in_fd); /* nothing (left) to send: EOF now */
	if (in_fd && *in_fd >= 0) {
		set_nonblock(*in_fd, true);
		if (input_len - *in_off >= BIG_PIPE)
			fcntl(*in_fd, F_SETPIPE_SZ, BIG_PIPE);
	}
	for (size_t i = 0; i < n_readers; i++)
		if (*readers[i].fd >= 0)
			set_nonblock(*readers[i].fd, true);

	for (;;) {
		unsigned n = 0;
		int ready;

		if (in_fd && *in_fd >= 0)
			pfd[n++] = (struct pollfd){ .fd = *in_fd,
						    .events = POLLOUT };
		for (size_t i = 0; i < n_readers; i++)
			if (*readers[i].fd >= 0)
				pfd[n++] =
					(struct pollfd){ .fd = *readers[i].fd,
							 .events = POLLIN };
		if (n == 0)
			break;
		/* Every round, however busy the pipes: the deadline holds. A
		 * past deadline polls once (weft__fd_wait never waits). */
		ready = weft__fd_wait(pfd, n, deadline);
		if (ready < 0) {
			rc = ready; /* -ETIMEDOUT, or a real error */
			break;
		}
		n = 0;
		if (in_fd && *in_fd >= 0) {
			if (pfd[n].revents) {
				ssize_t w =
					write_nosigpipe(*in_fd, input + *in_off,
							input_len - *in_off);

				if (w > 0)
					*in_off += (size_t)w;
				if (w == -EPIPE ||
				    (pfd[n].revents & (POLLERR | POLLHUP))) {
					/* Reader gone: drop the rest. */
					*in_off = input_len;
				} else if (w < 0 && w != -EAGAIN &&
					   w != -EINTR) {
					rc = (int)w;
					break;
				}
				if (*in_off >= input_len)
					weft__close_fd(in_fd);
			}
			n++;
		}
		for (size_t i = 0; i < n_readers && rc == 0; i++) {
			int r;

			if (*readers[i].fd < 0)
				continue;
			if (pfd[n++].revents == 0)
				continue;
			r = drain(&readers[i], deadline);
			if (r < 0)
				rc = r;
			else if (r > 0)
				weft__close_fd(readers[i].fd);
		}
		if (rc < 0)
			break;
		if (weft__expired(deadline)) {
			bool open = in_fd && *in_fd >= 0;

			for (size_t i = 0; i < n_readers; i++)
				open = open || *readers[i].fd >= 0;
			if (open)
				rc = -ETIMEDOUT;
			break;
		}
	}

	if (in_fd && *in_fd >= 0)
		set_nonblock(*in_fd, false);
	for (size_t i = 0; i < n_readers; i++) {
		int r;

		if (*readers[i].fd >= 0)
			set_nonblock(*readers[i].fd, false);
		r = weft__buf_terminate(readers[i].buf);
		if (r < 0 && rc == 0)
			rc = r;
	}
	free(pfd);
	return rc;
}

int weft_proc_communicate(weft_proc *p, const void *input, size_t input_len,
			  weft_buf *out, weft_buf *err, int64_t deadline)
{
	struct weft__reader r[2];
	size_t n = 0;

	if (!p || (input_len && !input))
		return -EINVAL;
	if (input_len && p->fd_in < 0 && p->in_off < input_len)
		return -EINVAL;
	r[n++] = (struct weft__reader){ .fd = &p->fd_out, .buf = out };
	r[n++] = (struct weft__reader){ .fd = &p->fd_err, .buf = err };
	return weft__communicate(&p->fd_in, input, input_len, &p->in_off, r, n,
				 deadline);
}
