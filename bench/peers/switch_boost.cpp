// The peer of bench_switch: Boost.Context's raw fcontext switch
// (boost::context::detail::jump_fcontext, the assembly under
// boost::context::fiber), in the same ping-pong as weft's side: main jumps
// into a context that jumps straight back, n round trips.
#include <boost/context/detail/fcontext.hpp>

#include <cstdlib>
#include <ctime>

namespace ctx = boost::context::detail;

static void bounce(ctx::transfer_t t)
{
	for (;;)
		t = ctx::jump_fcontext(t.fctx, t.data);
}

static double now_ns()
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// ns per switch (a round trip is two), or 0 if no stack could be had.
extern "C" double boost_switch_ns(long rounds)
{
	const std::size_t size = 64 * 1024;
	char *stack = static_cast<char *>(std::malloc(size));

	if (!stack)
		return 0;
	ctx::fcontext_t f = ctx::make_fcontext(stack + size, size, bounce);
	f = ctx::jump_fcontext(f, nullptr).fctx; // enter once
	double t0 = now_ns();
	for (long i = 0; i < rounds; i++)
		f = ctx::jump_fcontext(f, nullptr).fctx;
	double ns = now_ns() - t0;
	std::free(stack); // the context is left suspended for good
	return ns / (2.0 * rounds);
}
