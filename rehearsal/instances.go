package rehearsal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Serve says how the tool starts app instances of its own: Command (the school binary
// and "serve") gets -addr and -ops-addr for each instance; Env is their environment (the
// DSN and the directory settings), Log receives their output.
type Serve struct {
	Command  []string
	Env      []string
	Addrs    []string // loopback host:port, one per instance
	OpsAddrs []string // each instance's operators' listener (/readyz, /metrics), in the same order
	Log      io.Writer
}

// appProcess is one app instance the tool started, and restarts after a kill drill.
type appProcess struct {
	serve   Serve
	addr    string
	opsAddr string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	// asked is set before the tool ends the process; a failed exit without it is a crash.
	// (A clean exit the tool did not ask for is a shutdown someone else signalled, such as
	// an operator's interrupt reaching the whole process group: no crash.)
	asked atomic.Bool
	exits atomic.Int64
	log   io.Writer // the process's own line writer into the shared logCounter
}

func (p *appProcess) url() string    { return "http://" + p.addr }
func (p *appProcess) opsURL() string { return "http://" + p.opsAddr }

func (p *appProcess) start(ctx context.Context) error {
	p.mu.Lock()
	args := append(append([]string(nil), p.serve.Command[1:]...), "-addr", p.addr, "-ops-addr", p.opsAddr, "-cookie-secure=false")
	cmd := exec.Command(p.serve.Command[0], args...)
	cmd.Env = p.serve.Env
	cmd.Stdout, cmd.Stderr = p.log, p.log
	p.asked.Store(false)
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.serve.Command[0], err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		if !p.asked.Load() && err != nil {
			p.exits.Add(1)
		}
		close(done)
	}()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	return waitReady(ctx, p.opsURL(), done)
}

// waitReady waits until /readyz on the operators' listener at base answers 200 (MySQL and
// the directory reachable).
func waitReady(ctx context.Context, base string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return fmt.Errorf("the app at %s exited before it was ready", base)
		case <-ctx.Done():
			return fmt.Errorf("the app at %s is not ready: %w", base, errors.Join(ctx.Err(), err))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *appProcess) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill ends the instance at once (SIGKILL): requests in flight get no answer.
func (p *appProcess) kill() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return nil
	}
	p.asked.Store(true)
	if err := cmd.Process.Kill(); err != nil {
		return fmt.Errorf("kill app instance %s (pid %d): %w", p.addr, cmd.Process.Pid, err)
	}
	<-done
	return nil
}

// stop asks the instance to shut down (SIGTERM) and waits for it.
func (p *appProcess) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	p.asked.Store(true)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}
