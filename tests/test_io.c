/*
 * weft/loop.h: fd readiness and socket I/O from coroutines (parked on the
 * loop's epoll) and from plain threads (poll). Loopback only, bounded in
 * count and time.
 *
 * Checks inside coroutines use CK/CKEQ, which record the failure (cmocka's
 * asserts longjmp, which must not cross a coroutine's stack); each test
 * asserts no failure was recorded once weft_run has returned.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "co_check.h"
#include "parked.h"
#include "stress.h"
#include "weft/coro.h"
#include "weft/loop.h"

static int await(weft_future *f)
{
	int rc = weft_future_result(f, NULL, weft_now() + 60 * WEFT_SEC);

	CK(rc != -ETIMEDOUT);
	weft_future_release(f);
	return rc;
}

static int nb_socketpair(int sv[2])
{
	return socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			  0, sv)
		       ? -errno
		       : 0;
}

/* Read exactly n bytes: n, or the error / 0 at EOF. */
static ssize_t read_full(int fd, void *buf, size_t n, int64_t dl)
{
	size_t off = 0;

	while (off < n) {
		ssize_t r = weft_read(fd, (char *)buf + off, n - off, dl);

		if (r <= 0)
			return r;
		off += (size_t)r;
	}
	return (ssize_t)n;
}

/* ==== socketpair ping-pong ==== */

struct pingpong {
	int sv[2];
	int rounds;
};

static int pinger(void *arg, void **res)
{
	struct pingpong *pp = arg;
	int64_t dl = weft_now() + 60 * WEFT_SEC;

	(void)res;
	for (uint64_t i = 0; i < (uint64_t)pp->rounds; i++) {
		uint64_t v = i, back = 0;

		CKEQ(weft_write_all(pp->sv[0], &v, sizeof(v), NULL, dl),
		     sizeof(v));
		CKEQ(read_full(pp->sv[0], &back, sizeof(back), dl),
		     sizeof(back));
		CKEQ(back, i * 2 + 1);
		if (back != i * 2 + 1)
			return -EPROTO;
	}
	return 0;
}

static int ponger(void *arg, void **res)
{
	struct pingpong *pp = arg;
	int64_t dl = weft_now() + 60 * WEFT_SEC;

	(void)res;
	for (int i = 0; i < pp->rounds; i++) {
		uint64_t v;

		CKEQ(read_full(pp->sv[1], &v, sizeof(v), dl), sizeof(v));
		v = v * 2 + 1;
		CKEQ(weft_write_all(pp->sv[1], &v, sizeof(v), NULL, dl),
		     sizeof(v));
	}
	return 0;
}

static int pingpong_main(void *arg, void **res)
{
	struct pingpong *pp = arg;
	weft_future *a, *b;

	(void)res;
	CKEQ(nb_socketpair(pp->sv), 0);
	CKEQ(weft_spawn(&b, ponger, pp, NULL), 0);
	CKEQ(weft_spawn(&a, pinger, pp, NULL), 0);
	CKEQ(await(a), 0);
	CKEQ(await(b), 0);
	close(pp->sv[0]);
	close(pp->sv[1]);
	return 0;
}

/* Two coroutines bounce a counter over a socketpair: every round trip
 * suspends both on the loop. */
static void socketpair_ping_pong(void **state)
{
	struct pingpong pp = { .rounds = STRESS(20000, 2000) };

	(void)state;
	run_both(pingpong_main, &pp);
}

/* ==== TCP echo ==== */

#define CHUNK 1024
#define CHUNKS 12

struct echo {
	int family;
	int lfd;
	int nclients;
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr;
	socklen_t alen;
	atomic_int served;
	atomic_long bytes;
};

static int listen_on(struct echo *e)
{
	int fd = weft_socket(e->family, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return fd;
	memset(&e->addr, 0, sizeof(e->addr));
	if (e->family == AF_INET) {
		e->addr.v4.sin_family = AF_INET;
		e->addr.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		e->alen = sizeof(e->addr.v4);
	} else {
		e->addr.v6.sin6_family = AF_INET6;
		e->addr.v6.sin6_addr = in6addr_loopback;
		e->alen = sizeof(e->addr.v6);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&e->addr, e->alen) ||
	    listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&e->addr, &e->alen)) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	e->lfd = fd;
	return 0;
}

static char pat(int client, size_t k)
{
	return (char)((size_t)client * 131 + k * 7 + (k >> 8));
}

/* Echo until EOF (thread or coroutine alike). */
static int echo_conn(int fd, struct echo *e)
{
	char buf[4096];
	int64_t dl = weft_now() + 60 * WEFT_SEC;
	ssize_t n;

	while ((n = weft_read(fd, buf, sizeof(buf), dl)) > 0) {
		CKEQ(weft_write_all(fd, buf, (size_t)n, NULL, dl), n);
		atomic_fetch_add(&e->bytes, n);
	}
	CKEQ(n, 0);
	close(fd);
	atomic_fetch_add(&e->served, 1);
	return 0;
}

struct conn {
	struct echo *e;
	int fd;
};

static int handler(void *arg, void **res)
{
	struct conn *c = arg;
	struct echo *e = c->e;
	int fd = c->fd;

	(void)res;
	free(c);
	return echo_conn(fd, e);
}

static int server(void *arg, void **res)
{
	struct echo *e = arg;

	(void)res;
	for (int i = 0; i < e->nclients; i++) {
		struct conn *c = malloc(sizeof(*c));
		int fd = weft_accept(e->lfd, NULL, NULL,
				     weft_now() + 60 * WEFT_SEC);

		CK(fd >= 0);
		if (fd < 0) {
			free(c);
			return fd;
		}
		*c = (struct conn){ e, fd };
		CKEQ(weft_spawn(NULL, handler, c, NULL), 0);
	}
	return 0;
}

struct client_arg {
	struct echo *e;
	int id;
};

/* Connect, send CHUNKS chunks and read each back, half-close, see EOF. */
static int client_conn(struct echo *e, int id)
{
	int64_t dl = weft_now() + 60 * WEFT_SEC;
	char out[CHUNK], in[CHUNK];
	int fd = weft_socket(e->family, SOCK_STREAM, 0), rc;

	CK(fd >= 0);
	if (fd < 0)
		return fd;
	rc = weft_connect(fd, (struct sockaddr *)&e->addr, e->alen, dl);
	CKEQ(rc, 0);
	for (int k = 0; !rc && k < CHUNKS; k++) {
		for (size_t j = 0; j < CHUNK; j++)
			out[j] = pat(id, (size_t)k * CHUNK + j);
		CKEQ(weft_write_all(fd, out, CHUNK, NULL, dl), CHUNK);
		CKEQ(read_full(fd, in, CHUNK, dl), CHUNK);
		if (memcmp(in, out, CHUNK)) {
			CK(!"echoed bytes differ");
			rc = -EPROTO;
		}
	}
	shutdown(fd, SHUT_WR);
	CKEQ(weft_read(fd, in, 1, dl), 0);
	close(fd);
	return rc;
}

static int client(void *arg, void **res)
{
	struct client_arg *ca = arg;

	(void)res;
	return client_conn(ca->e, ca->id);
}

static int echo_main(void *arg, void **res)
{
	struct echo *e = arg;
	struct client_arg *ca = calloc((size_t)e->nclients, sizeof(*ca));
	weft_future *sf, **cf = calloc((size_t)e->nclients, sizeof(*cf));
	weft_group *g;

	(void)res;
	atomic_store(&e->served, 0);
	atomic_store(&e->bytes, 0);
	CKEQ(listen_on(e), 0);
	CKEQ(weft_spawn(&sf, server, e, NULL), 0);
	CKEQ(weft_group_new(&g, 0), 0);
	for (int i = 0; i < e->nclients; i++) {
		ca[i] = (struct client_arg){ e, i };
		CKEQ(weft_group_spawn(g, NULL, client, &ca[i], NULL), 0);
	}
	CKEQ(weft_group_wait(g, weft_now() + 60 * WEFT_SEC), 0);
	CKEQ(weft_group_free(g), 0);
	CKEQ(await(sf), 0);
	/* Handlers finish on their own after the clients' EOF. */
	while (atomic_load(&e->served) < e->nclients)
		weft_sleep(WEFT_MSEC);
	CKEQ(atomic_load(&e->bytes), (long)e->nclients * CHUNK * CHUNKS);
	close(e->lfd);
	free(ca);
	free(cf);
	return 0;
}

/* 200 client coroutines connect to a server coroutine on 127.0.0.1,
 * one handler coroutine per connection; every byte echoed. */
static void tcp_echo_coroutines(void **state)
{
	struct echo e = { .family = AF_INET, .nclients = STRESS(200, 50) };

	(void)state;
	run_both(echo_main, &e);
}

static void *thread_server(void *arg)
{
	struct echo *e = arg;

	for (int i = 0; i < e->nclients; i++) {
		int fd = weft_accept(e->lfd, NULL, NULL,
				     weft_now() + 60 * WEFT_SEC);

		CK(fd >= 0);
		if (fd < 0)
			break;
		echo_conn(fd, e);
	}
	return NULL;
}

/* The same calls from plain threads: poll, no loop. */
static void tcp_echo_threads(void **state)
{
	struct echo e = { .family = AF_INET, .nclients = STRESS(20, 5) };
	pthread_t t;

	(void)state;
	atomic_store(&co_failures, 0);
	assert_false(weft_in_coro());
	assert_int_equal(listen_on(&e), 0);
	assert_int_equal(pthread_create(&t, NULL, thread_server, &e), 0);
	for (int i = 0; i < e.nclients; i++)
		assert_int_equal(client_conn(&e, i), 0);
	pthread_join(t, NULL);
	close(e.lfd);
	assert_int_equal(atomic_load(&e.served), e.nclients);
	assert_true(co_ok());
}

/* The echo over ::1, skipped cleanly where IPv6 loopback is missing. */
static void tcp_echo_ipv6(void **state)
{
	struct echo e = { .family = AF_INET6, .nclients = STRESS(50, 10) };

	(void)state;
	if (listen_on(&e) < 0) {
		fprintf(stderr, "no IPv6 loopback here: skipped\n");
		skip();
	}
	close(e.lfd);
	run_both(echo_main, &e);
}

/* ==== deadlines, errors ==== */

static void read_deadline_once(int fd)
{
	for (int i = 0; i < 3; i++) {
		int64_t dl = weft_now() + (5 + 10 * i) * WEFT_MSEC;
		char c;
		ssize_t r = weft_read(fd, &c, 1, dl);

		CKEQ(r, -ETIMEDOUT);
		CK(weft_now() >= dl); /* never early */
	}
	/* Deadline already past: looks once, never waits. */
	{
		char c;

		CKEQ(weft_read(fd, &c, 1, 0), -ETIMEDOUT);
		CKEQ(weft_fd_wait(fd, POLLIN, 0), -ETIMEDOUT);
	}
}

static int read_deadline_main(void *arg, void **res)
{
	int sv[2];

	(void)arg;
	(void)res;
	CKEQ(nb_socketpair(sv), 0);
	read_deadline_once(sv[0]);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* A read with nothing to read: -ETIMEDOUT at its deadline, never before,
 * in a coroutine and in a thread. */
static void read_deadline(void **state)
{
	(void)state;
	run_both(read_deadline_main, NULL);
	atomic_store(&co_failures, 0);
	read_deadline_main(NULL, NULL);
	assert_true(co_ok());
}

static int refused_main(void *arg, void **res)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = weft_socket(AF_INET, SOCK_STREAM, 0);

	(void)arg;
	(void)res;
	/* A port that was just ours and now has nobody listening. */
	CK(fd >= 0);
	CKEQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	CKEQ(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	close(fd);
	fd = weft_socket(AF_INET, SOCK_STREAM, 0);
	CKEQ(weft_connect(fd, (struct sockaddr *)&a, sizeof(a),
			  weft_now() + 10 * WEFT_SEC),
	     -ECONNREFUSED);
	close(fd);
	return 0;
}

/* connect to a closed port: -ECONNREFUSED (coroutine and thread). */
static void connect_refused(void **state)
{
	(void)state;
	run_both(refused_main, NULL);
	atomic_store(&co_failures, 0);
	refused_main(NULL, NULL);
	assert_true(co_ok());
}

static int badfd_main(void *arg, void **res)
{
	int fds[2], closed;
	char c;

	(void)arg;
	(void)res;
	CKEQ(pipe2(fds, O_CLOEXEC), 0);
	closed = fds[0];
	close(fds[0]);
	close(fds[1]);
	CKEQ(weft_fd_wait(-1, POLLIN, weft_now() + WEFT_SEC), -EBADF);
	CKEQ(weft_fd_wait(closed, POLLIN, weft_now() + WEFT_SEC), -EBADF);
	CKEQ(weft_fd_wait(closed, POLLOUT, WEFT_FOREVER), -EBADF);
	CKEQ(weft_read(closed, &c, 1, weft_now() + WEFT_SEC), -EBADF);
	return 0;
}

/* weft_fd_wait on a bad fd: -EBADF at once (coroutine and thread). */
static void fd_wait_bad_fd(void **state)
{
	(void)state;
	run_both(badfd_main, NULL);
	atomic_store(&co_failures, 0);
	badfd_main(NULL, NULL);
	assert_true(co_ok());
}

struct busy {
	int sv[2];
	atomic_bool first_done;
};

static int first_reader(void *arg, void **res)
{
	struct busy *b = arg;
	char c = 0;

	(void)res;
	CKEQ(weft_read(b->sv[0], &c, 1, weft_now() + 30 * WEFT_SEC), 1);
	CKEQ(c, 'x');
	atomic_store(&b->first_done, true);
	return 0;
}

static int busy_main(void *arg, void **res)
{
	struct busy *b = arg;
	uint32_t base = weft__park_sleepers();
	weft_future *f;
	char c;

	(void)res;
	CKEQ(nb_socketpair(b->sv), 0);
	atomic_store(&b->first_done, false);
	CKEQ(weft_spawn(&f, first_reader, b, NULL), 0);
	wait_sleepers(base + 1); /* the first reader waits on the loop */
	CKEQ(weft_read(b->sv[0], &c, 1, weft_now() + 10 * WEFT_SEC), -EBUSY);
	CKEQ(weft_fd_wait(b->sv[0], POLLIN, weft_now() + 10 * WEFT_SEC),
	     -EBUSY);
	/* Writing the same fd is another direction: allowed. */
	CKEQ(weft_fd_wait(b->sv[0], POLLOUT, weft_now() + 10 * WEFT_SEC),
	     POLLOUT);
	CK(!atomic_load(&b->first_done));
	CKEQ(write(b->sv[1], "x", 1), 1);
	CKEQ(await(f), 0);
	close(b->sv[0]);
	close(b->sv[1]);
	return 0;
}

/* Two coroutines reading one fd on one loop: the second gets -EBUSY, the
 * first is unaffected. */
static void second_reader_busy(void **state)
{
	struct busy b;

	(void)state;
	run_in(busy_main, &b, 1);
}

/* ==== fd numbers reused ==== */

struct reuse {
	int fds[2];
	int rounds;
};

static int late_writer(void *arg, void **res)
{
	struct reuse *r = arg;

	(void)res;
	weft_sleep(200 * WEFT_USEC);
	CKEQ(write(r->fds[1], "y", 1), 1);
	return 0;
}

static int reuse_main(void *arg, void **res)
{
	struct reuse *r = arg;
	int first = -1;

	(void)res;
	for (int i = 0; i < r->rounds; i++) {
		weft_future *f;
		char c = 0;

		CKEQ(pipe2(r->fds, O_NONBLOCK | O_CLOEXEC), 0);
		if (i == 0)
			first = r->fds[0];
		CKEQ(r->fds[0], first); /* the same number every round */
		/* A wait that times out leaves its one-shot behind... */
		if (i % 2)
			CKEQ(weft_read(r->fds[0], &c, 1,
				       weft_now() + 200 * WEFT_USEC),
			     -ETIMEDOUT);
		/* ...and one that has to wait works on the new pipe. */
		CKEQ(weft_spawn(&f, late_writer, r, NULL), 0);
		CKEQ(weft_read(r->fds[0], &c, 1, weft_now() + 30 * WEFT_SEC),
		     1);
		CKEQ(c, 'y');
		CKEQ(await(f), 0);
		close(r->fds[0]);
		close(r->fds[1]);
		/* A socketpair takes the numbers in between. */
		if (i % 3 == 0) {
			int sv[2];
			char d = 0;

			CKEQ(nb_socketpair(sv), 0);
			CKEQ(write(sv[1], "z", 1), 1);
			CKEQ(weft_read(sv[0], &d, 1, weft_now() + WEFT_SEC), 1);
			close(sv[0]);
			close(sv[1]);
		}
	}
	return 0;
}

/* An fd closed between waits and its number reused by a new pipe keeps
 * working: the loop re-arms the number for the new file. */
static void fd_number_reuse(void **state)
{
	struct reuse r = { .rounds = STRESS(300, 60) };

	(void)state;
	run_both(reuse_main, &r);
}

/* A peer gone: -EPIPE from weft_write and weft_write_all, no SIGPIPE
 * (the default action would kill this test). */
static void write_to_gone_peer_is_epipe(void **state)
{
	int sv[2];
	char b[4096] = { 0 };
	size_t done = 1;

	(void)state;
	assert_int_equal(
		socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	close(sv[1]);
	assert_int_equal(weft_write(sv[0], "x", 1, 0), -EPIPE);
	assert_int_equal(weft_write_all(sv[0], b, sizeof(b), &done,
					weft_deadline_in(WEFT_SEC)),
			 -EPIPE);
	assert_int_equal(done, 0);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(write_to_gone_peer_is_epipe),
		LEAK_CHECKED(socketpair_ping_pong),
		LEAK_CHECKED(tcp_echo_coroutines),
		LEAK_CHECKED(tcp_echo_threads),
		LEAK_CHECKED(tcp_echo_ipv6),
		LEAK_CHECKED(read_deadline),
		LEAK_CHECKED(connect_refused),
		LEAK_CHECKED(fd_wait_bad_fd),
		LEAK_CHECKED(second_reader_busy),
		LEAK_CHECKED(fd_number_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
