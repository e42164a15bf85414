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

/* Wait for `events` after an EAGAIN; 0 to retry, or the error. */
static int again(int fd, short events, int64_t deadline)
{
	int r = weft_fd_wait(fd, events, deadline);

	return r < 0 ? r : 0;
}

#define RETRY(call, fd, events, deadline)                    \
	for (;;) {                                           \
		ssize_t n_ = (call);                         \
		int w_;                                      \
		if (n_ >= 0)                                 \
			return n_;                           \
		if (errno == EINTR)                          \
			continue;                            \
		if (errno != EAGAIN && errno != EWOULDBLOCK) \
			return -errno;                       \
		w_ = again((fd), (events), (deadline));      \
		if (w_)                                      \
			return w_;                           \
	}

ssize_t weft_read(int fd, void *buf, size_t n, int64_t deadline){
	RETRY(read(fd, buf, n), fd, POLLIN, deadline)
}

ssize_t weft_write(int fd, const void *buf, size_t n, int64_t deadline){
	RETRY(write(fd, buf, n), fd, POLLOUT, deadline)
}

ssize_t weft_recv(int fd, void *buf, size_t n, int flags, int64_t deadline){
	RETRY(recv(fd, buf, n, flags | MSG_DONTWAIT), fd, POLLIN, deadline)
}

ssize_t weft_send(int fd, const void *buf, size_t n, int flags,
		  int64_t deadline){
	RETRY(send(fd, buf, n, flags | MSG_DONTWAIT | MSG_NOSIGNAL), fd,
	      POLLOUT, deadline)
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
	RETRY(accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC), fd, POLLIN,
	      deadline)
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
