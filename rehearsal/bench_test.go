package rehearsal

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/web/ldaptest"
)

// A tiny bench run, for correctness only (no figure is asserted): 40 students rush 3 of 5
// hot sections of 3 seats with every click sent twice; then bare transactions, HTTP
// registrations and sign-ins, the app's and the floor's. Nothing is oversold or duplicated, every answer is one the
// phase may get and is in the tables, both answers of a double click agree, no section
// was called full while it had a seat, and every hot seat is taken.
func TestBenchHoldsOnATinyRush(t *testing.T) {
	_, dsn := dbtest.New(t)
	dir := ldaptest.New(t)
	ports := freePorts(t, 2)
	logs := &testlog.Buffer{}
	cfg := DefaultBench()
	cfg.DSN, cfg.Command, cfg.Addr, cfg.OpsAddr, cfg.Log = dsn, []string{buildSchool(t), "serve"}, ports[0], ports[1], logs
	cfg.Env = append(os.Environ(), "SCHOOL_LOG_LEVEL=warn")
	cfg.StackDir = os.Getenv("SCHOOL_STACK_DIR")
	cfg.Dir = BenchDirectory{URL: dir.URL, BaseDN: dir.BaseDN, BindDN: dir.BindDN, BindPassword: dir.BindPassword,
		AdminDN: dir.AdminDN, AdminPassword: dir.AdminPassword, PoolSize: 2}
	cfg.Rush = Rush{Students: 40, Sections: 5, Capacity: 3, Picks: 3, Key: KeySame}
	cfg.Registrations, cfg.Bare, cfg.Logins, cfg.LDAPLogins, cfg.Clients, cfg.Rounds = 60, 120, 30, 60, 8, 2

	rep, err := RunBench(context.Background(), cfg)
	if err != nil {
		t.Fatalf("bench: %v\napp logs:\n%s", err, logs)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Log(text.String())
	if !rep.OK() {
		t.Errorf("the check failed:\n%s\napp logs:\n%s", text.String(), logs)
	}
	if got := rep.Rush.Count; got != 2*40*3 {
		t.Errorf("rush: %d requests, want %d", got, 2*40*3)
	}
	if rep.Rush.Results["enrolled"] == 0 || rep.Rush.Results["full"] <= rep.Rush.Results["enrolled"] {
		t.Errorf("a rush for 15 seats should enrol some and turn most away: %v", rep.Rush.Results)
	}
	if rep.Check.HotSeats != 15 || rep.Check.HotTaken != 15 {
		t.Errorf("hot seats taken %d of %d, want all 15", rep.Check.HotTaken, rep.Check.HotSeats)
	}
	for _, want := range []struct {
		ph     *Phase
		result string
		n      int
	}{{rep.Bare, "enrolled", 120}, {rep.HTTP, "enrolled", 60}, {rep.HTTPFloor, "enrolled", 60}, {rep.Login, "signed_in", 30},
		{rep.LDAP, "signed_in", 60}, {rep.LoginFloor, "signed_in", 30}} {
		if want.ph.Results[want.result] != want.n || want.ph.Faulty() != 0 {
			t.Errorf("%s: %v, faults %v; want %d %s", want.ph.Name, want.ph.Results, want.ph.Faults, want.n, want.result)
		}
	}
	// Enrollment rows: the hot seats, and every HTTP, floor and bare registration.
	if want := 15 + 60 + 60 + 120; rep.Check.Enrollments != want {
		t.Errorf("%d enrollment rows, want %d", rep.Check.Enrollments, want)
	}
}

// The tiny rush again with seat quotas on the hot sections: no quota and no open
// remainder is over its count, and nobody is told full while a seat they may use is free.
func TestBenchHoldsWithQuotas(t *testing.T) {
	_, dsn := dbtest.New(t)
	dir := ldaptest.New(t)
	ports := freePorts(t, 2)
	logs := &testlog.Buffer{}
	cfg := DefaultBench()
	cfg.DSN, cfg.Command, cfg.Addr, cfg.OpsAddr, cfg.Log = dsn, []string{buildSchool(t), "serve"}, ports[0], ports[1], logs
	cfg.Env = append(os.Environ(), "SCHOOL_LOG_LEVEL=warn")
	cfg.StackDir = os.Getenv("SCHOOL_STACK_DIR")
	cfg.Dir = BenchDirectory{URL: dir.URL, BaseDN: dir.BaseDN, BindDN: dir.BindDN, BindPassword: dir.BindPassword,
		AdminDN: dir.AdminDN, AdminPassword: dir.AdminPassword, PoolSize: 2}
	cfg.Rush = Rush{Students: 40, Sections: 5, Capacity: 6, Picks: 3, Key: KeySame, Quotas: "4/*=2; */CS=1"}
	cfg.Registrations, cfg.Bare, cfg.Logins, cfg.LDAPLogins, cfg.Clients, cfg.Rounds = 30, 60, 10, 10, 4, 1

	rep, err := RunBench(context.Background(), cfg)
	if err != nil {
		t.Fatalf("bench: %v\napp logs:\n%s", err, logs)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Log(text.String())
	if !rep.OK() || len(rep.Check.QuotaBroken) > 0 {
		t.Errorf("the check failed:\n%s\napp logs:\n%s", text.String(), logs)
	}
	if rep.Check.QuotaSeats != 15 || rep.Check.QuotaTaken == 0 {
		t.Errorf("quota seats taken %d of %d, want some of 15", rep.Check.QuotaTaken, rep.Check.QuotaSeats)
	}
	if rep.Rush.Results["enrolled"] == 0 || rep.Rush.Results["full"] == 0 {
		t.Errorf("a rush for 30 seats should enrol some and turn some away: %v", rep.Rush.Results)
	}
}

// The check finds a section called full while a seat was free, and a double click
// answered two ways.
func TestBenchCheckFindsFullWithASeatFree(t *testing.T) {
	sch := seedSchool(t, 2, 4)
	ctx := context.Background()
	term, err := sch.DB.RehearsalCurrentTerm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := sch.DB.RehearsalSections(ctx, term)
	if err != nil {
		t.Fatal(err)
	}
	users, err := sch.DB.RehearsalStudents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, u := range users {
		ids[u.Username] = u.ID
	}
	hot := secs[0].ID
	b := &bench{q: sch.DB, data: benchData{term: term, ids: ids, hot: []benchSection{{id: hot}}}}
	rush := &rushRun{clicks: []rushClick{{section: hot, replies: [2]reply{{result: "full"}, {result: "full"}}}}, disagreed: 1}
	c, err := b.check(ctx, []*student{{username: "stu00001"}}, rush, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.FullWithSeatFree) != 1 || c.Disagreed != 1 || c.OK() {
		t.Errorf("want the free seat and the disagreement found: %+v", c)
	}
}
