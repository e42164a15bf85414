// The Boost peers of bench/bench_coro.c (Boost.Fiber and Boost.Context,
// Debian libboost-fiber-dev / libboost-context-dev), built by
// bench/CMakeLists.txt only when CMake finds them. One measurement per
// run, timed inside the program:
//
//   coro_boost fswitch N   two fibers (the default round_robin scheduler,
//                          one thread) each calling this_fiber::yield() N
//                          times (after N/10 untimed); prints
//                          "fiber switch <ns per switch>" (2N switches)
//   coro_boost fcreate N   fiber(std::allocator_arg, pooled_fixedsize_stack,
//                          trivial) + join(), N times (after N/10 untimed);
//                          prints "fiber create <ns each>"
//   coro_boost ccreate N   callcc(std::allocator_arg, pooled_fixedsize_stack,
//                          trivial) that returns at once: create + run +
//                          finish a context, N times (after N/10 untimed);
//                          prints "context create <ns each>"
//   coro_boost skynet S T  skynet as Boost.Fiber's own performance test
//                          (libs/fiber/performance/fiber/skynet_*):
//                          fibers::async(launch::dispatch) per child with
//                          an 8 KiB fixedsize_stack, futures summed by the
//                          parent; T = 1: one thread, round_robin; T > 1:
//                          T threads (the main one included) under the
//                          work_stealing algorithm. Checks the sum; prints
//                          "fiber skynet <ms>".
#include <boost/context/continuation.hpp>
#include <boost/context/fixedsize_stack.hpp>
#include <boost/context/pooled_fixedsize_stack.hpp>
#include <boost/fiber/all.hpp>
#include <boost/fiber/algo/work_stealing.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ctx = boost::context;
namespace fibers = boost::fibers;
using clk = std::chrono::steady_clock;

static double ns_since(clk::time_point t0)
{
	return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(
		       clk::now() - t0)
		.count();
}

static volatile long sink;

static void pingpong(long n)
{
	auto side = [n]() {
		for (long i = 0; i < n; i++)
			boost::this_fiber::yield();
	};
	fibers::fiber a(side), b(side);
	a.join();
	b.join();
}

static double fswitch(long n)
{
	pingpong(n / 10);
	auto t0 = clk::now();
	pingpong(n);
	return ns_since(t0) / (2.0 * (double)n);
}

static double fcreate(long n)
{
	ctx::pooled_fixedsize_stack salloc;
	auto trivial = []() { sink = sink + 1; };
	clk::time_point t0;

	for (long i = -n / 10; i < n; i++) {
		if (i == 0)
			t0 = clk::now();
		fibers::fiber f(std::allocator_arg, salloc, trivial);
		f.join();
	}
	return ns_since(t0) / (double)n;
}

static double ccreate(long n)
{
	ctx::pooled_fixedsize_stack salloc;
	clk::time_point t0;

	for (long i = -n / 10; i < n; i++) {
		if (i == 0)
			t0 = clk::now();
		ctx::continuation c =
			ctx::callcc(std::allocator_arg, salloc,
				    [](ctx::continuation &&caller) {
					    sink = sink + 1;
					    return std::move(caller);
				    });
		if (c)
			std::abort(); /* the context finished */
	}
	return ns_since(t0) / (double)n;
}

using salloc_t = fibers::fixedsize_stack;

static std::uint64_t skynet(salloc_t &salloc, std::uint64_t num,
			    std::uint64_t size, std::uint64_t div)
{
	if (size == 1)
		return num;
	std::vector<fibers::future<std::uint64_t>> results;
	results.reserve(div);
	for (std::uint64_t i = 0; i != div; ++i) {
		std::uint64_t sub = num + i * (size / div);
		results.emplace_back(fibers::async(
			fibers::launch::dispatch, std::allocator_arg, salloc,
			skynet, std::ref(salloc), sub, size / div, div));
	}
	std::uint64_t sum = 0;
	for (auto &f : results)
		sum += f.get();
	return sum;
}

static std::mutex mtx;
static fibers::condition_variable_any cnd;
static bool done;

static void stealer(unsigned threads)
{
	fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(threads);
	std::unique_lock<std::mutex> lk(mtx);
	cnd.wait(lk, []() { return done; });
}

static double skynet_ms(std::uint64_t size, unsigned threads)
{
	salloc_t salloc(2 * salloc_t::traits_type::page_size());
	std::vector<std::thread> ts;

	if (threads > 1) {
		for (unsigned i = 1; i < threads; i++)
			ts.emplace_back(stealer, threads);
		fibers::use_scheduling_algorithm<fibers::algo::work_stealing>(
			threads);
	}
	auto t0 = clk::now();
	std::uint64_t sum = skynet(salloc, 0, size, 10);
	double ms = ns_since(t0) / 1e6;
	if (threads > 1) {
		{
			std::unique_lock<std::mutex> lk(mtx);
			done = true;
		}
		cnd.notify_all();
		for (auto &t : ts)
			t.join();
	}
	if (sum != size * (size - 1) / 2) {
		std::fprintf(stderr, "skynet: sum %llu, want %llu\n",
			     (unsigned long long)sum,
			     (unsigned long long)(size * (size - 1) / 2));
		std::exit(1);
	}
	return ms;
}

int main(int argc, char **argv)
{
	long n = argc >= 3 ? std::atol(argv[2]) : 0;

	if (argc < 3 || n < 10) {
		std::fprintf(stderr, "usage: coro_boost fswitch|fcreate|"
				     "ccreate N | skynet S THREADS\n");
		return 2;
	}
	if (!std::strcmp(argv[1], "fswitch"))
		std::printf("fiber switch %.3f\n", fswitch(n));
	else if (!std::strcmp(argv[1], "fcreate"))
		std::printf("fiber create %.3f\n", fcreate(n));
	else if (!std::strcmp(argv[1], "ccreate"))
		std::printf("context create %.3f\n", ccreate(n));
	else if (!std::strcmp(argv[1], "skynet") && argc == 4)
		std::printf("fiber skynet %.3f\n",
			    skynet_ms((std::uint64_t)n,
				      (unsigned)std::atoi(argv[3])));
	else {
		std::fprintf(stderr, "coro_boost: bad mode\n");
		return 2;
	}
	return 0;
}
