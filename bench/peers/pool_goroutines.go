// The Go peer of bench/bench_pool.c (run with GOMAXPROCS=2): Go has no
// thread pool; the idiom is a goroutine per task and a WaitGroup.
//
//	tasks: one goroutine starts n goroutines that each add 1 to an atomic
//	       counter, then waits on the WaitGroup; prints
//	       "go tasks <millions of tasks per second>".
//	trip:  start one goroutine and receive from its channel, repeated;
//	       prints "go trip <us>".
//
// Each is the median of the repetitions, for bench_pool to parse.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var counter int64

func tasks(n int) float64 {
	var wg sync.WaitGroup
	atomic.StoreInt64(&counter, 0)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			atomic.AddInt64(&counter, 1)
			wg.Done()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if atomic.LoadInt64(&counter) != int64(n) {
		panic("wrong count")
	}
	return float64(n) / el.Seconds() / 1e6
}

func trip(n int) float64 {
	warm := n / 10
	var start time.Time
	done := make(chan int, 1)
	for i := 0; i < n; i++ {
		if i == warm {
			start = time.Now()
		}
		go func() {
			atomic.AddInt64(&counter, 1)
			done <- 1
		}()
		<-done
	}
	return float64(time.Since(start).Nanoseconds()) / 1e3 / float64(n-warm)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func main() {
	n, trips, reps := 2000000, 20000, 5
	if len(os.Args) > 3 {
		n, _ = strconv.Atoi(os.Args[1])
		trips, _ = strconv.Atoi(os.Args[2])
		reps, _ = strconv.Atoi(os.Args[3])
	}
	t := make([]float64, reps)
	r := make([]float64, reps)
	for i := 0; i < reps; i++ {
		t[i] = tasks(n)
	}
	for i := 0; i < reps; i++ {
		r[i] = trip(trips)
	}
	fmt.Printf("go tasks %.4f\n", median(t))
	fmt.Printf("go trip %.2f\n", median(r))
}
