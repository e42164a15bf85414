/*
 * bench_proc — weft/proc.h against its peers, side by side in one run.
 *
 *   bench_proc [-q] [--busy]
 *     -q      quick: fewer iterations, 100 pipelines instead of 500
 *     --busy  run everything beside a process spinning on one core
 *             (bench/busy.h); figure names get a _busy suffix
 *
 * 1. spawn+wait of /bin/true: weft vs raw posix_spawn+waitpid vs Python's
 *    subprocess.run. weft and raw alternate in rounds so drift on this
 *    shared machine hits both alike.
 * 2. spawn+wait with one pass_fd numbered 19990 vs with none: the holes
 *    below it are closed by range, so the cost must not grow with the number.
 * 3. the seed's N concurrent `openssl enc | openssl dgst -whirlpool`
 *    pipelines (legacy provider), N = 3 and 500: weft vs Python, doing the
 *    seed's work in the seed's order — each pipeline's input is written as
 *    it starts, then every output is collected.
 * 4. communicate of 512 MiB through `cat`: weft vs Python's communicate.
 *    weft is timed cold (fresh output buffer) and warm (the buffer reused,
 *    as a loop would); Python's best of two runs.
 *
 * The Python side is bench/peers/proc_peer.py, run by this program (through
 * weft) and parsed; every row prints weft's figure, the peer's and the ratio,
 * and the run ends with one machine-readable line per figure:
 *
 *   RESULT <name> weft=<value> <peer>=<value> ratio=<value> unit=<unit>
 *
 * where ratio is the one printed in the row (named there: peer/weft for
 * times, weft/peer for rates, so > 1 means weft is ahead — except
 * spawn_pass_fd, a cost ratio where 1 is the goal).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <weft.h>

#include "busy.h"
#include "result.h"

extern char **environ;

static bool quick;
static const char *suffix = "";

/* The RESULT lines, printed together at the end. */
static char results[32][192];
static int n_results;

static void result(const char *name, double weft, const char *peer_name,
		   double peer_v, double ratio, const char *unit)
{
	if (n_results < 32)
		format_result(results[n_results++], sizeof(results[0]), name,
			      suffix, weft, peer_name, peer_v, ratio, unit);
}

static double now_ms(void)
{
	return (double)weft_now() / (double)WEFT_MSEC;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "bench_proc: %s: %s\n", what,
			weft_strerror(rc));
		exit(1);
	}
}

/* Run the Python peer and return the number it prints. */
static double peer(const char *mode, long arg)
{
	char a[32];
	const char *argv[] = { "/usr/bin/python3", PEERS_DIR "/proc_peer.py",
			       mode, a, NULL };
	weft_buf out = { 0 };
	weft_proc *p;
	int status;
	double v = -1;

	snprintf(a, sizeof(a), "%ld", arg);
	check(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
						      .out = WEFT_PIPE }),
	      "spawn python3");
	check(weft_proc_communicate(p, NULL, 0, &out, NULL, WEFT_FOREVER), "pyt"
									   "hon"
									   " pe"
									   "e"
									   "r");
	check(weft_proc_wait(p, &status, WEFT_FOREVER), "python peer");
	weft_proc_free(p);
	check(weft_buf_reserve(&out, 1), "buf");
	out.data[out.len] = 0;
	const char *r = strstr(out.data, "result: ");
	if (status != 0 || !r || sscanf(r + 8, "%lf", &v) != 1) {
		fprintf(stderr,
			"bench_proc: python peer %s failed (status %d)\n", mode,
			status);
		exit(1);
	}
	weft_buf_free(&out);
	return v;
}

static double weft_spawns(int n)
{
	const char *argv[] = { "/bin/true", NULL };
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		weft_proc *p;
		int status;

		check(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv }),
		      "spawn");
		check(weft_proc_wait(p, &status, WEFT_FOREVER), "wait");
		weft_proc_free(p);
	}
	return (now_ms() - t0) * 1e6 / n;
}

static double raw_spawns(int n)
{
	char *argv[] = { "/bin/true", NULL };
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
			exit(1);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	return (now_ms() - t0) * 1e6 / n;
}

static void bench_spawn(void)
{
	int rounds = quick ? 4 : 10, per = quick ? 100 : 200;
	double w = 0, r = 0, py = 0;

	weft_spawns(20);
	raw_spawns(20);
	/* Alternate all three so load from elsewhere hits each alike. */
	for (int i = 0; i < rounds; i++) {
		w += weft_spawns(per);
		r += raw_spawns(per);
		py += peer("spawn", per);
	}
	w /= rounds;
	r /= rounds;
	py /= rounds;
	printf("spawn+wait /bin/true   weft %7.0f us   raw posix_spawn %7.0f us"
	       "   python %7.0f us   weft/raw %.3f   python/weft %.2fx\n",
	       w / 1e3, r / 1e3, py / 1e3, w / r, py / w);
	result("spawn_wait_raw", w / 1e3, "raw", r / 1e3, w / r, "us");
	result("spawn_wait", w / 1e3, "python", py / 1e3, py / w, "us");
}

/* spawn+wait of /bin/true passing `fd` (none if < 0): us per spawn. */
static double fd_spawns(int n, int fd)
{
	const char *argv[] = { "/bin/true", NULL };
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		weft_proc *p;

		check(weft_proc_spawn(&p,
				      &(weft_spawn_opts){
					      .argv = argv,
					      .pass_fds = &fd,
					      .n_pass_fds = fd < 0 ? 0 : 1 }),
		      "spawn");
		check(weft_proc_wait(p, NULL, WEFT_FOREVER), "wait");
		weft_proc_free(p);
	}
	return (now_ms() - t0) * 1e3 / n;
}

static void bench_pass_fd(void)
{
	int rounds = quick ? 4 : 10, per = quick ? 50 : 100;
	int high = 19990, fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct rlimit rl;
	double with = 0, without = 0;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= (rlim_t)high ||
	    fd < 0 || dup2(fd, high) != high) {
		printf("pass_fd %d: skipped (RLIMIT_NOFILE too low)\n", high);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	fd_spawns(10, high);
	for (int i = 0; i < rounds; i++) {
		with += fd_spawns(per, high);
		without += fd_spawns(per, -1);
	}
	close(high);
	with /= rounds;
	without /= rounds;
	printf("spawn+wait pass_fd %d  weft %7.0f us   no pass_fd %7.0f us"
	       "   with/without %.3f\n",
	       high, with, without, with / without);
	result("spawn_pass_fd_19990", with, "no_pass_fd", without,
	       with / without, "us");
}

/*
 * The seed's pipelines, in the seed's order: start each pipeline and write
 * its 100 bytes of input at once (the seed's enc.stdin.write), so every
 * pipeline computes while the next ones start; then collect each output and
 * status. Returns wall ms for n of them.
 */
static double weft_pipelines(int n)
{
	const char *enc[] = { "openssl", "enc",		 "-des3",
			      "-pass",	 "env:password", NULL };
	const char *dgst[] = { "openssl",    "dgst",	  "-provider",
			       "legacy",     "-provider", "default",
			       "-whirlpool", "-binary",	  NULL };
	const char *env[] = { "password=zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1",
			      NULL };
	weft_pipeline **pl = calloc((size_t)n, sizeof(*pl));
	unsigned char data[100];
	weft_buf out = { 0 };
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		weft_spawn_opts st[] = {
			{ .argv = enc,
			  .env = env,
			  .in = WEFT_PIPE,
			  .err = WEFT_DEVNULL },
			{ .argv = dgst, .out = WEFT_PIPE },
		};
		weft_proc *first;

		if (getrandom(data, sizeof(data), 0) != sizeof(data))
			exit(1);
		check(weft_pipeline_spawn(&pl[i], st, 2, NULL), "pipeline");
		first = weft_pipeline_proc(pl[i], 0);
		/* 100 bytes fit in an empty pipe: this write never blocks. */
		if (write(weft_proc_stdin(first), data, sizeof(data)) !=
		    (ssize_t)sizeof(data))
			check(-EIO, "write input");
		weft_proc_close_stdin(first);
	}
	for (int i = 0; i < n; i++) {
		int status;

		out.len = 0;
		check(weft_pipeline_communicate(pl[i], NULL, 0, &out, NULL,
						WEFT_FOREVER),
		      "communicate");
		check(weft_pipeline_wait(pl[i], &status, WEFT_FOREVER), "wait");
		if (status != 0 || out.len != 64) {
			fprintf(stderr, "bench_proc: pipeline failed (%d)\n",
				status);
			exit(1);
		}
		weft_pipeline_free(pl[i]);
	}
	free(pl);
	weft_buf_free(&out);
	return now_ms() - t0;
}

static void bench_pipelines(int n)
{
	char name[32];
	int reps = n < 10 ? 5 : 1;
	double w = 0, py = 0;

	weft_pipelines(n < 10 ? n : 10); /* warm the page cache */
	for (int i = 0; i < reps; i++) {
		w += weft_pipelines(n);
		py += peer("pipelines", n);
	}
	w /= reps;
	py /= reps;
	printf("%3d seed pipelines      weft %7.1f ms   python %7.1f ms"
	       "   python/weft %.2fx\n",
	       n, w, py, py / w);
	snprintf(name, sizeof(name), "pipelines_%d", n);
	result(name, w, "python", py, py / w, "ms");
}

static double weft_communicate(const char *in, size_t n, weft_buf *out)
{
	const char *argv[] = { "cat", NULL };
	weft_proc *p;
	int status;
	double t0 = now_ms(), dt;

	out->len = 0;
	check(weft_proc_spawn(&p, &(weft_spawn_opts){ .argv = argv,
						      .in = WEFT_PIPE,
						      .out = WEFT_PIPE }),
	      "spawn cat");
	check(weft_proc_communicate(p, in, n, out, NULL, WEFT_FOREVER), "commun"
									"icat"
									"e");
	check(weft_proc_wait(p, &status, WEFT_FOREVER), "wait");
	dt = now_ms() - t0;
	weft_proc_free(p);
	if (out->len != n || memcmp(out->data, in, n) != 0) {
		fprintf(stderr, "bench_proc: cat returned other bytes\n");
		exit(1);
	}
	return (double)n / (dt / 1e3) / 1e6;
}

static void bench_communicate(void)
{
	size_t mib = quick ? 128 : 512, n = mib << 20;
	char *in = malloc(n);
	weft_buf out = { 0 };
	double cold, warm = 0, py;

	for (size_t i = 0; i < n; i += 1 << 20)
		getrandom(in + i, 1 << 20, 0);
	cold = weft_communicate(in, n, &out);
	for (int i = 0; i < 2; i++) {
		double w = weft_communicate(in, n, &out);
		warm = w > warm ? w : warm;
	}
	free(in);
	weft_buf_free(&out);
	py = peer("communicate", (long)mib);
	printf("communicate %zu MiB cat  weft %6.0f MB/s warm, %6.0f MB/s cold"
	       "   python %6.0f MB/s   weft/python %.1fx warm, %.1fx cold\n",
	       mib, warm, cold, py, warm / py, cold / py);
	result("communicate_warm", warm, "python", py, warm / py, "MB/s");
	result("communicate_cold", cold, "python", py, cold / py, "MB/s");
}

int main(int argc, char **argv)
{
	struct rlimit rl;

	bool busy = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-q")) {
			quick = true;
		} else if (!strcmp(argv[i], "--busy")) {
			busy = true;
		} else {
			fprintf(stderr, "usage: bench_proc [-q] [--busy]\n");
			return 2;
		}
	}
	/* 500 pipelines hold ~2000 fds; Python's peer raises its limit too. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (busy) {
		int cpu = busy_start();

		if (cpu < 0)
			return 1;
		suffix = "_busy";
		printf("busy: a spinner runs on cpu %d\n", cpu);
	}
	printf("bench_proc: weft vs raw posix_spawn and Python %s\n",
	       quick ? "(quick)" : "");
	bench_spawn();
	bench_pass_fd();
	bench_pipelines(3);
	bench_pipelines(quick ? 100 : 500);
	bench_communicate();
	busy_stop();
	for (int i = 0; i < n_results; i++)
		printf("%s\n", results[i]);
	return 0;
}
