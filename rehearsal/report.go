package rehearsal

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is what a rehearsal found.
type Report struct {
	Started time.Time
	Opens   time.Duration // the window's opening, since the start
	Took    time.Duration
	URLs    []string
	Config  Config
	Hot     int // hot sections drawn

	Students, LoggedIn, Admitted, Finished int
	Failed                                 map[string]int // students who stopped early, by why
	TimetableMismatch                      int
	TimetableMissing                       []string // a few examples

	Results   map[string]int // registration answers (register and waitlist clicks) by result
	PerSecond []Second       // since the start
	Latencies []Latency      // per step
	// RegisterByMinute is the register click's latency minute by minute from the opening:
	// where in the morning the slow answers were.
	RegisterByMinute []Latency
	ServerRegister   ServerLatency  // POST /registrations as the instances measured it
	Waits            []Bucket       // waiting-room waits, from joining to entering
	Errors           map[string]int // by kind
	Status5xx        int
	Faults           []FaultReport
	Check            Check
	CPU              CPU
	Health           Health
	Timeline         *Timeline // set by the hybrid drill; nil in a plain rehearsal
}

// Second is one second of the run.
type Second struct {
	At      int
	Results map[string]int
	Errors  int
}

// Bucket counts waits up to Upto (the last bucket has no bound).
type Bucket struct {
	Upto  time.Duration
	Count int
}

// resultOrder lists results in the order reports show them.
var resultOrder = []string{"enrolled", "waitlisted", "full", "time_conflict", "duplicate", "credit_limit", "prerequisite", "window_closed", "not_found", "invalid"}

func buildReport(cfg Config, rec *recorder, students []*student, faults []FaultReport, chk Check, urls []string, hot []int64, start, opens time.Time, took time.Duration) *Report {
	rep := &Report{Started: start, Opens: opens.Sub(start), Took: took, URLs: urls, Config: cfg, Hot: len(hot),
		Students: len(students), Failed: map[string]int{}, Results: map[string]int{}, Errors: map[string]int{},
		Faults: faults, Check: chk}
	for _, s := range students {
		switch {
		case s.finished:
			rep.Finished++
		case s.failed != "":
			rep.Failed[s.failed]++
		}
		if s.loggedIn {
			rep.LoggedIn++
		}
		if s.admitted {
			rep.Admitted++
		}
		if s.finished && !s.timetableSeen {
			rep.Failed["timetable_unavailable"]++
		}
		if s.timetableSeen && !s.timetableOK {
			rep.TimetableMismatch++
			if len(rep.TimetableMissing) < 5 {
				rep.TimetableMissing = append(rep.TimetableMissing, fmt.Sprintf("%s: sections %v", s.username, s.timetableMissing))
			}
		}
	}
	events := rec.snapshot()
	byStep := map[Step][]time.Duration{}
	var byMinute [][]time.Duration
	var waits []time.Duration
	secs := int(took/time.Second) + 1
	rep.PerSecond = make([]Second, secs)
	for i := range rep.PerSecond {
		rep.PerSecond[i] = Second{At: i, Results: map[string]int{}}
	}
	okPerSec := make([]int, secs)
	second := func(at time.Duration) *Second {
		return &rep.PerSecond[max(0, min(secs-1, int(at/time.Second)))]
	}
	for _, e := range events {
		if e.Error != "" {
			rep.Errors[e.Error]++
			second(e.At).Errors++
			if strings.HasPrefix(e.Error, "http_5") {
				rep.Status5xx++
			}
			continue
		}
		if e.Step == StepRegister && e.Took > 0 && e.At >= rep.Opens {
			m := int((e.At - rep.Opens) / time.Minute)
			for len(byMinute) <= m {
				byMinute = append(byMinute, nil)
			}
			byMinute[m] = append(byMinute[m], e.Took)
		}
		if e.Took > 0 {
			byStep[e.Step] = append(byStep[e.Step], e.Took)
			okPerSec[second(e.At+e.Took).At]++
		}
		if e.Step == StepWait {
			waits = append(waits, e.Took)
		}
		if (e.Step == StepRegister || e.Step == StepWaitlist) && e.Result != "" && e.Status < 500 && e.Status != 429 && e.Status != 403 {
			rep.Results[e.Result]++
			second(e.At + e.Took).Results[e.Result]++
		}
	}
	for _, st := range steps {
		if d := byStep[st]; len(d) > 0 {
			rep.Latencies = append(rep.Latencies, latency(st, d))
		}
	}
	for m, d := range byMinute {
		rep.RegisterByMinute = append(rep.RegisterByMinute, latency(Step(fmt.Sprintf("+%dm", m)), d))
	}
	for _, up := range []time.Duration{5 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 0} {
		rep.Waits = append(rep.Waits, Bucket{Upto: up})
	}
	for _, w := range waits {
		for i := range rep.Waits {
			if rep.Waits[i].Upto == 0 || w <= rep.Waits[i].Upto {
				rep.Waits[i].Count++
				break
			}
		}
	}
	for i := range rep.Faults {
		f := &rep.Faults[i]
		f.Errors = map[string]int{}
		f.Recovery = -1
		for s := int(f.Returned / time.Second); s < secs; s++ {
			sec := rep.PerSecond[s]
			// The second the service returned in holds the fault's own errors.
			if sec.Errors == 0 && okPerSec[s] > 0 && time.Duration(s)*time.Second > f.Start {
				f.Recovery = max(0, time.Duration(s)*time.Second-f.Returned)
				break
			}
		}
		end := took
		if f.Recovery >= 0 {
			end = max(f.Restored, f.Returned+f.Recovery)
		}
		for _, e := range events {
			if e.Error != "" && e.At >= f.Start && e.At <= end {
				f.Errors[e.Error]++
			}
		}
	}
	return rep
}

// Latency returns the figures of one step.
func (r *Report) Latency(s Step) Latency {
	for _, l := range r.Latencies {
		if l.Step == s {
			return l
		}
	}
	return Latency{Step: s}
}

// Answered reports whether every student got through (signed in, admitted, finished).
func (r *Report) Answered() bool { return r.Finished == r.Students }

func ms(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	if d < 10*time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func sortedKeys(m map[string]int) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := slices.Index(resultOrder, keys[i]), slices.Index(resultOrder, keys[j])
		if ri >= 0 && rj >= 0 {
			return ri < rj
		}
		if (ri >= 0) != (rj >= 0) {
			return ri >= 0
		}
		return keys[i] < keys[j]
	})
	return keys
}

// WriteText writes the report for a terminal.
func (r *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	cfg := r.Config
	p("Registration-day rehearsal, %s\n", r.Started.Format(time.RFC3339))
	p("  %d students, %d hot sections at %.0f× demand, %d choices each (want %d); window opened %s after the start, arrivals spread %s\n",
		r.Students, r.Hot, cfg.Demand.HotFactor, cfg.Demand.Choices, cfg.Demand.Want, r.Opens.Round(time.Second), cfg.Spread)
	var procs string
	if cfg.Serve != nil {
		procs = goMaxProcs(cfg.Serve.Env)
	}
	p("  waiting room: %.0f admitted a second, %d at once; app instances: %s%s; took %s\n",
		cfg.AdmitPerSecond, cfg.MaxActive, strings.Join(r.URLs, ", "), procs, r.Took.Round(time.Second))
	p("\nStudents: %d signed in, %d admitted, %d finished", r.LoggedIn, r.Admitted, r.Finished)
	for _, k := range sortedKeys(r.Failed) {
		p(", %d %s", r.Failed[k], k)
	}
	p("\n\nAnswers to register and waitlist clicks:\n")
	total := 0
	for _, k := range sortedKeys(r.Results) {
		p("  %-14s %8d\n", k, r.Results[k])
		total += r.Results[k]
	}
	p("  %-14s %8d\n", "total", total)

	p("\nAnswers per second (from the opening; every 5th second):\n  %6s", "t")
	keys := sortedKeys(r.Results)
	for _, k := range keys {
		p(" %13s", k)
	}
	p(" %8s\n", "errors")
	open := int(r.Opens / time.Second)
	for i := open; i < len(r.PerSecond); i += 5 {
		p("  %+5ds", i-open)
		for _, k := range keys {
			p(" %13d", r.PerSecond[i].Results[k])
		}
		p(" %8d\n", r.PerSecond[i].Errors)
	}

	p("\nLatency per step (answered requests):\n  %-10s %8s %10s %10s %10s %10s\n", "step", "count", "p50", "p90", "p99", "max")
	for _, l := range r.Latencies {
		p("  %-10s %8d %10s %10s %10s %10s\n", l.Step, l.Count, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max))
	}
	if sr := r.ServerRegister; sr.Count > 0 {
		bound := func(d time.Duration) string {
			if d < 0 {
				return "> 5 s"
			}
			return "≤ " + ms(d)
		}
		p("  POST /registrations as the app instances measured it (their histogram): %d requests, p50 %s, p99 %s\n",
			sr.Count, bound(sr.P50), bound(sr.P99))
	}
	if len(r.RegisterByMinute) > 1 {
		p("\nRegister clicks minute by minute from the opening:\n  %-10s %8s %10s %10s %10s\n", "minute", "count", "p50", "p99", "max")
		for _, l := range r.RegisterByMinute {
			p("  %-10s %8d %10s %10s %10s\n", l.Step, l.Count, ms(l.P50), ms(l.P99), ms(l.Max))
		}
	}
	p("\nWaiting room, from joining to entering:\n")
	lo := time.Duration(0)
	for _, b := range r.Waits {
		label := fmt.Sprintf("%s–%s", lo, b.Upto)
		if b.Upto == 0 {
			label = fmt.Sprintf("over %s", lo)
		}
		p("  %-14s %8d\n", label, b.Count)
		lo = b.Upto
	}
	p("\nErrors by kind:")
	if len(r.Errors) == 0 {
		p(" none")
	}
	p("\n")
	for _, k := range sortedKeys(r.Errors) {
		p("  %-20s %8d\n", k, r.Errors[k])
	}
	p("  5xx answers: %d; timetables missing a registered section: %d\n", r.Status5xx, r.TimetableMismatch)
	for _, m := range r.TimetableMissing {
		p("    timetable of %s\n", m)
	}
	if c := r.CPU; c.Cores > 0 {
		p("\nCPU, average cores busy of %d: machine %.2f = students (this tool) %.2f + app instances %.2f + MariaDB %.2f + everything else %.2f\n",
			c.Cores, c.Busy, c.Tool, c.Instances, c.MariaDB, c.Others)
	}
	for _, f := range r.Faults {
		since := "the service returned"
		if f.Kind == FaultDBWriter {
			since = "the kill"
		}
		p("\nDrill %s: %s\n  from %s to %s after the start; recovered %s after %s\n",
			f.Kind, f.Action, f.Start.Round(100*time.Millisecond), f.Restored.Round(100*time.Millisecond), ms(f.Recovery), since)
		for _, l := range strings.Split(f.Detail, "\n") {
			if l != "" {
				p("  %s\n", l)
			}
		}
		if f.Err != "" {
			p("  drill error: %s\n", f.Err)
		}
		p("  errors during the fault:")
		if len(f.Errors) == 0 {
			p(" none")
		}
		for _, k := range sortedKeys(f.Errors) {
			p(" %s %d", k, f.Errors[k])
		}
		p("\n")
	}
	c := r.Check
	p("\nInvariant check (from the database):\n")
	line := func(name string, v []string) {
		p("  %-40s %d\n", name, len(v))
		for i, s := range v {
			if i == 5 {
				p("    … and %d more\n", len(v)-5)
				break
			}
			p("    %s\n", s)
		}
	}
	line("sections over capacity", c.OverCapacity)
	line("enrolled count ≠ enrollment rows", c.CountMismatch)
	line("duplicate enrollments", c.Duplicates)
	line("credit limit exceeded", c.CreditLimit)
	line("time conflicts", c.TimeConflicts)
	line("lost (told, not in the database)", c.Lost)
	line("unexplained (in the database, not told)", c.Unexplained)
	p("  %d enrollments and %d waitlist entries of the run's students match %d answers; %d requests never answered (%d of them acted, found by their key)\n",
		c.Enrollments, c.WaitlistEntries, c.Answers, c.Unanswered, c.UnansweredActed)
	if c.OtherStudents > 0 {
		p("  %d enrollments of students outside the run (not checked against answers)\n", c.OtherStudents)
	}
	if c.OK() {
		p("  HELD: every invariant holds\n")
	} else {
		p("  BROKEN: see above\n")
	}
	if h := r.Health; h.Watched {
		p("\nApp instances: %d exited unasked; %d requests logged, the most lines for one: %d", h.Exits, h.LoggedRequests, h.Lines)
		if h.Noisiest != "" {
			p(" (%s)", h.Noisiest)
		}
		p("\n")
	}
	for _, prob := range r.Problems() {
		p("  FAILED: %s\n", prob)
	}
	r.writeTimeline(w)
}
