package rehearsal

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The students' connections: kept alive and used again, a connection the server closed
// while idle is not written to, an abandoned request frees its connection, and an answer
// longer than the limit is an error rather than the next answer's start.
func TestConnsKeepAliveCloseAndAbandon(t *testing.T) {
	var opened atomic.Int64
	release := make(chan struct{})
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/big":
			w.Write([]byte(strings.Repeat("x", 10_000))) // chunked: longer than a buffer
		default:
			w.Header().Set(resultHeader, "enrolled")
			w.Write([]byte("ok " + r.Header.Get("Cookie")))
		}
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	ts.Start()
	defer ts.Close()
	defer close(release)
	p := newConns(strings.TrimPrefix(ts.URL, "http://"), 1, 5*time.Second)
	defer p.close()
	ctx := context.Background()
	get := func(ctx context.Context, path string, limit int64) (*http.Response, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: "school_session", Value: "s1"})
		return p.do(ctx, req, limit)
	}

	for i := range 3 {
		resp, body, err := get(ctx, "/", 1<<20)
		if err != nil || resp.StatusCode != http.StatusOK || string(body) != "ok school_session=s1" || resp.Header.Get(resultHeader) != "enrolled" {
			t.Fatalf("request %d: %v, %v, %q", i, err, resp, body)
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("3 requests opened %d connections, want 1 kept alive", n)
	}

	ts.CloseClientConnections() // as an instance that restarts, or a server's idle timeout
	// The server's close reaches the kept connection on its own time: wait for the peek
	// to see it (a test that would pass before it, when the connection is still good,
	// proves nothing), then put it back for the next request to find.
	idle := <-p.idle
	for deadline := time.Now().Add(5 * time.Second); idle.open(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server closed the connection, and it still peeks open")
		}
	}
	p.idle <- idle
	if _, body, err := get(ctx, "/", 1<<20); err != nil || !strings.HasPrefix(string(body), "ok") {
		t.Fatalf("after the server closed the idle connection: %v, %q", err, body)
	}
	if n := opened.Load(); n != 2 {
		t.Errorf("%d connections opened, want a second after the server closed the first", n)
	}

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, _, err := get(short, "/hang", 1<<20); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an abandoned request: %v, want its deadline", err)
	}
	// The pool holds one connection: the abandoned one must have given its slot back.
	if _, body, err := get(ctx, "/", 1<<20); err != nil || !strings.HasPrefix(string(body), "ok") {
		t.Fatalf("after an abandoned request: %v, %q", err, body)
	}

	if _, body, err := get(ctx, "/big", 1<<20); err != nil || len(body) != 10_000 {
		t.Fatalf("a chunked answer: %v, %d bytes", err, len(body))
	}
	if _, _, err := get(ctx, "/big", 4096); err == nil {
		t.Fatal("an answer over the limit came back whole")
	}
	if _, body, err := get(ctx, "/", 1<<20); err != nil || !strings.HasPrefix(string(body), "ok") {
		t.Fatalf("after an answer over the limit: %v, %q", err, body)
	}
}
