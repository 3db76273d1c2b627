package rehearsal

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchClient sends the students' requests to the app as a browser would: a form post
// with Origin and Sec-Fetch-Site, the session cookie, and HX-Request for the buttons. It
// sends them as the rehearsal's students do (conns), so that the load generator takes
// as little of the machine it measures as it can.
type benchClient struct {
	conns *conns
	base  string
}

// newBenchClient is a client of the server at addr (host:port) with at most max
// connections.
func newBenchClient(addr string, max int) *benchClient {
	return &benchClient{conns: newConns(addr, max, time.Minute), base: "http://" + addr}
}

// reply is one request's answer, or its failure.
type reply struct {
	status  int
	result  string // X-Registration-Result
	session string // the session cookie the answer set, if any
	body    []byte
	took    time.Duration // from sending to the body read
	err     error
}

func (c *benchClient) send(ctx context.Context, method, path string, form url.Values, session string, hx bool) reply {
	var encoded io.Reader
	if form != nil {
		encoded = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, encoded)
	if err != nil {
		return reply{err: err}
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: session})
	}
	start := time.Now()
	resp, body, err := c.conns.do(ctx, req, 16<<20)
	r := reply{body: body, took: time.Since(start), err: err}
	if err != nil {
		return r
	}
	r.status, r.result = resp.StatusCode, resp.Header.Get(resultHeader)
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			r.session = ck.Value
		}
	}
	return r
}

// signIn posts the login form and returns the session it opened.
func (c *benchClient) signIn(ctx context.Context, username string) (string, reply) {
	r := c.send(ctx, http.MethodPost, "/login", url.Values{"username": {username}, "password": {benchPassword}}, "", false)
	if r.err == nil && (r.status != http.StatusSeeOther || r.session == "") {
		r.err = fmt.Errorf("sign in as %s: status %d, session cookie %t", username, r.status, r.session != "")
	}
	return r.session, r
}

// signInAll signs the students in (not timed) and returns their sessions.
func (b *bench) signInAll(ctx context.Context, names []string) ([]string, error) {
	sessions := make([]string, len(names))
	errs := make([]error, len(names))
	work(b.cfg.Clients, 0, len(names), func(i int) {
		var r reply
		sessions[i], r = b.web.signIn(ctx, names[i])
		errs[i] = r.err
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return sessions, nil
}

// warm opens n keep-alive connections to the app at once, each request a signed-in page
// that reads MySQL, so the app's connection pool is open too before any clock starts.
func (b *bench) warm(ctx context.Context, sessions []string, n int) error {
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := b.web.send(ctx, http.MethodGet, "/registrations", nil, sessions[i%len(sessions)], false)
			if r.err != nil || r.status != http.StatusOK {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if k := failed.Load(); k > 0 {
		return fmt.Errorf("%d of %d warm-up requests failed", k, n)
	}
	return nil
}

// work calls do(i) for every i in [from, to) on n goroutines, each taking the next i.
func work(n, from, to int, do func(i int)) {
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < to; i = int(next.Add(1) - 1) {
				do(i)
			}
		})
	}
	wg.Wait()
}

// outcome is one request or transaction of a timed phase.
type outcome struct {
	took   time.Duration
	result string // what it answered: a registration result, "signed_in"
	fault  string // why that is not an answer the phase may get; "" when it is
}

// Phase is what one timed phase measured, summed over its rounds.
type Phase struct {
	Name    string
	Clients int
	Count   int            // requests (or transactions) sent and finished
	Results map[string]int // by answer
	Faults  map[string]int // answers the phase may not get, and requests without one
	Elapsed time.Duration  // timed: from the first request of each round to its last answer
	Latency Latency
	CPU     PhaseCPU
	took    []time.Duration
}

func newPhase(name string, clients int) *Phase {
	return &Phase{Name: name, Clients: clients, Results: map[string]int{}, Faults: map[string]int{}}
}

// Rate is requests (or transactions) a second of the timed phase.
func (p *Phase) Rate() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Count) / p.Elapsed.Seconds()
}

// Faulty is how many requests got no answer, or one the phase may not get.
func (p *Phase) Faulty() int {
	n := 0
	for _, v := range p.Faults {
		n += v
	}
	return n
}

func (p *Phase) add(elapsed time.Duration, cpu PhaseCPU, outs []outcome) {
	p.Elapsed += elapsed
	p.CPU = p.CPU.plus(cpu)
	for _, o := range outs {
		p.Count++
		p.took = append(p.took, o.took)
		if o.result != "" {
			p.Results[o.result]++
		}
		if o.fault != "" {
			p.Faults[o.fault]++
		}
	}
	p.Latency = latency(Step(p.Name), p.took)
}

// classify reads a registration answer: each result the phase may get, with its status.
func classify(r reply, want map[string]int) outcome {
	o := outcome{took: r.took, result: r.result}
	switch {
	case r.err != nil:
		o.fault = "no answer: " + transportKind(r.err)
	case want[r.result] != r.status || r.result == "":
		o.fault = fmt.Sprintf("%d %s", r.status, r.result)
	}
	return o
}

// PhaseCPU is the CPU each process used during a timed phase, in seconds: the app, the
// stack's mariadbd and slapd, the bench itself (the load generator), the kernel outside
// any process (irq, softirq: mostly the loopback traffic between them; steal), and the
// whole machine over Cores cores. MariaDBConns is the part of mariadbd's that its threads
// serving the bench's own connections (the app's and the bare transaction's) used: the
// server is shared, and other people's tests on it show in MariaDB but not there; InnoDB's
// background threads (purge, page flushing) show in MariaDB but not there either. A
// process whose pid was not known, or changed meanwhile (a restart), is -1.
type PhaseCPU struct {
	App, MariaDB, MariaDBConns, Slapd, Tool, Kernel, Machine float64
	Cores                                                    int
}

// Others is what every other process used: other people's work on the machine.
func (c PhaseCPU) Others() float64 {
	o := c.Machine - c.Kernel - c.Tool - max(0, c.App) - max(0, c.MariaDB) - max(0, c.Slapd)
	return max(0, o)
}

func (c PhaseCPU) plus(d PhaseCPU) PhaseCPU {
	sum := func(a, b float64) float64 {
		if a < 0 || b < 0 {
			return -1
		}
		return a + b
	}
	return PhaseCPU{App: sum(c.App, d.App), MariaDB: sum(c.MariaDB, d.MariaDB), MariaDBConns: sum(c.MariaDBConns, d.MariaDBConns),
		Slapd: sum(c.Slapd, d.Slapd), Tool: c.Tool + d.Tool, Kernel: c.Kernel + d.Kernel, Machine: c.Machine + d.Machine,
		Cores: max(c.Cores, d.Cores)}
}

type cpuSnap struct {
	pids                                     [3]int // app, mariadbd, slapd
	app, mariadb, slapd, tool, procs, kernel float64
	threads                                  map[int]float64 // mariadbd's, by thread id
	conns                                    []int           // the threads serving the bench's database
	cores                                    int
}

func (b *bench) snap() cpuSnap {
	s := cpuSnap{pids: [3]int{b.app.pid(), stackPid(b.cfg.StackDir, "mariadb", "mysqld.pid"), stackPid(b.cfg.StackDir, "ldap", "slapd.pid")}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if tids, err := b.q.ConnectionThreads(ctx); err == nil {
		for _, t := range tids {
			s.conns = append(s.conns, int(t))
		}
	}
	s.threads = threadsCPU(s.pids[1])
	s.app, s.mariadb, s.slapd = processCPU(s.pids[0]), processCPU(s.pids[1]), processCPU(s.pids[2])
	s.tool = processCPU(os.Getpid())
	s.procs, s.kernel, s.cores = machineTimes()
	return s
}

func (s cpuSnap) to(e cpuSnap) PhaseCPU {
	d := func(i int, a, b float64) float64 {
		if s.pids[i] == 0 || s.pids[i] != e.pids[i] {
			return -1
		}
		return b - a
	}
	c := PhaseCPU{App: d(0, s.app, e.app), MariaDB: d(1, s.mariadb, e.mariadb), Slapd: d(2, s.slapd, e.slapd),
		Tool: e.tool - s.tool, Kernel: e.kernel - s.kernel, Machine: e.procs + e.kernel - s.procs - s.kernel, Cores: s.cores, MariaDBConns: -1}
	if c.MariaDB >= 0 && len(s.conns)+len(e.conns) > 0 {
		c.MariaDBConns = 0
		seen := map[int]bool{}
		for _, t := range append(append([]int(nil), s.conns...), e.conns...) {
			before, ok1 := s.threads[t]
			after, ok2 := e.threads[t]
			if !seen[t] && ok1 && ok2 && after >= before {
				c.MariaDBConns += after - before
			}
			seen[t] = true
		}
	}
	return c
}

// threadsCPU reads the CPU seconds of each thread of a process.
func threadsCPU(pid int) map[int]float64 {
	if pid <= 0 {
		return nil
	}
	dir := fmt.Sprintf("/proc/%d/task", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make(map[int]float64, len(entries))
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile(dir + "/" + e.Name() + "/stat"); err == nil {
			out[tid] = statCPU(b)
		}
	}
	return out
}

// timed runs do and measures it: wall clock and every process's CPU.
func (b *bench) timed(do func()) (time.Duration, PhaseCPU) {
	s := b.snap()
	start := time.Now()
	do()
	elapsed := time.Since(start)
	return elapsed, s.to(b.snap())
}
