/*
 * Effective Python, item 60: "Achieve highly concurrent I/O with
 * coroutines" — in C, with weft.
 *
 *   item60_echo [-n connections] [-t seconds] [-l loops] [-m bytes]
 *
 * A TCP echo server on 127.0.0.1 that runs one coroutine per connection,
 * and a client that opens 10,000 connections (default) from 10,000
 * coroutines, holds them all open at once, and then bounces a small
 * message over every one of them for 2 seconds (default), reporting round
 * trips per second. It stops by itself.
 *
 * What to look at:
 *   - serve_conn() and client() are straight-line code: read, write, loop.
 *     weft_read/weft_write suspend only the calling coroutine; the loop
 *     runs the others meanwhile (Python needs `async def` and `await` for
 *     this; here the calls are the ordinary blocking API).
 *   - One coroutine per connection costs a few KiB (packed stacks, only
 *     touched pages count), so 10,000 connections are 10,000 coroutines
 *     on a couple of threads — not 10,000 threads.
 *   - A weft_sem bounds how many connects are in flight (the listen
 *     backlog is finite), a weft_event starts the echo phase once every
 *     connection is open, and a task group owns the clients.
 *
 * File descriptors. Every connection needs two fds: the client's end and
 * the server's. So that 10,000 connections fit in the usual hard limit of
 * a 20,000-fd RLIMIT_NOFILE, the server runs in a child process (this same
 * program, started with --serve through weft_proc_spawn): each process
 * needs one fd per connection plus a few. The client raises its soft
 * RLIMIT_NOFILE as far as it needs (up to the hard limit; the server
 * inherits it); if even the hard limit is too low, it says so and runs
 * with as many connections as fit.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

/* fds a process needs besides its connections (stdio, epoll, ...). */
#define FD_MARGIN 64
/* Connects in flight at once: below the kernel's listen backlog. */
#define CONNECTS_IN_FLIGHT 512
#define MSG_MAX 4096

/* ---- the fd limit ---- */

/*
 * Raise the soft RLIMIT_NOFILE to the hard one. Returns how many
 * connections fit (at most `want`), after saying why if that is fewer.
 */
static int fit_connections(int want, const char *who)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)want + FD_MARGIN;
	int can;

	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		perror("getrlimit");
		return want;
	}
	if (rl.rlim_cur < need && rl.rlim_cur < rl.rlim_max) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			perror("setrlimit");
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur != old)
			fprintf(stderr,
				"%s: raised the soft RLIMIT_NOFILE from %llu "
				"to %llu\n",
				who, (unsigned long long)old,
				(unsigned long long)rl.rlim_cur);
	}
	if (rl.rlim_cur >= need)
		return want;
	can = rl.rlim_cur > FD_MARGIN ? (int)(rl.rlim_cur - FD_MARGIN) : 0;
	fprintf(stderr,
		"%s: %d connections need %llu open files, but RLIMIT_NOFILE "
		"allows %llu (hard limit %llu; raising the hard limit needs "
		"root: `ulimit -Hn`, /etc/security/limits.conf, or systemd's "
		"LimitNOFILE). Running %d connections instead.\n",
		who, want, (unsigned long long)need,
		(unsigned long long)rl.rlim_cur,
		(unsigned long long)rl.rlim_max, can);
	return can;
}

/* ---- the server (the child process) ---- */

struct server {
	int lfd;
	atomic_long conns, bytes;
};

/* One coroutine per connection: echo until the client closes. */
static int serve_conn(void *arg, void **result)
{
	int fd = (int)(intptr_t)arg;
	char buf[MSG_MAX];
	ssize_t n;

	(void)result;
	while ((n = weft_read(fd, buf, sizeof(buf), WEFT_FOREVER)) > 0)
		if (weft_write_all(fd, buf, (size_t)n, NULL, WEFT_FOREVER) < 0)
			break;
	close(fd);
	return 0;
}

static int acceptor(void *arg, void **result)
{
	struct server *s = arg;

	(void)result;
	for (;;) {
		int fd = weft_accept(s->lfd, NULL, NULL, WEFT_FOREVER), one = 1;

		if (fd == -ECANCELED)
			return 0; /* told to stop */
		if (fd < 0) {
			/* -EMFILE and friends: say so, keep serving. */
			fprintf(stderr, "server: accept: %s\n",
				weft_strerror(fd));
			weft_sleep(10 * WEFT_MSEC);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (weft_spawn(NULL, serve_conn, (void *)(intptr_t)fd, NULL) <
		    0)
			close(fd);
		atomic_fetch_add(&s->conns, 1);
	}
}

/*
 * The server's main coroutine: listen, tell the parent the port on
 * stdout, serve until stdin reaches EOF (the parent closed it).
 */
static int server_main(void *arg, void **result)
{
	struct server *s = arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	weft_future *acc;
	char c;
	int rc;

	(void)result;
	s->lfd = weft_socket(AF_INET, SOCK_STREAM, 0);
	if (s->lfd < 0)
		return s->lfd;
	if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(s->lfd, 4096) ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &alen))
		return -errno;
	rc = weft_spawn(&acc, acceptor, s, NULL);
	if (rc)
		return rc;
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);
	/*
	 * stdin is a pipe from the parent: EOF means stop. weft waits on
	 * O_NONBLOCK fds (a blocking read would hold the whole loop).
	 */
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	while (weft_read(0, &c, 1, WEFT_FOREVER) > 0)
		;
	weft_future_cancel(acc);
	weft_future_result(acc, NULL, WEFT_FOREVER);
	weft_future_release(acc);
	close(s->lfd);
	/* Returning cancels the connection coroutines still running. */
	return 0;
}

static int run_server(int n, unsigned loops)
{
	struct server s = { .lfd = -1 };
	weft_loops_opts o = { .loops = loops,
			      .stack_kind = WEFT_STACK_PACKED,
			      .stack_size = 32 * 1024 };
	int rc;

	fit_connections(n, "server");
	rc = weft_run(server_main, &s, NULL, &o);
	if (rc)
		fprintf(stderr, "server: %s\n", weft_strerror(rc));
	return rc ? 1 : 0;
}

/* ---- the client (this process) ---- */

struct client_run {
	int n;
	size_t msg;
	int64_t duration;
	struct sockaddr_in addr;
	weft_sem connecting; /* connects in flight */
	weft_event go;	     /* every connection is open: start echoing */
	atomic_int open, failed, settled, peak_open;
	atomic_long round_trips, echo_errors;
	int64_t t_go, t_end;
	int first_error, first_echo_error;
};

static void settle(struct client_run *r)
{
	if (atomic_fetch_add(&r->settled, 1) + 1 == r->n) {
		r->t_go = weft_now();
		r->t_end = r->t_go + r->duration;
		weft_event_set(&r->go);
	}
}

/* One client coroutine: connect, wait for the others, echo until the end. */
static int client(void *arg, void **result)
{
	struct client_run *r = arg;
	char out[MSG_MAX], in[MSG_MAX];
	int64_t dl = weft_now() + 60 * WEFT_SEC;
	int fd, rc, one = 1, open_now, peak;
	long trips = 0;

	(void)result;
	fd = weft_socket(AF_INET, SOCK_STREAM, 0);
	rc = fd < 0 ? fd : weft_sem_acquire(&r->connecting, dl);
	if (rc == 0) {
		rc = weft_connect(fd, (struct sockaddr *)&r->addr,
				  sizeof(r->addr), dl);
		weft_sem_release(&r->connecting, 1);
	}
	if (rc < 0) {
		if (atomic_fetch_add(&r->failed, 1) == 0)
			r->first_error = rc;
		if (fd >= 0)
			close(fd);
		settle(r);
		return 0; /* counted, not fatal: the report says how many */
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	open_now = atomic_fetch_add(&r->open, 1) + 1;
	peak = atomic_load(&r->peak_open);
	while (open_now > peak &&
	       !atomic_compare_exchange_weak(&r->peak_open, &peak, open_now))
		;
	settle(r);
	weft_event_wait(&r->go, WEFT_FOREVER);
	memset(out, 'a' + (int)(fd % 26), r->msg);
	while (weft_now() < r->t_end) {
		size_t got = 0;
		ssize_t k = weft_write_all(fd, out, r->msg, NULL, r->t_end);

		if (k == -ETIMEDOUT)
			break; /* the end, in the middle of a write */
		while (k >= 0 && got < r->msg) {
			k = weft_read(fd, in + got, r->msg - got,
				      r->t_end + 5 * WEFT_SEC);
			if (k == 0)
				k = -EPIPE; /* the server hung up */
			else if (k > 0)
				got += (size_t)k;
		}
		if (k >= 0 && memcmp(in, out, r->msg))
			k = -EPROTO;
		if (k < 0) {
			if (atomic_fetch_add(&r->echo_errors, 1) == 0)
				r->first_echo_error = (int)k;
			break;
		}
		trips++;
	}
	atomic_fetch_add(&r->round_trips, trips);
	atomic_fetch_sub(&r->open, 1);
	close(fd);
	return 0;
}

/* Start the server child and read the port it listens on. */
static int start_server(weft_proc **sp, int n, unsigned loops, int *port)
{
	char nbuf[16], lbuf[16], line[64];
	const char *argv[] = { "item60_echo", "--serve", "-n", nbuf,
			       "-l",	      lbuf,	 NULL };
	size_t len = 0;
	int rc;

	snprintf(nbuf, sizeof(nbuf), "%d", n);
	snprintf(lbuf, sizeof(lbuf), "%u", loops);
	rc = weft_proc_spawn(sp, &(weft_spawn_opts){ .argv = argv,
						     .file = "/proc/self/exe",
						     .in = WEFT_PIPE,
						     .out = WEFT_PIPE });
	if (rc)
		return rc;
	fcntl(weft_proc_stdout(*sp), F_SETFL,
	      fcntl(weft_proc_stdout(*sp), F_GETFL) | O_NONBLOCK);
	while (len < sizeof(line) - 1) {
		ssize_t k = weft_read(weft_proc_stdout(*sp), line + len, 1,
				      weft_now() + 10 * WEFT_SEC);

		if (k <= 0)
			return k < 0 ? (int)k : -EPIPE;
		if (line[len++] == '\n')
			break;
	}
	line[len] = '\0';
	return sscanf(line, "PORT %d", port) == 1 ? 0 : -EPROTO;
}

static int stop_server(weft_proc *srv)
{
	int status = -1, rc;

	weft_proc_close_stdin(srv); /* EOF: the server stops */
	rc = weft_proc_wait(srv, &status, weft_now() + 10 * WEFT_SEC);
	if (rc == -ETIMEDOUT) {
		fprintf(stderr, "client: server did not stop; killing it\n");
		weft_proc_kill(srv);
		rc = weft_proc_wait(srv, &status, WEFT_FOREVER);
	}
	weft_proc_free(srv);
	return rc ? rc : status;
}

static int client_main(void *arg, void **result)
{
	struct client_run *r = arg;
	weft_proc *srv;
	weft_group *g;
	int port, rc, srv_status;
	int64_t t0;

	(void)result;
	rc = start_server(&srv, r->n, 0, &port);
	if (rc) {
		fprintf(stderr, "client: could not start the server: %s\n",
			weft_strerror(rc));
		return rc;
	}
	r->addr = (struct sockaddr_in){ .sin_family = AF_INET,
					.sin_port = htons((uint16_t)port),
					.sin_addr.s_addr =
						htonl(INADDR_LOOPBACK) };
	printf("server (pid %d) listens on 127.0.0.1:%d; opening %d "
	       "connections from %d coroutines...\n",
	       (int)weft_proc_pid(srv), port, r->n, r->n);
	fflush(stdout);
	t0 = weft_now();
	rc = weft_group_new(&g, 0);
	for (int i = 0; rc == 0 && i < r->n; i++)
		rc = weft_group_spawn(g, NULL, client, r, NULL);
	if (rc) {
		/* Could not spawn them all: the ones spawned still finish. */
		fprintf(stderr, "client: spawn: %s\n", weft_strerror(rc));
		weft_group_cancel(g);
		r->t_end = weft_now();
		weft_event_set(&r->go);
	}
	weft_event_wait(&r->go, weft_now() + 120 * WEFT_SEC);
	if (weft_event_is_set(&r->go))
		printf("%d connections open at once after %.2f s (%d failed); "
		       "echoing %zu-byte messages for %.1f s...\n",
		       atomic_load(&r->peak_open),
		       (double)(r->t_go - t0) / WEFT_SEC,
		       atomic_load(&r->failed), r->msg,
		       (double)r->duration / WEFT_SEC);
	fflush(stdout);
	/* Wait for every client (leaving the group would cancel them). */
	rc = weft_group_wait(g, WEFT_FOREVER);
	weft_group_free(g);
	srv_status = stop_server(srv);
	if (atomic_load(&r->failed))
		printf("%d connects failed (first: %s)\n",
		       atomic_load(&r->failed), weft_strerror(r->first_error));
	if (srv_status)
		fprintf(stderr, "server exited with %d\n", srv_status);
	return rc ? rc : srv_status ? -ECHILD : 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "serve", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct client_run r = { .n = 10000,
				.msg = 64,
				.duration = 2 * WEFT_SEC };
	weft_loops_opts o = { .stack_kind = WEFT_STACK_PACKED,
			      .stack_size = 32 * 1024 };
	bool serve = false;
	double secs = 2;
	int c, rc;
	long trips;

	while ((c = getopt_long(argc, argv, "n:t:l:m:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			r.n = atoi(optarg);
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'l':
			o.loops = (unsigned)atoi(optarg);
			break;
		case 'm':
			r.msg = (size_t)atol(optarg);
			break;
		case 'S':
			serve = true;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-n connections (10000)] "
				"[-t seconds (2)] [-l loops (one per CPU)] "
				"[-m message bytes (64)]\n",
				argv[0]);
			return c == 'h' ? 0 : 2;
		}
	}
	if (r.n < 1 || secs <= 0 || secs > 600 || r.msg < 1 ||
	    r.msg > MSG_MAX) {
		fprintf(stderr, "item60: need -n >= 1, 0 < -t <= 600, "
				"1 <= -m <= 4096\n");
		return 2;
	}
	if (serve)
		return run_server(r.n, o.loops);
	r.duration = (int64_t)(secs * (double)WEFT_SEC);
	r.n = fit_connections(r.n, "client");
	if (r.n < 1)
		return 1;
	weft_sem_init(&r.connecting, CONNECTS_IN_FLIGHT);
	weft_event_init(&r.go);
	rc = weft_run(client_main, &r, NULL, &o);
	trips = atomic_load(&r.round_trips);
	if (r.t_go) {
		printf("%ld round trips over %d connections in %.2f s: "
		       "%.0f round trips/s\n",
		       trips, atomic_load(&r.peak_open),
		       (double)r.duration / WEFT_SEC,
		       (double)trips * WEFT_SEC / (double)r.duration);
	}
	if (atomic_load(&r.echo_errors))
		printf("%ld connections saw a wrong or missing echo "
		       "(first: %s)\n",
		       atomic_load(&r.echo_errors),
		       weft_strerror(r.first_echo_error));
	if (rc) {
		fprintf(stderr, "item60: %s\n", weft_strerror(rc));
		return 1;
	}
	return atomic_load(&r.failed) || atomic_load(&r.echo_errors) ||
			       trips == 0
		       ? 1
		       : 0;
}
