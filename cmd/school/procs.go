package main

import "strconv"

// appProcsUsage explains -app-procs, which bench and rehearse share.
const appProcsUsage = "GOMAXPROCS of each app instance started; 0: Go's default (every core). " +
	"On a small machine shared with MariaDB, 1 costs the app less CPU but answers bursts later " +
	"(BENCHMARKS.md, \"eighteenth\")"

// appEnv is env for the app instances the tool starts, with GOMAXPROCS set to procs when
// procs > 0 (after any the environment sets, so it wins); the tool itself keeps its own.
func appEnv(env []string, procs int) []string {
	if procs <= 0 {
		return env
	}
	return append(env[:len(env):len(env)], "GOMAXPROCS="+strconv.Itoa(procs))
}
