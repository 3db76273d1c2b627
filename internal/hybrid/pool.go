package hybrid

import (
	"fmt"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// pool is one tier's app instances: slot i is `school serve` on ports[i] (ops on
// opsPorts[i]). set(n) runs slots 0..n-1; a slot taken away is stopped with SIGTERM, so
// the app drains its requests in flight before it exits (its shutdown timeout).
type pool struct {
	name            string
	ps              *procs
	school          string
	env             []string
	ports, opsPorts []int

	mu      sync.Mutex
	running map[int]*proc
	ready   map[int]bool
	want    int
	wg      sync.WaitGroup // instances being drained
}

func newPool(name string, ps *procs, school string, env []string, ports, opsPorts []int) *pool {
	return &pool{name: name, ps: ps, school: school, env: env, ports: ports, opsPorts: opsPorts,
		running: map[int]*proc{}, ready: map[int]bool{}}
}

// set starts or stops instances so that n run.
func (p *pool) set(n int) error {
	n = min(max(n, 0), len(p.ports))
	p.mu.Lock()
	defer p.mu.Unlock()
	p.want = n
	for i := range len(p.ports) {
		pr, on := p.running[i]
		if on && pr.exited() {
			// An instance that died is started again, as a ReplicaSet would.
			p.ps.forget(pr)
			delete(p.running, i)
			delete(p.ready, i) // the NLB stand-in must not send to it until a probe says so
			on = false
		}
		switch {
		case i < n && !on:
			pr, err := p.ps.start(fmt.Sprintf("%s-%d", p.name, i+1), p.env, syscall.SIGTERM, p.school, "serve",
				"-addr", loop(p.ports[i]), "-ops-addr", loop(p.opsPorts[i]))
			if err != nil {
				return err
			}
			p.running[i] = pr
		case i >= n && on:
			delete(p.running, i)
			delete(p.ready, i)
			p.ps.forget(pr)
			p.wg.Add(1)
			go func() { defer p.wg.Done(); pr.stop(30 * time.Second) }()
		}
	}
	return nil
}

// probe asks every running instance's /readyz, as the kubelet's readiness probe does.
func (p *pool) probe(client *http.Client) {
	p.mu.Lock()
	slots := make([]int, 0, len(p.running))
	for i := range p.running {
		slots = append(slots, i)
	}
	p.mu.Unlock()
	for _, i := range slots {
		ok := false
		if resp, err := client.Get(fmt.Sprintf("http://%s/readyz", loop(p.opsPorts[i]))); err == nil {
			ok = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		p.mu.Lock()
		if _, still := p.running[i]; still {
			p.ready[i] = ok
		}
		p.mu.Unlock()
	}
}

// readyAddrs are the addresses of the instances that answered /readyz.
func (p *pool) readyAddrs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for i := range len(p.ports) {
		if p.ready[i] {
			out = append(out, loop(p.ports[i]))
		}
	}
	return out
}

func (p *pool) counts() (running, ready int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.running {
		running++
		if p.ready[i] {
			ready++
		}
	}
	return running, ready
}

// stopAll stops every instance and waits for those draining.
func (p *pool) stopAll() {
	p.set(0)
	p.wg.Wait()
}
