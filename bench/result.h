/*
 * The machine-readable end of every benchmark: one line per figure,
 *   RESULT <name> weft=<value> <peer>=<value> ratio=<r> unit=<unit>
 * where ratio is peer / weft for costs (ns, ms: higher is better for
 * weft) and weft / peer for rates (MB/s, tasks/s), as the human table
 * above it prints. A peer that was not measured prints as 0 with ratio 0.
 */
#ifndef WEFT_BENCH_RESULT_H
#define WEFT_BENCH_RESULT_H

#include <stdbool.h>
#include <stdio.h>

/* `rate`: higher values are better (MB/s), so ratio = weft / peer. */
static inline void print_result(const char *name, double weft, const char *peer,
				double peer_val, const char *unit, bool rate)
{
	double ratio = 0;

	if (weft > 0 && peer_val > 0)
		ratio = rate ? weft / peer_val : peer_val / weft;
	printf("RESULT %s weft=%.6g %s=%.6g ratio=%.4g unit=%s\n", name, weft,
	       peer, peer_val, ratio, unit);
}

#endif
