/*
 * The child the proc tests spawn: one small program whose first argument
 * names what to do, so each test can ask a child what it sees.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			exit(99);
		p += w;
		n -= (size_t)w;
	}
}

/* Byte i of the pattern `produce` writes; tests check it. */
static char pattern(size_t i, int salt)
{
	return (char)((i * 31 + (size_t)salt) % 251);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	static char buf[1 << 16];

	if (!strcmp(cmd, "fds")) {
		/* Our open fds, in order, without the directory stream's own. */
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		int fds[1024], n = 0, self = dirfd(d);
		while ((e = readdir(d)))
			if (e->d_name[0] != '.' && atoi(e->d_name) != self &&
			    n < 1024)
				fds[n++] = atoi(e->d_name);
		closedir(d);
		for (int i = 0; i < n; i++)
			for (int j = i + 1; j < n; j++)
				if (fds[j] < fds[i]) {
					int t = fds[i];
					fds[i] = fds[j];
					fds[j] = t;
				}
		for (int i = 0; i < n; i++)
			printf("%s%d", i ? " " : "", fds[i]);
		printf("\n");
		return 0;
	}
	if (!strcmp(cmd, "env")) { /* env KEY: its value, or (unset) */
		const char *v = getenv(argv[2]);
		printf("%s\n", v ? v : "(unset)");
		return 0;
	}
	if (!strcmp(cmd, "envall")) {
		for (char **e = environ; *e; e++)
			printf("%s\n", *e);
		return 0;
	}
	if (!strcmp(cmd, "cwd")) {
		printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
		return 0;
	}
	if (!strcmp(cmd, "exit"))
		return atoi(argv[2]);
	if (!strcmp(cmd, "raise")) {
		raise(atoi(argv[2]));
		return 0;
	}
	if (!strcmp(cmd, "sleep")) { /* sleep MS, after printing argv[3] */
		if (argc > 3) {
			write_all(1, argv[3], strlen(argv[3]));
			write_all(1, "\n", 1);
		}
		usleep((useconds_t)atoi(argv[2]) * 1000);
		return 0;
	}
	if (!strcmp(cmd, "cat")) { /* cat [delay-ms]: copy stdin to stdout */
		ssize_t n;
		if (argc > 2)
			usleep((useconds_t)atoi(argv[2]) * 1000);
		while ((n = read(0, buf, sizeof(buf))) > 0)
			write_all(1, buf, (size_t)n);
		return n < 0 ? 98 : 0;
	}
	if (!strcmp(cmd, "count")) { /* count stdin bytes, print the count */
		ssize_t n;
		unsigned long long total = 0;
		while ((n = read(0, buf, sizeof(buf))) > 0)
			total += (unsigned long long)n;
		printf("%llu\n", total);
		return 0;
	}
	if (!strcmp(cmd,
		    "produce")) { /* produce N: N pattern bytes to stdout and stderr */
		size_t n = strtoull(argv[2], NULL, 10), off = 0;
		while (off < n) {
			size_t k = n - off < sizeof(buf) ? n - off
							 : sizeof(buf);
			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(off + i, 1);
			write_all(1, buf, k);
			for (size_t i = 0; i < k; i++)
				buf[i] = pattern(off + i, 2);
			write_all(2, buf, k);
			off += k;
		}
		return 0;
	}
	if (!strcmp(cmd, "both")) { /* "out" to stdout then "err" to stderr */
		write_all(1, "out\n", 4);
		write_all(2, "err\n", 4);
		return 0;
	}
	if (!strcmp(cmd, "ids")) { /* pid, process group, session */
		printf("%d %d %d\n", (int)getpid(), (int)getpgrp(),
		       (int)getsid(0));
		return 0;
	}
	if (!strcmp(cmd,
		    "signals")) { /* SIGPIPE disposition and blocked mask */
		struct sigaction sa;
		sigset_t mask;
		sigaction(SIGPIPE, NULL, &sa);
		sigprocmask(SIG_SETMASK, NULL, &mask);
		printf("%s %s\n",
		       sa.sa_handler == SIG_DFL ? "default" : "changed",
		       sigisemptyset(&mask) ? "unblocked" : "blocked");
		return 0;
	}
	fprintf(stderr, "proc_child: unknown command '%s'\n", cmd);
	return 2;
}
