package hybrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// The Applications the autoscaler's shipped config names.
const (
	appOnPrem = "school-onprem"
	appEKS    = "school-eks"
)

// State is what the topology runs at one moment (GET /hybrid/state on the stand-in).
type State struct {
	At               time.Time `json:"at"`
	OnPremDeployed   int       `json:"onprem_deployed"` // replicas Argo CD last synced
	OnPremReady      int       `json:"onprem_ready"`
	EKSDeployed      int       `json:"eks_deployed"`
	EKSRunning       int       `json:"eks_running"` // as many as the ready nodes hold
	EKSReady         int       `json:"eks_ready"`
	NodesDesired     int       `json:"nodes_desired"`
	NodesReady       int       `json:"nodes_ready"`
	ArgoSyncsRefused int       `json:"argo_syncs_refused"`
	MotoThrottled    int       `json:"moto_throttled"`
	PrometheusDown   bool      `json:"prometheus_down"`
}

// topology is the running supervisor's parts.
type topology struct {
	o      Options
	p      Ports
	ps     *procs
	log    *slog.Logger
	argo   *argoCD
	nodes  *nodeGroup
	onprem *pool
	eks    *pool

	mu            sync.Mutex
	eksWant       int
	throttleUntil time.Time
	throttled     int
	promDown      bool
	stopping      bool // down has begun: a fault's restart must not start anything
	prom          *proc
	promArgv      []string
}

// Run brings the topology up, writes dir/ready when every part answers, and keeps it
// until ctx ends; then it stops everything it started, the autoscaler first (so nothing
// acts on a half-stopped topology) and the app instances with a drain.
func Run(ctx context.Context, o Options, logw *os.File) error {
	o.defaults()
	p := PortsFrom(o.Base)
	for _, port := range p.All() {
		if c, err := net.DialTimeout("tcp", loop(port), 200*time.Millisecond); err == nil {
			c.Close()
			return fmt.Errorf("port %d is in use: another topology is up (deploy/local/hybrid down) or choose another -base", port)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return err
	}
	os.Remove(filepath.Join(o.Dir, "ready"))
	// Each run's access and error logs start empty: the drill reads them.
	os.RemoveAll(filepath.Join(o.Dir, "nginx", "logs"))
	os.RemoveAll(filepath.Join(o.Dir, "logs"))
	t := &topology{o: o, p: p, ps: &procs{dir: o.Dir}, log: slog.New(slog.NewTextHandler(logw, nil)), argo: newArgoCD(o.SyncTime)}
	defer t.ps.stopAll(20 * time.Second)
	err := t.up(ctx)
	if err == nil {
		err = os.WriteFile(filepath.Join(o.Dir, "ready"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
	}
	if err != nil {
		t.down()
		return err
	}
	t.log.Info("hybrid topology up", "students", "https://"+loop(p.HTTPS), "prometheus", "http://"+loop(p.Prometheus),
		"autoscaler", "http://"+loop(p.Autoscaler)+"/status", "argocd", "http://"+loop(p.ArgoCD))
	t.loop(ctx)
	t.down()
	os.Remove(filepath.Join(o.Dir, "ready"))
	return nil
}

func (t *topology) down() {
	t.log.Info("stopping the topology")
	t.mu.Lock()
	t.stopping = true
	t.mu.Unlock()
	for _, pr := range t.ps.snapshot() {
		if pr.name == "autoscaler" {
			t.ps.forget(pr)
			pr.stop(10 * time.Second)
		}
	}
	if t.onprem != nil {
		t.onprem.stopAll()
	}
	if t.eks != nil {
		t.eks.stopAll()
	}
	t.ps.stopAll(20 * time.Second)
}

func (ps *procs) snapshot() []*proc {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return append([]*proc(nil), ps.all...)
}

func waitPort(ctx context.Context, pr *proc, port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		if c, err := net.DialTimeout("tcp", loop(port), 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if pr != nil && pr.exited() {
			return fmt.Errorf("%s exited before it listened on %d: see %s", pr.name, port, filepath.Join(pr.pidFile, "..", "..", "logs", pr.name+".log"))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %d after %s", port, within)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func lookBinary(name string, alts ...string) (string, error) {
	for _, n := range append([]string{name}, alts...) {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s is not installed: deploy/local/hybrid installs it (as root) or names the apt-get line", name)
}

func (t *topology) up(ctx context.Context) error {
	o, p := t.o, t.p
	nginxConf, err := writeNginx(o, p)
	if err != nil {
		return err
	}
	promConf, err := writePrometheus(o, p)
	if err != nil {
		return err
	}
	asConf, changed, err := writeAutoscaler(o, p)
	if err != nil {
		return err
	}
	for _, c := range changed {
		t.log.Info("autoscaler config for the drill", "change", c)
	}
	env := os.Environ()

	// moto_server behind a small proxy that can answer EKS's throttling error (the drill).
	motoPort := o.Base + 16
	motoBin := o.Moto
	if motoBin == "" {
		if motoBin, err = lookBinary("moto_server", "/root/.pyenv/shims/moto_server"); err != nil {
			return fmt.Errorf("moto_server is missing: pip install 'moto[server]'")
		}
	}
	moto, err := t.ps.start("moto", env, syscall.SIGTERM, motoBin, "-H", "127.0.0.1", "-p", fmt.Sprint(motoPort))
	if err != nil {
		return err
	}
	if err := waitPort(ctx, moto, motoPort, 60*time.Second); err != nil {
		return err
	}
	motoURL, _ := url.Parse("http://" + loop(motoPort))
	if err := t.serve(p.Moto, t.throttle(httputil.NewSingleHostReverseProxy(motoURL))); err != nil {
		return err
	}
	client := newEKSClient("http://" + loop(p.Moto))
	if err := createNodeGroup(ctx, client, o.MaxNodes); err != nil {
		return err
	}
	t.nodes = &nodeGroup{client: client, startup: o.NodeStartup}

	// The schema first, as the school-migrate Application's Job does before the app.
	mig := exec.CommandContext(ctx, o.School, "migrate")
	mig.Env = o.Env
	if out, err := mig.CombinedOutput(); err != nil {
		return fmt.Errorf("school migrate: %v: %s", err, out)
	}

	// The tiers and the Argo CD stand-in that sizes them.
	appEnv := append(append([]string(nil), o.Env...), "SCHOOL_TRUSTED_PROXIES=127.0.0.0/8")
	t.onprem = newPool("onprem", t.ps, o.School, appEnv, p.OnPrem, p.OnPremOps)
	t.eks = newPool("eks", t.ps, o.School, appEnv, p.EKS, p.EKSOps)
	t.argo.add(appOnPrem, 2, func(n int) {
		if err := t.onprem.set(n); err != nil {
			t.log.Error("on-prem replicas", "err", err)
		}
	})
	t.argo.add(appEKS, 0, func(n int) { t.mu.Lock(); t.eksWant = n; t.mu.Unlock() })
	mux := http.NewServeMux()
	mux.Handle("/api/v1/applications/", t.argo)
	mux.HandleFunc("GET /federate", t.federate)
	mux.HandleFunc("GET /hybrid/state", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(t.state(time.Now()))
	})
	mux.HandleFunc("POST /hybrid/fault", t.fault)
	if err := t.serve(p.ArgoCD, mux); err != nil {
		return err
	}
	l, err := net.Listen("tcp", loop(p.NLB))
	if err != nil {
		return err
	}
	go (&nlb{l: l, targets: t.eks.readyAddrs}).serve()

	// The edge and the monitoring.
	nginxBin, err := lookBinary("nginx", "/usr/sbin/nginx")
	if err != nil {
		return err
	}
	nginxDir := filepath.Join(o.Dir, "nginx")
	ng, err := t.ps.start("nginx", env, syscall.SIGQUIT, nginxBin, "-p", nginxDir+"/", "-c", nginxConf,
		"-e", filepath.Join(nginxDir, "logs", "error.log"), "-g", "daemon off;")
	if err != nil {
		return err
	}
	// The exporter gives up at its start when stub_status does not answer yet.
	if err := waitPort(ctx, ng, p.StubStatus, 30*time.Second); err != nil {
		return err
	}
	exporter, err := lookBinary("prometheus-nginx-exporter")
	if err != nil {
		return err
	}
	if _, err := t.ps.start("nginx-exporter", env, syscall.SIGTERM, exporter,
		"-nginx.scrape-uri=http://"+loop(p.StubStatus)+"/stub_status", "-web.listen-address="+loop(p.NginxExporter)); err != nil {
		return err
	}
	nodeExp, err := lookBinary("prometheus-node-exporter")
	if err != nil {
		return err
	}
	if _, err := t.ps.start("node-exporter", env, syscall.SIGTERM, nodeExp, "--web.listen-address="+loop(p.NodeExporter),
		"--collector.disable-defaults", "--collector.cpu", "--collector.meminfo"); err != nil {
		return err
	}
	promBin, err := lookBinary("prometheus")
	if err != nil {
		return err
	}
	t.promArgv = []string{promBin, "--config.file=" + promConf, "--storage.tsdb.path=" + filepath.Join(o.Dir, "prometheus", "data"),
		"--web.listen-address=" + loop(p.Prometheus), "--storage.tsdb.retention.time=1d",
		// The autoscaler's staleness (the shipped 2m): Debian's 2.42 ignores its per-query lookback.
		"--query.lookback-delta=2m"}
	if t.prom, err = t.ps.start("prometheus", env, syscall.SIGTERM, t.promArgv...); err != nil {
		return err
	}
	if err := waitPort(ctx, ng, p.HTTPS, 30*time.Second); err != nil {
		return err
	}
	if err := waitPort(ctx, t.prom, p.Prometheus, 60*time.Second); err != nil {
		return err
	}

	// The real autoscaler, last: everything it reads and drives is there.
	asEnv := append(env, "AWS_ACCESS_KEY_ID=hybrid-drill", "AWS_SECRET_ACCESS_KEY=hybrid-drill", "AWS_REGION="+eksRegion)
	as, err := t.ps.start("autoscaler", asEnv, syscall.SIGTERM, o.Autoscaler, "-config", asConf, "-listen", loop(p.Autoscaler))
	if err != nil {
		return err
	}
	if err := waitPort(ctx, as, p.Autoscaler, 30*time.Second); err != nil {
		return err
	}
	// The two on-prem instances answer /readyz before the topology says it is up.
	probe := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(60 * time.Second); ; {
		t.onprem.probe(probe)
		if _, ready := t.onprem.counts(); ready >= 2 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the on-prem instances are not ready after 60s: see logs/onprem-*.log")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// serve runs handler on a loopback port until the process ends.
func (t *topology) serve(port int, h http.Handler) error {
	l, err := net.Listen("tcp", loop(port))
	if err != nil {
		return err
	}
	go (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(l)
	return nil
}

// loop is the cluster's own work, every half second: syncs finish, nodes join, the EKS
// replicas follow what the ready nodes hold (a pod with no node stays Pending), readiness
// probes, a crashed instance restarted.
func (t *topology) loop(ctx context.Context) {
	probe := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := time.Now()
		t.argo.tick(now)
		if err := t.nodes.poll(ctx, now); err != nil && ctx.Err() == nil {
			t.log.Warn("moto: describe node group", "err", err)
		}
		_, ready := t.nodes.counts(now)
		t.mu.Lock()
		want := min(t.eksWant, ready*t.o.ReplicasPerNode)
		t.mu.Unlock()
		if err := t.eks.set(want); err != nil {
			t.log.Error("EKS replicas", "err", err)
		}
		if err := t.onprem.set(t.argo.deployed(appOnPrem)); err != nil {
			t.log.Error("on-prem replicas", "err", err)
		}
		t.onprem.probe(probe)
		t.eks.probe(probe)
	}
}

func (t *topology) state(now time.Time) State {
	desired, ready := t.nodes.counts(now)
	_, onReady := t.onprem.counts()
	eksRun, eksReady := t.eks.counts()
	t.argo.mu.Lock()
	refused := t.argo.refused
	t.argo.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return State{At: now, OnPremDeployed: t.argo.deployed(appOnPrem), OnPremReady: onReady, EKSDeployed: t.argo.deployed(appEKS),
		EKSRunning: eksRun, EKSReady: eksReady, NodesDesired: desired, NodesReady: ready,
		ArgoSyncsRefused: refused, MotoThrottled: t.throttled, PrometheusDown: t.promDown}
}

// federate answers as the EKS Prometheus's /federate would for kube-state-metrics'
// node series: every node of the group asked for, Ready once it has joined (a joining
// node reports Ready status="true" as 0, as kube-state-metrics does).
func (t *topology) federate(w http.ResponseWriter, r *http.Request) {
	desired, ready := t.nodes.counts(time.Now())
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintln(w, "# TYPE kube_node_status_condition untyped")
	for i := range desired {
		v := 0
		if i < ready {
			v = 1
		}
		fmt.Fprintf(w, "kube_node_status_condition{job=\"kube-state-metrics\",node=\"ip-10-40-1-%d.ec2.internal\",condition=\"Ready\",status=\"true\"} %d\n", 10+i, v)
	}
}

// throttle answers EKS's throttling error while the drill says so.
func (t *topology) throttle(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.mu.Lock()
		on := time.Now().Before(t.throttleUntil)
		if on {
			t.throttled++
		}
		t.mu.Unlock()
		if on {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"message":"Rate exceeded"}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// fault starts a drill: kind=argocd (syncs refused), moto (throttled) or prometheus
// (stopped, then started again on the same data), for the duration `for`.
func (t *topology) fault(w http.ResponseWriter, r *http.Request) {
	d, err := time.ParseDuration(r.FormValue("for"))
	if err != nil || d <= 0 {
		http.Error(w, "for: want a duration such as 60s", http.StatusBadRequest)
		return
	}
	switch r.FormValue("kind") {
	case "argocd":
		t.argo.refuse(d)
	case "moto":
		t.mu.Lock()
		t.throttleUntil = time.Now().Add(d)
		t.mu.Unlock()
	case "prometheus":
		t.mu.Lock()
		pr := t.prom
		t.promDown = true
		t.mu.Unlock()
		t.ps.forget(pr)
		pr.stop(10 * time.Second)
		time.AfterFunc(d, func() {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.stopping {
				return
			}
			np, err := t.ps.start("prometheus", os.Environ(), syscall.SIGTERM, t.promArgv...)
			if err != nil {
				t.log.Error("prometheus restart", "err", err)
				return
			}
			t.prom, t.promDown = np, false
		})
	default:
		http.Error(w, "kind: want argocd, moto or prometheus", http.StatusBadRequest)
		return
	}
	t.log.Info("fault", "kind", r.FormValue("kind"), "for", d)
	w.WriteHeader(http.StatusNoContent)
}
