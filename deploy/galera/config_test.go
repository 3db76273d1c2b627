// Package galera_test checks the on-prem Galera files with the programs that will read
// them, from Debian's packages (make test installs them): haproxy -c, keepalived -t, and
// mariadbd reading galera.cnf (which refuses an unknown option). It also pins the rules
// the failover rests on; deploy/galera_test.go drives the same shape on loopback.
package galera_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func binary(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("%s is not installed: run `make test`, which installs it", name)
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(binary(t, name), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHAProxyConfig(t *testing.T) {
	run(t, "haproxy", "-c", "-q", "-f", "haproxy.cfg")
	cfg := read(t, "haproxy.cfg")
	servers := regexp.MustCompile(`(?m)^\s*server\s+(\S+)\s+\S+(.*)$`).FindAllStringSubmatch(cfg, -1)
	writers := 0
	for _, s := range servers {
		if !strings.Contains(s[2], "backup") {
			writers++
		}
	}
	if len(servers) != 3 || writers != 1 {
		t.Errorf("%d servers, %d not backup: want three nodes, one writer", len(servers), writers)
	}
	for _, want := range []string{"stick on dst", "option external-check", "external-check command /usr/local/bin/galera-check", "on-marked-down shutdown-sessions"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy.cfg lacks %q", want)
		}
	}
}

func TestKeepalivedConfig(t *testing.T) {
	run(t, "keepalived", "-t", "-f", "keepalived.conf")
}

// mariadbd reads the file as the server would and stops at any option it does not know.
func TestGaleraNodeConfig(t *testing.T) {
	out := run(t, "mariadbd", "--defaults-file=galera.cnf", "--help", "--verbose")
	for _, want := range []string{"wsrep-on", "wsrep-gtid-mode", "log-slave-updates"} {
		if !regexp.MustCompile(`(?m)^` + want + `\s+(TRUE|ON)\s*$`).MatchString(out) {
			t.Errorf("mariadbd does not read %s as on from galera.cnf", want)
		}
	}
	if !regexp.MustCompile(`(?m)^innodb-autoinc-lock-mode\s+2\s*$`).MatchString(out) {
		t.Error("galera.cnf must set innodb_autoinc_lock_mode = 2")
	}
}

// The health check answers from the node's own state: up only when Synced in the
// primary component. Against a server that is not there it must say down.
func TestGaleraCheckDownWhenUnreachable(t *testing.T) {
	if err := exec.Command("./galera-check", "", "", "127.0.0.1", "1").Run(); err == nil {
		t.Error("galera-check says up for a node nobody listens for")
	}
}
