// The Go peer of bench/bench_echo.c: a TCP echo server, one goroutine per
// connection (net.Conn Read + Write into a per-connection buffer).
//
//	echo_server [max-seconds]
//
// Listens on 127.0.0.1 port 0 and prints "PORT <n>"; exits when its stdin
// reaches EOF (bench_echo closes it) or after max-seconds (default 120).
// GOMAXPROCS comes from the environment, as bench_echo sets it.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"
)

func handle(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	limit := 120
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil && v > 0 {
			limit = v
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "echo_server:", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(*net.TCPAddr).Port)
	time.AfterFunc(time.Duration(limit)*time.Second, func() { os.Exit(0) })
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		// Go sets TCP_NODELAY on TCP connections by default.
		go handle(c)
	}
}
