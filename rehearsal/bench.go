package rehearsal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
)

// BenchConfig is one run of the registration-day benchmarks (school bench): each figure
// of the app beside a ceiling measured in the same run, against one app process the
// bench starts, on a database and a directory subtree of the bench's own.
//
//   - rush: students double-click a few hot sections at once, most are told full;
//   - registration: the bare transaction (the app's own lock, seat and insert
//     statements, nothing else) against POST /registrations, every answer enrolled;
//   - logins: POST /login against a raw pooled search+bind loop on the same directory;
//   - and both HTTP phases again against the floor (bench_floor.go): the least any HTTP
//     server does for them.
type BenchConfig struct {
	DSN      string         // the bench's own database: migrated, wiped and seeded by every run
	Dir      BenchDirectory // the bench's own directory subtree, likewise
	Command  []string       // the school binary and "serve"
	Env      []string       // the app's environment; the bench adds its database and directory
	Addr     string         // the app's listener, on loopback
	OpsAddr  string         // and its operators' one (/readyz)
	Log      io.Writer      // the app's output
	StackDir string         // deploy/local/stack's folder: mariadbd's and slapd's pid files, for their CPU

	Rush          Rush
	Registrations int // POST /registrations, each answered enrolled
	Bare          int // bare registration transactions
	Logins        int // POST /login, each by another student
	LDAPLogins    int // raw search+bind, over the same students
	Clients       int // concurrent clients of every phase but the rush
	Rounds        int // the paired phases take turns over this many rounds
	Seed          uint64
	Progress      io.Writer // a line per step; nil for none
}

// BenchDirectory is where the bench's accounts live and how to reach them.
type BenchDirectory struct {
	URL                    string
	BaseDN                 string // the bench's own subtree (it must exist): ou=people and ou=groups go below it
	BindDN, BindPassword   string // the app's service account
	AdminDN, AdminPassword string // may write BaseDN
	PoolSize               int    // connections in each of the two pools, the app's and the loop's alike
}

// Rush is registration day's opening: Students each want Picks of Sections hot sections
// of Capacity seats, click them one after the other without pause, and every click
// arrives twice at once (a double click).
type Rush struct {
	Students, Sections, Capacity, Picks int
	// Key is what the two requests of a double click carry: the "same" request_key (what
	// the page's button sends twice), "distinct" keys, or "none" (no key, as a script
	// hammering the form sends).
	Key string
	// Quotas, when not empty, are seat quotas put on every hot section, written as the
	// section form writes them ("4/*=8; */CS=5"; registration/quota.go).
	Quotas string
}

// Rush keys.
const (
	KeySame     = "same"
	KeyDistinct = "distinct"
	KeyNone     = "none"
)

// The shape of the registration phases: every student registers for this many sections
// with room, each in a meeting slot of its own (benchSlots a week), 3 credits each.
const (
	benchSections  = 200 // sections with room, a multiple of benchSlots
	benchSlots     = 25
	httpPerStudent = 3
	barePerStudent = 6 // 18 credits, the seed's credit limit
	benchPassword  = "demo-student"
	sessionCookie  = "school_session"
)

// DefaultBench is the shape of issue 15's acceptance: 400 students × 3 of 5 hot sections of
// 30 seats, double-clicked (2,400 requests); 64 clients elsewhere.
func DefaultBench() BenchConfig {
	return BenchConfig{
		Rush:          Rush{Students: 400, Sections: 5, Capacity: 30, Picks: 3, Key: KeySame},
		Registrations: 6000, Bare: 12000, Logins: 6000, LDAPLogins: 12000,
		Clients: 64, Rounds: 3, Seed: 1, Dir: BenchDirectory{PoolSize: 8},
	}
}

// Problems lists what is wrong with the run's shape: the rush and the counts.
func (c BenchConfig) Problems() []string {
	r := c.Rush
	var out []string
	if r.Students < 1 || r.Sections < 1 || r.Capacity < 1 || r.Picks < 1 || r.Picks > r.Sections {
		out = append(out, "the rush needs students, sections and seats, and no more picks than sections")
	}
	if r.Sections > benchSlots || r.Picks > 6 {
		out = append(out, fmt.Sprintf("the rush's sections meet in %d slots a week, and 18 credits are 6 sections: at most %d sections and 6 picks", benchSlots, benchSlots))
	}
	if _, code, args := catalogcsv.ParseQuotas(r.Quotas, r.Capacity); code != "" {
		out = append(out, fmt.Sprintf("rush quotas %q: %s %v (want like 4/*=8; */CS=5, within the capacity)", r.Quotas, code, args))
	}
	if r.Key != KeySame && r.Key != KeyDistinct && r.Key != KeyNone {
		out = append(out, fmt.Sprintf("rush key %q: want same, distinct or none", r.Key))
	}
	if c.Registrations < 1 || c.Bare < 1 || c.Logins < 1 || c.LDAPLogins < 1 || c.Clients < 1 || c.Rounds < 1 || c.Dir.PoolSize < 1 {
		out = append(out, "registrations, bare transactions, logins, LDAP logins, clients, rounds and the pool size must be positive")
	}
	return out
}

func (c BenchConfig) validate() error {
	p := c.Problems()
	if c.DSN == "" || c.Dir.URL == "" || c.Dir.BaseDN == "" || len(c.Command) == 0 || c.Addr == "" || c.OpsAddr == "" {
		p = append(p, "the bench needs its database, its directory subtree, the school binary and two listen addresses")
	}
	if len(p) > 0 {
		return errors.New(strings.Join(p, "; "))
	}
	return nil
}

// bench is one run.
type bench struct {
	cfg  BenchConfig
	db   *sql.DB // the bench's own pool, sized for the bare transaction's clients as the app's is
	q    *db.Queries
	app  *appProcess
	web  *benchClient
	data benchData
	rng  *rand.Rand
}

// RunBench prepares the data, starts the app, runs the phases, checks the database and
// reports. The report comes back whenever the phases ran, also when the check failed.
func RunBench(ctx context.Context, cfg BenchConfig) (*BenchReport, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	sqldb, err := db.Open(ctx, cfg.DSN, db.PoolOptions{MaxOpen: cfg.Clients, MaxIdle: cfg.Clients})
	if err != nil {
		return nil, err
	}
	defer sqldb.Close()
	b := &bench{cfg: cfg, db: sqldb, q: db.New(sqldb), rng: rand.New(rand.NewPCG(cfg.Seed, 0xbe9c4))}
	rep := &BenchReport{Config: cfg, Started: time.Now(), Build: buildOf()}

	nHTTP, nBare := ceilDiv(cfg.Registrations, httpPerStudent), ceilDiv(cfg.Bare, barePerStudent)
	rep.Students = cfg.Rush.Students + 2*nHTTP + cfg.Logins + nBare
	b.say("seeding %d students into the database and %s", rep.Students, cfg.Dir.BaseDN)
	t := time.Now()
	if b.data, err = b.prepare(ctx, nHTTP, nBare); err != nil {
		return nil, fmt.Errorf("prepare the data: %w", err)
	}
	rep.Prepared = time.Since(t)

	logs := newLogCounter(cfg.Log)
	b.app = &appProcess{serve: Serve{Command: cfg.Command, Env: b.appEnv()}, addr: cfg.Addr, opsAddr: cfg.OpsAddr, log: logs.writer()}
	if err := b.app.start(ctx); err != nil {
		return nil, err
	}
	defer b.app.stop()
	b.web = newBenchClient(cfg.Addr, 2*cfg.Rush.Students+cfg.Clients+16)
	defer b.web.conns.close()

	var students []*student
	b.say("rush: %d students × %d of %d sections of %d seats, every click twice at once (request keys: %s)",
		cfg.Rush.Students, cfg.Rush.Picks, cfg.Rush.Sections, cfg.Rush.Capacity, cfg.Rush.Key)
	rush, err := b.rush(ctx)
	if err != nil {
		return nil, fmt.Errorf("rush: %w", err)
	}
	rep.Rush, students = rush.phase, append(students, rush.students...)

	floor, err := b.startFloor()
	if err != nil {
		return nil, fmt.Errorf("the floor's server: %w", err)
	}
	defer floor.close()
	b.say("registration: %d bare transactions, %d HTTP registrations and as many at the floor, %d clients, %d rounds", cfg.Bare, cfg.Registrations, cfg.Clients, cfg.Rounds)
	reg, err := b.registrations(ctx, floor)
	if err != nil {
		return nil, fmt.Errorf("registration: %w", err)
	}
	rep.Bare, rep.HTTP, rep.HTTPFloor, students = reg.bare, reg.http, reg.floor, append(students, reg.students...)

	b.say("logins: %d POST /login and as many at the floor, %d raw search+bind, %d clients, %d rounds", cfg.Logins, cfg.LDAPLogins, cfg.Clients, cfg.Rounds)
	if rep.Login, rep.LDAP, rep.LoginFloor, err = b.logins(ctx, floor); err != nil {
		return nil, fmt.Errorf("logins: %w", err)
	}
	for _, name := range b.data.logins {
		students = append(students, &student{username: name})
	}

	b.say("checking the database")
	if rep.Check, err = b.check(ctx, students, rush, rush.badAnswers+reg.badAnswers, rep.Rush, rep.Bare, rep.HTTP, rep.HTTPFloor, rep.Login, rep.LDAP, rep.LoginFloor); err != nil {
		return rep, fmt.Errorf("check: %w", err)
	}
	b.app.stop()
	rep.Health.Exits = int(b.app.exits.Load())
	logs.fill(&rep.Health)
	rep.Took = time.Since(rep.Started)
	return rep, ctx.Err()
}

// appEnv is the app's environment: the caller's, then the bench's database and
// directory, which win.
func (b *bench) appEnv() []string {
	d := b.cfg.Dir
	return append(append([]string(nil), b.cfg.Env...),
		"SCHOOL_DB_DSN="+b.cfg.DSN,
		"SCHOOL_LDAP_URL="+d.URL,
		"SCHOOL_LDAP_BASE_DN="+d.BaseDN,
		"SCHOOL_LDAP_USER_BASE_DN=ou=people,"+d.BaseDN,
		"SCHOOL_LDAP_STUDENT_GROUP=cn=students,ou=groups,"+d.BaseDN,
		"SCHOOL_LDAP_STAFF_GROUP=cn=staff,ou=groups,"+d.BaseDN,
		"SCHOOL_LDAP_ADMIN_GROUP=cn=admins,ou=groups,"+d.BaseDN,
		"SCHOOL_LDAP_BIND_DN="+d.BindDN,
		"SCHOOL_LDAP_BIND_PASSWORD="+d.BindPassword,
		fmt.Sprintf("SCHOOL_LDAP_POOL_SIZE=%d", d.PoolSize),
	)
}

func (b *bench) say(format string, args ...any) {
	if b.cfg.Progress != nil {
		fmt.Fprintf(b.cfg.Progress, "bench %s: "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
