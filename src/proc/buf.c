/*
 * weft_buf: caller-owned bytes that weft appends to. cap == 0 means the
 * buffer owns no memory: data is NULL, or the static "" communicate leaves
 * in a buffer whose stream sent nothing — so it is never realloc'd or freed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proc/proc_internal.h"

int weft_buf_reserve(weft_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (!b)
		return -EINVAL;
	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (b->cap == 0) {
		p = malloc(cap); /* data, if any, is not ours to realloc */
		if (p && b->len)
			memcpy(p, b->data, b->len);
	} else {
		p = realloc(b->data, cap);
	}
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

void weft_buf_free(weft_buf *b)
{
	if (!b)
		return;
	if (b->cap)
		free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int weft__buf_terminate(weft_buf *b)
{
	static char empty[1];

	if (!b)
		return 0;
	if (b->cap == 0) {
		if (b->len != 0)
			return -EINVAL;
		b->data = empty; /* "" without allocating: cap stays 0 */
		return 0;
	}
	if (b->len >= b->cap && weft_buf_reserve(b, 1) < 0)
		return -ENOMEM;
	b->data[b->len] = '\0';
	return 0;
}
