/*
 * tcp_stub.c — PLACEHOLDER, replaced by tcp.c/server.c (the tcp mode,
 * written on another branch). Until they land the tcp mode is not
 * available: every function here says -ENOTSUP. CMakeLists.txt builds
 * this file only when tcp.c does not exist.
 */
#include <errno.h>
#include <unistd.h>

#include "life.h"

int life_tcp_logic(const struct life_io *io, struct life_conn *conn, char state,
		   int neighbors, char *next)
{
	return -ENOTSUP;
}

void life_conn_close(struct life_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

int life_server_start(struct life_server **sp, const char *host, int port)
{
	*sp = NULL;
	return -ENOTSUP;
}

int life_server_port(const struct life_server *s)
{
	return -ENOTSUP;
}

void life_server_stop(struct life_server *s)
{
}
