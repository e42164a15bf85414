/*
 * io.c — the I/O game_logic does: none, sleep:DURATION (weft_sleep: the
 * thread sleeps, a coroutine suspends), tcp (a round trip to the rules
 * server, tcp.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "weft/base.h"
#include "weft/coro.h"

#include "life.h"

/* "1ms", "250us", "0.5ms", "2s", "100ns": 0 and *ns, or -EINVAL. */
static int parse_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = { { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 } };
	char *end;
	double v;

	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	v = strtod(s, &end);
	if (end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			v *= units[i].ns;
			if (v > 3600e9)
				return -EINVAL; /* more than an hour a cell */
			*ns = (int64_t)(v + 0.5);
			return 0;
		}
	}
	return -EINVAL;
}

int life_io_parse(struct life_io *io, const char *spec)
{
	memset(io, 0, sizeof(*io));
	if (!spec)
		return -EINVAL;
	if (strcmp(spec, "none") == 0) {
		io->kind = LIFE_IO_NONE;
		return 0;
	}
	if (strcmp(spec, "tcp") == 0) {
		io->kind = LIFE_IO_TCP;
		strcpy(io->host, "127.0.0.1");
		return 0;
	}
	if (strncmp(spec, "sleep:", 6) == 0) {
		io->kind = LIFE_IO_SLEEP;
		return parse_duration(spec + 6, &io->sleep_ns);
	}
	return -EINVAL;
}

int life_game_logic(const struct life_io *io, struct life_conn *conn,
		    char state, int neighbors, char *next)
{
	int rc;

	switch (io->kind) {
	case LIFE_IO_NONE:
		break;
	case LIFE_IO_SLEEP:
		/* weft's one call: blocks a thread, suspends a coroutine */
		rc = weft_sleep(io->sleep_ns);
		if (rc)
			return rc;
		break;
	case LIFE_IO_TCP:
		return life_tcp_logic(io, conn, state, neighbors, next);
	}
	*next = life_rule(state, neighbors);
	return 0;
}
