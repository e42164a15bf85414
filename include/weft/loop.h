/*
 * weft/loop.h — fd readiness and socket I/O that suspends a coroutine and
 * blocks a thread (the asyncio streams' and Go net's job, as plain calls).
 *
 * Each thread running weft_run() has an epoll loop with its timers; a
 * coroutine waiting for an fd is parked on its loop's epoll and its loop
 * runs the others meanwhile. The same calls from a plain thread wait in
 * poll(). Every call takes a deadline (weft/base.h) and returns a negative
 * errno value on failure, never sets errno.
 *
 * fds. Use O_NONBLOCK fds (weft_socket and weft_accept make them so): on a
 * blocking fd the read or write itself may block the whole loop. weft
 * registers an fd with its loop only while someone waits on it, so an fd
 * may be closed at any time when nobody waits (closing one a coroutine
 * waits on is a bug, as with poll: the waiter wakes on its deadline). On
 * one loop, one coroutine may wait to read and one to write the same fd at
 * a time; a second gets -EBUSY.
 *
 * Thread-safety: the calls are as thread-safe as the syscalls under them.
 */
#ifndef WEFT_LOOP_H
#define WEFT_LOOP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "weft/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Wait until fd is ready for `events` (POLLIN, POLLOUT, as poll) or the
 * deadline: the ready events (> 0, POLLERR/POLLHUP included),
 * -ETIMEDOUT, -ECANCELED, -EBUSY, -EBADF.
 */
WEFT_API int weft_fd_wait(int fd, short events, int64_t deadline);

/*
 * read/write/recv/send that wait for readiness instead of failing with
 * EAGAIN: the byte count (0 at end of file for reads; a write may be
 * partial, as write(2)), or -errno, -ETIMEDOUT, -ECANCELED. Writing to a
 * socket whose peer has gone is -EPIPE, never SIGPIPE (weft_write uses
 * send(MSG_NOSIGNAL) on sockets); on a pipe weft_write is write(2), and
 * SIGPIPE is the caller's to block or ignore.
 */
WEFT_API ssize_t weft_read(int fd, void *buf, size_t n, int64_t deadline);
WEFT_API ssize_t weft_write(int fd, const void *buf, size_t n,
			    int64_t deadline);
WEFT_API ssize_t weft_recv(int fd, void *buf, size_t n, int flags,
			   int64_t deadline);
WEFT_API ssize_t weft_send(int fd, const void *buf, size_t n, int flags,
			   int64_t deadline);

/*
 * Write all n bytes unless an error or the deadline stops it: n, or
 * -errno (then *done, if not NULL, says how many were written).
 */
WEFT_API ssize_t weft_write_all(int fd, const void *buf, size_t n, size_t *done,
				int64_t deadline);

/*
 * socket(2), always SOCK_NONBLOCK | SOCK_CLOEXEC: an fd (the caller's to
 * close) or -errno.
 */
WEFT_API int weft_socket(int domain, int type, int protocol);

/*
 * accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC on the new fd, waiting for
 * a connection: the fd (the caller's to close) or -errno, -ETIMEDOUT,
 * -ECANCELED. addr/len may be NULL.
 */
WEFT_API int weft_accept(int fd, struct sockaddr *addr, socklen_t *len,
			 int64_t deadline);

/*
 * connect(2) on a non-blocking socket, waiting for it to finish: 0 or
 * -errno (-ECONNREFUSED, -ETIMEDOUT, ...).
 */
WEFT_API int weft_connect(int fd, const struct sockaddr *addr, socklen_t len,
			  int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif /* WEFT_LOOP_H */
