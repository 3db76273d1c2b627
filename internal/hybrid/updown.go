package hybrid

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Start runs argv (a `school hybrid run` command line) as a detached supervisor in its
// own session, its output in dir/hybrid.log, and waits until it writes dir/ready or exits.
func Start(ctx context.Context, dir string, argv []string, env []string, within time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if pid, ok := supervisorPid(dir); ok {
		return fmt.Errorf("the topology in %s is already up (supervisor pid %d): deploy/local/hybrid down first", dir, pid)
	}
	os.Remove(filepath.Join(dir, "ready"))
	logf, err := os.OpenFile(filepath.Join(dir, "hybrid.log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hybrid.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(within)
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			return nil
		}
		select {
		case err := <-exited:
			os.Remove(filepath.Join(dir, "hybrid.pid"))
			return fmt.Errorf("the supervisor exited (%v): see %s", err, filepath.Join(dir, "hybrid.log"))
		case <-deadline:
			Stop(dir, time.Minute)
			return fmt.Errorf("not up after %s: see %s", within, filepath.Join(dir, "hybrid.log"))
		case <-ctx.Done():
			Stop(dir, time.Minute)
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func supervisorPid(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "hybrid.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || syscall.Kill(pid, 0) != nil {
		return 0, false
	}
	return pid, true
}

// Stop ends the supervisor (SIGTERM: it drains the app instances and stops every process
// it started) and waits for it; then it kills whatever a pid file still names (what a
// supervisor that was killed outright left behind).
func Stop(dir string, within time.Duration) error {
	var err error
	if pid, ok := supervisorPid(dir); ok {
		syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(within)
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				err = fmt.Errorf("the supervisor did not stop within %s and was killed", within)
				break
			}
			// The supervisor is our child only when the same process started it.
			var ws syscall.WaitStatus
			syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			time.Sleep(100 * time.Millisecond)
		}
	}
	os.Remove(filepath.Join(dir, "hybrid.pid"))
	killed, kerr := KillLeftovers(dir)
	if len(killed) > 0 {
		err = errors.Join(err, fmt.Errorf("killed processes left behind: %s", strings.Join(killed, ", ")))
	}
	return errors.Join(err, kerr)
}
