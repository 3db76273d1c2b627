package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestAppEnvSetsTheInstancesGOMAXPROCS starts this test binary as the tool starts an app
// instance, with an environment that already sets GOMAXPROCS, and reads what the child's
// runtime took.
func TestAppEnvSetsTheInstancesGOMAXPROCS(t *testing.T) {
	if os.Getenv("SCHOOL_TEST_PRINT_PROCS") != "" {
		fmt.Print(runtime.GOMAXPROCS(0))
		os.Exit(0)
	}
	// Room to spare behind the environment given: appEnv must not write its setting there,
	// where the caller's next append would overwrite it (or it the caller's).
	given := append(os.Environ(), "SCHOOL_TEST_PRINT_PROCS=1", "GOMAXPROCS=3")
	env := append(make([]string, 0, len(given)+1), given...)
	for _, tc := range []struct {
		procs int
		want  string
	}{{0, "3"}, {1, "1"}, {2, "2"}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAppEnvSetsTheInstancesGOMAXPROCS$")
		cmd.Env = appEnv(env, tc.procs)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("procs %d: %v", tc.procs, err)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("-app-procs %d: the instance runs with GOMAXPROCS %s, want %s", tc.procs, got, tc.want)
		}
	}
	if !slices.Equal(env, given) || env[:cap(env)][len(env)] != "" {
		t.Error("appEnv wrote into the environment it was given")
	}
}
