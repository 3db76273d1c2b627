package rehearsal

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// maxLogLinesPerRequest is the most log lines one request may earn: a failure is logged
// once, a retried transaction perhaps twice more. The crash the first review found logged
// one abandoned request 737,446 times.
const maxLogLinesPerRequest = 3

// Health is how the app instances the tool started came through: none may die, and none
// may log one request over and over.
type Health struct {
	Watched bool // the tool started the instances and read their logs
	// Exits are instances that failed without the tool asking (the instance drill's kill
	// is asked for).
	Exits int
	// LoggedRequests had at least one log line; Noisiest had the most, Lines of them.
	LoggedRequests int
	Noisiest       string
	Lines          int
}

// Problems lists what makes the run fail besides the invariant check: an instance that
// died, a request logged too often, an answer of 500, a 503 without Retry-After.
func (r *Report) Problems() []string {
	var out []string
	h := r.Health
	if h.Exits > 0 {
		out = append(out, fmt.Sprintf("%d app instance(s) exited unasked", h.Exits))
	}
	if h.Lines > maxLogLinesPerRequest {
		out = append(out, fmt.Sprintf("request %s was logged %d times (at most %d)", h.Noisiest, h.Lines, maxLogLinesPerRequest))
	}
	kinds := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		if k == "http_500" || strings.HasSuffix(k, "_no_retry_after") {
			out = append(out, fmt.Sprintf("%d answers %s", r.Errors[k], k))
		}
	}
	return out
}

// logCounter passes the instances' output on and counts the lines naming each request.
type logCounter struct {
	mu         sync.Mutex
	out        io.Writer
	perRequest map[string]int
}

func newLogCounter(out io.Writer) *logCounter {
	if out == nil {
		out = io.Discard
	}
	return &logCounter{out: out, perRequest: map[string]int{}}
}

// writer is one process's output: its lines are whole before they are counted, so two
// processes writing at once cannot split each other's lines.
func (c *logCounter) writer() io.Writer { return &lineWriter{c: c} }

func (c *logCounter) line(l []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(l)
	const key = `"request_id":"`
	if i := bytes.Index(l, []byte(key)); i >= 0 {
		rest := l[i+len(key):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			c.perRequest[string(rest[:j])]++
		}
	}
}

func (c *logCounter) fill(h *Health) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h.Watched = true
	h.LoggedRequests = len(c.perRequest)
	for id, n := range c.perRequest {
		if n > h.Lines || n == h.Lines && id < h.Noisiest {
			h.Noisiest, h.Lines = id, n
		}
	}
}

type lineWriter struct {
	c   *logCounter
	buf []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.c.line(w.buf[:i+1])
		w.buf = w.buf[i+1:]
	}
	// A line longer than any log line is passed on in pieces rather than held.
	if len(w.buf) > 1<<20 {
		w.c.line(w.buf)
		w.buf = nil
	}
	return len(p), nil
}
