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
	// FaultDBWriter kills the Galera node haproxy sends writes to (SIGKILL; the stack in
	// Galera mode, deploy/local/stack galera-up) and rejoins it after For. The cluster
	// serves on without it: the outage is the failover, counted from the kill.
	FaultDBWriter FaultKind = "db-writer"
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
	case FaultMariaDB, FaultLDAP, FaultInstance, FaultDBWriter:
	default:
		return f, fmt.Errorf("fault %q: want mariadb, ldap, instance or db-writer", kind)
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
	// Returned is when the service was back for the students: Restored, or for the
	// db-writer drill the kill itself (a backup node takes over; the rejoin at Restored
	// is no outage).
	Returned time.Duration
	Action   string
	Err      string
	// Detail is what the stack said it did (which node was killed, how it rejoined).
	Detail string
	// Errors the students saw from the start of the fault until recovery.
	Errors map[string]int
	// Recovery is the time from the service's return (Returned) to the first whole
	// second with answers and no errors; -1 when that never came.
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
		down = func() error { _, err := r.stack(ctx, "down", svc); return err }
		up = func() error { _, err := r.stack(ctx, "up", svc); return err }
	case FaultDBWriter:
		rep.Action = fmt.Sprintf("%s galera-kill-writer; %s galera-rejoin", r.cfg.Stack, r.cfg.Stack)
		stack := func(verb string) error {
			out, err := r.stack(ctx, verb)
			rep.Detail = strings.TrimSpace(rep.Detail + "\n" + out)
			return err
		}
		down = func() error { return stack("galera-kill-writer") }
		up = func() error { return stack("galera-rejoin") }
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
	rep.Returned = rep.Restored
	if f.Kind == FaultDBWriter {
		rep.Returned = rep.Start
	}
	return rep
}

// stack runs the stack script and gives back what it said.
func (r *runner) stack(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(context.WithoutCancel(ctx), r.cfg.Stack, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", r.cfg.Stack, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
