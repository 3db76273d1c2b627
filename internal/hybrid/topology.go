// Package hybrid brings up the on-prem-first, EKS-for-the-excess topology on one machine,
// with real parts: Debian's nginx with the shipped upstream and proxy files, the app's
// on-prem instances and its spare, an Argo CD stand-in that turns the Applications'
// replica counts into local `school serve` processes, the EKS node group in moto_server,
// Debian's Prometheus with the shipped scrape config and recording rules, and the real
// autoscaler daemon with the shipped config. Every listener is on 127.0.0.1, on ports
// Base to Base+69.
package hybrid

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// Options say where and how the topology runs. Zero values take the defaults.
type Options struct {
	Dir  string // run folder: configs, logs, pids, Prometheus's data
	Repo string // the checkout: deploy/nginx, deploy/prometheus, deploy/k8s/autoscaler
	Base int    // first port (default 19400)
	// School and Autoscaler are the binaries (go build ./cmd/school, ./cmd/autoscaler).
	School, Autoscaler string
	Moto               string   // moto_server
	Env                []string // the app's environment (SCHOOL_DB_DSN, SCHOOL_LDAP_*, ...)

	// MaxConns replaces nginx's max_conns=64 on every on-prem server and the
	// autoscaler's inflight_per_replica with it: a 2-core machine cannot hold 64 slow
	// requests per instance, so on-prem's limit is set low enough for a small load to
	// pass it.
	MaxConns int
	// WaitingPerSlot is the policy's waiting_per_slot (default 20): how many waiting
	// students count as one request in flight. A drill's queue is a few hundred students
	// against on-prem's 16-24 slots, where a registration morning's is tens of thousands
	// against 192; the drill weighs its queue accordingly.
	WaitingPerSlot int
	// Interval is the autoscaler's evaluation interval and Scrape Prometheus's scrape
	// and rule interval; Cooldown, FastSustain, DownSustain the policy's.
	Interval, Scrape, Cooldown, FastSustain, DownSustain time.Duration
	// MaxNodes bounds the node group (moto's maxSize), ReplicasPerNode how many EKS
	// instances a node holds, NodeStartup how long a new node takes to be Ready.
	MaxNodes, ReplicasPerNode int
	NodeStartup               time.Duration
	// SyncTime is how long an Argo CD sync runs before the Application is Synced.
	SyncTime time.Duration
}

func (o *Options) defaults() {
	// nginx and Prometheus take paths relative to their own prefix: make them absolute.
	if abs, err := filepath.Abs(o.Dir); err == nil {
		o.Dir = abs
	}
	if abs, err := filepath.Abs(o.Repo); err == nil {
		o.Repo = abs
	}
	if o.Base == 0 {
		o.Base = 19400
	}
	if o.MaxConns == 0 {
		o.MaxConns = 8
	}
	if o.WaitingPerSlot == 0 {
		o.WaitingPerSlot = 5
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Scrape == 0 {
		o.Scrape = time.Second
	}
	if o.Cooldown == 0 {
		o.Cooldown = 10 * time.Second
	}
	if o.FastSustain == 0 {
		o.FastSustain = 2 * o.Interval
	}
	if o.DownSustain == 0 {
		o.DownSustain = 40 * time.Second
	}
	if o.MaxNodes == 0 {
		o.MaxNodes = 2
	}
	if o.ReplicasPerNode == 0 {
		o.ReplicasPerNode = 2
	}
	if o.NodeStartup == 0 {
		o.NodeStartup = 12 * time.Second
	}
	if o.SyncTime == 0 {
		o.SyncTime = 500 * time.Millisecond
	}
}

// Ports of the topology, all on 127.0.0.1.
type Ports struct {
	HTTPS, HTTP, StubStatus, NginxExporter, NodeExporter, Prometheus int
	ArgoCD, Moto, Autoscaler, NLB, Alertmanager                      int
	OnPrem, OnPremOps                                                []int // the nodes nginx lists, the spare last
	EKS, EKSOps                                                      []int // the EKS instances behind the NLB stand-in
}

const (
	onPremSlots = 3 // the shipped upstream's on-prem servers
	eksSlots    = 20
)

// PortsFrom lays the ports out from base.
func PortsFrom(base int) Ports {
	p := Ports{HTTPS: base, HTTP: base + 1, StubStatus: base + 2, NginxExporter: base + 3, NodeExporter: base + 4,
		Prometheus: base + 5, ArgoCD: base + 6, Moto: base + 7, Autoscaler: base + 8, NLB: base + 9, Alertmanager: base + 15}
	for i := range onPremSlots {
		p.OnPrem = append(p.OnPrem, base+10+i)
		p.OnPremOps = append(p.OnPremOps, base+20+i)
	}
	for i := range eksSlots {
		p.EKS = append(p.EKS, base+30+i)
		p.EKSOps = append(p.EKSOps, base+50+i)
	}
	return p
}

// All is every port the topology listens on (the EKS slots included).
func (p Ports) All() []int {
	out := []int{p.HTTPS, p.HTTP, p.StubStatus, p.NginxExporter, p.NodeExporter, p.Prometheus, p.ArgoCD, p.Moto, p.Autoscaler, p.NLB}
	out = append(out, p.OnPrem...)
	out = append(out, p.OnPremOps...)
	out = append(out, p.EKS...)
	return append(out, p.EKSOps...)
}

func loop(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

// runArgs is the `school hybrid run` command line that starts a supervisor with o.
func (o Options) runArgs() []string {
	args := []string{o.School, "hybrid", "run", "-dir", o.Dir, "-repo", o.Repo, "-base", strconv.Itoa(o.Base),
		"-autoscaler", o.Autoscaler, "-max-conns", strconv.Itoa(o.MaxConns), "-waiting-per-slot", strconv.Itoa(o.WaitingPerSlot),
		"-interval", o.Interval.String(), "-scrape", o.Scrape.String(), "-cooldown", o.Cooldown.String(),
		"-down-sustain", o.DownSustain.String(), "-node-startup", o.NodeStartup.String(), "-max-nodes", strconv.Itoa(o.MaxNodes)}
	if o.Moto != "" {
		args = append(args, "-moto", o.Moto)
	}
	return args
}
