package main

import (
	"runtime"
	"strconv"
)

// appProcsUsage explains -app-procs, which bench and rehearse share.
const appProcsUsage = "GOMAXPROCS of each app instance started; 0: Go's default (every core); " +
	"-1: the machine's cores shared out among the instances, as each replica has its own node's " +
	"in production (one instance: Go's default). See BENCHMARKS.md, \"eighteenth\""

// procsFor is the GOMAXPROCS -app-procs asks for instances instances on this machine.
func procsFor(flag, instances int) int {
	if flag < 0 {
		return shareProcs(runtime.NumCPU(), instances)
	}
	return flag
}

// shareProcs is -app-procs -1 for instances app instances on a machine of cores cores:
// each its share, at least one; 0 (Go's default) when the share is every core.
func shareProcs(cores, instances int) int {
	share := max(1, cores/max(1, instances))
	if share >= cores {
		return 0
	}
	return share
}

// appEnv is env for the app instances the tool starts, with GOMAXPROCS set to procs when
// procs > 0 (after any the environment sets, so it wins); the tool itself keeps its own.
func appEnv(env []string, procs int) []string {
	if procs <= 0 {
		return env
	}
	return append(env[:len(env):len(env)], "GOMAXPROCS="+strconv.Itoa(procs))
}
