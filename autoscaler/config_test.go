package autoscaler

import (
	"strings"
	"testing"
	"time"
)

func TestLoadValid(t *testing.T) {
	c, err := Load("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Interval.D() != 15*time.Second || c.Policy.LeadTime.D() != 30*time.Minute || c.EKS.MaxNodes != 10 {
		t.Errorf("values not read: %+v", c)
	}
	// Left out, so the defaults.
	if c.Policy.DownSustain.D() != 15*time.Minute || c.Prometheus.CPUQuery == "" || c.OnPrem.Source != "kustomize" {
		t.Errorf("defaults not kept: %+v", c.Policy)
	}
	if c.EKSApp.Source != "helm" || c.EKSApp.HelmValue != "replicaCount" {
		t.Errorf("eks_app: %+v", c.EKSApp)
	}
	if c.StateFile != "/var/lib/autoscaler/state.json" || c.UnhealthyAfter != 4 || c.OnPrem.CAFile != "/etc/ssl/school/ca.crt" ||
		c.Policy.InFlightPerReplica != 64 || c.Policy.FastSustain.D() != 5*time.Second || c.Policy.ProvisionTimeout.D() != 8*time.Minute ||
		c.Policy.ErrorBackoff.D() != 20*time.Second || c.Policy.MaxErrorBackoff.D() != 5*time.Minute || c.Prometheus.ReadyNodesQuery == "" {
		t.Errorf("the reconciliation's settings not read: %+v", c)
	}
}

func TestLoadRefuses(t *testing.T) {
	cases := map[string][]string{
		"testdata/unknown_key.yaml": {"cpu_querry"},
		"testdata/invalid.yaml": {
			"interval must be at least 1s",
			`prometheus.url "not-a-url"`,
			"down_threshold (0.6) < target (0.7) < up_threshold (0.5)",
			"down_sustain (1m0s) must be at least up_sustain (10m0s)",
			"min_nodes (5) <= max_nodes (2)",
			`onprem.source "jsonnet"`,
			"onprem: want 0 <= min_replicas (0) <= max_replicas (0), and max_replicas at least 1",
			"eks_app.helm_value",
			"unhealthy_after must be at least 1",
		},
	}
	for path, wants := range cases {
		_, err := Load(path)
		if err == nil {
			t.Errorf("%s: accepted", path)
			continue
		}
		for _, want := range wants {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error lacks %q:\n%v", path, want, err)
			}
		}
	}
	if _, err := Parse([]byte("interval: soon\n")); err == nil || !strings.Contains(err.Error(), "not a duration") {
		t.Errorf("bad duration: %v", err)
	}
}
