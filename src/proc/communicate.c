/*
 * Talking to children without deadlock: one poll() loop writes the input and
 * drains every output pipe at once, so a child blocked writing a full stdout
 * pipe never waits on us while we wait on its stdin.
 *
 * For the duration of the loop the parent's pipe ends are non-blocking, so
 * each write moves as much as the pipe takes (Python writes 512 bytes per
 * poll round), and SIGPIPE is blocked in this thread, so a child that closes
 * its stdin early shows up as EPIPE instead of killing the program; a
 * SIGPIPE we caused is consumed before returning.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

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

/* Read what is there: 0 if more may come, 1 at EOF, or -errno. */
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

static int drain(struct weft__reader *r)
{
	char discard[16 * 1024];

	for (int rounds = 0; rounds < 16; rounds++) {
		char *dst = discard;
		size_t room = sizeof(discard);
		ssize_t n;

		if (r->buf) {
			if (weft_buf_reserve(r->buf, READ_CHUNK) < 0)
				return -ENOMEM;
			if (r->grown)
				prefault(r);
			dst = r->buf->data + r->buf->len;
			room = r->buf->cap - r->buf->len;
		}
		n = read(*r->fd, dst, room);
		if (n >= DEFAULT_PIPE && !r->grown) {
			r->grown = true;
			fcntl(*r->fd, F_SETPIPE_SZ, BIG_PIPE);
		}
		if (n > 0) {
			if (r->buf)
				r->buf->len += (size_t)n;
			if ((size_t)n < room)
				return 0; /* pipe emptied; back to poll */
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

int weft__communicate(int *in_fd, const char *input, size_t input_len,
		      size_t *in_off, struct weft__reader *readers,
		      size_t n_readers, int64_t deadline)
{
	struct pollfd *pfd;
	sigset_t pipe_set, old_set, pending;
	bool sigpipe_was_pending;
	int rc = 0;

	if (input_len && (!in_fd || *in_fd < 0) && *in_off < input_len)
		return -EINVAL;
	pfd = malloc((n_readers + 1) * sizeof(*pfd));
	if (!pfd)
		return -ENOMEM;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
	sigpending(&pending);
	sigpipe_was_pending = sigismember(&pending, SIGPIPE);

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
		nfds_t n = 0;
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
		ready = poll(pfd, n, weft_deadline_ms(deadline));
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (ready == 0) {
			if (deadline != WEFT_FOREVER &&
			    weft_now() >= deadline) {
				rc = -ETIMEDOUT;
				break;
			}
			continue;
		}
		n = 0;
		if (in_fd && *in_fd >= 0) {
			if (pfd[n].revents) {
				ssize_t w = write(*in_fd, input + *in_off,
						  input_len - *in_off);

				if (w > 0)
					*in_off += (size_t)w;
				if ((w < 0 && errno == EPIPE) ||
				    (pfd[n].revents & (POLLERR | POLLHUP))) {
					/* Reader gone: drop the rest. */
					*in_off = input_len;
				} else if (w < 0 && errno != EAGAIN &&
					   errno != EINTR) {
					rc = -errno;
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
			r = drain(&readers[i]);
			if (r < 0)
				rc = r;
			else if (r > 0)
				weft__close_fd(readers[i].fd);
		}
		if (rc < 0)
			break;
	}

	if (in_fd && *in_fd >= 0)
		set_nonblock(*in_fd, false);
	for (size_t i = 0; i < n_readers; i++)
		if (*readers[i].fd >= 0)
			set_nonblock(*readers[i].fd, false);
	if (!sigpipe_was_pending) {
		static const struct timespec zero;

		sigpending(&pending);
		if (sigismember(&pending, SIGPIPE))
			sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &old_set, NULL);
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
