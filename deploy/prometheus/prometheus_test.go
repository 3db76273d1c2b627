// Package prometheus_test checks the shipped Prometheus files with Debian's promtool
// (config, rules, the rules' unit tests) and checks that they, the Grafana dashboard and
// the autoscaler's queries only name series that exist: metrics the code registers,
// node_exporter's, or the recording rules'.
package prometheus_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/schoolservice/school/autoscaler"
)

func promtool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not installed: run `make test` (it installs Debian's prometheus) or apt-get install -y prometheus")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestPromtoolCheckConfig(t *testing.T) {
	promtool(t, ".", "check", "config", "prometheus.yml")
}

func TestPromtoolCheckRules(t *testing.T) {
	promtool(t, ".", "check", "rules", "rules/recording.yml", "rules/alerts.yml")
	out := promtool(t, "rules", "test", "rules", "tests.yml")
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func readRules(t *testing.T, path string) ruleFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.Unmarshal(b, &rf); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rf
}

// recorded are the series the recording rules make.
func recorded(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, g := range readRules(t, "rules/recording.yml").Groups {
		for _, r := range g.Rules {
			out[r.Record] = true
		}
	}
	return out
}

// checkPromQL has promtool parse each expression, by checking them as recording rules.
func checkPromQL(t *testing.T, what string, exprs []string) {
	t.Helper()
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		rules = append(rules, rule{Record: fmt.Sprintf("check:expr_%d", i), Expr: e})
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": what, "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "exprs.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, ".", "check", "rules", path)
}

// TestAutoscalerQueries: the autoscaler's configured queries are valid PromQL and read
// the recording rules, one per signal.
func TestAutoscalerQueries(t *testing.T) {
	cfg, err := autoscaler.Load("../k8s/autoscaler/autoscaler.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Prometheus
	queries := map[string]string{"cpu": p.CPUQuery, "memory": p.MemoryQuery, "waiting_room": p.WaitingRoomQuery,
		"request_rate": p.RequestRateQuery, "next_window": p.NextWindowQuery, "ready_nodes": p.ReadyNodesQuery,
		"in_flight": p.InFlightQuery, "arrival_rate": p.ArrivalRateQuery}
	rec := recorded(t)
	var exprs []string
	for signal, q := range queries {
		names := seriesNames(q)
		if len(names) != 1 || !rec[names[0]] {
			t.Errorf("the autoscaler's %s query %q should read one recording rule of rules/recording.yml, reads %v", signal, q, names)
		}
		exprs = append(exprs, q)
	}
	checkPromQL(t, "autoscaler", exprs)
}

// TestDashboard: the dashboard parses, takes its data source from a variable, and every
// query is valid PromQL.
func TestDashboard(t *testing.T) {
	exprs := dashboardExprs(t)
	if len(exprs) < 10 {
		t.Fatalf("the dashboard has %d queries", len(exprs))
	}
	checkPromQL(t, "dashboard", exprs)
}

func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../grafana/registration-day.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title      string               `json:"title"`
			Type       string               `json:"type"`
			Datasource struct{ UID string } `json:"datasource"`
			Targets    []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("registration-day.json: %v", err)
	}
	var exprs []string
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: want queries on the ${datasource} variable", p.Title)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	return exprs
}

// nodeExporter are the exporters' series the files use: node_exporter's, nginx's
// (prometheus-nginx-exporter, Debian), kube-state-metrics' on EKS; `up` and the
// prometheus_*/alertmanager_* self-metrics are Prometheus's and Alertmanager's own.
var nodeExporter = []string{"node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes", "up",
	"nginx_connections_writing", "nginx_connections_active", "nginx_up", "kube_node_status_condition",
	"prometheus_config_last_reload_successful", "prometheus_rule_evaluation_failures_total",
	"prometheus_notifications_dropped_total", "prometheus_tsdb_compactions_failed_total"}

// TestSeriesExist: every series named in the rules and the dashboard is registered by
// the code (read from its metric definitions), node_exporter's, or recorded.
func TestSeriesExist(t *testing.T) {
	known := declaredMetrics(t)
	for _, n := range nodeExporter {
		known[n] = true
	}
	for n := range recorded(t) {
		known[n] = true
	}
	var exprs []string
	for _, f := range []string{"rules/recording.yml", "rules/alerts.yml"} {
		for _, g := range readRules(t, f).Groups {
			for _, r := range g.Rules {
				exprs = append(exprs, r.Expr)
			}
		}
	}
	exprs = append(exprs, dashboardExprs(t)...)
	used := 0
	for _, e := range exprs {
		for _, n := range seriesNames(e) {
			used++
			base := n
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if b, ok := strings.CutSuffix(n, suffix); ok && known[b] {
					base = b
				}
			}
			if !known[base] {
				t.Errorf("%q names %s, which nothing exports or records", e, n)
			}
		}
	}
	if used < 20 {
		t.Fatalf("found only %d series names: the extraction is broken", used)
	}
}

var (
	defRe  = regexp.MustCompile(`Namespace:\s*("\w+"|namespace),\s*Name:\s*"(\w+)"`)
	descRe = regexp.MustCompile(`NewDesc\(\s*"(\w+)"`)
	nsRe   = regexp.MustCompile(`const namespace = "(\w+)"`)
)

// declaredMetrics reads the metric names the project's code registers (its promauto and
// NewDesc definitions), plus go_sql_*, which client_golang's DBStatsCollector exports
// for the MySQL pools.
func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	for _, n := range []string{"max_open_connections", "open_connections", "in_use_connections", "idle_connections",
		"wait_count_total", "wait_duration_seconds_total", "max_idle_closed_total", "max_idle_time_closed_total", "max_lifetime_closed_total"} {
		known["go_sql_"+n] = true
	}
	files, err := filepath.Glob("../../*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := string(b)
		ns := ""
		if m := nsRe.FindStringSubmatch(src); m != nil {
			ns = m[1]
		}
		for _, m := range defRe.FindAllStringSubmatch(src, -1) {
			prefix := strings.Trim(m[1], `"`)
			if m[1] == "namespace" {
				prefix = ns
			}
			known[prefix+"_"+m[2]] = true
			found++
		}
		for _, m := range descRe.FindAllStringSubmatch(src, -1) {
			known[m[1]] = true
			found++
		}
	}
	for _, must := range []string{"school_http_request_duration_seconds", "school_waiting_room_waiting", "autoscaler_target_errors_total"} {
		if !known[must] {
			t.Fatalf("reading the code's metric definitions missed %s (found %d): fix declaredMetrics", must, found)
		}
	}
	return known
}

var (
	stringRe   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matcherRe  = regexp.MustCompile(`\{[^}]*\}`)
	groupingRe = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	rangeRe    = regexp.MustCompile(`\[[^\]]*\]`)
	identRe    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	keywords   = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// seriesNames lists the metric names a PromQL expression selects (a lexical reading:
// strings, label matchers, grouping clauses and ranges removed; functions and keywords
// skipped).
func seriesNames(expr string) []string {
	s := stringRe.ReplaceAllString(expr, `""`)
	s = matcherRe.ReplaceAllString(s, " ")
	s = groupingRe.ReplaceAllString(s, " ")
	s = rangeRe.ReplaceAllString(s, " ")
	var out []string
	for _, m := range identRe.FindAllString(s, -1) {
		if strings.HasSuffix(m, "(") || slices.Contains(keywords, strings.ToLower(m)) {
			continue
		}
		// A duration or number's letters (5m, 1e3) never start an identifier here; a
		// humanize template's pipe functions are in annotations, not expressions.
		out = append(out, m)
	}
	return out
}

// TestAlertsHaveRunbooks: every alert has a severity Alertmanager routes and a
// runbook_url naming a section of a runbook in deploy/runbooks.
func TestAlertsHaveRunbooks(t *testing.T) {
	const prefix = "https://github.com/schoolservice/school/blob/main/deploy/runbooks/"
	n := 0
	for _, g := range readRules(t, "rules/alerts.yml").Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if sev := r.Labels["severity"]; sev != "critical" && sev != "warning" && !(r.Alert == "Watchdog" && sev == "none") {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, sev)
			}
			file, anchor, ok := strings.Cut(strings.TrimPrefix(r.Annotations["runbook_url"], prefix), "#")
			if !ok || !strings.HasPrefix(r.Annotations["runbook_url"], prefix) {
				t.Errorf("%s: runbook_url %q, want %sFILE.md#SECTION", r.Alert, r.Annotations["runbook_url"], prefix)
				continue
			}
			b, err := os.ReadFile(filepath.Join("../runbooks", file))
			if err != nil {
				t.Errorf("%s: %v", r.Alert, err)
				continue
			}
			found := false
			for _, line := range strings.Split(string(b), "\n") {
				if h, ok := strings.CutPrefix(line, "## "); ok && strings.ToLower(strings.ReplaceAll(strings.TrimSpace(h), " ", "-")) == anchor {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: %s has no section #%s", r.Alert, file, anchor)
			}
		}
	}
	if n < 20 {
		t.Fatalf("read only %d alerts", n)
	}
}

// TestAlertmanagerConfig: amtool accepts alertmanager.yml, and it routes the Watchdog to
// the dead man's switch, critical alerts to the pager and warnings to the operators.
func TestAlertmanagerConfig(t *testing.T) {
	bin, err := exec.LookPath("amtool")
	if err != nil {
		t.Fatal("amtool is not installed: run `make test` (it installs Debian's prometheus-alertmanager)")
	}
	if out, err := exec.Command(bin, "check-config", "alertmanager.yml").CombinedOutput(); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	for labels, want := range map[string]string{
		"alertname=Watchdog severity=none":                "deadmans-switch",
		"alertname=AutoscalerUnhealthy severity=critical": "pager",
		"alertname=NginxExporterDown severity=warning":    "operators",
	} {
		args := append([]string{"config", "routes", "test", "--config.file=alertmanager.yml"}, strings.Fields(labels)...)
		out, err := exec.Command(bin, args...).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("%s routes to %q (%v), want %s", labels, got, err, want)
		}
	}
}
