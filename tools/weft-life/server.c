/*
 * server.c — the rules server weft-life's tcp mode asks
 * (docs/weft-life-protocol.md): one line "S N\n" in, one line "*\n" or
 * "-\n" out, by life_rule.
 *
 * It runs weft_run on a thread of its own: a main coroutine that waits to
 * be told to stop, an acceptor coroutine, and one coroutine per
 * connection answering lines until the client closes. A bad request line
 * closes that connection (the client sees end of file).
 *
 * Stopping. life_server_stop shuts the listening socket down: the kernel
 * wakes the acceptor's weft_accept (which then fails), the acceptor
 * returns, the main coroutine returns, and weft_run cancels the
 * connection coroutines still reading (each closes its fd) and waits for
 * them before the thread ends; then stop joins it. The stopping thread
 * makes no weft call into the server's runtime: a weft wake-up from a
 * foreign thread (weft_event_set, weft_future_cancel) can still be inside
 * the loop's notify when the coroutine it woke has finished and weft_run
 * has freed that loop — TSan reports it (see the report with this work).
 * A wake-up through the kernel has no such window.
 *
 * life_serve (weft-life --serve) runs the same server alone, for peers to
 * share: it prints the bound address and waits in poll() on its stdin
 * and a signalfd until end of file on stdin, SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <weft.h>

#include "life.h"

/* A request line is 3 bytes and '\n'; a longer one is bad. */
#define REQ_LEN 4
#define SERVER_LOOPS 2

struct life_server {
	int lfd;
	int port;
	pthread_t thread;
	weft_event started; /* the thread is serving, or failed (start_rc) */
	atomic_bool stopping;
	int start_rc;
	int run_rc;
};

/* "S N" (without its '\n') -> the next state, or 0 for a bad line. */
static char answer(const char *line, size_t len)
{
	if (len != REQ_LEN - 1 ||
	    (line[0] != LIFE_ALIVE && line[0] != LIFE_EMPTY) ||
	    line[1] != ' ' || line[2] < '0' || line[2] > '8')
		return 0;
	return life_rule(line[0], line[2] - '0');
}

/*
 * One coroutine per connection: answer every complete line (a client may
 * send several at once), until end of file, an error, a bad line or
 * cancellation (the server stops).
 */
static int serve_conn(void *arg, void **result)
{
	int fd = (int)(intptr_t)arg;
	char in[256], out[sizeof(in) / REQ_LEN * 2 + 2];
	size_t len = 0;

	(void)result;
	for (;;) {
		ssize_t n =
			weft_read(fd, in + len, sizeof(in) - len, WEFT_FOREVER);
		size_t start = 0, o = 0;
		char *nl;

		if (n <= 0)
			break; /* end of file, error, cancelled */
		len += (size_t)n;
		while ((nl = memchr(in + start, '\n', len - start))) {
			char s =
				answer(in + start, (size_t)(nl - (in + start)));

			if (!s) {
				/* Bad request: answer the lines before it,
				 * then hang up. */
				if (o)
					weft_write_all(fd, out, o, NULL,
						       WEFT_FOREVER);
				goto out;
			}
			out[o++] = s;
			out[o++] = '\n';
			start = (size_t)(nl - in) + 1;
		}
		if (o && weft_write_all(fd, out, o, NULL, WEFT_FOREVER) < 0)
			break;
		/* What is left is a partial line: it must stay short. */
		len -= start;
		memmove(in, in + start, len);
		if (len >= REQ_LEN)
			break; /* a line too long: bad request */
	}
out:
	close(fd);
	return 0;
}

static int acceptor(void *arg, void **result)
{
	struct life_server *s = arg;

	(void)result;
	for (;;) {
		int fd = weft_accept(s->lfd, NULL, NULL, WEFT_FOREVER), one = 1;

		if (fd == -ECANCELED || atomic_load(&s->stopping))
			return 0; /* told to stop */
		if (fd < 0) {
			/* -EMFILE and friends: wait a little, keep serving. */
			if (weft_sleep(10 * WEFT_MSEC) == -ECANCELED)
				return 0;
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (weft_spawn(NULL, serve_conn, (void *)(intptr_t)fd, NULL))
			close(fd);
	}
}

static int server_main(void *arg, void **result)
{
	struct life_server *s = arg;
	weft_future *acc;
	int rc;

	(void)result;
	rc = weft_spawn(&acc, acceptor, s, NULL);
	if (rc)
		return rc;
	weft_event_set(&s->started);
	/* Until life_server_stop shuts the listening socket down. */
	weft_future_result(acc, NULL, WEFT_FOREVER);
	weft_future_release(acc);
	/* Returning cancels the connection coroutines, and waits for them. */
	return 0;
}

static void *server_thread(void *arg)
{
	struct life_server *s = arg;
	weft_loops_opts o = { .loops = SERVER_LOOPS };

	s->run_rc = weft_run(server_main, s, NULL, &o);
	if (!weft_event_is_set(&s->started)) {
		s->start_rc = s->run_rc ? s->run_rc : -ECHILD;
		weft_event_set(&s->started);
	}
	return NULL;
}

/* A listening socket on host:port (numeric, or a name to look up). */
static int listen_on(const char *host, int port, int *portp)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV },
			*res;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char serv[8];
	int fd, rc, one = 1;

	if (port < 0 || port > 65535)
		return -EINVAL;
	snprintf(serv, sizeof(serv), "%d", port);
	rc = getaddrinfo(host && *host ? host : "127.0.0.1", serv, &hints,
			 &res);
	if (rc)
		return rc == EAI_MEMORY ? -ENOMEM : -EADDRNOTAVAIL;
	fd = weft_socket(res->ai_family, SOCK_STREAM, 0);
	if (fd < 0) {
		freeaddrinfo(res);
		return fd;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen)) {
		rc = -errno;
		freeaddrinfo(res);
		close(fd);
		return rc;
	}
	freeaddrinfo(res);
	*portp = ntohs(ss.ss_family == AF_INET6
			       ? ((struct sockaddr_in6 *)&ss)->sin6_port
			       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

int life_server_start(struct life_server **sp, const char *host, int port)
{
	struct life_server *s;
	int rc;

	if (!sp)
		return -EINVAL;
	*sp = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->lfd = listen_on(host, port, &s->port);
	if (s->lfd < 0) {
		rc = s->lfd;
		free(s);
		return rc;
	}
	weft_event_init(&s->started);
	rc = -pthread_create(&s->thread, NULL, server_thread, s);
	if (rc == 0) {
		weft_event_wait(&s->started, WEFT_FOREVER);
		rc = s->start_rc;
		if (rc)
			pthread_join(s->thread, NULL);
	}
	if (rc) {
		close(s->lfd);
		weft_event_destroy(&s->started);
		free(s);
		return rc;
	}
	*sp = s;
	return 0;
}

int life_server_port(const struct life_server *s)
{
	return s ? s->port : -EINVAL;
}

void life_server_stop(struct life_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	/* Wakes weft_accept (Linux: accept then fails with EINVAL). */
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	weft_event_destroy(&s->started);
	free(s);
}

/* The bound address as HOST:PORT (numeric host): 0 or -errno. */
static int bound_addr(const struct life_server *s, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	const void *a;

	if (getsockname(s->lfd, (struct sockaddr *)&ss, &sslen))
		return -errno;
	a = ss.ss_family == AF_INET6
		    ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
		    : (const void *)&((struct sockaddr_in *)&ss)->sin_addr;
	if (!inet_ntop(ss.ss_family, a, host, sizeof(host)))
		return -errno;
	snprintf(buf, len, "%s:%d", host, s->port);
	return 0;
}

/*
 * Wait until stdin reaches end of file (or is closed, or fails) or
 * SIGTERM/SIGINT arrives on sfd. Whatever stdin carries is read and
 * dropped.
 */
static void wait_for_stop(int sfd)
{
	for (;;) {
		struct pollfd p[2] = { { .fd = 0, .events = POLLIN },
				       { .fd = sfd, .events = POLLIN } };
		char buf[512];

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (p[1].revents) {
			/* SIGTERM or SIGINT: taken, so that it is not
			 * delivered (and kills us) when unblocked */
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) < 0) {
				/* nothing else to do: stop anyway */
			}
			return;
		}
		if (p[0].revents & POLLNVAL)
			return;
		if (p[0].revents) {
			ssize_t n = read(0, buf, sizeof(buf));

			if (n == 0 ||
			    (n < 0 && errno != EINTR && errno != EAGAIN))
				return; /* end of file, or stdin failed */
		}
	}
}

int life_serve(const char *host, int port, FILE *out)
{
	struct life_server *s = NULL;
	sigset_t set, old;
	char addr[INET6_ADDRSTRLEN + 8];
	int sfd, rc;

	/* fd 0 must be open: it is how we are told to stop, and a closed
	 * one would be reused by the listening socket */
	if (fcntl(0, F_GETFD) < 0)
		return -EBADF;
	/* Blocked before the server thread starts, so that it inherits the
	 * mask and the signals reach only the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	rc = -pthread_sigmask(SIG_BLOCK, &set, &old);
	if (rc)
		return rc;
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		rc = -errno;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		return rc;
	}
	rc = life_server_start(&s, host, port);
	if (rc == 0)
		rc = bound_addr(s, addr, sizeof(addr));
	if (rc == 0 && (fprintf(out, "%s\n", addr) < 0 || fflush(out)))
		rc = -EIO;
	if (rc == 0)
		wait_for_stop(sfd);
	if (s)
		life_server_stop(s);
	close(sfd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}
