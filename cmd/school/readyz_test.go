package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/internal/testlog"
)

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// repoRoot walks up from the test's directory (cmd/school) to the one holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// privateStack is a MariaDB and a slapd of the test's own, started by deploy/local/stack
// in a temporary folder on free ports; the shared stack in .local is never touched.
type privateStack struct {
	script string
	env    []string
	dir    string
}

func startPrivateStack(t *testing.T) *privateStack {
	t.Helper()
	root := repoRoot(t)
	base := t.TempDir()
	s := &privateStack{script: snapshotStack(t, root, base), dir: filepath.Join(base, "stack")}
	// Drop every SCHOOL_STACK_* the caller may have (stack.env sets SCHOOL_STACK_DIR), so
	// no command of this test can reach the shared stack.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SCHOOL_STACK_") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env,
		"SCHOOL_STACK_DIR="+s.dir,
		fmt.Sprintf("SCHOOL_STACK_DB_PORT=%d", freePort(t)),
		fmt.Sprintf("SCHOOL_STACK_LDAP_PORT=%d", freePort(t)),
		fmt.Sprintf("SCHOOL_STACK_LDAPS_PORT=%d", freePort(t)),
		"PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin",
	)
	// Registered after t.TempDir, so it runs before the folder is removed.
	t.Cleanup(func() { s.run(t, "down") })
	s.run(t, "up")
	return s
}

// snapshotStack copies deploy/local (the script and the LDAP schema it includes) under
// base and returns the copy's script. Bash reads a script as it runs it, so a run of the
// repository's own file breaks when someone saves it meanwhile; the copy stays put.
func snapshotStack(t testing.TB, root, base string) string {
	t.Helper()
	src := filepath.Join(root, "deploy", "local")
	dst := filepath.Join(base, "deploy", "local")
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy deploy/local: %v", err)
	}
	return filepath.Join(dst, "stack")
}

// run runs the stack script and fails the test when it fails: a missing mariadbd or slapd
// is a failure, never a skip.
func (s *privateStack) run(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.script, args...)
	cmd.Env = s.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// The servers it starts keep running; should one hold the output pipe, do not wait on it.
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("deploy/local/stack %s: %v\n%s", strings.Join(args, " "), err, out.String())
	}
	t.Logf("deploy/local/stack %s:\n%s", strings.Join(args, " "), out.String())
}

// settings reads the stack.env the script wrote: KEY='value' lines.
func (s *privateStack) settings(t testing.TB) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(s.dir, "stack.env"))
	if err != nil {
		t.Fatalf("stack.env: %v", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		m[k] = strings.Trim(v, "'")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"SCHOOL_DB_DSN", "SCHOOL_LDAP_URL", "SCHOOL_LDAP_BASE_DN", "SCHOOL_LDAP_BIND_DN", "SCHOOL_LDAP_BIND_PASSWORD"} {
		if m[k] == "" {
			t.Fatalf("stack.env lacks %s", k)
		}
	}
	if m["SCHOOL_STACK_DIR"] != s.dir {
		t.Fatalf("stack.env is for %q, not the test's %q", m["SCHOOL_STACK_DIR"], s.dir)
	}
	return m
}

// runningApp is run(ctx, "serve", …) in a goroutine: url is the public listener, ops
// the operators' one.
type runningApp struct {
	url    string
	ops    string
	cancel context.CancelFunc
	done   chan int
	code   int
	exited bool
	stderr *testlog.Buffer
}

func startApp(t *testing.T, env map[string]string, args ...string) *runningApp {
	t.Helper()
	addr, opsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	a := &runningApp{url: "http://" + addr, ops: "http://" + opsAddr, cancel: cancel, done: make(chan int, 1), stderr: &testlog.Buffer{}}
	args = append([]string{"serve", "-addr", addr, "-ops-addr", opsAddr}, args...)
	go func() { a.done <- run(ctx, args, mapEnv(env), io.Discard, a.stderr) }()
	t.Cleanup(func() {
		cancel()
		if !a.exited {
			select {
			case a.code = <-a.done:
				a.exited = true
			case <-time.After(time.Minute):
				t.Errorf("the app did not stop within a minute of its context being cancelled")
			}
		}
	})
	return a
}

// stop cancels the app's context and returns run's exit code.
func (a *runningApp) stop(t *testing.T) int {
	t.Helper()
	a.cancel()
	if !a.exited {
		select {
		case a.code = <-a.done:
			a.exited = true
		case <-time.After(time.Minute):
			t.Fatalf("run did not return within a minute of its context being cancelled\nstderr:\n%s", a.stderr)
		}
	}
	return a.code
}

// get fetches a URL once; a transport error comes back as status 0.
func get(url string) (int, string, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}

// waitFor polls path on the ops listener until it answers status with a body containing
// want, for at most within; it fails the test when that never happens or the app exits
// meanwhile.
func (a *runningApp) waitFor(t *testing.T, path string, status int, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		select {
		case a.code = <-a.done:
			a.exited = true
			t.Fatalf("the app exited with code %d while waiting for %s %d\nstderr:\n%s", a.code, path, status, a.stderr)
		default:
		}
		code, body, err := get(a.ops + path)
		if code == status && strings.Contains(body, want) {
			return body
		}
		last = fmt.Sprintf("status %d, body %q, error %v", code, body, err)
		if time.Now().After(deadline) {
			t.Fatalf("GET %s did not answer %d %q within %s; last: %s", path, status, want, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReadyzThroughOutage runs the real app against its own MariaDB and slapd, stops each
// in turn and starts it again: readiness follows without the app restarting, liveness
// never wavers, and a cancelled context shuts the app down cleanly, both listeners. The
// operators' endpoints answer on their own listener only.
func TestReadyzThroughOutage(t *testing.T) {
	stack := startPrivateStack(t)
	env := stack.settings(t)
	app := startApp(t, env, "-migrate", "-cookie-secure=false", "-shutdown-timeout", "10s",
		"-ldap-timeout", "2s", "-log-format", "text")

	const wait = 30 * time.Second
	body := app.waitFor(t, "/readyz", http.StatusOK, "", wait)
	if body != "mysql: ok\nldap: ok\n" {
		t.Errorf("ready body %q, want both ok", body)
	}
	app.waitFor(t, "/metrics", http.StatusOK, `go_sql_max_open_connections{db_name="school"}`, wait)
	// The public listener serves pages and liveness, never the operators' endpoints.
	if code, body, err := get(app.url + "/healthz"); code != http.StatusOK {
		t.Errorf("public /healthz: %d %q %v", code, body, err)
	}
	for _, path := range []string{"/readyz", "/metrics"} {
		if code, body, err := get(app.url + path); code != http.StatusNotFound || strings.Contains(body, "mysql:") || strings.Contains(body, "go_sql_") {
			t.Errorf("public %s: %d %v, want 404 without the operators' answer\n%s", path, code, err, body)
		}
	}

	// A second instance whose ops port is taken does not run without its probes: it
	// stops, public listener included, and says why.
	opsAddr := strings.TrimPrefix(app.ops, "http://")
	clash := startApp(t, env, "-cookie-secure=false", "-ops-addr", opsAddr, "-log-format", "text")
	select {
	case clash.code = <-clash.done:
		clash.exited = true
	case <-time.After(time.Minute):
		t.Fatalf("an instance whose ops port is taken still runs\nstderr:\n%s", clash.stderr)
	}
	if clash.code != 1 || !strings.Contains(clash.stderr.String(), "listen on "+opsAddr) {
		t.Errorf("ops port taken: exit code %d, want 1 and the address in stderr:\n%s", clash.code, clash.stderr)
	}
	if _, _, err := get(clash.url + "/healthz"); err == nil {
		t.Errorf("the instance that could not open its ops port still serves pages")
	}

	stack.run(t, "down", "mariadb")
	body = app.waitFor(t, "/readyz", http.StatusServiceUnavailable, "mysql: unreachable", wait)
	t.Logf("MariaDB down: /readyz says %q", body)
	app.waitFor(t, "/healthz", http.StatusOK, "ok", wait)
	stack.run(t, "up", "mariadb")
	app.waitFor(t, "/readyz", http.StatusOK, "mysql: ok\nldap: ok", wait)

	stack.run(t, "down", "slapd")
	body = app.waitFor(t, "/readyz", http.StatusServiceUnavailable, "ldap: unreachable", wait)
	if !strings.Contains(body, "mysql: ok") {
		t.Errorf("slapd down: /readyz body %q should still say mysql: ok", body)
	}
	app.waitFor(t, "/healthz", http.StatusOK, "ok", wait)
	stack.run(t, "up", "slapd")
	app.waitFor(t, "/readyz", http.StatusOK, "mysql: ok\nldap: ok", wait)

	// The same run served throughout: it never exited, so nothing restarted it.
	if code := app.stop(t); code != 0 {
		t.Fatalf("run returned %d after the context was cancelled, want 0\nstderr:\n%s", code, app.stderr)
	}
	for _, u := range []string{app.url, app.ops} {
		if _, _, err := get(u + "/healthz"); err == nil {
			t.Errorf("%s still answers after run returned", u)
		}
	}
}
