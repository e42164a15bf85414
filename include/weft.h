/* weft.h — the whole weft API. Include this, or the module headers you use. */
#ifndef WEFT_H
#define WEFT_H

#include "weft/base.h"
#include "weft/coro.h"
#include "weft/future.h"
#include "weft/loop.h"
#include "weft/pool.h"
#include "weft/proc.h"
#include "weft/queue.h"
#include "weft/sync.h"

#endif /* WEFT_H */
