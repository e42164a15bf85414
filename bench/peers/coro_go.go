// The Go peer of bench/bench_coro.c, built once with `go build` into the
// build directory (bench/CMakeLists.txt) and run with GOMAXPROCS set by
// bench_coro. One measurement per run, timed inside the program:
//
//	coro_go switch N  two goroutines ping-pong N round trips over two
//	                  unbuffered channels (after N/10 untimed); prints
//	                  "go switch <ns per handoff>" (2N handoffs)
//	coro_go create N  `go f(); <-done` N times (after N/10 untimed), done
//	                  unbuffered; prints "go create <ns each>"
//	coro_go skynet S  the well-known skynet: S leaves (a power of 10) in a
//	                  10-ary tree of goroutines and channels; checks the
//	                  sum; prints "go skynet <ms>" (first and only run)
//	coro_go rss N     N goroutines blocked receiving from one channel;
//	                  prints "go rss <bytes per goroutine>" (/proc/self/statm
//	                  resident delta) and "go sys <bytes>" (the MemStats
//	                  Sys delta per goroutine, for reference), then closes
//	                  the channel and waits for all of them
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func pingpong(n int) {
	a, b := make(chan int), make(chan int)
	done := make(chan bool)
	go func() {
		for i := 0; i < n; i++ {
			b <- <-a
		}
		done <- true
	}()
	for i := 0; i < n; i++ {
		a <- i
		<-b
	}
	<-done
}

func switchNs(n int) float64 {
	pingpong(n / 10)
	start := time.Now()
	pingpong(n)
	return float64(time.Since(start).Nanoseconds()) / float64(2*n)
}

func createNs(n int) float64 {
	done := make(chan int)
	f := func() { done <- 1 }
	for i := 0; i < n/10; i++ {
		go f()
		<-done
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		go f()
		<-done
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}

func skynet(c chan int, num int, size int, div int) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int)
	var sum int
	for i := 0; i < div; i++ {
		subNum := num + i*(size/div)
		go skynet(rc, subNum, size/div, div)
	}
	for i := 0; i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func skynetMs(size int) float64 {
	c := make(chan int)
	start := time.Now()
	go skynet(c, 0, size, 10)
	sum := <-c
	el := time.Since(start)
	if want := size * (size - 1) / 2; sum != want {
		fmt.Fprintf(os.Stderr, "skynet: sum %d, want %d\n", sum, want)
		os.Exit(1)
	}
	return float64(el.Nanoseconds()) / 1e6
}

func residentBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		panic(err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func rss(n int) (float64, float64) {
	var ms0, ms1 runtime.MemStats
	var blocked int64
	var wg sync.WaitGroup
	ch := make(chan int)
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	r0 := residentBytes()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&blocked, 1)
			<-ch
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&blocked) < int64(n) {
		runtime.Gosched()
	}
	r1 := residentBytes()
	runtime.ReadMemStats(&ms1)
	close(ch)
	wg.Wait()
	return float64(r1-r0) / float64(n), float64(ms1.Sys-ms0.Sys) / float64(n)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: coro_go switch|create|skynet|rss N")
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 10 {
		fmt.Fprintln(os.Stderr, "coro_go: N >= 10")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "switch":
		fmt.Printf("go switch %.3f\n", switchNs(n))
	case "create":
		fmt.Printf("go create %.3f\n", createNs(n))
	case "skynet":
		fmt.Printf("go skynet %.3f\n", skynetMs(n))
	case "rss":
		r, s := rss(n)
		fmt.Printf("go rss %.1f\ngo sys %.1f\n", r, s)
	default:
		fmt.Fprintln(os.Stderr, "coro_go: unknown mode", os.Args[1])
		os.Exit(2)
	}
}
