/*
 * life_pty: run a program on a pseudo-terminal (forkpty) and copy what it
 * writes there to stdout, so a test can see what --watch draws on a real
 * terminal. Exits with the program's exit status (or 125 on its own
 * errors); gives up after 60 s.
 *
 *   life_pty PROGRAM [ARGS...]
 */
#include <errno.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096];
	int fd, status;
	ssize_t n;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: life_pty PROGRAM [ARGS...]\n");
		return 125;
	}
	pid = forkpty(&fd, NULL, NULL, NULL);
	if (pid < 0) {
		perror("life_pty: forkpty");
		return 125;
	}
	if (pid == 0) {
		execv(argv[1], argv + 1);
		_exit(127);
	}
	alarm(60); /* a hung child fails the test, not the run */
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n > 0) {
			fwrite(buf, 1, (size_t)n, stdout);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		break; /* EOF, or EIO once the child has closed the pty */
	}
	close(fd);
	if (waitpid(pid, &status, 0) < 0) {
		perror("life_pty: waitpid");
		return 125;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
