/*
 * --busy: the benchmark runs beside a process that spins on one core, as
 * on a loaded CI runner or shared server. busy_start() forks the spinner
 * (pinned to the last CPU this process may use, killed if we die first);
 * busy_stop() kills and reaps it. Peers started while it runs (Go, Python)
 * share the same busy machine, so ratios stay fair.
 */
#ifndef WEFT_BENCH_BUSY_H
#define WEFT_BENCH_BUSY_H

#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t busy_pid = -1;

static inline void busy_stop(void)
{
	if (busy_pid > 0) {
		kill(busy_pid, SIGKILL);
		waitpid(busy_pid, NULL, 0);
		busy_pid = -1;
	}
}

/* Returns the CPU the spinner is pinned to, or -1 if it could not start. */
static inline int busy_start(void)
{
	cpu_set_t set;
	int cpu = -1;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpu = i;
	busy_pid = fork();
	if (busy_pid < 0) {
		perror("bench: fork of the busy spinner");
		return -1;
	}
	if (busy_pid == 0) {
		volatile unsigned long spin = 0;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(0);
		if (cpu >= 0) {
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		for (;;)
			spin++;
	}
	atexit(busy_stop);
	return cpu;
}

#endif
