// Package rehearsal plays a registration morning against a deployment and says whether
// it held. Simulated students sign in, wait in the waiting room as the page does, click
// through their basket (the next choice when a section is full, the waitlist when they
// would), and open their timetable; meanwhile drills can stop MariaDB or the directory or
// kill an app instance. Afterwards the invariants are checked straight from the database:
// no section oversold, counts equal rows, no duplicate, no rule broken, and every answer a
// student got is what the database holds, no more, no less.
//
// The same machinery measures registration day's hot paths (RunBench, school bench): the
// rush of double clicks on a few hot sections, HTTP registration against the bare
// registration transaction, and sign-in against a raw directory loop, each beside its
// ceiling measured in the same run, with the CPU every process spent per request.
package rehearsal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
)

// Config is one rehearsal.
type Config struct {
	DSN      string   // the deployment's MySQL: the window is prepared and the check run here
	URLs     []string // app instances already running, e.g. http://127.0.0.1:8080
	OpsURLs  []string // their ops listeners (/metrics), in the same order; none: no server-side figures
	Serve    *Serve   // or app instances the tool starts (needed for the instance drill)
	Stack    string   // deploy/local/stack, for the MariaDB and directory drills
	Students int      // students taking part: stu00001 on (as the seed names them)
	Password string   // their password (the seed's demo password)
	Demand   Demand
	Lead     time.Duration // the window opens this long after the start
	Spread   time.Duration // arrivals around the opening: a normal spread of Spread/2
	// The waiting room's settings for the window.
	AdmitPerSecond float64
	MaxActive      int
	Think          time.Duration // a student's pause between clicks, give or take half
	GiveUp         time.Duration // a click unanswered this long is left to the check
	// Impatient is the share of requests a student abandons after AbandonAfter (then
	// reloads): the client that gives up, which must cost the app nothing but the request.
	Impatient    float64
	AbandonAfter time.Duration
	MaxConns     int // connections per instance (a proxy's upstream pool)
	Faults       []Fault
	Seed         uint64
	Progress     io.Writer // a live line while it runs; nil for none
	Terminal     bool      // Progress is a terminal: redraw one line
}

// defaults fills what is unset.
func (c *Config) defaults() {
	if c.Password == "" {
		c.Password = "demo-student"
	}
	d := &c.Demand
	if d.Want == 0 {
		d.Want = 5
	}
	if d.Choices == 0 {
		d.Choices = d.Want + 3
	}
	if d.HotFactor == 0 {
		d.HotFactor = 10
	}
	if c.AdmitPerSecond == 0 {
		c.AdmitPerSecond = 50
	}
	if c.MaxActive == 0 {
		c.MaxActive = 1000
	}
	if c.GiveUp == 0 {
		c.GiveUp = 2 * time.Minute
	}
	if c.AbandonAfter == 0 {
		c.AbandonAfter = 200 * time.Millisecond
	}
	if c.MaxConns == 0 {
		c.MaxConns = 512
	}
}

type runner struct {
	cfg   Config
	db    *sql.DB
	q     *db.Queries
	rec   *recorder
	procs []*appProcess
}

// Run prepares the window, plays the morning, checks the database and reports.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.defaults()
	if cfg.Students < 1 {
		return nil, errors.New("no students")
	}
	if len(cfg.URLs) == 0 && (cfg.Serve == nil || len(cfg.Serve.Addrs) == 0) {
		return nil, errors.New("no app instances: give their URLs or let the tool start them")
	}
	if len(cfg.OpsURLs) > 0 && len(cfg.OpsURLs) != len(cfg.URLs) {
		return nil, fmt.Errorf("%d ops URLs for %d app instances: give one for each, or none", len(cfg.OpsURLs), len(cfg.URLs))
	}
	if cfg.Serve != nil && len(cfg.Serve.OpsAddrs) != len(cfg.Serve.Addrs) {
		return nil, fmt.Errorf("%d ops addresses for %d app instances to start: give one for each", len(cfg.Serve.OpsAddrs), len(cfg.Serve.Addrs))
	}
	for _, f := range cfg.Faults {
		switch {
		case f.Kind == FaultInstance && (cfg.Serve == nil || len(cfg.Serve.Addrs) < 2):
			return nil, errors.New("the instance drill kills one of the app instances the tool starts: start two or more")
		case f.Kind != FaultInstance && cfg.Stack == "":
			return nil, fmt.Errorf("the %s drill needs the stack script (deploy/local/stack)", f.Kind)
		}
	}
	sqldb, err := db.Open(ctx, cfg.DSN, db.PoolOptions{MaxOpen: 4})
	if err != nil {
		return nil, err
	}
	defer sqldb.Close()
	r := &runner{cfg: cfg, db: sqldb, q: db.New(sqldb)}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7e4ea75a1))

	// What the morning is made of: the term's catalog and the students.
	term, err := r.q.RehearsalCurrentTerm(ctx)
	if err != nil {
		return nil, fmt.Errorf("current term: %w", err)
	}
	act, err := r.q.RehearsalTermActivity(ctx, db.RehearsalTermActivityParams{TermID: term})
	if err != nil {
		return nil, fmt.Errorf("term activity: %w", err)
	}
	if act.Enrollments > 0 || act.WaitlistEntries > 0 {
		return nil, fmt.Errorf("the current term already holds %d enrollments and %d waitlist entries: rehearse on a fresh seed (school seed -replace …), so the check can tell what this run did", act.Enrollments, act.WaitlistEntries)
	}
	secRows, err := r.q.RehearsalSections(ctx, term)
	if err != nil {
		return nil, fmt.Errorf("sections: %w", err)
	}
	meetRows, err := r.q.RehearsalMeetings(ctx, term)
	if err != nil {
		return nil, fmt.Errorf("meetings: %w", err)
	}
	prereqs, err := r.q.AllPrerequisites(ctx)
	if err != nil {
		return nil, fmt.Errorf("prerequisites: %w", err)
	}
	cat := loadCatalog(secRows, meetRows, prereqs, term)
	users, err := r.q.RehearsalStudents(ctx)
	if err != nil {
		return nil, fmt.Errorf("students: %w", err)
	}
	ids := make(map[string]int64, len(users))
	for _, u := range users {
		ids[u.Username] = u.ID
	}
	names := make([]string, cfg.Students)
	for i := range names {
		names[i] = fmt.Sprintf("stu%05d", i+1)
		if ids[names[i]] == 0 {
			return nil, fmt.Errorf("student %s is not in the database: seed at least %d students", names[i], cfg.Students)
		}
	}
	done, err := r.q.RehearsalCompleted(ctx)
	if err != nil {
		return nil, fmt.Errorf("completed courses: %w", err)
	}
	passed := map[[2]int64]bool{}
	for _, c := range done {
		passed[[2]int64{c.UserID, c.CourseID}] = true
	}
	canTake := func(who int, s section) bool {
		for _, course := range s.Requires {
			if !passed[[2]int64{ids[names[who]], course}] {
				return false
			}
		}
		return true
	}
	plans, hot := drawPlans(cat, cfg.Students, cfg.Demand, canTake, rng)
	arrive := arrivals(cfg.Students, cfg.Lead, cfg.Spread, rng)

	// The window, with its waiting room on; it opens Lead after the instances are up.
	var window int64
	if err := db.InTx(ctx, sqldb, func(q *db.Queries) error {
		if err := q.RehearsalDeleteWindows(ctx, term); err != nil {
			return err
		}
		now := time.Now().UTC()
		window, err = q.RehearsalInsertWindow(ctx, db.RehearsalInsertWindowParams{TermID: term, OpensAt: now.Add(time.Hour),
			ClosesAt: now.Add(13 * time.Hour), PrequeueOpensAt: sql.NullTime{Time: now, Valid: true},
			MaxActive: int32(cfg.MaxActive), AdmitPerSecond: cfg.AdmitPerSecond,
			PassSeconds: 1200, IdleSeconds: 300, GraceSeconds: 60})
		if err != nil {
			return err
		}
		// Instances already running (URLs given) register against their catalog: the
		// version tells them the windows changed.
		return q.BumpCatalogVersion(ctx)
	}); err != nil {
		return nil, fmt.Errorf("prepare the registration window: %w", err)
	}

	// The app instances.
	urls := append([]string(nil), cfg.URLs...)
	opsURLs := append([]string(nil), cfg.OpsURLs...)
	var logs *logCounter
	if cfg.Serve != nil {
		logs = newLogCounter(cfg.Serve.Log)
		for i, addr := range cfg.Serve.Addrs {
			p := &appProcess{serve: *cfg.Serve, addr: addr, opsAddr: cfg.Serve.OpsAddrs[i], log: logs.writer()}
			r.procs = append(r.procs, p)
		}
		defer func() {
			for _, p := range r.procs {
				p.stop()
			}
		}()
		var wg sync.WaitGroup
		errs := make([]error, len(r.procs))
		for i, p := range r.procs {
			wg.Go(func() { errs[i] = p.start(ctx) })
			urls, opsURLs = append(urls, p.url()), append(opsURLs, p.opsURL())
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	// The instances are up: the clock starts, and the window opens Lead from now. The
	// replicas see the new opening within a second, long before anyone may register.
	start := time.Now()
	opens := start.Add(cfg.Lead)
	if err := db.InTx(ctx, sqldb, func(q *db.Queries) error {
		if err := q.RehearsalSetOpening(ctx, db.RehearsalSetOpeningParams{OpensAt: opens.UTC(),
			PrequeueOpensAt: sql.NullTime{Time: start.UTC(), Valid: true}, ID: window}); err != nil {
			return err
		}
		return q.BumpCatalogVersion(ctx)
	}); err != nil {
		return nil, fmt.Errorf("set the opening: %w", err)
	}
	r.rec = newRecorder(start)
	transport := &http.Transport{MaxIdleConns: 4 * cfg.MaxConns, MaxIdleConnsPerHost: cfg.MaxConns,
		MaxConnsPerHost: cfg.MaxConns, IdleConnTimeout: 90 * time.Second}
	defer transport.CloseIdleConnections()
	c := &client{
		http: &http.Client{Transport: transport, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		rec: r.rec, password: cfg.Password, think: cfg.Think, giveUp: cfg.GiveUp,
		impatient: cfg.Impatient, abandonAfter: cfg.AbandonAfter,
	}
	for _, u := range urls {
		inst := &instance{url: u}
		if host, ok := strings.CutPrefix(u, "http://"); ok && !strings.Contains(host, "/") {
			inst.conns = newConns(host, cfg.MaxConns, c.http.Timeout)
			defer inst.conns.close()
		}
		c.instances = append(c.instances, inst)
	}
	regBefore := sumBuckets(ctx, c.http, opsURLs, "/registrations")
	students := make([]*student, cfg.Students)
	for i := range students {
		students[i] = &student{c: c, username: names[i], home: i % len(urls), arrival: arrive[i], plan: plans[i],
			want: cfg.Demand.Want, cookies: map[string]string{}, rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)))}
	}

	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	var faults []FaultReport
	var faultsMu sync.Mutex
	var drills sync.WaitGroup
	for _, f := range cfg.Faults {
		drills.Go(func() {
			t := time.NewTimer(time.Until(opens.Add(f.At)))
			select {
			case <-runCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			rep := r.drill(runCtx, f)
			faultsMu.Lock()
			faults = append(faults, rep)
			faultsMu.Unlock()
		})
	}
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); r.progress(runCtx, cfg, opens) }()
	meter := newCPUMeter(r)
	meterDone := make(chan struct{})
	go func() {
		defer close(meterDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				meter.sample()
			}
		}
	}()

	var wg sync.WaitGroup
	for _, s := range students {
		wg.Go(func() { s.run(runCtx) })
	}
	wg.Wait()
	drills.Wait()
	server := serverLatency(regBefore, sumBuckets(ctx, c.http, opsURLs, "/registrations"))
	stopRun()
	<-progressDone
	<-meterDone
	cpu := meter.result()
	took := time.Since(start)

	// Wait for the database (a drill may just have restarted it), then check.
	chk, err := r.check(ctx, cat, students, ids)
	if err != nil {
		return nil, fmt.Errorf("invariant check: %w", err)
	}
	sort.Slice(faults, func(i, j int) bool { return faults[i].Start < faults[j].Start })
	rep := buildReport(cfg, r.rec, students, faults, chk, urls, hot, start, opens, took)
	rep.CPU, rep.ServerRegister = cpu, server
	if logs != nil {
		for _, p := range r.procs {
			rep.Health.Exits += int(p.exits.Load())
		}
		logs.fill(&rep.Health)
	}
	return rep, ctx.Err()
}

// progress writes a live line: who has arrived, waits, registers; answers and errors.
func (r *runner) progress(ctx context.Context, cfg Config, opens time.Time) {
	if cfg.Progress == nil {
		return
	}
	every := time.Second
	if !cfg.Terminal {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastEnrolled int64
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			if cfg.Terminal {
				fmt.Fprintln(cfg.Progress)
			}
			return
		case <-t.C:
		}
		now := time.Now()
		enrolled := r.rec.enrolled.Load()
		rate := float64(enrolled-lastEnrolled) / now.Sub(last).Seconds()
		lastEnrolled, last = enrolled, now
		when := fmt.Sprintf("opens in %ds", int(time.Until(opens).Seconds()+0.5))
		if !now.Before(opens) {
			when = fmt.Sprintf("open %ds", int(now.Sub(opens).Seconds()))
		}
		line := fmt.Sprintf("rehearse %s | signed in %d/%d, waiting %d, admitted %d, done %d | enrolled %d (%.0f/s), full %d | errors %d",
			when, r.rec.loggedIn.Load(), cfg.Students, r.rec.waiting.Load(), r.rec.admitted.Load(), r.rec.finished.Load(),
			enrolled, rate, r.rec.full.Load(), r.rec.errors.Load())
		if cfg.Terminal {
			fmt.Fprintf(cfg.Progress, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(cfg.Progress, line)
		}
	}
}
