package rehearsal

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// BenchReport is what a bench run measured and found.
type BenchReport struct {
	Config         BenchConfig
	Started        time.Time
	Prepared, Took time.Duration
	Build          string // the binary's commit (the app runs the same binary)
	Students       int
	Rush           *Phase
	Bare, HTTP     *Phase
	Login, LDAP    *Phase
	// The floor's phases (bench_floor.go): what any HTTP server does at least.
	HTTPFloor, LoginFloor *Phase
	Check                 BenchCheck
	Health                Health
}

// BenchCheck is the check after a bench run, straight from the tables, and what the
// answers said of themselves.
type BenchCheck struct {
	// The rehearsal's check over every student of the run: nothing oversold, counts
	// equal rows, no duplicate, no rule broken, every enrolled answer (and every bare
	// commit) in the tables, and no row nobody was told about.
	Check
	Disagreed  int // double clicks whose two answers differ
	BadAnswers int // answers whose fragment is not the section's row as the header says
	// FullWithSeatFree names hot sections someone was told full that still had a seat at
	// the end: seats only go during a rush, so that seat was free at every answer.
	FullWithSeatFree   []string
	HotTaken, HotSeats int // the hot sections' seats taken (enrolled + held), of their capacity
	Faults             int // requests of any phase without an answer it may get
	// With quotas on the hot sections (Rush.Quotas): their seats taken of their seats,
	// and what broke a quota's count or the open remainder (bench_quotas.go).
	QuotaTaken, QuotaSeats int
	QuotaBroken            []string
}

// OK reports whether the run held: the check, and the app neither exited unasked nor
// logged one request over and over.
func (r *BenchReport) OK() bool {
	return r.Check.OK() && r.Health.Exits == 0 && r.Health.Lines <= maxLogLinesPerRequest
}

// OK reports whether everything held.
func (c BenchCheck) OK() bool {
	return c.Check.OK() && c.Disagreed == 0 && c.BadAnswers == 0 && len(c.FullWithSeatFree) == 0 && c.Faults == 0 &&
		len(c.QuotaBroken) == 0
}

func (b *bench) check(ctx context.Context, students []*student, rush *rushRun, badAnswers int, phases ...*Phase) (BenchCheck, error) {
	var c BenchCheck
	var err error
	if c.Check, err = checkDB(ctx, b.q, b.data.term, students, b.data.ids); err != nil {
		return c, err
	}
	c.Disagreed, c.BadAnswers = rush.disagreed, badAnswers
	for _, p := range phases {
		c.Faults += p.Faulty()
	}
	full := map[int64]bool{}
	for _, cl := range rush.clicks {
		for _, r := range cl.replies {
			if r.result == "full" {
				full[cl.section] = true
			}
		}
	}
	if b.cfg.Rush.Quotas != "" {
		// Full with a seat free is a question of who asked: checkQuotas answers it.
		clear(full)
		if err := b.checkQuotas(ctx, rush, &c); err != nil {
			return c, err
		}
	}
	for _, h := range b.data.hot {
		s, err := b.q.GetSectionForRegistration(ctx, h.id)
		if err != nil {
			return c, fmt.Errorf("hot section %d: %w", h.id, err)
		}
		taken := int(s.Enrolled + s.Held)
		c.HotTaken, c.HotSeats = c.HotTaken+taken, c.HotSeats+int(s.Capacity)
		if full[h.id] && taken < int(s.Capacity) {
			c.FullWithSeatFree = append(c.FullWithSeatFree, fmt.Sprintf("section %d: told full, %d of %d seats taken at the end", h.id, taken, s.Capacity))
		}
	}
	return c, nil
}

// buildOf names the commit this binary was built from.
func buildOf() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "of unknown commit, " + runtime.Version()
	}
	rev, modified := "of unknown commit (built without VCS stamping)", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = "at " + s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		rev += " (modified)"
	}
	return rev + ", " + runtime.Version()
}

// ratio is a/b, or 0 when b is.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// WriteText writes the report for a terminal and for BENCHMARKS.md.
func (r *BenchReport) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cfg := r.Config
	p("school bench, %s, binary %s, %d cores\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Build, r.Rush.CPU.Cores)
	p("data: %d students, prepared in %.1f s; the app: one `school serve` process%s; run took %.0f s\n\n", r.Students, r.Prepared.Seconds(), goMaxProcs(cfg.Env), r.Took.Seconds())
	p("| phase | clients | requests | timed | rate/s | p50 | p90 | p99 | max | app CPU/req | mariadbd CPU/req (bench's connections) | slapd CPU/req | load generator | kernel irq+softirq | other processes | machine busy |\n")
	p("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	row := func(label string, ph *Phase) {
		c, secs := ph.CPU, ph.Elapsed.Seconds()
		per := func(v float64) string {
			if v < 0 {
				return "?"
			}
			return fmt.Sprintf("%.3f ms", 1000*v/float64(max(1, ph.Count)))
		}
		cores := func(v float64) string { return fmt.Sprintf("%.2f", v/secs) }
		p("| %s | %d | %d | %.2f s | **%.0f** | %s | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s of %d |\n",
			label, ph.Clients, ph.Count, secs, ph.Rate(), ms1(ph.Latency.P50), ms1(ph.Latency.P90), ms1(ph.Latency.P99), ms1(ph.Latency.Max),
			per(c.App), per(c.MariaDB), per(c.MariaDBConns), per(c.Slapd), cores(c.Tool), cores(c.Kernel), cores(c.Others()), cores(c.Machine), c.Cores)
	}
	rc := cfg.Rush
	row(fmt.Sprintf("rush: %d students × %d of %d sections of %d, double click (keys: %s)", rc.Students, rc.Picks, rc.Sections, rc.Capacity, rc.Key), r.Rush)
	row("bare transaction (lock student, take seat, insert enrollment)", r.Bare)
	row("POST /registrations, all enrolled", r.HTTP)
	row("floor: net/http + session read + the bare transaction (no app; CPU in the load generator's)", r.HTTPFloor)
	row("POST /login, distinct students", r.Login)
	row(fmt.Sprintf("raw LDAP search+bind, two pools of %d", cfg.Dir.PoolSize), r.LDAP)
	row("floor: net/http + search+bind + one session written (no app; CPU in the load generator's)", r.LoginFloor)
	p("\nCPU per request (or transaction) of the phase, from /proc: the app process, mariadbd (in brackets: only its threads serving the bench's own connections, " +
		"without other clients of the shared server and without InnoDB's background threads), slapd. In cores over the timed phase: the load generator (this process), " +
		"the kernel outside any process (irq and softirq, mostly the loopback traffic; steal), every other process (other people's work), the whole machine.\n")
	p("same run: HTTP/bare **%.2f** · rush/bare **%.2f** · login/LDAP **%.2f**\n",
		ratio(r.HTTP.Rate(), r.Bare.Rate()), ratio(r.Rush.Rate(), r.Bare.Rate()), ratio(r.Login.Rate(), r.LDAP.Rate()))
	p("the floor, same run: floor/bare **%.2f** (HTTP/floor %.2f) · login floor/LDAP **%.2f** (login/floor %.2f)\n",
		ratio(r.HTTPFloor.Rate(), r.Bare.Rate()), ratio(r.HTTP.Rate(), r.HTTPFloor.Rate()),
		ratio(r.LoginFloor.Rate(), r.LDAP.Rate()), ratio(r.Login.Rate(), r.LoginFloor.Rate()))
	p("answers: rush %s; bare %s; HTTP %s; HTTP floor %s; login %s; LDAP %s; login floor %s\n",
		results(r.Rush), results(r.Bare), results(r.HTTP), results(r.HTTPFloor), results(r.Login), results(r.LDAP), results(r.LoginFloor))

	c := r.Check
	verdict := "held"
	if !r.OK() {
		verdict = "FAILED"
	}
	p("check: %s: %d oversold, %d counts ≠ rows, %d duplicate rows, %d rules broken, %d enrolled answers not in the tables, %d rows nobody was told of; "+
		"%d enrollment rows; hot seats taken %d of %d; %d double clicks answered two ways; %d full while a seat was free; %d answers not showing their section; %d requests without a fitting answer\n",
		verdict, len(c.OverCapacity), len(c.CountMismatch), len(c.Duplicates), len(c.CreditLimit)+len(c.TimeConflicts), len(c.Lost), len(c.Unexplained),
		c.Enrollments, c.HotTaken, c.HotSeats, c.Disagreed, len(c.FullWithSeatFree), c.BadAnswers, c.Faults)
	if rc.Quotas != "" {
		p("quotas %q on every hot section: quota seats taken %d of %d; %d quota counts or open remainders broken\n", rc.Quotas, c.QuotaTaken, c.QuotaSeats, len(c.QuotaBroken))
	}
	for _, list := range [][]string{c.OverCapacity, c.CountMismatch, c.Duplicates, c.CreditLimit, c.TimeConflicts, c.Lost, c.Unexplained, c.FullWithSeatFree, c.QuotaBroken} {
		for i, v := range list {
			if i == 5 {
				p("  … and %d more\n", len(list)-5)
				break
			}
			p("  %s\n", v)
		}
	}
	h := r.Health
	p("app: exited unasked %d times; %d requests logged, at most %d lines for one\n", h.Exits, h.LoggedRequests, h.Lines)
}

func results(ph *Phase) string {
	var parts []string
	for _, k := range sortedKeys(ph.Results) {
		parts = append(parts, fmt.Sprintf("%s %d", k, ph.Results[k]))
	}
	for _, k := range sortedKeys(ph.Faults) {
		parts = append(parts, fmt.Sprintf("FAULT %s %d", k, ph.Faults[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func ms1(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
