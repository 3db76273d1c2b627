package main

import "runtime/debug"

// gcPercent is how far the heap grows over the live heap before the next collection,
// where GOGC does not say. The app's live heap is small (about 14 MB serving the bench:
// the catalog, the waiting room's places, the pools) while each request allocates some
// kilobytes, so at Go's default of 100 the collector ran for every 14 MB allocated and
// took 6% of the app's CPU in a rehearsal. At 400, five bench runs against five measured
// 4% less app CPU a registration, 7% less a sign-in and 15% less a rush request
// (BENCHMARKS.md), for a heap that peaks at five times the live one (about 70 MB)
// instead of twice. Where memory is bounded, as in a container, GOMEMLIMIT makes the
// collector run sooner near the bound (deploy/k8s/base/deployment.yaml sets it).
const gcPercent = 400

// tuneGC sets gcPercent unless the environment sets GOGC, which the runtime has read.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
