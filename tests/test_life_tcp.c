/*
 * weft-life's tcp mode: the rules server (server.c) and the client side
 * (tcp.c), over loopback, from plain threads and from coroutines.
 *
 * Fake servers (plain threads, blocking sockets) send what a broken server
 * would: the client must give -EPROTO, -ECONNRESET, -ETIMEDOUT or
 * -ECONNREFUSED, close its connection, and never hang or crash.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#include "co_check.h"
#include "life.h"

/* tcp.c's round-trip limit (not in life.h; the silent-server test
 * shortens it). */
extern int64_t life_tcp_timeout_ns;

/*
 * life_rule belongs to game.c, which the test does not link; until it
 * does, the rules are here (B3/S23). The lead drops this copy at the
 * merge if it clashes.
 */
char life_rule(char state, int neighbors)
{
	if (state == LIFE_ALIVE)
		return neighbors == 2 || neighbors == 3 ? LIFE_ALIVE
							: LIFE_EMPTY;
	return neighbors == 3 ? LIFE_ALIVE : LIFE_EMPTY;
}

/* The rules as the test states them, independent of life_rule. */
static char expected(char state, int n)
{
	if (n == 3)
		return LIFE_ALIVE;
	if (n == 2 && state == LIFE_ALIVE)
		return LIFE_ALIVE;
	return LIFE_EMPTY;
}

static struct life_io tcp_io(int port)
{
	struct life_io io = { .kind = LIFE_IO_TCP, .port = port };

	strcpy(io.host, "127.0.0.1");
	return io;
}

static const int64_t LONG_WAIT = 30 * WEFT_SEC; /* never reached */

/* ---- the real server ---- */

/* All 18 (state, neighbours) on one connection, from the test thread. */
static void test_rules_thread(void **state)
{
	struct life_server *srv;
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	int fd = -1;

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	assert_true(life_server_port(srv) > 0);
	io = tcp_io(life_server_port(srv));
	for (int round = 0; round < 3; round++)
		for (int s = 0; s < 2; s++)
			for (int n = 0; n <= 8; n++) {
				char st = s ? LIFE_ALIVE : LIFE_EMPTY, next = 0;

				assert_int_equal(life_tcp_logic(&io, &conn, st,
								n, &next),
						 0);
				assert_int_equal(next, expected(st, n));
				/* One persistent connection. */
				if (fd < 0)
					fd = conn.fd;
				assert_int_equal(conn.fd, fd);
			}
	life_conn_close(&conn);
	assert_int_equal(conn.fd, -1);
	life_conn_close(&conn); /* twice is harmless */
	life_server_stop(srv);
}

/* ---- many coroutines, each with its own connection ---- */

#define CORO_CLIENTS 200
#define CORO_QUERIES 50

struct co_client {
	const struct life_io *io;
	int id;
};

static int co_client(void *arg, void **result)
{
	struct co_client *c = arg;
	struct life_conn conn = LIFE_CONN_INIT;
	int fd = -1;

	(void)result;
	for (int q = 0; q < CORO_QUERIES; q++) {
		int k = (c->id + q) % 18, n = k % 9;
		char st = k < 9 ? LIFE_EMPTY : LIFE_ALIVE, next = 0;
		int rc = life_tcp_logic(c->io, &conn, st, n, &next);

		CKEQ(rc, 0);
		if (rc)
			break;
		CKEQ(next, expected(st, n));
		if (fd < 0)
			fd = conn.fd;
		CKEQ(conn.fd, fd);
	}
	life_conn_close(&conn);
	return 0;
}

struct co_run {
	const struct life_io *io;
	struct co_client c[CORO_CLIENTS];
};

static int co_main(void *arg, void **result)
{
	struct co_run *r = arg;
	weft_group *g;

	(void)result;
	CKEQ(weft_group_new(&g, 0), 0);
	for (int i = 0; i < CORO_CLIENTS; i++) {
		r->c[i] = (struct co_client){ .io = r->io, .id = i };
		CKEQ(weft_group_spawn(g, NULL, co_client, &r->c[i], NULL), 0);
	}
	CKEQ(weft_group_wait(g, weft_deadline_in(LONG_WAIT)), 0);
	CKEQ(weft_group_free(g), 0);
	return 0;
}

/* 200 coroutines x 50 queries, on one loop and on two. */
static void test_rules_coroutines(void **state)
{
	static struct co_run r;
	struct life_server *srv;
	struct life_io io;

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	io = tcp_io(life_server_port(srv));
	r.io = &io;
	run_both(co_main, &r);
	life_server_stop(srv);
}

/* Plain threads at once (the queue and pool models' workers). */
#define THREADS 4

static void *thread_client(void *arg)
{
	static atomic_int next_id;
	struct co_client c = { .io = arg, .id = atomic_fetch_add(&next_id, 1) };

	co_client(&c, NULL);
	return NULL;
}

static void test_rules_threads(void **state)
{
	struct life_server *srv;
	struct life_io io;
	pthread_t t[THREADS];

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	io = tcp_io(life_server_port(srv));
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(
			pthread_create(&t[i], NULL, thread_client, &io), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_true(co_ok());
	life_server_stop(srv);
}

/* ---- the protocol, spoken by hand to the real server ---- */

static int raw_connect(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = weft_socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(weft_connect(fd, (struct sockaddr *)&a, sizeof(a),
				      weft_deadline_in(LONG_WAIT)),
			 0);
	return fd;
}

static void raw_send(int fd, const char *s)
{
	assert_int_equal(weft_send(fd, s, strlen(s), 0,
				   weft_deadline_in(LONG_WAIT)),
			 (ssize_t)strlen(s));
}

/* Read exactly strlen(want) bytes and compare. */
static void raw_expect(int fd, const char *want)
{
	char buf[64];
	size_t len = 0, n = strlen(want);

	while (len < n) {
		ssize_t k = weft_read(fd, buf + len, n - len,
				      weft_deadline_in(LONG_WAIT));

		assert_true(k > 0);
		len += (size_t)k;
	}
	assert_memory_equal(buf, want, n);
}

/* The server hung up: end of file (or a reset), never a reply. */
static void raw_expect_hangup(int fd)
{
	char buf[16];
	ssize_t k =
		weft_read(fd, buf, sizeof(buf), weft_deadline_in(LONG_WAIT));

	assert_true(k == 0 || k == -ECONNRESET);
}

/* Several lines in one write, and a line split across two writes. */
static void test_protocol_pipelined_and_split(void **state)
{
	struct life_server *srv;
	int fd;

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	fd = raw_connect(life_server_port(srv));
	raw_send(fd, "* 3\n- 2\n- 3\n* 1\n");
	raw_expect(fd, "*\n-\n*\n-\n");
	raw_send(fd, "- ");
	raw_send(fd, "3\n");
	raw_expect(fd, "*\n");
	/* Good lines before a bad one in the same write: answered, then the
	 * hang-up. */
	raw_send(fd, "* 2\n- 1\n* 7\n");
	raw_expect(fd, "*\n-\n");
	raw_expect(fd, "-\n");
	raw_send(fd, "- 3\nbad\n");
	raw_expect(fd, "*\n");
	raw_expect_hangup(fd);
	close(fd);
	life_server_stop(srv);
}

/* A bad request line: the server hangs up on it (and serves the next
 * client); a life_tcp_logic client on that server still works. */
static void test_protocol_bad_request(void **state)
{
	static const char *const bad[] = {
		"? 3\n", "* 9\n", "*3\n", "* 3 \n", "\n", "- x\n", "* 33333",
	};
	struct life_server *srv;
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	char next;

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	io = tcp_io(life_server_port(srv));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = raw_connect(life_server_port(srv));

		/* A good line first: answered; then the bad one: hang up. */
		raw_send(fd, "* 2\n");
		raw_expect(fd, "*\n");
		raw_send(fd, bad[i]);
		raw_expect_hangup(fd);
		close(fd);
	}
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_EMPTY, 3, &next), 0);
	assert_int_equal(next, LIFE_ALIVE);
	life_conn_close(&conn);
	life_server_stop(srv);
}

/* Bad arguments: -EINVAL, and no connection made. */
static void test_bad_arguments(void **state)
{
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io = tcp_io(1);
	char next;

	(void)state;
	assert_int_equal(life_tcp_logic(&io, &conn, 'x', 3, &next), -EINVAL);
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 9, &next),
			 -EINVAL);
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, -1, &next),
			 -EINVAL);
	assert_int_equal(life_tcp_logic(NULL, &conn, LIFE_ALIVE, 1, &next),
			 -EINVAL);
	assert_int_equal(conn.fd, -1);
	io.port = 0;
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 1, &next),
			 -EINVAL);
	assert_int_equal(conn.fd, -1);
	assert_int_equal(life_server_port(NULL), -EINVAL);
	life_server_stop(NULL);
	assert_int_equal(life_server_start(NULL, "127.0.0.1", 0), -EINVAL);
}

/* ---- fake servers ---- */

/*
 * A fake server on a plain thread: for each connection it accepts, reads
 * one request (4 bytes), sends `reply` as is (possibly nothing), then —
 * unless `silent` — shuts down its sending side and reads until the client
 * closes (so it never resets a connection with unread data).
 */
struct fake {
	int lfd, port;
	const char *reply;
	size_t reply_len;
	bool silent;	  /* send nothing, wait for the client to close */
	weft_event extra; /* set: send "-\n" unasked after the reply */
	bool send_extra;
	pthread_t thread;
};

static void fake_listen(struct fake *f)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
	f->port = ntohs(a.sin_port);
}

static void read_all(int fd, size_t n)
{
	char buf[16];

	while (n > 0) {
		ssize_t k = read(fd, buf, n < sizeof(buf) ? n : sizeof(buf));

		if (k <= 0)
			return;
		n -= (size_t)k;
	}
}

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };
	char buf[64];
	int fd;

	/* Bounded: a client that never comes is not waited for forever. */
	if (poll(&p, 1, 30000) != 1)
		return NULL;
	fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	read_all(fd, 4);
	if (!f->silent) {
		if (f->reply_len)
			CKEQ(write(fd, f->reply, f->reply_len),
			     (ssize_t)f->reply_len);
		if (f->send_extra) {
			weft_event_wait(&f->extra, weft_deadline_in(LONG_WAIT));
			CKEQ(write(fd, "-\n", 2), 2);
		}
		shutdown(fd, SHUT_WR);
	}
	/* Until the client closes (or 30 s: bounded either way). */
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&p, 1, 30000) == 1 && read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f)
{
	fake_listen(f);
	weft_event_init(&f->extra);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_thread, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	weft_event_destroy(&f->extra);
}

#define G(s, rc)                     \
	{                            \
		s, sizeof(s) - 1, rc \
	}
static const struct {
	const char *reply;
	size_t len;
	int want;
} garbage[] = {
	G("x\n", -EPROTO),    /* not '*' or '-' */
	G("**\n", -EPROTO),   /* too long */
	G("*", -EPROTO),      /* no '\n', then end of file */
	G("\n", -EPROTO),     /* empty line */
	G("*\n-\n", -EPROTO), /* extra bytes with the reply */
	G("*\r\n", -EPROTO),  /* not our line ending */
	G("", -ECONNRESET),   /* hangs up without a reply */
	G("----------------------------------------------------------------"
	  "----------------------------------------------------------------\n",
	  -EPROTO), /* longer than the client's buffer */
};
#define NGARBAGE (sizeof(garbage) / sizeof(garbage[0]))

static struct fake fakes[NGARBAGE];

/* The fake servers start and stop on the test thread (cmocka asserts). */
static void garbage_start(void)
{
	for (size_t i = 0; i < NGARBAGE; i++) {
		fakes[i] = (struct fake){ .reply = garbage[i].reply,
					  .reply_len = garbage[i].len };
		fake_start(&fakes[i]);
	}
}

static void garbage_stop(void)
{
	for (size_t i = 0; i < NGARBAGE; i++)
		fake_stop(&fakes[i]);
}

/* The client side: a thread or a coroutine, CK only. */
static void garbage_clients(bool in_coro)
{
	for (size_t i = 0; i < NGARBAGE; i++) {
		struct life_conn conn = LIFE_CONN_INIT;
		struct life_io io = tcp_io(fakes[i].port);
		char next = 0;
		int rc = life_tcp_logic(&io, &conn, LIFE_ALIVE, 2, &next);

		if (rc != garbage[i].want)
			fprintf(stderr, "garbage %zu (%s): %s\n", i,
				in_coro ? "coroutine" : "thread",
				weft_strerror(rc));
		CKEQ(rc, garbage[i].want);
		CKEQ(conn.fd, -1); /* closed: the next call reconnects */
	}
}

static void test_garbage_thread(void **state)
{
	(void)state;
	garbage_start();
	garbage_clients(false);
	garbage_stop();
	assert_true(co_ok());
}

static int garbage_main(void *arg, void **result)
{
	(void)arg;
	(void)result;
	garbage_clients(true);
	return 0;
}

/* The same from a coroutine (the fake servers are threads either way). */
static void test_garbage_coroutine(void **state)
{
	(void)state;
	garbage_start();
	run_in(garbage_main, NULL, 1);
	garbage_stop();
}

/* Bytes the server sends unasked are caught before the next request. */
static void test_unasked_bytes(void **state)
{
	struct fake f = { .reply = "*\n", .reply_len = 2, .send_extra = true };
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	struct pollfd p;
	char next = 0;

	(void)state;
	fake_start(&f);
	io = tcp_io(f.port);
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 2, &next), 0);
	assert_int_equal(next, LIFE_ALIVE);
	weft_event_set(&f.extra);
	/* Wait until the unasked "-\n" has arrived. */
	p = (struct pollfd){ .fd = conn.fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 30000), 1);
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 2, &next),
			 -EPROTO);
	assert_int_equal(conn.fd, -1);
	fake_stop(&f);
}

/* A server that takes the request and never answers: -ETIMEDOUT. */
static void test_silent_server(void **state)
{
	struct fake f = { .silent = true };
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	int64_t saved = life_tcp_timeout_ns;
	char next = 0;

	(void)state;
	fake_start(&f);
	io = tcp_io(f.port);
	life_tcp_timeout_ns = 200 * WEFT_MSEC;
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 2, &next),
			 -ETIMEDOUT);
	life_tcp_timeout_ns = saved;
	assert_int_equal(conn.fd, -1); /* the fake server sees EOF, ends */
	fake_stop(&f);
}

/* ---- a server that is not there, or goes away ---- */

/* A port bound but not listening: nobody else can take it meanwhile. */
static void test_refused(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	char next;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	io = tcp_io(ntohs(a.sin_port));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 2,
						&next),
				 -ECONNREFUSED);
		assert_int_equal(conn.fd, -1);
	}
	close(fd);
}

/* The server stops while the client holds a connection: an error on the
 * next call (not a hang, not SIGPIPE), and the call after errs too. */
static void test_server_stopped_thread(void **state)
{
	struct life_server *srv;
	struct life_conn conn = LIFE_CONN_INIT;
	struct life_io io;
	char next;
	int rc;

	(void)state;
	assert_int_equal(life_server_start(&srv, "127.0.0.1", 0), 0);
	io = tcp_io(life_server_port(srv));
	assert_int_equal(life_tcp_logic(&io, &conn, LIFE_ALIVE, 3, &next), 0);
	assert_int_equal(next, LIFE_ALIVE);
	life_server_stop(srv);
	rc = life_tcp_logic(&io, &conn, LIFE_ALIVE, 3, &next);
	assert_true(rc == -ECONNRESET || rc == -EPIPE);
	assert_int_equal(conn.fd, -1);
	/* Reconnecting finds nobody (the port is free now). */
	assert_true(life_tcp_logic(&io, &conn, LIFE_ALIVE, 3, &next) < 0);
	assert_int_equal(conn.fd, -1);
}

#define STOP_CLIENTS 20

struct stop_run {
	struct life_server *srv;
	struct life_io io;
	weft_event stopped;
	atomic_int connected;
	weft_event all_connected;
};

static int stop_client(void *arg, void **result)
{
	struct stop_run *r = arg;
	struct life_conn conn = LIFE_CONN_INIT;
	char next = 0;
	int rc;

	(void)result;
	CKEQ(life_tcp_logic(&r->io, &conn, LIFE_EMPTY, 3, &next), 0);
	CKEQ(next, LIFE_ALIVE);
	if (atomic_fetch_add(&r->connected, 1) + 1 == STOP_CLIENTS)
		weft_event_set(&r->all_connected);
	CKEQ(weft_event_wait(&r->stopped, weft_deadline_in(LONG_WAIT)), 0);
	rc = life_tcp_logic(&r->io, &conn, LIFE_EMPTY, 3, &next);
	CK(rc == -ECONNRESET || rc == -EPIPE);
	CKEQ(conn.fd, -1);
	life_conn_close(&conn);
	return 0;
}

static int stop_server_fn(void *arg, void **result)
{
	struct stop_run *r = arg;

	(void)result;
	life_server_stop(r->srv);
	return 0;
}

static int stop_main(void *arg, void **result)
{
	struct stop_run *r = arg;
	weft_group *g;

	(void)result;
	CKEQ(weft_group_new(&g, 0), 0);
	for (int i = 0; i < STOP_CLIENTS; i++)
		CKEQ(weft_group_spawn(g, NULL, stop_client, r, NULL), 0);
	CKEQ(weft_event_wait(&r->all_connected, weft_deadline_in(LONG_WAIT)),
	     0);
	/* life_server_stop joins a thread: not on this loop. */
	CKEQ(weft_to_thread(stop_server_fn, r, NULL, WEFT_FOREVER), 0);
	weft_event_set(&r->stopped);
	CKEQ(weft_group_wait(g, weft_deadline_in(LONG_WAIT)), 0);
	CKEQ(weft_group_free(g), 0);
	return 0;
}

/* The same with 20 coroutines holding connections, on two loops. */
static void test_server_stopped_coroutines(void **state)
{
	static struct stop_run r;

	(void)state;
	memset(&r, 0, sizeof(r));
	weft_event_init(&r.stopped);
	weft_event_init(&r.all_connected);
	assert_int_equal(life_server_start(&r.srv, "127.0.0.1", 0), 0);
	r.io = tcp_io(life_server_port(r.srv));
	run_in(stop_main, &r, 2);
	weft_event_destroy(&r.stopped);
	weft_event_destroy(&r.all_connected);
}

/* Start and stop with nobody connecting; and a port in use. */
static void test_server_start_stop(void **state)
{
	struct life_server *a, *b;

	(void)state;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(life_server_start(&a, "127.0.0.1", 0), 0);
		life_server_stop(a);
	}
	assert_int_equal(life_server_start(&a, "127.0.0.1", 0), 0);
	assert_int_equal(life_server_start(&b, "127.0.0.1",
					   life_server_port(a)),
			 -EADDRINUSE);
	assert_null(b);
	life_server_stop(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(test_rules_thread),
		LEAK_CHECKED(test_rules_coroutines),
		LEAK_CHECKED(test_rules_threads),
		LEAK_CHECKED(test_protocol_pipelined_and_split),
		LEAK_CHECKED(test_protocol_bad_request),
		LEAK_CHECKED(test_bad_arguments),
		LEAK_CHECKED(test_garbage_thread),
		LEAK_CHECKED(test_garbage_coroutine),
		LEAK_CHECKED(test_unasked_bytes),
		LEAK_CHECKED(test_silent_server),
		LEAK_CHECKED(test_refused),
		LEAK_CHECKED(test_server_stopped_thread),
		LEAK_CHECKED(test_server_stopped_coroutines),
		LEAK_CHECKED(test_server_start_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
