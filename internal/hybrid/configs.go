package hybrid

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// The shipped files are copied with only what the drill must change rewritten; each
// rewrite names the text it expects, and fails when the shipped file no longer has it
// exactly so often, so a change there cannot be silently ignored here.
type rewriter struct {
	file string
	s    string
	err  error
}

func (r *rewriter) replace(old, repl string, n int) {
	if r.err != nil {
		return
	}
	if got := strings.Count(r.s, old); got != n {
		r.err = fmt.Errorf("%s: want %q %d times, found %d: the rewrite no longer fits the shipped file", r.file, old, n, got)
		return
	}
	r.s = strings.ReplaceAll(r.s, old, repl)
}

func readShipped(path string) (*rewriter, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &rewriter{file: filepath.Base(path), s: string(b)}, nil
}

func (r *rewriter) writeTo(path string) error {
	if r.err != nil {
		return r.err
	}
	return os.WriteFile(path, []byte(r.s), 0o644)
}

var upstreamServer = regexp.MustCompile(`(?m)^(\s*server\s+)(\S+)((?:\s+[^;]+)?;)`)

// writeNginx copies deploy/nginx: listeners and upstream addresses to loopback, max_conns
// lowered to o.MaxConns, logs, pid and temporary folders into dir/nginx.
func writeNginx(o Options, p Ports) (conf string, err error) {
	dir := filepath.Join(o.Dir, "nginx")
	for _, sub := range []string{"logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return "", err
		}
	}
	src := filepath.Join(o.Repo, "deploy", "nginx")
	m, err := readShipped(filepath.Join(src, "nginx.conf"))
	if err != nil {
		return "", err
	}
	user := "user root;"
	if os.Geteuid() != 0 {
		user = ""
	}
	m.replace("user www-data;", user, 1)
	m.replace("pid /run/nginx.pid;", "pid "+filepath.Join(dir, "nginx.pid")+";", 1)
	m.replace(" /var/log/nginx/", " "+filepath.Join(dir, "logs")+"/", 2)
	// The access log is read during the drill (which tier answered): flushed each second.
	m.replace("buffer=64k flush=5s;", "buffer=4k flush=1s;", 1)
	// and when each request ended, to the millisecond: the drill counts on-prem's
	// requests in flight when one went to EKS.
	m.replace("'rt=$request_time upstream=", "'msec=$msec rt=$request_time upstream=", 1)
	m.replace("include /etc/nginx/school/", "include "+dir+"/", 2)
	var temps strings.Builder
	for _, d := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&temps, "\n\t%s_temp_path %s;", d, filepath.Join(dir, "tmp", d))
	}
	m.replace("http {", "http {"+temps.String(), 1)
	if err := m.writeTo(filepath.Join(dir, "nginx.conf")); err != nil {
		return "", err
	}

	up, err := readShipped(filepath.Join(src, "upstream.conf"))
	if err != nil {
		return "", err
	}
	addrs := []string{loop(p.OnPrem[0]), loop(p.OnPrem[1]), loop(p.OnPrem[2]), loop(p.NLB)}
	i := 0
	up.s = upstreamServer.ReplaceAllStringFunc(up.s, func(line string) string {
		sm := upstreamServer.FindStringSubmatch(line)
		if i >= len(addrs) {
			i++
			return line
		}
		i++
		return sm[1] + addrs[i-1] + sm[3]
	})
	if i != len(addrs) {
		return "", fmt.Errorf("upstream.conf: %d servers, the topology has %d (three on-prem nodes, the EKS ingress)", i, len(addrs))
	}
	up.replace("max_conns=64 ", fmt.Sprintf("max_conns=%d ", o.MaxConns), 3)
	if err := up.writeTo(filepath.Join(dir, "upstream.conf")); err != nil {
		return "", err
	}

	cert, key, err := writeCert(dir)
	if err != nil {
		return "", err
	}
	st, err := readShipped(filepath.Join(src, "site.conf"))
	if err != nil {
		return "", err
	}
	st.replace("listen 80;", "listen "+loop(p.HTTP)+";", 1)
	st.replace("listen [::]:80;\n", "", 1)
	st.replace("listen 443 ssl http2;", "listen "+loop(p.HTTPS)+" ssl http2;", 1)
	st.replace("listen [::]:443 ssl http2;\n", "", 1)
	st.replace("listen 127.0.0.1:8080;", "listen "+loop(p.StubStatus)+";", 1)
	st.replace("/etc/ssl/school/fullchain.pem", cert, 1)
	st.replace("/etc/ssl/school/privkey.pem", key, 1)
	if err := st.writeTo(filepath.Join(dir, "site.conf")); err != nil {
		return "", err
	}
	return filepath.Join(dir, "nginx.conf"), nil
}

// CertFile is the drill's self-signed certificate for nginx (127.0.0.1 and the public
// name): clients trust it through SSL_CERT_FILE.
func CertFile(dir string) string { return filepath.Join(dir, "nginx", "fullchain.pem") }

func writeCert(dir string) (certPath, keyPath string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "school.example.edu"},
		DNSNames:              []string{"school.example.edu"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certPath, keyPath = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
}

func staticTargets(ports ...int) string {
	var b strings.Builder
	b.WriteString("    static_configs:\n      - targets: [")
	for i, p := range ports {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", loop(p))
	}
	b.WriteString("]\n")
	return b.String()
}

// writePrometheus copies deploy/prometheus/prometheus.yml and rules/recording.yml with
// the targets on loopback and the intervals at o.Scrape. The app's DNS discovery
// becomes the on-prem instances' ops listeners (the spare's is down while it has no
// replica, as its node's would be); the EKS federation reads the Argo CD stand-in's
// /federate, which serves kube-state-metrics' node series for the node group's ready
// nodes. The alert rules are left out: nothing here routes them.
func writePrometheus(o Options, p Ports) (conf string, err error) {
	dir := filepath.Join(o.Dir, "prometheus")
	if err := os.MkdirAll(filepath.Join(dir, "rules"), 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(o.Repo, "deploy", "prometheus")
	y, err := readShipped(filepath.Join(src, "prometheus.yml"))
	if err != nil {
		return "", err
	}
	iv := fmt.Sprintf("%ds", max(int(o.Scrape/time.Second), 1))
	y.replace("scrape_interval: 15s", "scrape_interval: "+iv, 1)
	y.replace("scrape_timeout: 10s", "scrape_timeout: "+iv, 1)
	y.replace("evaluation_interval: 15s", "evaluation_interval: "+iv, 1)
	y.replace("  - rules/alerts.yml\n", "", 1)
	y.replace(`"alertmanager.monitoring.svc:9093"`, fmt.Sprintf("%q", loop(p.Alertmanager)), 2)
	y.replace("    dns_sd_configs:\n      - names: [school-pods.school.svc.cluster.local]\n        type: A\n        port: 9100\n        refresh_interval: 15s\n",
		staticTargets(p.OnPremOps...), 1)
	y.replace("    dns_sd_configs:\n      - names: [autoscaler.school.svc.cluster.local]\n        type: A\n        port: 9102\n",
		staticTargets(p.Autoscaler), 1)
	y.replace(`["10.20.0.11:9100", "10.20.0.12:9100", "10.20.0.13:9100"]`, fmt.Sprintf("[%q]", loop(p.NodeExporter)), 1)
	y.replace(`["10.20.0.10:9113"]`, fmt.Sprintf("[%q]", loop(p.NginxExporter)), 1)
	y.replace(`["localhost:9090"]`, fmt.Sprintf("[%q]", loop(p.Prometheus)), 1)
	y.replace(`["10.40.10.20:9090"]`, fmt.Sprintf("[%q]", loop(p.ArgoCD)), 1)
	if err := y.writeTo(filepath.Join(dir, "prometheus.yml")); err != nil {
		return "", err
	}
	r, err := readShipped(filepath.Join(src, "rules", "recording.yml"))
	if err != nil {
		return "", err
	}
	r.replace("interval: 15s", "interval: "+iv, 1)
	r.replace("interval: 30s", "interval: "+iv, 1)
	if err := r.writeTo(filepath.Join(dir, "rules", "recording.yml")); err != nil {
		return "", err
	}
	return filepath.Join(dir, "prometheus.yml"), nil
}

// CPUQuery replaces the autoscaler's cpu_query in the drill. node_exporter's CPU is the
// whole machine's, and on a shared 2-core box it is everyone's load, never below the
// scale-down threshold; the on-prem nodes here are the app instances, so their own CPU
// (over the machine's cores, 20 s rate so the rush's end shows within the drill) is
// what node CPU would be on a node that runs nothing else.
const CPUQuery = `sum(rate(process_cpu_seconds_total{job="school",site="onprem"}[20s])) / count(node_cpu_seconds_total{mode="idle",site="onprem"})`

// writeAutoscaler copies deploy/k8s/autoscaler/autoscaler.yaml with the endpoints on
// loopback and the drill's intervals. It returns the lines changed, which the drill
// prints.
func writeAutoscaler(o Options, p Ports) (conf string, changed []string, err error) {
	a, err := readShipped(filepath.Join(o.Repo, "deploy", "k8s", "autoscaler", "autoscaler.yaml"))
	if err != nil {
		return "", nil, err
	}
	set := func(old, repl string, n int) {
		a.replace(old, repl, n)
		changed = append(changed, fmt.Sprintf("%s -> %s", strings.TrimSpace(old), strings.TrimSpace(repl)))
	}
	token := filepath.Join(o.Dir, "argocd-token")
	set("interval: 10s", "interval: "+o.Interval.String(), 1)
	set("state_file: /var/lib/autoscaler/state.json", "state_file: "+filepath.Join(o.Dir, "autoscaler-state.json"), 1)
	set("url: http://prometheus.monitoring.svc:9090", "url: http://"+loop(p.Prometheus), 1)
	set(`cpu_query: site:node_cpu_utilisation:avg_rate2m{site="onprem"}`, "cpu_query: '"+CPUQuery+"'", 1)
	set("url: https://argocd.school.internal", "url: http://"+loop(p.ArgoCD), 2)
	set("token_file: /var/run/secrets/argocd/token", "token_file: "+token, 2)
	a.replace("  # The internal CA that signs argocd.school.internal (Secret school-internal-ca).\n", "", 1)
	set("  ca_file: /etc/ssl/school/ca.crt\n", "", 2)
	// The rehearsal's window opens within a minute of the start: the schedule floor
	// (shipped: 2 nodes from 20 minutes before to an hour after an opening) would hold
	// EKS up through the whole drill, which is about the load-driven path.
	set("  lead_time: 20m\n", "  lead_time: 20m\n  floor_nodes: 0\n", 1)
	set("cooldown: 1m", "cooldown: "+o.Cooldown.String(), 1)
	set("inflight_per_replica: 64", fmt.Sprintf("inflight_per_replica: %d\n  waiting_per_slot: %d", o.MaxConns, o.WaitingPerSlot), 1)
	set("fast_sustain: 10s", "fast_sustain: "+o.FastSustain.String()+"\n  up_sustain: "+o.DownSustain.String()+"\n  down_sustain: "+o.DownSustain.String()+
		fmt.Sprintf("\n  replicas_per_node: %d", o.ReplicasPerNode), 1)
	set("  max_nodes: 10\n", fmt.Sprintf("  max_nodes: %d\n  endpoint: http://%s\n", o.MaxNodes, loop(p.Moto)), 1)
	set("  max_replicas: 20\n", fmt.Sprintf("  max_replicas: %d\n", o.MaxNodes*o.ReplicasPerNode), 1)
	conf = filepath.Join(o.Dir, "autoscaler.yaml")
	if err := a.writeTo(conf); err != nil {
		return "", nil, err
	}
	return conf, changed, os.WriteFile(token, []byte(argoToken+"\n"), 0o600)
}
