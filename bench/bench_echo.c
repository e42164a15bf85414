/*
 * bench_echo — a TCP echo server on weft's coroutines against its peers,
 * side by side in one run, all driven by the same load generator.
 *
 *   bench_echo [-q] [-c conns] [-t seconds] [-r reps] [-s bytes]
 *              [--only weft1|weft2|libuv|go1|go|python]
 *     -q       quick: 1 s per server after 0.3 s of warm-up, one round
 *     -c       connections (default 100)
 *     -t       measured seconds per server and round (default 3)
 *     -r       rounds (default 3): every server once per round, in turn,
 *              so drift on this shared machine hits each alike; each
 *              server's figure is its median over the rounds
 *     -s       message size in bytes (default 64, at most 4096)
 *   bench_echo --serve weft|uv [--loops N]   one server (see below)
 *   bench_echo --client PORT [-c] [-t] [-s]  only the client, against a
 *            server you started (to strace or perf the server alone)
 *
 * The figure: round trips per second, in total over all connections, on
 * 127.0.0.1. Each client connection sends one message, waits for all of
 * its echo, checks it, and sends the next, for the measured time (after a
 * warm-up of 1 s that is not counted).
 *
 * The client is this program: one thread, one epoll (level-triggered),
 * non-blocking sockets with TCP_NODELAY — plain C, so that it costs as
 * little as possible and is the same for every server. Only the server
 * changes; each runs as its own process, started by this program:
 *
 *   weft1    this program --serve weft --loops 1: one coroutine per
 *            connection (weft_accept, then weft_read + weft_write_all into
 *            a buffer on the coroutine's stack), weft_run with 1 loop
 *   weft2    the same with 2 loops
 *   libuv    this program --serve uv: libuv, one buffer per connection
 *            allocated at accept (alloc_cb returns it), uv_try_write and
 *            uv_write for what it could not write (reading paused until it
 *            is written); only when built with libuv (pkg-config)
 *   go1      bench/peers/echo_server.go (goroutine per connection), built
 *            once by CMake with `go build`, run with GOMAXPROCS=1
 *   go       the same with Go's default GOMAXPROCS (the number of CPUs)
 *   python   bench/peers/echo_server.py: asyncio with an asyncio.Protocol
 *            (data_received -> transport.write), not streams
 *
 * Every server listens on 127.0.0.1 port 0, prints "PORT <n>", sets
 * TCP_NODELAY on its connections (Go and asyncio do so by default), and
 * exits when its stdin (a pipe from this program) reaches EOF or after a
 * time limit, so nothing outlives a run; a server still alive 5 s after
 * its stdin closed is killed. A server that cannot start prints n/a.
 *
 * The run ends with one machine-readable line per figure (bench/result.h):
 *   RESULT echo_rtps weft=<best weft> <best peer>=<v> ratio=<weft/peer>
 *   RESULT echo_rtps_loops1 / _loops2: weft with 1 / 2 loops vs the best peer
 *   RESULT echo_rtps_<peer>: the best weft vs that peer
 * in round trips per second (unit=rt/s; higher is better, so the ratio is
 * weft/peer).
 *
 * Beside each figure the table gives the server's CPU time per round trip
 * (user + system, from /proc/PID/stat), its read and write syscalls per
 * round trip (/proc/PID/io: a count above 1 read is reads that found
 * nothing, EAGAIN, before waiting; recv/send, which asyncio uses, are not
 * counted there) and the client's CPU use: a client near 100% of its core
 * would cap every server alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_UV
#include <uv.h>
#endif

/* 0 until the coroutine runtime is in libweft: the weft servers say n/a. */

#include <weft.h>

#include "result.h"
#include "weft/coro.h"
#include "weft/loop.h"

#ifndef PEERS_DIR
#define PEERS_DIR "."
#endif
#ifndef GO_ECHO_SERVER
#define GO_ECHO_SERVER ""
#endif

#define MAX_MSG 4096
#define SERVER_LIMIT_S 600 /* a server gives up after this, whatever */

/* ------------------------------------------------------------------ */
/* Servers (run as `bench_echo --serve weft|uv`)                      */
/* ------------------------------------------------------------------ */

static void nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A listening socket on 127.0.0.1, port 0; its port printed on stdout. */
static int listen_any(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) < 0)
		return -errno;
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	return 0;
}

static int64_t server_deadline;

static int weft_conn(void *arg, void **result)
{
	int fd = (int)(intptr_t)arg;
	char buf[MAX_MSG];
	ssize_t n;

	nodelay(fd);
	while ((n = weft_read(fd, buf, sizeof(buf), WEFT_FOREVER)) > 0)
		if (weft_write_all(fd, buf, (size_t)n, NULL, WEFT_FOREVER) < 0)
			break;
	close(fd);
	return 0;
}

static int weft_acceptor(void *arg, void **result)
{
	weft_group *g = arg;
	int lfd = -1, fd, rc;

	for (;;) {
		if (lfd < 0) {
			lfd = weft_socket(AF_INET, SOCK_STREAM, 0);
			if (lfd < 0 || (rc = listen_any(lfd)) < 0) {
				fprintf(stderr, "weft server: listen: %s\n",
					weft_strerror(lfd < 0 ? lfd : rc));
				return 1;
			}
		}
		fd = weft_accept(lfd, NULL, NULL, server_deadline);
		if (fd < 0)
			break;
		rc = weft_group_spawn(g, NULL, weft_conn, (void *)(intptr_t)fd,
				      NULL);
		if (rc < 0) {
			close(fd);
			break;
		}
	}
	close(lfd);
	return 0;
}

/* Ends the server at EOF on stdin or the limit: its error cancels all. */
static int weft_stdin_watch(void *arg, void **result)
{
	char b[256];
	ssize_t n;

	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	while ((n = weft_read(0, b, sizeof(b), server_deadline)) > 0)
		;
	return 1;
}

static int weft_server_main(void *arg, void **result)
{
	weft_group *g;
	int rc = weft_group_new(&g, WEFT_GROUP_CANCEL_ON_ERROR);

	if (rc < 0)
		return rc;
	weft_group_spawn(g, NULL, weft_acceptor, g, NULL);
	weft_group_spawn(g, NULL, weft_stdin_watch, NULL, NULL);
	rc = weft_group_wait(g, WEFT_FOREVER);
	weft_group_free(g);
	return rc == 1 ? 0 : rc; /* 1: the watcher's normal stop */
}

static int serve_weft(unsigned loops)
{
	int rc;

	server_deadline = weft_now() + (int64_t)SERVER_LIMIT_S * WEFT_SEC;
	rc = weft_run(weft_server_main, NULL, NULL,
		      &(weft_loops_opts){ .loops = loops });
	if (rc < 0)
		fprintf(stderr, "weft server: %s\n", weft_strerror(rc));
	return rc < 0;
}

#ifdef HAVE_UV
struct uv_conn {
	uv_tcp_t tcp;
	uv_write_t wr;
	char buf[MAX_MSG];
};

static void uv_conn_closed(uv_handle_t *h)
{
	free(h->data);
}

static void uv_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	struct uv_conn *c = h->data;

	*b = uv_buf_init(c->buf, sizeof(c->buf));
}

static void uv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void uv_written(uv_write_t *w, int status)
{
	struct uv_conn *c = w->data;

	if (status < 0) {
		uv_close((uv_handle_t *)&c->tcp, uv_conn_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->tcp, uv_alloc, uv_on_read);
}

static void uv_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct uv_conn *c = s->data;
	uv_buf_t rest;
	int w;

	if (n == 0)
		return;
	if (n < 0) {
		uv_close((uv_handle_t *)s, uv_conn_closed);
		return;
	}
	w = uv_try_write(s, &(uv_buf_t){ .base = c->buf, .len = (size_t)n }, 1);
	if (w == UV_EAGAIN)
		w = 0;
	if (w < 0) {
		uv_close((uv_handle_t *)s, uv_conn_closed);
		return;
	}
	if (w == n)
		return;
	/* The rest is written from the buffer: read nothing into it till then. */
	uv_read_stop(s);
	rest = uv_buf_init(c->buf + w, (unsigned)(n - w));
	c->wr.data = c;
	if (uv_write(&c->wr, s, &rest, 1, uv_written) < 0)
		uv_close((uv_handle_t *)s, uv_conn_closed);
}

static void uv_on_conn(uv_stream_t *srv, int status)
{
	struct uv_conn *c;

	if (status < 0 || !(c = malloc(sizeof(*c))))
		return;
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(srv, (uv_stream_t *)&c->tcp) < 0) {
		uv_close((uv_handle_t *)&c->tcp, uv_conn_closed);
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_read_start((uv_stream_t *)&c->tcp, uv_alloc, uv_on_read);
}

static void uv_stdin_ready(uv_poll_t *p, int status, int events)
{
	char b[256];

	if (status < 0 || read(0, b, sizeof(b)) <= 0)
		uv_stop(p->loop);
}

static void uv_limit(uv_timer_t *t)
{
	uv_stop(t->loop);
}
#endif

static int serve_uv(void)
{
#ifdef HAVE_UV
	uv_loop_t *loop = uv_default_loop();
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int alen = sizeof(a);
	uv_tcp_t srv;
	uv_poll_t in;
	uv_timer_t limit;

	uv_tcp_init(loop, &srv);
	if (uv_tcp_bind(&srv, (struct sockaddr *)&a, 0) < 0 ||
	    uv_listen((uv_stream_t *)&srv, 1024, uv_on_conn) < 0 ||
	    uv_tcp_getsockname(&srv, (struct sockaddr *)&a, &alen) < 0) {
		fprintf(stderr, "uv server: cannot listen\n");
		return 1;
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	uv_poll_init(loop, &in, 0);
	uv_poll_start(&in, UV_READABLE, uv_stdin_ready);
	uv_timer_init(loop, &limit);
	uv_timer_start(&limit, uv_limit, SERVER_LIMIT_S * 1000ull, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	return 0; /* exit() closes the rest */
#else
	fprintf(stderr, "uv server: built without libuv\n");
	return 1;
#endif
}

/* ------------------------------------------------------------------ */
/* The load generator                                                 */
/* ------------------------------------------------------------------ */

struct cconn {
	int fd;
	size_t got;
};

static int n_conns = 100;
static size_t msg_size = 64;
static double warm_s = 1.0, measure_s = 3.0;

/*
 * Drive the echo server on `port` for warm-up + measured time: round
 * trips per second over the measured part, or -1 (said on stderr).
 */
/* CPU seconds used so far by process `pid` (all its threads), or -1. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	/* Fields 14 and 15, counted after the ")" that ends the name. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
			 "%lu %lu",
			 &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Read and write syscalls made so far by process `pid` (/proc/pid/io). */
static void proc_syscalls(pid_t pid, double *r, double *w)
{
	char path[64], key[32];
	unsigned long long v;
	FILE *f;

	*r = *w = -1;
	snprintf(path, sizeof(path), "/proc/%d/io", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	while (fscanf(f, "%31s %llu", key, &v) == 2) {
		if (!strcmp(key, "syscr:"))
			*r = (double)v;
		else if (!strcmp(key, "syscw:"))
			*w = (double)v;
	}
	fclose(f);
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU use over the measured part: the server's per round trip, the client's. */
struct cpu {
	double server_us_per_rt, client_pct;
	double reads_per_rt, writes_per_rt; /* the server's syscalls */
};

static double run_client(int port, pid_t server, struct cpu *cpu)
{
	double srv0 = 0, cli0 = 0, rd0 = 0, wr0 = 0, rd1, wr1;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct cconn *cs = calloc((size_t)n_conns, sizeof(*cs));
	struct epoll_event evs[256];
	char msg[MAX_MSG], buf[MAX_MSG];
	int ep = epoll_create1(EPOLL_CLOEXEC), made = 0;
	int64_t t_start, t_end, now;
	long trips = 0;
	double rate = -1;
	bool counting = false;

	for (size_t i = 0; i < msg_size; i++)
		msg[i] = (char)('a' + i % 26);
	if (!cs || ep < 0)
		goto out;
	for (; made < n_conns; made++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			fprintf(stderr, "bench_echo: connect: %s\n",
				strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		nodelay(fd);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		cs[made].fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){ .events = EPOLLIN,
						     .data.ptr = &cs[made] }) <
		    0) {
			made++;
			goto out;
		}
	}
	for (int i = 0; i < n_conns; i++)
		if (write(cs[i].fd, msg, msg_size) != (ssize_t)msg_size)
			goto fail;
	t_start = weft_now() + (int64_t)(warm_s * 1e9);
	t_end = t_start + (int64_t)(measure_s * 1e9);
	for (;;) {
		int n = epoll_wait(ep, evs, 256, 1000);

		if (n < 0 && errno != EINTR)
			goto fail;
		if (n == 0) {
			fprintf(stderr, "bench_echo: no echo for 1 s\n");
			goto out;
		}
		now = weft_now();
		if (!counting && now >= t_start) {
			counting = true;
			srv0 = proc_cpu_s(server);
			cli0 = thread_cpu_s();
			proc_syscalls(server, &rd0, &wr0);
			trips = 0;
			t_start = now;
		}
		if (now >= t_end)
			break;
		for (int i = 0; i < n; i++) {
			struct cconn *c = evs[i].data.ptr;
			ssize_t r =
				read(c->fd, buf + c->got, msg_size - c->got);

			if (r < 0 && errno == EAGAIN)
				continue;
			if (r == 0)
				errno = 0; /* the server closed it */
			if (r <= 0)
				goto fail;
			c->got += (size_t)r;
			if (c->got < msg_size)
				continue;
			if (memcmp(buf, msg, msg_size)) {
				fprintf(stderr, "bench_echo: wrong echo\n");
				goto out;
			}
			c->got = 0;
			trips++;
			/* One message in flight: the socket buffer is empty. */
			if (write(c->fd, msg, msg_size) != (ssize_t)msg_size)
				goto fail;
		}
	}
	rate = (double)trips / ((double)(now - t_start) / 1e9);
	cpu->server_us_per_rt =
		(proc_cpu_s(server) - srv0) * 1e6 / (double)trips;
	proc_syscalls(server, &rd1, &wr1);
	cpu->reads_per_rt = rd0 >= 0 && rd1 >= 0 ? (rd1 - rd0) / (double)trips
						 : -1;
	cpu->writes_per_rt = wr0 >= 0 && wr1 >= 0 ? (wr1 - wr0) / (double)trips
						  : -1;
	cpu->client_pct =
		(thread_cpu_s() - cli0) * 100 / ((double)(now - t_start) / 1e9);
	goto out;
fail:
	fprintf(stderr, "bench_echo: client: %s\n",
		errno ? strerror(errno) : "connection closed");
out:
	for (int i = 0; i < made; i++)
		close(cs[i].fd);
	if (ep >= 0)
		close(ep);
	free(cs);
	return rate;
}

/* ------------------------------------------------------------------ */
/* The driver                                                         */
/* ------------------------------------------------------------------ */

struct server {
	const char *key;  /* --only name, RESULT suffix */
	const char *desc; /* table row */
	const char *argv[8];
	const char *env[2];
	bool weft;
	double runs[16];
	struct cpu cpu[16];
	int n_runs;
};

static char self_path[PATH_MAX];

/* Read the server's "PORT <n>" line: the port, or -1. */
static int read_port(weft_proc *p)
{
	char line[64];
	size_t len = 0;
	int fd = weft_proc_stdout(p), port;
	int64_t deadline = weft_now() + 10 * WEFT_SEC;

	while (len < sizeof(line) - 1 && !memchr(line, '\n', len)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int ms = weft_deadline_ms(deadline);
		ssize_t r;

		if (ms == 0 || poll(&pfd, 1, ms) <= 0)
			return -1;
		r = read(fd, line + len, sizeof(line) - 1 - len);
		if (r <= 0 && !(r < 0 && errno == EAGAIN))
			return -1;
		if (r > 0)
			len += (size_t)r;
	}
	line[len] = 0;
	return sscanf(line, "PORT %d", &port) == 1 ? port : -1;
}

/* Start the server, drive it, stop it: round trips per second or -1. */
static double run_server(const struct server *s, struct cpu *cpu)
{
	weft_proc *p;
	double rate = -1;
	int port, rc, status;

	rc = weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = s->argv,
						     .env = s->env[0] ? s->env
								      : NULL,
						     .in = WEFT_PIPE,
						     .out = WEFT_PIPE });
	if (rc < 0) {
		fprintf(stderr, "bench_echo: %s: cannot start %s: %s\n", s->key,
			s->argv[0], weft_strerror(rc));
		return -1;
	}
	port = read_port(p);
	if (port > 0)
		rate = run_client(port, weft_proc_pid(p), cpu);
	else
		fprintf(stderr, "bench_echo: %s: no port\n", s->key);
	weft_proc_close_stdin(p);
	if (weft_proc_wait(p, &status, weft_now() + 5 * WEFT_SEC) < 0) {
		fprintf(stderr, "bench_echo: %s: did not stop; killed\n",
			s->key);
		weft_proc_kill(p);
		weft_proc_wait(p, &status, WEFT_FOREVER);
	}
	if (status != 0 && rate > 0)
		fprintf(stderr, "bench_echo: %s exited with status %d\n",
			s->key, status);
	weft_proc_free(p);
	return rate;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_echo [-q] [-c conns] [-t seconds] "
			"[-r reps] [-s bytes] [--only NAME]\n"
			"       bench_echo --serve weft|uv [--loops N]\n"
			"       bench_echo --client PORT [-c conns] [-t s]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static char limit[16];
	struct server sv[] = {
		{ .key = "weft1",
		  .desc = "weft, coroutine per connection, 1 loop",
		  .argv = { self_path, "--serve", "weft", "--loops", "1" },
		  .weft = true },
		{ .key = "weft2",
		  .desc = "weft, coroutine per connection, 2 loops",
		  .argv = { self_path, "--serve", "weft", "--loops", "2" },
		  .weft = true },
#ifdef HAVE_UV
		{ .key = "libuv",
		  .desc = "libuv, buffer per connection, uv_try_write",
		  .argv = { self_path, "--serve", "uv" } },
#endif
		{ .key = "go1",
		  .desc = "Go, goroutine per connection, GOMAXPROCS=1",
		  .argv = { GO_ECHO_SERVER, limit },
		  .env = { "GOMAXPROCS=1" } },
		{ .key = "go",
		  .desc = "Go, goroutine per connection, GOMAXPROCS default",
		  .argv = { GO_ECHO_SERVER, limit },
		  .env = { "GOMAXPROCS" } },
		{ .key = "python",
		  .desc = "Python asyncio, Protocol",
		  .argv = { "/usr/bin/python3", PEERS_DIR "/echo_server.py",
			    limit } },
	};
	int n_sv = (int)(sizeof(sv) / sizeof(sv[0])), reps = 3;
	const char *only = NULL, *serve = NULL;
	int client_port = 0;
	unsigned loops = 1;
	double best_weft = 0, best_peer = 0, med[16], med_su[16], med_cp[16],
	       med_rd[16], med_wr[16];
	const char *best_weft_key = "weft", *best_peer_key = "peer";
	struct rlimit rl;
	ssize_t sl;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;

		if (!strcmp(a, "-q")) {
			warm_s = 0.3;
			measure_s = 1;
			reps = 1;
		} else if (!strcmp(a, "-c") && more) {
			n_conns = atoi(argv[++i]);
		} else if (!strcmp(a, "-t") && more) {
			measure_s = atof(argv[++i]);
		} else if (!strcmp(a, "-r") && more) {
			reps = atoi(argv[++i]);
		} else if (!strcmp(a, "-s") && more) {
			msg_size = (size_t)atol(argv[++i]);
		} else if (!strcmp(a, "--only") && more) {
			only = argv[++i];
		} else if (!strcmp(a, "--serve") && more) {
			serve = argv[++i];
		} else if (!strcmp(a, "--client") && more) {
			client_port = atoi(argv[++i]);
		} else if (!strcmp(a, "--loops") && more) {
			loops = (unsigned)atoi(argv[++i]);
		} else {
			usage();
		}
	}
	if (serve) {
		if (!strcmp(serve, "weft"))
			return serve_weft(loops);
		if (!strcmp(serve, "uv"))
			return serve_uv();
		usage();
	}
	if (n_conns < 1 || n_conns > 10000 || reps < 1 || reps > 16 ||
	    msg_size < 1 || msg_size > MAX_MSG || measure_s <= 0)
		usage();
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (client_port > 0) { /* only the client, against a running server */
		struct cpu cpu;
		double rate = run_client(client_port, getpid(), &cpu);

		printf("%.0f rt/s, client CPU %.0f%%\n", rate, cpu.client_pct);
		return rate > 0 ? 0 : 1;
	}
	sl = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (sl <= 0)
		return 1;
	self_path[sl] = 0;
	/* Past the longest run plus its warm-up: the servers' own stop. */
	snprintf(limit, sizeof(limit), "%d",
		 (int)(warm_s + measure_s) * 2 + 60);

	printf("bench_echo: TCP echo on 127.0.0.1, %d connections, %zu-byte "
	       "messages, one in flight per connection; %.1f s measured after "
	       "%.1f s warm-up, %d round%s (median)\n",
	       n_conns, msg_size, measure_s, warm_s, reps, reps > 1 ? "s" : "");
	printf("client: one epoll thread in this process (the same for every "
	       "server)\n");
	for (int r = 0; r < reps; r++)
		for (int i = 0; i < n_sv; i++) {
			struct server *s = &sv[i];

			if (only && strcmp(only, s->key))
				continue;
			if (!s->argv[0][0]) { /* Go was not found at build */
				s->runs[s->n_runs++] = -1;
				continue;
			}
			s->runs[s->n_runs] = run_server(s, &s->cpu[s->n_runs]);
			fprintf(stderr,
				"  round %d %-7s %10.0f rt/s  server %.2f us "
				"CPU/rt, %.2f reads + %.2f writes/rt  client "
				"CPU %.0f%%\n",
				r + 1, s->key, s->runs[s->n_runs],
				s->cpu[s->n_runs].server_us_per_rt,
				s->cpu[s->n_runs].reads_per_rt,
				s->cpu[s->n_runs].writes_per_rt,
				s->cpu[s->n_runs].client_pct);
			s->n_runs++;
		}
	for (int i = 0; i < n_sv; i++) {
		double su[16], cp[16], rd[16], wr[16];

		for (int r = 0; r < sv[i].n_runs; r++) {
			su[r] = sv[i].cpu[r].server_us_per_rt;
			cp[r] = sv[i].cpu[r].client_pct;
			rd[r] = sv[i].cpu[r].reads_per_rt;
			wr[r] = sv[i].cpu[r].writes_per_rt;
		}
		med_rd[i] = median(rd, sv[i].n_runs);
		med_wr[i] = median(wr, sv[i].n_runs);
		med[i] = median(sv[i].runs, sv[i].n_runs);
		med_su[i] = median(su, sv[i].n_runs);
		med_cp[i] = median(cp, sv[i].n_runs);
		if (sv[i].weft && med[i] > best_weft) {
			best_weft = med[i];
			best_weft_key = sv[i].key;
		} else if (!sv[i].weft && med[i] > best_peer) {
			best_peer = med[i];
			best_peer_key = sv[i].key;
		}
	}
	printf("\n%-50s %9s %11s %10s %11s %10s\n",
	       "server (round trips/s: higher is better)", "rt/s",
	       "best weft/x", "server CPU", "server r+w", "client CPU");
	printf("%-50s %9s %11s %10s %11s %10s\n", "", "", "", "us per rt",
	       "calls/rt", "% of core");
	for (int i = 0; i < n_sv; i++) {
		if (only && strcmp(only, sv[i].key))
			continue;
		if (med[i] > 0 && med_rd[i] + med_wr[i] > 0)
			printf("%-50s %9.0f %10.2fx %10.2f %5.2f+%5.2f "
			       "%10.0f\n",
			       sv[i].desc, med[i], ratio_of(best_weft, med[i]),
			       med_su[i], med_rd[i], med_wr[i], med_cp[i]);
		else if (med[i] > 0) /* recv/send are not counted there */
			printf("%-50s %9.0f %10.2fx %10.2f %11s %10.0f\n",
			       sv[i].desc, med[i], ratio_of(best_weft, med[i]),
			       med_su[i], "recv/send", med_cp[i]);
		else
			printf("%-50s %9s\n", sv[i].desc, "n/a");
	}
	printf("(server CPU per round trip: the server process's user + "
	       "system time, 10 ms ticks; r+w: its read-type and write-type "
	       "syscalls per round trip, from /proc/PID/io, failed ones "
	       "(EAGAIN) included, recv/send not counted; a client near 100%% "
	       "of its core caps "
	       "every server alike)\n");
	printf("best weft (%s) / best peer (%s): %.2fx\n\n", best_weft_key,
	       best_peer_key, ratio_of(best_weft, best_peer));
	print_result("echo_rtps", "", best_weft, best_peer_key, best_peer,
		     ratio_of(best_weft, best_peer), "rt/s");
	for (int i = 0; i < n_sv; i++) {
		char name[64];

		if (only && strcmp(only, sv[i].key))
			continue;
		if (sv[i].weft) {
			snprintf(name, sizeof(name), "echo_rtps_loops%s",
				 sv[i].key + 4);
			print_result(name, "", med[i], best_peer_key, best_peer,
				     ratio_of(med[i], best_peer), "rt/s");
		} else {
			snprintf(name, sizeof(name), "echo_rtps_%s", sv[i].key);
			print_result(name, "", best_weft, sv[i].key, med[i],
				     ratio_of(best_weft, med[i]), "rt/s");
		}
	}
	return 0;
}
