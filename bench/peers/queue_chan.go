// The Go peer of bench/bench_queue.c: a buffered channel (cap 1024) moving
// n items from np sender goroutines to nc receivers, the receivers summing
// what they get. Prints "go_chan <np>x<nc> <ns per item>" per shape, the
// median of the repetitions, for bench_queue to parse.
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"
)

func run(np, nc, n int) float64 {
	ch := make(chan uintptr, 1024)
	per := n / np
	sums := make([]uintptr, nc)
	var senders, receivers sync.WaitGroup
	start := time.Now()
	for c := 0; c < nc; c++ {
		receivers.Add(1)
		go func(c int) {
			defer receivers.Done()
			var s uintptr
			for v := range ch {
				s += v
			}
			sums[c] = s
		}(c)
	}
	for p := 0; p < np; p++ {
		senders.Add(1)
		go func(p int) {
			defer senders.Done()
			for i := 1; i <= per; i++ {
				ch <- uintptr(p*per + i)
			}
		}(p)
	}
	senders.Wait()
	close(ch)
	receivers.Wait()
	elapsed := time.Since(start)
	var total uintptr
	for _, s := range sums {
		total += s
	}
	m := uintptr(per * np)
	if total != m*(m+1)/2 {
		fmt.Fprintln(os.Stderr, "go_chan: wrong sum")
		os.Exit(1)
	}
	return float64(elapsed.Nanoseconds()) / float64(per*np)
}

func main() {
	n, reps := 2000000, 5
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		reps, _ = strconv.Atoi(os.Args[2])
	}
	for _, shape := range [][2]int{{1, 1}, {4, 4}} {
		var r []float64
		for i := 0; i < reps; i++ {
			r = append(r, run(shape[0], shape[1], n))
		}
		sort.Float64s(r)
		fmt.Printf("go_chan %dx%d %.1f\n", shape[0], shape[1], r[len(r)/2])
	}
}
