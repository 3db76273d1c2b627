package hybrid

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process of the topology. Each runs in its own process group, so a
// stop reaches whatever it forked (nginx's workers), and its pid is written under
// dir/pids so `down` can find it even when the supervisor itself died.
type proc struct {
	name string
	cmd  *exec.Cmd
	// stopSignal is the graceful one: SIGTERM for the app (it drains its requests),
	// SIGQUIT for nginx (finish the requests in flight).
	stopSignal syscall.Signal
	done       chan struct{}
	pidFile    string
	log        *os.File
}

// procs starts and stops the topology's processes.
type procs struct {
	dir string
	mu  sync.Mutex
	all []*proc
}

func (ps *procs) start(name string, env []string, stopSignal syscall.Signal, argv ...string) (*proc, error) {
	if err := os.MkdirAll(filepath.Join(ps.dir, "logs"), 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(ps.dir, "pids"), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(ps.dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, stopSignal: stopSignal, done: make(chan struct{}), log: logf,
		pidFile: filepath.Join(ps.dir, "pids", name)}
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return nil, err
	}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	ps.mu.Lock()
	ps.all = append(ps.all, p)
	ps.mu.Unlock()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process group to end and waits up to grace; then it kills the group.
func (p *proc) stop(grace time.Duration) {
	pgid := -p.cmd.Process.Pid
	if !p.exited() {
		syscall.Kill(pgid, p.stopSignal)
		select {
		case <-p.done:
		case <-time.After(grace):
		}
	}
	// Whatever the leader left behind in its group (nginx's workers) goes too.
	syscall.Kill(pgid, syscall.SIGKILL)
	<-p.done
	os.Remove(p.pidFile)
}

// stopAll stops every process still running, the last started first.
func (ps *procs) stopAll(grace time.Duration) {
	ps.mu.Lock()
	all := ps.all
	ps.all = nil
	ps.mu.Unlock()
	for i := len(all) - 1; i >= 0; i-- {
		all[i].stop(grace)
	}
}

func (ps *procs) forget(p *proc) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for i, q := range ps.all {
		if q == p {
			ps.all = append(ps.all[:i], ps.all[i+1:]...)
			return
		}
	}
}

// KillLeftovers kills the process group of every pid file under dir/pids whose process
// is still alive: what a supervisor that died without stopping its children left.
func KillLeftovers(dir string) (killed []string, err error) {
	entries, err := os.ReadDir(filepath.Join(dir, "pids"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		path := filepath.Join(dir, "pids", e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && pid > 1 && syscall.Kill(pid, 0) == nil {
			syscall.Kill(-pid, syscall.SIGKILL)
			killed = append(killed, e.Name())
		}
		os.Remove(path)
	}
	return killed, nil
}
