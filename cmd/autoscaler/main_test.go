package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSimulateCommand(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"simulate", "-config", "../../autoscaler/testdata/valid.yaml",
		"-trace", "../../autoscaler/testdata/registration_morning.csv"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "summary:") || !strings.Contains(out.String(), "before opening") {
		t.Errorf("output:\n%s", out.String())
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
