package hybrid

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binaries builds cmd/school and cmd/autoscaler of this checkout.
func binaries(t *testing.T) (school, autoscaler string) {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"school", "autoscaler"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, name), "../../cmd/"+name).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(dir, "school"), filepath.Join(dir, "autoscaler")
}

func requireEnv(t *testing.T) {
	t.Helper()
	if os.Getenv("SCHOOL_DB_DSN") == "" || os.Getenv("SCHOOL_LDAP_URL") == "" {
		t.Fatal("SCHOOL_DB_DSN and SCHOOL_LDAP_URL are required: make stack-up; set -a; . .local/stack.env; set +a")
	}
	if _, err := lookBinary("moto_server", "/root/.pyenv/shims/moto_server"); err != nil {
		t.Fatal("moto_server is missing: pip install 'moto[server]'")
	}
}

// upArgs is the supervisor's command line for a topology in dir on ports from base.
func upArgs(school, autoscaler, dir string, base int, extra ...string) []string {
	return append([]string{school, "hybrid", "run", "-dir", dir, "-repo", "../..", "-base", strconv.Itoa(base), "-autoscaler", autoscaler}, extra...)
}

// livePids are the pids the topology's pid files name, the supervisor's included.
func livePids(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(dir, "pids", "*"))
	files = append(files, filepath.Join(dir, "hybrid.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			out[filepath.Base(f)] = pid
		}
	}
	return out
}

// alive reports whether pid runs (a zombie has ended).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func clientFor(t *testing.T, dir string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(CertFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// TestUpDownLeavesNothing brings the whole topology up as `school hybrid up` does, checks
// that a student's page comes through nginx from an on-prem instance and that the
// autoscaler reads its signals and tiers, then brings it down: every process it started
// has ended and none of its ports listens.
func TestUpDownLeavesNothing(t *testing.T) {
	requireEnv(t)
	school, autoscaler := binaries(t)
	dir := filepath.Join(t.TempDir(), "run")
	const base = 19700
	p := PortsFrom(base)
	if err := Start(t.Context(), dir, upArgs(school, autoscaler, dir, base), os.Environ(), 3*time.Minute); err != nil {
		Stop(dir, time.Minute)
		t.Fatal(err)
	}
	t.Cleanup(func() { Stop(dir, time.Minute) })
	pids := livePids(t, dir)
	for _, want := range []string{"hybrid.pid", "moto", "nginx", "nginx-exporter", "node-exporter", "prometheus", "autoscaler", "onprem-1", "onprem-2"} {
		if pid, ok := pids[want]; !ok || !alive(pid) {
			t.Errorf("%s is not running after up (pids %v)", want, pids)
		}
	}

	resp, err := clientFor(t, dir).Get(fmt.Sprintf("https://127.0.0.1:%d/login", p.HTTPS))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login through nginx: %d", resp.StatusCode)
	}
	var st struct {
		Tiers []struct {
			Target string `json:"target"`
			Actual int    `json:"actual"`
			Read   bool   `json:"read"`
		} `json:"tiers"`
	}
	// The autoscaler's first evaluation reads every tier from the stand-in and moto.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		st.Tiers = nil
		if r, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/status", p.Autoscaler)); err == nil {
			json.NewDecoder(r.Body).Decode(&st)
			r.Body.Close()
		}
		read := 0
		for _, tr := range st.Tiers {
			if tr.Read {
				read++
			}
		}
		if len(st.Tiers) == 3 && read == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the autoscaler did not read its three tiers: %+v", st.Tiers)
		}
	}
	if st.Tiers[0].Target != "onprem" || st.Tiers[0].Actual != 2 {
		t.Errorf("on-prem tier %+v, want 2 replicas (the floor)", st.Tiers[0])
	}

	if err := Stop(dir, 2*time.Minute); err != nil {
		t.Errorf("down: %v", err)
	}
	for name, pid := range pids {
		if alive(pid) {
			t.Errorf("%s (pid %d) still runs after down", name, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	for _, port := range p.All() {
		if c, err := net.DialTimeout("tcp", loop(port), 200*time.Millisecond); err == nil {
			c.Close()
			t.Errorf("port %d still listens after down", port)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "pids", "*")); len(left) > 0 {
		t.Errorf("pid files left: %v", left)
	}
}
