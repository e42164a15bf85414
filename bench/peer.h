/*
 * Running a benchmark's peer (Go, Python) and reading its figures: the peer
 * prints lines "NAME KEY VALUE"; each VALUE whose NAME is `name` and whose
 * KEY is keys[i] lands in vals[i]. Values not printed keep what they had
 * (0 = not measured). A peer that cannot start or fails is reported on
 * stderr and leaves the table with "n/a", never stops the benchmark.
 */
#ifndef WEFT_BENCH_PEER_H
#define WEFT_BENCH_PEER_H

#include <stdio.h>
#include <string.h>

static inline void run_peer(const char *cmd, const char *name,
			    const char *const *keys, double *vals, int n)
{
	char line[256], nm[64], key[16];
	double v;
	FILE *f = popen(cmd, "r");

	if (!f) {
		fprintf(stderr, "bench: cannot run: %s\n", cmd);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %15s %lf", nm, key, &v) != 3 ||
		    strcmp(nm, name))
			continue;
		for (int i = 0; i < n; i++)
			if (!strcmp(key, keys[i]))
				vals[i] = v;
	}
	if (pclose(f) != 0)
		fprintf(stderr, "bench: peer failed: %s\n", cmd);
}

#endif
