package rehearsal

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// FaultKind names a drill.
type FaultKind string

const (
	FaultMariaDB  FaultKind = "mariadb"  // stop MariaDB, start it again after For
	FaultLDAP     FaultKind = "ldap"     // stop slapd, start it again after For
	FaultInstance FaultKind = "instance" // kill one app instance (SIGKILL), start it again after For
)

// Fault is one drill during the run.
type Fault struct {
	Kind FaultKind
	At   time.Duration // after the window opens
	For  time.Duration // how long the service stays down
}

// ParseFault reads "kind", "kind@at" or "kind@at+for", e.g. "mariadb@20s+10s".
func ParseFault(v string) (Fault, error) {
	f := Fault{At: 20 * time.Second, For: 10 * time.Second}
	kind, rest, _ := strings.Cut(v, "@")
	f.Kind = FaultKind(kind)
	switch f.Kind {
	case FaultMariaDB, FaultLDAP, FaultInstance:
	default:
		return f, fmt.Errorf("fault %q: want mariadb, ldap or instance", kind)
	}
	if rest == "" {
		return f, nil
	}
	at, dur, hasFor := strings.Cut(rest, "+")
	var err error
	if f.At, err = time.ParseDuration(at); err != nil || f.At < 0 {
		return f, fmt.Errorf("fault %q: %q is not a duration such as 20s", v, at)
	}
	if hasFor {
		if f.For, err = time.ParseDuration(dur); err != nil || f.For < 0 {
			return f, fmt.Errorf("fault %q: %q is not a duration such as 10s", v, dur)
		}
	}
	return f, nil
}

func (f Fault) String() string {
	return fmt.Sprintf("%s@%s+%s", f.Kind, f.At, f.For)
}

// FaultReport is what a drill did and how the run took it.
type FaultReport struct {
	Fault
	Start, Restored time.Duration // since the start of the run
	Action          string
	Err             string
	// Errors the students saw from the start of the fault until recovery.
	Errors map[string]int
	// Recovery is the time from the service's return to the first whole second with
	// answers and no errors; -1 when that never came.
	Recovery time.Duration
}

// drill runs one fault. The stack script stops and starts MariaDB and slapd by their own
// pid files; app instances the tool started are killed by their process.
func (r *runner) drill(ctx context.Context, f Fault) FaultReport {
	rep := FaultReport{Fault: f, Start: time.Since(r.rec.start)}
	var down, up func() error
	switch f.Kind {
	case FaultMariaDB, FaultLDAP:
		svc := "mariadb"
		if f.Kind == FaultLDAP {
			svc = "slapd"
		}
		rep.Action = fmt.Sprintf("%s down %s; %s up %s", r.cfg.Stack, svc, r.cfg.Stack, svc)
		down = func() error { return r.stack(ctx, "down", svc) }
		up = func() error { return r.stack(ctx, "up", svc) }
	case FaultInstance:
		p := r.procs[len(r.procs)-1]
		rep.Action = "kill -9 the app instance at " + p.addr + ", start it again"
		down = p.kill
		up = func() error { return p.start(ctx) }
	}
	if err := down(); err != nil {
		rep.Err = err.Error()
	}
	t := time.NewTimer(f.For)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	// Start it again even when the run is being cancelled: leave the stack as it was.
	if err := up(); err != nil && rep.Err == "" {
		rep.Err = err.Error()
	}
	rep.Restored = time.Since(r.rec.start)
	return rep
}

func (r *runner) stack(ctx context.Context, verb, svc string) error {
	cmd := exec.CommandContext(context.WithoutCancel(ctx), r.cfg.Stack, verb, svc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s %s: %w: %s", r.cfg.Stack, verb, svc, err, strings.TrimSpace(string(out)))
	}
	return nil
}
