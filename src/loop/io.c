/*
 * io.c — weft/loop.h: readiness waits and socket I/O on weft__fd_wait, so
 * a coroutine parks on its loop's epoll and a thread waits in ppoll. The
 * pattern is Go's: try the syscall; on EAGAIN wait for readiness, retry.
 */
#include "weft/loop.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "park/park.h"

int weft_fd_wait(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	if (fd < 0)
		return -EBADF;
	r = weft__fd_wait(&p, 1, deadline);
	if (r < 0)
		return r;
	if (p.revents & POLLNVAL)
		return -EBADF;
	return p.revents;
}

/*
 * One syscall of weft's I/O calls, tried as it is: a socket is written
 * with send(MSG_NOSIGNAL), so a peer that went away is -EPIPE, never a
 * SIGPIPE that kills the process; anything else (a pipe) falls back to
 * write(2), whose SIGPIPE the caller owns (loop.h).
 */
enum io_op { IO_READ, IO_WRITE, IO_RECV, IO_SEND, IO_ACCEPT };

struct io_req {
	int fd, flags;
	void *buf;
	size_t n;
	struct sockaddr *addr;
	socklen_t *len;
};

static ssize_t attempt(enum io_op op, const struct io_req *r)
{
	ssize_t w;

	switch (op) {
	case IO_READ:
		return read(r->fd, r->buf, r->n);
	case IO_WRITE:
		w = send(r->fd, r->buf, r->n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == ENOTSOCK)
			w = write(r->fd, r->buf, r->n);
		return w;
	case IO_RECV:
		return recv(r->fd, r->buf, r->n, r->flags | MSG_DONTWAIT);
	case IO_SEND:
		return send(r->fd, r->buf, r->n,
			    r->flags | MSG_DONTWAIT | MSG_NOSIGNAL);
	case IO_ACCEPT:
		return accept4(r->fd, r->addr, r->len,
			       SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	errno = EINVAL;
	return -1;
}

/* Go's pattern: try; on EAGAIN wait for readiness (park), try again. */
static ssize_t io(enum io_op op, const struct io_req *r, int64_t deadline)
{
	short events = op == IO_READ || op == IO_RECV || op == IO_ACCEPT
			       ? POLLIN
			       : POLLOUT;

	for (;;) {
		ssize_t n = attempt(op, r);
		int w;

		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		w = weft_fd_wait(r->fd, events, deadline);
		if (w < 0)
			return w;
	}
}

ssize_t weft_read(int fd, void *buf, size_t n, int64_t deadline)
{
	return io(IO_READ, &(struct io_req){ .fd = fd, .buf = buf, .n = n },
		  deadline);
}

ssize_t weft_write(int fd, const void *buf, size_t n, int64_t deadline)
{
	return io(IO_WRITE,
		  &(struct io_req){ .fd = fd, .buf = (void *)buf, .n = n },
		  deadline);
}

ssize_t weft_recv(int fd, void *buf, size_t n, int flags, int64_t deadline)
{
	return io(IO_RECV,
		  &(struct io_req){
			  .fd = fd, .buf = buf, .n = n, .flags = flags },
		  deadline);
}

ssize_t weft_send(int fd, const void *buf, size_t n, int flags,
		  int64_t deadline)
{
	return io(
		IO_SEND,
		&(struct io_req){
			.fd = fd, .buf = (void *)buf, .n = n, .flags = flags },
		deadline);
}

ssize_t weft_write_all(int fd, const void *buf, size_t n, size_t *done,
		       int64_t deadline)
{
	size_t off = 0;

	while (off < n) {
		ssize_t w = weft_write(fd, (const char *)buf + off, n - off,
				       deadline);

		if (w < 0) {
			if (done)
				*done = off;
			return w;
		}
		off += (size_t)w;
	}
	if (done)
		*done = off;
	return (ssize_t)n;
}

int weft_socket(int domain, int type, int protocol)
{
	int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);

	return fd < 0 ? -errno : fd;
}

int weft_accept(int fd, struct sockaddr *addr, socklen_t *len, int64_t deadline)
{
	return (int)io(IO_ACCEPT,
		       &(struct io_req){ .fd = fd, .addr = addr, .len = len },
		       deadline);
}

int weft_connect(int fd, const struct sockaddr *addr, socklen_t len,
		 int64_t deadline)
{
	int err = 0, r;
	socklen_t elen = sizeof(err);

	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR)
		return -errno;
	r = weft_fd_wait(fd, POLLOUT, deadline);
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -errno;
	return -err;
}
