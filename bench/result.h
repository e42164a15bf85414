/*
 * The machine-readable end of every benchmark: one line per figure,
 *   RESULT <name><suffix> weft=<value> <peer>=<value> ratio=<r> unit=<unit>
 * where the suffix is "_busy" in a --busy run, and the ratio is the one the
 * human table above it prints (higher is better for weft: peer/weft for
 * costs, weft/peer for rates, or weft/peer for a cost whose goal is 1).
 * A peer that was not measured prints as 0 with ratio 0.
 */
#ifndef WEFT_BENCH_RESULT_H
#define WEFT_BENCH_RESULT_H

#include <stdio.h>
#include <stdlib.h>

/* num / den, or 0 when either is not a measurement. */
static inline double ratio_of(double num, double den)
{
	return num > 0 && den > 0 ? num / den : 0;
}

/* qsort's comparator for doubles, ascending. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The median of v[0..n), or 0 if any is not a measurement (n <= 64). */
static inline double median(const double *v, int n)
{
	double w[64];

	if (n <= 0 || n > 64)
		return 0;
	for (int i = 0; i < n; i++)
		if ((w[i] = v[i]) <= 0)
			return 0;
	qsort(w, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
}

static inline void format_result(char *buf, size_t size, const char *name,
				 const char *suffix, double weft,
				 const char *peer, double peer_val,
				 double ratio, const char *unit)
{
	snprintf(buf, size, "RESULT %s%s weft=%.6g %s=%.6g ratio=%.4g unit=%s",
		 name, suffix, weft, peer, peer_val, ratio, unit);
}

static inline void print_result(const char *name, const char *suffix,
				double weft, const char *peer, double peer_val,
				double ratio, const char *unit)
{
	char line[256];

	format_result(line, sizeof(line), name, suffix, weft, peer, peer_val,
		      ratio, unit);
	puts(line);
}

#endif
