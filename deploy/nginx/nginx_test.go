// Package nginx_test checks the shipped load-balancer configuration with Debian's nginx:
// `nginx -t` on the whole tree, and the overflow rule (overflow_test.go) with the
// shipped upstream in front of local stand-ins for the on-prem nodes and the EKS ingress.
// The files are copied into a private prefix with only their paths, addresses and ports
// rewritten; every rewrite must match, so a reshaped file fails here instead of being
// tested half.
package nginx_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const publicName = "school.example.edu"

// nginxBinary finds Debian's nginx; its absence fails the test (make test installs it).
func nginxBinary(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatal("nginx is not installed: run `make test` (it installs Debian's nginx) or apt-get install -y nginx")
	return ""
}

// upstreamServer is one `server` line of the shipped upstream.
type upstreamServer struct {
	addr     string
	backup   bool
	maxConns int
}

var serverLine = regexp.MustCompile(`(?m)^(\s*server\s+)(\S+)((?:\s+[^;]+)?;)`)

// shippedUpstream reads the servers of deploy/nginx/upstream.conf.
func shippedUpstream(t *testing.T) []upstreamServer {
	t.Helper()
	b, err := os.ReadFile("upstream.conf")
	if err != nil {
		t.Fatal(err)
	}
	var out []upstreamServer
	for _, m := range serverLine.FindAllStringSubmatch(string(b), -1) {
		s := upstreamServer{addr: m[2]}
		for _, f := range strings.Fields(strings.TrimSuffix(m[3], ";")) {
			if f == "backup" {
				s.backup = true
			}
			if v, ok := strings.CutPrefix(f, "max_conns="); ok {
				if s.maxConns, err = strconv.Atoi(v); err != nil {
					t.Fatalf("server %s: max_conns=%q", s.addr, v)
				}
			}
		}
		out = append(out, s)
	}
	return out
}

// site is a private nginx prefix built from the shipped files.
type site struct {
	dir, conf  string
	httpsPort  int
	httpPort   int
	statusPort int
	errLogPath string
}

// replaceN replaces old by repl in s and fails unless old occurs exactly n times.
func replaceN(t *testing.T, file, s, old, repl string, n int) string {
	t.Helper()
	if got := strings.Count(s, old); got != n {
		t.Fatalf("%s: want %q %d times, found %d: the test's rewrite no longer fits the shipped file", file, old, n, got)
	}
	return strings.ReplaceAll(s, old, repl)
}

// newSite copies nginx.conf, upstream.conf and site.conf into a temporary prefix. addrs
// replaces the upstream's server addresses in order (nil keeps them); the listeners move
// to free loopback ports; a certificate for the public name is made for the test.
func newSite(t *testing.T, addrs []string) *site {
	t.Helper()
	dir := t.TempDir()
	s := &site{dir: dir, conf: filepath.Join(dir, "nginx.conf"), httpsPort: freePort(t), httpPort: freePort(t), statusPort: freePort(t),
		errLogPath: filepath.Join(dir, "error.log")}
	read := func(name string) string {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, sub := range []string{"tmp", "logs"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	main := read("nginx.conf")
	user := "user root;"
	if os.Geteuid() != 0 {
		user = "" // the directive needs a root master
	}
	main = replaceN(t, "nginx.conf", main, "user www-data;", user, 1)
	main = replaceN(t, "nginx.conf", main, "pid /run/nginx.pid;", "pid "+filepath.Join(dir, "nginx.pid")+";", 1)
	main = replaceN(t, "nginx.conf", main, " /var/log/nginx/", " "+filepath.Join(dir, "logs")+"/", 2)
	main = replaceN(t, "nginx.conf", main, "include /etc/nginx/school/", "include "+dir+"/", 2)
	// Debian's compiled-in temporary folders are under /var/lib/nginx: keep them private.
	var temps strings.Builder
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "\n\t%s_temp_path %s;", d, filepath.Join(dir, "tmp", d))
	}
	main = replaceN(t, "nginx.conf", main, "http {", "http {"+temps.String(), 1)
	write("nginx.conf", main)

	up := read("upstream.conf")
	if addrs != nil {
		i := 0
		up = serverLine.ReplaceAllStringFunc(up, func(line string) string {
			m := serverLine.FindStringSubmatch(line)
			if i >= len(addrs) {
				t.Fatalf("upstream.conf has more servers than the test started (%d)", len(addrs))
			}
			i++
			return m[1] + addrs[i-1] + m[3]
		})
		if i != len(addrs) {
			t.Fatalf("upstream.conf has %d servers, the test started %d", i, len(addrs))
		}
	}
	write("upstream.conf", up)

	cert, key := writeCert(t, dir)
	st := read("site.conf")
	st = replaceN(t, "site.conf", st, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", s.httpPort), 1)
	st = replaceN(t, "site.conf", st, "listen [::]:80;\n", "", 1)
	st = replaceN(t, "site.conf", st, "listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", s.httpsPort), 1)
	st = replaceN(t, "site.conf", st, "listen [::]:443 ssl http2;\n", "", 1)
	st = replaceN(t, "site.conf", st, "listen 127.0.0.1:8080;", fmt.Sprintf("listen 127.0.0.1:%d;", s.statusPort), 1)
	st = replaceN(t, "site.conf", st, "/etc/ssl/school/fullchain.pem", cert, 1)
	st = replaceN(t, "site.conf", st, "/etc/ssl/school/privkey.pem", key, 1)
	write("site.conf", st)
	return s
}

// args are nginx's command-line flags for the private prefix.
func (s *site) args(extra ...string) []string {
	return append([]string{"-p", s.dir + "/", "-c", s.conf, "-e", s.errLogPath}, extra...)
}

// writeCert makes a self-signed ECDSA certificate for the public name and 127.0.0.1.
func writeCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: publicName},
		DNSNames:     []string{publicName},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestConfigSyntax is `nginx -t` on the shipped files, as they are (their upstream
// addresses included).
func TestConfigSyntax(t *testing.T) {
	bin := nginxBinary(t)
	s := newSite(t, nil)
	out, err := exec.Command(bin, s.args("-t")...).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("test is successful")) {
		t.Fatalf("nginx -t did not report success:\n%s", out)
	}
}

// TestShippedUpstream pins what the overflow rule rests on: at least one on-prem server,
// each with max_conns, and an EKS backup.
func TestShippedUpstream(t *testing.T) {
	b, err := os.ReadFile("upstream.conf")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^\s*zone\s+school_app\s+\d+k;`).Match(b) {
		t.Error("the upstream has no shared-memory zone: max_conns would be counted per worker")
	}
	var onprem, backup int
	for _, s := range shippedUpstream(t) {
		switch {
		case s.backup:
			backup++
		case s.maxConns <= 0:
			t.Errorf("on-prem server %s has no max_conns: nothing would ever overflow", s.addr)
		default:
			onprem++
		}
	}
	if onprem == 0 || backup == 0 {
		t.Errorf("want on-prem servers and a backup, have %d and %d", onprem, backup)
	}
}

// startNginx runs nginx in the foreground as a child process until the test ends.
func startNginx(t *testing.T, s *site) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, nginxBinary(t), s.args("-g", "daemon off;")...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// SIGQUIT is nginx's graceful stop; the context kills it if that is not enough.
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	addr := fmt.Sprintf("127.0.0.1:%d", s.httpsPort)
	for i := 0; ; i++ {
		select {
		case <-exited:
			log, _ := os.ReadFile(s.errLogPath)
			t.Fatalf("nginx exited: %s\n%s", out.String(), log)
		default:
		}
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if i > 300 {
			t.Fatalf("nginx does not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pathRecorder stands in for the app: it answers every request and remembers its path.
type pathRecorder struct {
	mu    sync.Mutex
	paths []string
}

func (p *pathRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	p.mu.Unlock()
	fmt.Fprint(w, "app")
}

func (p *pathRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.paths)
}

// TestOpsEndpointsRefused runs the shipped site in front of stand-ins for every
// upstream server: /metrics and /readyz, however spelt, are answered 404 by nginx and
// never reach the app; the pages and /healthz do.
func TestOpsEndpointsRefused(t *testing.T) {
	app := &pathRecorder{}
	var addrs []string
	for range shippedUpstream(t) {
		srv := httptest.NewServer(app)
		t.Cleanup(srv.Close)
		addrs = append(addrs, strings.TrimPrefix(srv.URL, "http://"))
	}
	site := newSite(t, addrs)
	startNginx(t, site)
	// The request line is written by hand, so each path reaches nginx as spelt.
	get := func(path string) (int, string) {
		t.Helper()
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", site.httpsPort), &tls.Config{ServerName: publicName, InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, publicName)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for _, path := range []string{"/metrics", "/readyz", "/metrics?name[]=up", "/readyz?verbose=1",
		"//metrics", "/%6detrics", "/./readyz", "/courses/../metrics", "/metrics/", "/readyz/x"} {
		before := len(app.seen())
		status, body := get(path)
		if status != http.StatusNotFound || body == "app" || len(app.seen()) != before {
			t.Errorf("GET %s through nginx: %d %q, reached the app: %v; want nginx's 404", path, status, body, app.seen()[before:])
		}
	}
	for _, path := range []string{"/healthz", "/courses", "/metricsfoo", "/queue"} {
		if status, body := get(path); status != http.StatusOK || body != "app" {
			t.Errorf("GET %s through nginx: %d %q, want the app's answer", path, status, body)
		}
	}
}

// TestNoLiveUpstreamIs503: with every upstream server unreachable (on-prem full or down and
// EKS not ready yet), nginx answers what the app answers to a fault, 503 with Retry-After,
// not its own 502; an app's own answer (here a 502 it made) passes through untouched.
func TestNoLiveUpstreamIs503(t *testing.T) {
	var addrs []string
	for range shippedUpstream(t) {
		// A port nobody listens on: the connection is refused.
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	}
	site := newSite(t, addrs)
	startNginx(t, site)
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: publicName, InsecureSkipVerify: true}}}
	req, _ := http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/courses", site.httpsPort), nil)
	req.Host = publicName
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("no live upstream: %d, Retry-After %q, %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if res.Header.Get("Strict-Transport-Security") == "" || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("no live upstream: headers %v, want HSTS and no-store", res.Header)
	}

	// An app that answers 502 itself is passed through as it said.
	own := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the app's own 502", http.StatusBadGateway)
	}))
	t.Cleanup(own.Close)
	var ownAddrs []string
	for range shippedUpstream(t) {
		ownAddrs = append(ownAddrs, strings.TrimPrefix(own.URL, "http://"))
	}
	site = newSite(t, ownAddrs)
	startNginx(t, site)
	req, _ = http.NewRequest("GET", fmt.Sprintf("https://127.0.0.1:%d/courses", site.httpsPort), nil)
	req.Host = publicName
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "the app's own 502") {
		t.Errorf("the app's own 502: %d %q, want it passed through", res.StatusCode, body)
	}
}
