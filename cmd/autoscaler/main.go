// Command autoscaler is School Service's burst controller: it reads on-prem load from
// Prometheus and grows the spare on-prem replicas, then an EKS node group and the app's
// replicas on EKS, when on-prem capacity runs out; it shrinks them when load falls.
//
//	autoscaler -config autoscaler.yaml [-dry-run] [-listen :9102]
//	autoscaler simulate -config autoscaler.yaml -trace day.csv [-startup 3m] [-cpu-window 2m]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/schoolservice/school/autoscaler"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "simulate" {
		return simulate(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("autoscaler", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "autoscaler.yaml", "configuration file (strict YAML)")
	dryRun := fs.Bool("dry-run", false, "log every decision with its reason; change nothing")
	listen := fs.String("listen", ":9102", "address of /metrics, /healthz and /status")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage:
  autoscaler [flags]             run the daemon (/metrics, /healthz, /livez, /status on -listen)
  autoscaler simulate [flags]    replay a trace through the policy, beside the old policy's figures
                                 (autoscaler simulate -h for its flags)

Flags of the daemon:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	if err := serve(ctx, *configPath, *dryRun, *listen, log); err != nil {
		fmt.Fprintf(stderr, "autoscaler: %v\n", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, configPath string, dryRun bool, listen string, log *slog.Logger) error {
	cfg, err := autoscaler.Load(configPath)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	src, err := autoscaler.NewPrometheusSource(cfg.Prometheus, log, reg)
	if err != nil {
		return err
	}
	awsCfg, err := autoscaler.LoadAWSConfig(ctx, cfg.EKS.Region)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	onprem, err := autoscaler.NewArgoAppFromConfig(cfg.OnPrem)
	if err != nil {
		return fmt.Errorf("on-prem Argo CD application: %w", err)
	}
	eksApp, err := autoscaler.NewArgoAppFromConfig(cfg.EKSApp)
	if err != nil {
		return fmt.Errorf("EKS Argo CD application: %w", err)
	}
	targets := autoscaler.Targets{OnPrem: onprem, Nodes: autoscaler.NewEKSNodegroup(cfg.EKS, awsCfg), EKSApp: eksApp}
	ctl := autoscaler.NewController(cfg, src, targets, dryRun, log, reg)
	if err := ctl.LoadState(); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /healthz", healthHandler(ctl))
	// Alive as long as the process serves: restarting does not mend a failing cloud API.
	mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /status", statusHandler(ctl))
	hs := &http.Server{Addr: listen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.ListenAndServe() }()
	log.Info("autoscaler running", slog.String("listen", listen), slog.Bool("dry_run", dryRun),
		slog.Duration("interval", cfg.Interval.D()))

	done := make(chan struct{})
	go func() { defer close(done); ctl.Run(ctx) }()
	select {
	case err := <-errc:
		return fmt.Errorf("listen on %s: %w", listen, err)
	case <-ctx.Done():
	}
	<-done
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// statusHandler answers the last evaluation as JSON: what the daemon asks for, why, and
// when it last acted.
func statusHandler(ctl *autoscaler.Controller) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, ok := ctl.Status()
		if !ok {
			http.Error(w, "no evaluation yet", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s) // an error is the client gone: no one left to tell
	}
}

// healthHandler answers 503 with the failing targets once one has failed
// unhealthy_after evaluations in a row, so an operator (and the readiness probe and the
// alert on it) sees a tier that has stopped, instead of a daemon that says ok.
func healthHandler(ctl *autoscaler.Controller) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := ctl.Healthy(); err != nil {
			w.Header().Set("Retry-After", "30")
			http.Error(w, "unhealthy: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}

// simulate replays a trace through the real policy and prints the timeline and summary.
func simulate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("autoscaler simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "autoscaler.yaml", "configuration file (strict YAML)")
	tracePath := fs.String("trace", "", "CSV trace: time,utilisation rows and window,time rows")
	startup := fs.Duration("startup", 3*time.Minute, "how long a new EKS node takes to be ready")
	cpuWindow := fs.Duration("cpu-window", 2*time.Minute, "range of the CPU rate the slow signals are read over")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, err := autoscaler.Load(*configPath)
	if err != nil {
		fmt.Fprintf(stderr, "autoscaler simulate: %v\n", err)
		return 1
	}
	f, err := os.Open(*tracePath)
	if err != nil {
		fmt.Fprintf(stderr, "autoscaler simulate: %v\n", err)
		return 1
	}
	defer f.Close()
	tr, err := autoscaler.ReadTrace(f)
	if err != nil {
		fmt.Fprintf(stderr, "autoscaler simulate: %v\n", err)
		return 1
	}
	o := autoscaler.SimOptions{Startup: *startup, CPUWindow: *cpuWindow}
	autoscaler.Simulate(cfg, tr, o).Print(stdout)
	o.Old = true
	fmt.Fprintf(stdout, "old policy (30s interval, 2m sustain, 5m cooldown, steps of 3 nodes, CPU and memory only): %s\n",
		autoscaler.Simulate(autoscaler.OldPolicy(cfg), tr, o).Summary())
	return 0
}
