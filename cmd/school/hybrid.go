package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schoolservice/school/internal/hybrid"
)

// hybridCmd is `school hybrid up|down|run|drill`: the on-prem-first topology on one
// machine (deploy/local/hybrid wraps it). `run` is the supervisor itself, in the
// foreground; `up` starts it detached and returns once everything answers.
func hybridCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: school hybrid up|down|run|drill [flags]; school hybrid up -h lists the flags")
		return errUsage
	}
	verb, args := args[0], args[1:]
	fs := newFlagSet("school hybrid "+verb, getenv, stderr)
	var o hybrid.Options
	var d hybrid.DrillOptions
	fs.String(&o.Dir, "dir", ".local/hybrid", "run folder: configs, logs, pid files, Prometheus's data")
	fs.String(&o.Repo, "repo", ".", "the checkout whose deploy/ files are used")
	fs.Int(&o.Base, "base", 19400, "first of the topology's 70 loopback ports")
	fs.String(&o.Autoscaler, "autoscaler", "", "the autoscaler binary (go build ./cmd/autoscaler); empty: autoscaler beside this binary")
	fs.String(&o.Moto, "moto", "", "moto_server (pip install 'moto[server]'); empty: from PATH")
	fs.Int(&o.MaxConns, "max-conns", 8, "nginx's max_conns per on-prem instance and the autoscaler's inflight_per_replica (shipped: 64)")
	fs.Int(&o.WaitingPerSlot, "waiting-per-slot", 5, "the autoscaler's waiting_per_slot: waiting students counted as one request (default 20)")
	fs.Duration(&o.Interval, "interval", time.Second, "the autoscaler's evaluation interval (shipped: 10s)")
	fs.Duration(&o.Scrape, "scrape", time.Second, "Prometheus's scrape and rule interval (shipped: 15s)")
	fs.Duration(&o.Cooldown, "cooldown", 10*time.Second, "the autoscaler's cooldown (shipped: 1m)")
	fs.Duration(&o.DownSustain, "down-sustain", 40*time.Second, "the autoscaler's down_sustain (shipped default: 15m)")
	fs.Duration(&o.NodeStartup, "node-startup", 12*time.Second, "how long a new EKS node takes to be Ready")
	fs.Int(&o.MaxNodes, "max-nodes", 2, "the node group's maxSize (the autoscaler's max_nodes)")
	fs.Int(&d.Students, "students", 400, "drill: students in the registration morning")
	fs.Duration(&d.Spread, "spread", 40*time.Second, "drill: arrivals around the opening")
	fs.Duration(&d.Lead, "lead", 45*time.Second, "drill: the window opens this long after the start (the queue builds before it)")
	fs.Float(&d.AdmitPerSecond, "admit-per-second", 40, "drill: waiting room, students admitted a second")
	fs.Int(&d.MaxActive, "max-active", 150, "drill: waiting room, students registering at once")
	fs.Duration(&d.Think, "think", 20*time.Millisecond, "drill: a student's pause between clicks")
	fs.String(&d.Faults, "faults", "", "drill: KIND@AT+FOR,… with KIND argocd, moto or prometheus, AT after the load starts")
	fs.String(&d.HTML, "html", "", "drill: write the rehearsal's report with the timeline as HTML here")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	if err := p.err(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if o.Autoscaler == "" {
		o.Autoscaler = filepath.Join(filepath.Dir(self), "autoscaler")
	}
	o.School, o.Env = self, os.Environ()
	switch verb {
	case "run":
		return hybrid.Run(ctx, o, os.Stderr)
	case "up":
		argv := append([]string{self, "hybrid", "run"}, args...)
		if err := hybrid.Start(ctx, o.Dir, argv, os.Environ(), 3*time.Minute); err != nil {
			return err
		}
		p := hybrid.PortsFrom(o.Base)
		fmt.Fprintf(stdout, "up: students https://127.0.0.1:%d (SSL_CERT_FILE=%s), Prometheus http://127.0.0.1:%d, autoscaler http://127.0.0.1:%d/status, stand-in http://127.0.0.1:%d/hybrid/state; log %s\n",
			p.HTTPS, hybrid.CertFile(o.Dir), p.Prometheus, p.Autoscaler, p.ArgoCD, filepath.Join(o.Dir, "hybrid.log"))
		return nil
	case "down":
		return hybrid.Stop(o.Dir, 2*time.Minute)
	case "drill":
		d.Options = o
		return hybrid.Drill(ctx, d, stdout, stderr)
	}
	fmt.Fprintf(stderr, "school hybrid: unknown %q (want up, down, run or drill)\n", verb)
	return errUsage
}
