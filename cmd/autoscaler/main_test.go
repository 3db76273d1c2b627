package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/autoscaler"
)

func TestSimulateCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"simulate", "-config", "../../autoscaler/testdata/valid.yaml",
		"-trace", "../../autoscaler/testdata/registration_morning.csv"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "summary:") || !strings.Contains(out.String(), "before opening") ||
		!strings.Contains(out.String(), "old policy (") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestHelpListsSubcommands(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"-h"}, &out, &errb); code != 0 ||
		!strings.Contains(errb.String(), "autoscaler simulate [flags]") || !strings.Contains(errb.String(), "-dry-run") {
		t.Errorf("exit %d:\n%s", code, errb.String())
	}
}

func TestRefusesBadConfig(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"-config", "../../autoscaler/testdata/unknown_key.yaml"}, &out, &errb); code != 1 ||
		!strings.Contains(errb.String(), "cpu_querry") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	if code := run(t.Context(), []string{"simulate", "-config", "../../autoscaler/testdata/valid.yaml", "-trace", "missing.csv"}, &out, &errb); code != 1 {
		t.Errorf("missing trace: exit %d", code)
	}
}

// sizeTarget does as asked.
type sizeTarget struct{ n int }

func (s *sizeTarget) Size(context.Context) (int, error)     { return s.n, nil }
func (s *sizeTarget) Resize(_ context.Context, n int) error { s.n = n; return nil }

// load reports the same utilisation on both signals.
type load float64

func (l load) Observe(context.Context) (autoscaler.Observations, error) {
	return autoscaler.Observations{At: time.Now(), CPU: autoscaler.Known(float64(l)), Memory: autoscaler.Known(float64(l))}, nil
}

func TestStatus(t *testing.T) {
	cfg, err := autoscaler.Load("../../autoscaler/testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctl := autoscaler.NewController(cfg, load(0.85),
		autoscaler.Targets{OnPrem: &sizeTarget{n: 2}, Nodes: &sizeTarget{}, EKSApp: &sizeTarget{}},
		true, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		statusHandler(ctl)(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
		return rec
	}
	if rec := get(); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("before any evaluation: %d %s", rec.Code, rec.Body)
	}
	d, err := ctl.Step(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rec := get()
	var s struct {
		DryRun   bool `json:"dry_run"`
		Decision struct {
			Direction   string
			Reason      string
			Utilisation struct {
				Level          string
				Value          float64
				SustainSeconds float64 `json:"sustain_seconds"`
			}
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil || rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s %s: %v", rec.Code, rec.Header().Get("Content-Type"), rec.Body, err)
	}
	const reason = "hold: cpu 0.85 above 0.80 for 0s of 2m0s (memory 0.85)"
	if !s.DryRun || s.Decision.Direction != "hold" || s.Decision.Reason != reason || d.Reason.String() != reason ||
		s.Decision.Utilisation.Level != "above" || s.Decision.Utilisation.Value != 0.85 || s.Decision.Utilisation.SustainSeconds != 120 {
		t.Errorf("status %s\nwant a dry-run hold: %s", rec.Body, reason)
	}
}

// brokenTarget cannot be read, as an EKS API without credentials.
type brokenTarget struct{}

func (brokenTarget) Size(context.Context) (int, error) {
	return 0, errors.New("no EC2 IMDS role found")
}
func (brokenTarget) Resize(context.Context, int) error { return errors.New("no EC2 IMDS role found") }

// /healthz turns 503 once a target has failed unhealthy_after evaluations in a row, and
// names it; /status shows each tier.
func TestHealthzNamesTheFailingTarget(t *testing.T) {
	cfg, err := autoscaler.Load("../../autoscaler/testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ctl := autoscaler.NewController(cfg, load(0.85),
		autoscaler.Targets{OnPrem: &sizeTarget{n: 2}, Nodes: brokenTarget{}, EKSApp: &sizeTarget{}},
		false, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		healthHandler(ctl)(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return rec
	}
	for i := range cfg.UnhealthyAfter {
		if rec := get(); rec.Code != http.StatusOK {
			t.Fatalf("after %d failed evaluations: %d %s", i, rec.Code, rec.Body)
		}
		ctl.Step(t.Context()) // each is a failure of the node group
	}
	rec := get()
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "eks_nodes") ||
		!strings.Contains(rec.Body.String(), "no EC2 IMDS role found") || rec.Header().Get("Retry-After") == "" {
		t.Errorf("after %d failed evaluations: %d %q", cfg.UnhealthyAfter, rec.Code, rec.Body)
	}
}
