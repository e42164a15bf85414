/*
 * tcp.c — game_logic's tcp mode, the client side: one round trip to the
 * rules server per cell (docs/weft-life-protocol.md).
 *
 * Each caller (a worker thread, a coroutine) keeps its own struct
 * life_conn: connected on first use, kept open across calls, closed on any
 * error so that the next call reconnects. The same weft calls block a
 * thread and suspend a coroutine, so this file does not know which it
 * runs in.
 *
 * Writes go through weft_send (MSG_NOSIGNAL): a server that has gone away
 * gives -EPIPE, never a SIGPIPE that would kill weft-life.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#include "life.h"

/*
 * How long one round trip (connect included) may take before it is
 * -ETIMEDOUT: a server that goes silent is an error, never a hang. Not in
 * life.h: the tests shorten it to see the timeout without waiting 10 s.
 */
int64_t life_tcp_timeout_ns = 10 * WEFT_SEC;

int life_addr_parse(const char *s, int min_port, char *host, size_t hostlen,
		    int *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL, *h = s, *p;
	size_t hl;
	char *end;
	long v;

	if (!colon || colon == s)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (s[0] == '[' && colon[-1] == ']') /* [::1]:PORT */
		h++, hl -= 2;
	p = colon + 1;
	if (hl == 0 || hl >= hostlen || memchr(h, ']', hl) ||
	    !(*p >= '0' && *p <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtol(p, &end, 10);
	if (errno || *end || v < min_port || v > 65535)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (int)v;
	return 0;
}

void life_conn_close(struct life_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/*
 * Connect to host:port: each address getaddrinfo gives, in its order,
 * until one answers ("localhost" may be ::1 first, then 127.0.0.1). A
 * numeric address needs no lookup; a name may block the caller's loop
 * for a moment — once per connection, not per cell.
 */
static int conn_open(const struct life_io *io, struct life_conn *conn,
		     int64_t deadline)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV },
			*res, *ai;
	char serv[8];
	int fd = -1, rc, one = 1;

	if (io->port <= 0 || io->port > 65535)
		return -EINVAL;
	snprintf(serv, sizeof(serv), "%d", io->port);
	rc = getaddrinfo(io->host, serv, &hints, &res);
	if (rc)
		return rc == EAI_MEMORY ? -ENOMEM : -EHOSTUNREACH;
	rc = -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = weft_socket(ai->ai_family, SOCK_STREAM, 0);
		if (fd < 0) {
			rc = fd;
			continue;
		}
		rc = weft_connect(fd, ai->ai_addr, ai->ai_addrlen, deadline);
		if (rc == 0)
			break;
		close(fd);
		fd = -1;
		if (rc == -ETIMEDOUT || rc == -ECANCELED)
			break;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return rc;
	/* One small request, one small reply: no Nagle delay. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	conn->fd = fd;
	conn->len = 0;
	return 0;
}

/*
 * Before a request on a kept connection: nothing may be waiting to be
 * read. Bytes the server sent unasked would be taken for the next reply
 * (-EPROTO), and an end of file means the server hung up (-ECONNRESET).
 */
static int conn_idle_check(int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0)
		return -EPROTO;
	if (n == 0)
		return -ECONNRESET;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

/*
 * Read the reply line into conn->buf: 0 and *next, or -errno. Exactly
 * two bytes, '*' or '-' then '\n'; anything longer, shorter (end of file
 * before the '\n') or other is -EPROTO.
 */
static int read_reply(struct life_conn *conn, char *next, int64_t deadline)
{
	conn->len = 0;
	for (;;) {
		ssize_t n = weft_read(conn->fd, conn->buf + conn->len,
				      sizeof(conn->buf) - conn->len, deadline);
		char *nl;

		if (n < 0)
			return (int)n;
		if (n == 0) /* end of file: the server hung up */
			return conn->len ? -EPROTO : -ECONNRESET;
		conn->len += (size_t)n;
		nl = memchr(conn->buf, '\n', conn->len);
		if (!nl) {
			if (conn->len >= 2)
				return -EPROTO; /* too long already */
			continue;
		}
		if (nl != conn->buf + 1 || conn->len != 2 ||
		    (conn->buf[0] != LIFE_ALIVE && conn->buf[0] != LIFE_EMPTY))
			return -EPROTO;
		*next = conn->buf[0];
		return 0;
	}
}

int life_tcp_logic(const struct life_io *io, struct life_conn *conn, char state,
		   int neighbors, char *next)
{
	int64_t deadline;
	char req[4];
	int rc;

	if (!io || !conn || !next ||
	    (state != LIFE_ALIVE && state != LIFE_EMPTY) || neighbors < 0 ||
	    neighbors > 8)
		return -EINVAL;
	deadline = weft_deadline_in(life_tcp_timeout_ns);
	if (conn->fd < 0)
		rc = conn_open(io, conn, deadline);
	else
		rc = conn_idle_check(conn->fd);
	if (rc == 0) {
		req[0] = state;
		req[1] = ' ';
		req[2] = (char)('0' + neighbors);
		req[3] = '\n';
		ssize_t w = weft_write_all(conn->fd, req, sizeof(req), NULL,
					   deadline);

		rc = w < 0 ? (int)w : 0;
	}
	if (rc == 0)
		rc = read_reply(conn, next, deadline);
	if (rc)
		life_conn_close(conn); /* the next call reconnects */
	return rc;
}
