// The Go peer of weft-life (tools/weft-life) for bench/run-life.sh: the
// book's Game of Life (Effective Python, items 56-60) with a goroutine per
// cell per generation and a sync.WaitGroup for the fan-in; game_logic's
// I/O is time.Sleep. Built once with `go build` (GOCACHE in the build
// directory) by bench/run-life.sh; never timed through `go run`.
//
//	life_go --model goroutines --size RxC --generations N --io-ms F --seed N
//
// prints one JSON line, the same as bench/peers/life_book.py:
//
//	{"model":"goroutines","rows":R,"cols":C,"generations":N,"io_ms":F,
//	 "seed":S,"sec_per_gen":T,"final":"<sha256 hex of the final grid>"}
//
// where the grid's text is rows of '*'/'-', each ending in '\n' (the book's
// Grid.__str__), and T is the wall time of the N generations / N. The start
// grid for a seed is the one life_book.py documents (weft-life's): seed 0
// the book's glider at (0,3) (1,4) (2,2) (2,3) (2,4); seed N > 0 xorshift64
// (13, 7, 17) from s = N*0x9E3779B97F4A7C15 + 1, one step per cell,
// row-major, alive iff (s>>33)%3 == 0.
// --model serial runs the same cells one after another (a reference).
// GOMAXPROCS is Go's default (the number of cores) unless set.
//
// -io tcp -server HOST:PORT: game_logic is a real round trip to a rules
// server (weft-life --serve; docs/weft-life-protocol.md) instead of the
// sleep: request "S N\n", reply "*\n" or "-\n", anything else an error.
// Each goroutine, i.e. each cell of each generation, dials its own
// connection and closes it when done (as weft-life's coro model gives each
// coroutine its own); serial keeps one connection. Every dial and reply has
// a 10 s deadline; a bad or missing reply, a refused connection or a
// timeout prints {"model": ..., "error": "..."} and exits 1, never hangs.
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	alive = '*'
	empty = '-'
)

type grid struct {
	rows, cols int
	cells      []byte
}

func newGrid(rows, cols int) *grid {
	g := &grid{rows, cols, make([]byte, rows*cols)}
	for i := range g.cells {
		g.cells[i] = empty
	}
	return g
}

func mod(a, n int) int { return ((a % n) + n) % n }

func (g *grid) get(y, x int) byte { return g.cells[mod(y, g.rows)*g.cols+mod(x, g.cols)] }

// set: every goroutine writes its own cell of the next grid, so the writes
// need no lock (distinct elements of a slice).
func (g *grid) set(y, x int, s byte) { g.cells[mod(y, g.rows)*g.cols+mod(x, g.cols)] = s }

func (g *grid) String() string {
	var b strings.Builder
	b.Grow(g.rows * (g.cols + 1))
	for y := 0; y < g.rows; y++ {
		b.Write(g.cells[y*g.cols : (y+1)*g.cols])
		b.WriteByte('\n')
	}
	return b.String()
}

func countNeighbors(g *grid, y, x int) int {
	n := 0
	for _, d := range [8][2]int{{-1, 0}, {-1, 1}, {0, 1}, {1, 1}, {1, 0}, {1, -1}, {0, -1}, {-1, -1}} {
		if g.get(y+d[0], x+d[1]) == alive {
			n++
		}
	}
	return n
}

var ioDelay time.Duration

// -io tcp
var (
	server     string // HOST:PORT, "" without tcp
	tcpTimeout = 10 * time.Second
	tcpErr     error
	tcpErrOnce sync.Once
)

func dial() (net.Conn, error) {
	return net.DialTimeout("tcp", server, tcpTimeout) // TCP_NODELAY: Go's default
}

// roundTrip asks the rules server on c for a cell's next state.
func roundTrip(c net.Conn, state byte, neighbors int) (byte, error) {
	c.SetDeadline(time.Now().Add(tcpTimeout))
	if _, err := c.Write([]byte{state, ' ', byte('0' + neighbors), '\n'}); err != nil {
		return 0, err
	}
	var reply [2]byte
	if n, err := io.ReadFull(c, reply[:]); err != nil {
		return 0, fmt.Errorf("reply %q: %w", reply[:n], err)
	}
	if (reply[0] != alive && reply[0] != empty) || reply[1] != '\n' {
		return 0, fmt.Errorf("bad reply from the rules server: %q", reply[:])
	}
	return reply[0], nil
}

func setTCPErr(err error) { tcpErrOnce.Do(func() { tcpErr = err }) }

// stepCellTCP: one cell, its round trip on c (nil: a connection of its own).
func stepCellTCP(cur, next *grid, y, x int, c net.Conn) {
	if c == nil {
		var err error
		if c, err = dial(); err != nil {
			setTCPErr(err)
			return
		}
		defer c.Close()
	}
	s, err := roundTrip(c, cur.get(y, x), countNeighbors(cur, y, x))
	if err != nil {
		setTCPErr(err)
		return
	}
	next.set(y, x, s)
}

func gameLogic(state byte, neighbors int) byte {
	next := state
	if state == alive {
		if neighbors < 2 || neighbors > 3 {
			next = empty
		}
	} else if neighbors == 3 {
		next = alive
	}
	if ioDelay > 0 {
		time.Sleep(ioDelay) // the I/O
	}
	return next
}

func stepCell(cur, next *grid, y, x int) {
	next.set(y, x, gameLogic(cur.get(y, x), countNeighbors(cur, y, x)))
}

func simulateGoroutines(cur *grid) *grid {
	next := newGrid(cur.rows, cur.cols)
	var wg sync.WaitGroup
	wg.Add(cur.rows * cur.cols)
	for y := 0; y < cur.rows; y++ {
		for x := 0; x < cur.cols; x++ {
			go func(y, x int) { // fan-out
				defer wg.Done()
				if server != "" {
					stepCellTCP(cur, next, y, x, nil)
				} else {
					stepCell(cur, next, y, x)
				}
			}(y, x)
		}
	}
	wg.Wait() // fan-in
	return next
}

var serialConn net.Conn // -io tcp, serial: one connection for the run

func simulateSerial(cur *grid) *grid {
	next := newGrid(cur.rows, cur.cols)
	for y := 0; y < cur.rows; y++ {
		for x := 0; x < cur.cols; x++ {
			if server != "" {
				stepCellTCP(cur, next, y, x, serialConn)
			} else {
				stepCell(cur, next, y, x)
			}
		}
	}
	return next
}

func startGrid(rows, cols int, seed uint64) *grid {
	g := newGrid(rows, cols)
	if seed == 0 {
		for _, c := range [][2]int{{0, 3}, {1, 4}, {2, 2}, {2, 3}, {2, 4}} {
			g.set(c[0], c[1], alive)
		}
		return g
	}
	s := seed*0x9E3779B97F4A7C15 + 1
	for i := range g.cells {
		s ^= s << 13
		s ^= s >> 7
		s ^= s << 17
		if (s>>33)%3 == 0 {
			g.cells[i] = alive
		}
	}
	return g
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "life_go: "+format+"\n", a...)
	os.Exit(2)
}

func main() {
	model := flag.String("model", "goroutines", "goroutines or serial")
	size := flag.String("size", "5x9", "RxC")
	gens := flag.Int("generations", 5, "generations")
	ioMs := flag.Float64("io-ms", 1, "game_logic's sleep in ms (0: none)")
	seed := flag.Uint64("seed", 0, "start grid (0: the book's glider)")
	ioKind := flag.String("io", "sleep", "sleep (-io-ms) or tcp (-server)")
	flag.StringVar(&server, "server", "", "HOST:PORT of the rules server for -io tcp")
	flag.Parse()
	var rows, cols int
	if n, err := fmt.Sscanf(strings.ToLower(*size), "%dx%d", &rows, &cols); n != 2 || err != nil || rows < 1 || cols < 1 {
		fail("--size must be RxC, not %q", *size)
	}
	if *gens < 1 || *ioMs < 0 {
		fail("--generations >= 1, --io-ms >= 0")
	}
	if *seed == 0 && (rows < 3 || cols < 5) {
		fail("seed 0 (the glider) needs at least 3x5")
	}
	sim := simulateGoroutines
	switch *model {
	case "goroutines":
	case "serial":
		sim = simulateSerial
	default:
		fail("--model goroutines|serial, not %q", *model)
	}
	if (*ioKind == "tcp") != (server != "") || (*ioKind != "tcp" && *ioKind != "sleep") {
		fail("-io sleep, or -io tcp with -server HOST:PORT")
	}
	if server != "" {
		if _, _, err := net.SplitHostPort(server); err != nil {
			// HOST:PORT as weft-life prints it: an IPv6 host without brackets
			i := strings.LastIndex(server, ":")
			if i <= 0 {
				fail("-server HOST:PORT, not %q", server)
			}
			server = net.JoinHostPort(strings.Trim(server[:i], "[]"), server[i+1:])
		}
		*ioMs = 0
	}
	ioDelay = time.Duration(*ioMs * float64(time.Millisecond))
	g := startGrid(rows, cols, *seed)
	if server != "" && *model == "serial" {
		c, err := dial()
		if err != nil {
			setTCPErr(err)
		} else {
			serialConn = c
			defer c.Close()
		}
	}
	t0 := time.Now()
	for i := 0; i < *gens && tcpErr == nil; i++ {
		g = sim(g)
	}
	secs := time.Since(t0).Seconds()
	if tcpErr != nil {
		out, _ := json.Marshal(struct {
			Model string `json:"model"`
			Rows  int    `json:"rows"`
			Cols  int    `json:"cols"`
			Io    string `json:"io"`
			Error string `json:"error"`
		}{*model, rows, cols, "tcp", "tcp: " + tcpErr.Error()})
		fmt.Println(string(out))
		os.Exit(1)
	}
	sum := sha256.Sum256([]byte(g.String()))
	out, _ := json.Marshal(struct {
		Model       string  `json:"model"`
		Rows        int     `json:"rows"`
		Cols        int     `json:"cols"`
		Generations int     `json:"generations"`
		IoMs        float64 `json:"io_ms"`
		Seed        uint64  `json:"seed"`
		SecPerGen   float64 `json:"sec_per_gen"`
		Final       string  `json:"final"`
	}{*model, rows, cols, *gens, *ioMs, *seed, secs / float64(*gens), hex.EncodeToString(sum[:])})
	fmt.Println(string(out))
}
