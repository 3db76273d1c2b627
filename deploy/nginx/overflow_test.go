package nginx_test

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/autoscaler"
)

// backend stands in for an on-prem node or the EKS ingress: it counts the requests it
// holds and keeps each one until the wave is released, so concurrency is real and the
// counts do not depend on timing.
type backend struct {
	name string
	srv  *http.Server
	addr string

	mu      sync.Mutex
	held    int
	release chan struct{}
	headers http.Header // of the last request
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &backend{name: name, addr: l.Addr().String(), release: make(chan struct{})}
	// The app's own CSRF defence, with no trusted origins: see TestOverflowToEKS's end.
	b.srv = &http.Server{Handler: http.NewCrossOriginProtection().Handler(b), ReadHeaderTimeout: 10 * time.Second}
	go b.srv.Serve(l)
	t.Cleanup(func() { b.srv.Close() })
	return b
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	b.held++
	b.headers = r.Header.Clone()
	b.headers.Set("Host", r.Host)
	release := b.release
	b.mu.Unlock()
	select {
	case <-release:
	case <-r.Context().Done():
		return
	}
	fmt.Fprint(w, b.name)
}

// reset starts a wave: counts to zero, a new gate.
func (b *backend) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held, b.release = 0, make(chan struct{})
}

func (b *backend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.held
}

func (b *backend) open() {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.release)
}

// TestOverflowToEKS runs Debian's nginx with the shipped upstream in front of one local
// server per on-prem node and one for the EKS ingress. Each wave sends n requests at
// once and holds them all: with every on-prem node up, the spare's included, below the
// on-prem limit (the sum of max_conns) none reaches EKS, above it exactly the excess does
// and every on-prem node is at its max_conns; with the spare's replica gone, the limit
// is the others'. The autoscaler's on-prem replicas range over exactly those nodes.
func TestOverflowToEKS(t *testing.T) {
	servers := shippedUpstream(t)
	var backends []*backend
	var addrs []string
	var eks *backend
	limit := 0
	for i, s := range servers {
		name := fmt.Sprintf("onprem-%d", i+1)
		if s.backup {
			name = "eks"
		}
		b := startBackend(t, name)
		backends, addrs = append(backends, b), append(addrs, b.addr)
		if s.backup {
			if eks != nil {
				t.Fatal("the test expects one backup server (the EKS ingress)")
			}
			eks = b
		} else {
			limit += s.maxConns
		}
	}
	if eks == nil || limit == 0 {
		t.Fatalf("upstream.conf: want on-prem servers with max_conns and an EKS backup, have %+v", servers)
	}
	// The on-prem tier is the nodes listed, one replica each: the autoscaler's on-prem
	// replicas go from the always-there nodes to every listed one, the spare last.
	onprem := len(servers) - 1
	cfg, err := autoscaler.Load("../k8s/autoscaler/autoscaler.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OnPrem.MaxReplicas != onprem || cfg.OnPrem.MinReplicas >= onprem || !servers[len(servers)-1].backup {
		t.Fatalf("autoscaler on-prem replicas %d..%d for %d on-prem servers (the backup last): want max = servers, min below it",
			cfg.OnPrem.MinReplicas, cfg.OnPrem.MaxReplicas, onprem)
	}
	site := newSite(t, addrs)
	startNginx(t, site)

	client := &http.Client{
		Timeout: 2 * time.Minute,
		Transport: &http.Transport{
			// One connection per request (HTTP/1.1): the test controls the concurrency.
			TLSClientConfig:     &tls.Config{ServerName: publicName, InsecureSkipVerify: true},
			MaxIdleConnsPerHost: 1000,
		},
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/courses", site.httpsPort)

	// wave sends n requests at once, holds them all until each has reached a backend,
	// and returns how many each backend held (and answered).
	wave := func(t *testing.T, n int) map[string]int {
		t.Helper()
		for _, b := range backends {
			b.reset()
		}
		answers := make(chan string, n)
		errs := make(chan error, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Host = publicName
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("status %d: %s", resp.StatusCode, body)
					return
				}
				answers <- string(body)
			})
		}
		// Wait until every request is held somewhere (a count, not a time).
		total := func() int {
			sum := 0
			for _, b := range backends {
				sum += b.count()
			}
			return sum
		}
		deadline := time.Now().Add(time.Minute)
		for total() < n && time.Now().Before(deadline) && len(errs) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		held := map[string]int{}
		for _, b := range backends {
			held[b.name] = b.count()
		}
		// stub_status's Writing, the autoscaler's in-flight signal, is every request held
		// upstream, and the status request itself.
		if w := stubWriting(t, site); w != n+1 {
			t.Errorf("stub_status Writing %d with %d requests in flight, want %d", w, n, n+1)
		}
		for _, b := range backends {
			b.open()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("request failed: %v", err)
		}
		if total() != n {
			t.Fatalf("%d requests sent, %d reached a backend: %v", n, total(), held)
		}
		close(answers)
		got := map[string]int{}
		for a := range answers {
			got[a]++
		}
		if got["eks"] != held["eks"] {
			t.Errorf("answers from EKS: %d, held there %d (%v)", got["eks"], held["eks"], got)
		}
		return held
	}

	// Every on-prem tier up, the spare node's replica included: nothing reaches EKS until
	// every on-prem server is at its max_conns.
	for _, n := range []int{limit * 3 / 4, limit, limit * 3 / 2, limit * 2} {
		t.Run(fmt.Sprintf("%d_at_once", n), func(t *testing.T) {
			held := wave(t, n)
			wantEKS := max(n-limit, 0)
			if held["eks"] != wantEKS {
				t.Errorf("%d at once with an on-prem limit of %d: EKS got %d, want %d (%v)", n, limit, held["eks"], wantEKS, held)
			}
			for i, s := range servers {
				if s.backup || n < limit {
					continue
				}
				if got := held[backends[i].name]; got != s.maxConns {
					t.Errorf("%s held %d, want its max_conns %d (%v)", backends[i].name, got, s.maxConns, held)
				}
			}
			t.Logf("%d at once: %v", n, held)
		})
	}

	// The spare node without its replica (the autoscaler has on-prem at its minimum):
	// its connections are refused, nginx takes it out, and the others' limit is what
	// stands before EKS; no request fails.
	spare := backends[onprem-1]
	t.Run("spare_down", func(t *testing.T) {
		spare.srv.Close()
		rest := limit - servers[onprem-1].maxConns
		for _, n := range []int{rest, limit} {
			held := wave(t, n)
			if held["eks"] != n-rest || held[spare.name] != 0 {
				t.Errorf("%d at once with the spare down: EKS got %d, want %d (%v)", n, held["eks"], n-rest, held)
			}
			t.Logf("%d at once, spare down: %v", n, held)
		}
	})

	// A form posted from the public site passes the app's CSRF defence
	// (net/http.CrossOriginProtection, no trusted origins) behind nginx, because nginx
	// passes the public Host; one from another site does not.
	for origin, want := range map[string]int{"https://" + publicName: http.StatusOK, "https://evil.example": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("section_id=1"))
		req.Host = publicName
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", origin)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("POST with Origin %s through nginx: %d, want %d", origin, resp.StatusCode, want)
		}
	}

	// What the app sees of the client: the public name and the client's address.
	h := backends[0].headers
	for name, want := range map[string]string{"Host": publicName, "X-Real-Ip": "127.0.0.1",
		"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": publicName} {
		if got := h.Get(name); got != want {
			t.Errorf("the app saw %s %q, want %q", name, got, want)
		}
	}
}

// stubWriting reads the Writing count of nginx's stub_status on the site's status listener.
func stubWriting(t *testing.T, s *site) int {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stub_status", s.statusPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var reading, writing, waiting int
	i := strings.Index(string(body), "Reading:")
	if resp.StatusCode != http.StatusOK || i < 0 {
		t.Fatalf("stub_status: %d %s", resp.StatusCode, body)
	}
	if _, err := fmt.Sscanf(string(body[i:]), "Reading: %d Writing: %d Waiting: %d", &reading, &writing, &waiting); err != nil {
		t.Fatalf("stub_status %q: %v", body, err)
	}
	return writing
}
