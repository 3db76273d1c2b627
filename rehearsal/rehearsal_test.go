package rehearsal

import (
	"context"
	"database/sql"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/seed"
	"github.com/schoolservice/school/web/ldaptest"
)

// school is a fresh database and directory subtree with a seeded school in them.
type school struct {
	SQL *sql.DB
	DB  *db.Queries
	DSN string
	Dir ldaptest.Directory
}

func seedSchool(t *testing.T, students, sections int) school {
	t.Helper()
	sqldb, dsn := dbtest.New(t)
	dir := ldaptest.New(t)
	ds := seed.Generate(seed.Sizes{Students: students, Sections: sections, Staff: 1}, 7)
	if err := seed.WriteMySQL(context.Background(), sqldb, ds, false); err != nil {
		t.Fatal(err)
	}
	d := seed.Directory{BaseDN: dir.BaseDN, Workers: 4, Dial: func() (*ldap.Conn, error) {
		conn, err := ldap.DialURL(dir.URL)
		if err != nil {
			return nil, err
		}
		if err := conn.Bind(dir.AdminDN, dir.AdminPassword); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}}
	if err := d.Write(ds, seed.Passwords{Student: "demo-student", Staff: "demo-staff", Admin: "demo-admin"}); err != nil {
		t.Fatal(err)
	}
	return school{SQL: sqldb, DB: db.New(sqldb), DSN: dsn, Dir: dir}
}

// buildSchool builds the school binary, with the race detector when the test has it, so
// the app instances are checked for data races under the rehearsal's load too.
func buildSchool(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "school")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/school")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/school: %v\n%s", err, out)
	}
	return bin
}

// freePorts returns n loopback addresses nobody listens on now, all different.
func freePorts(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close() // held until all are chosen, so none comes back twice
		out = append(out, l.Addr().String())
	}
	return out
}

// A small registration morning on two app instances, one of which is killed (SIGKILL)
// a moment after the opening and started again, with impatient students who abandon a
// fifth of their requests after 2 ms (shorter than a sign-in) and reload: every student gets through, nothing is
// oversold, lost or duplicated, the database holds exactly what the students were told,
// and no instance dies or logs a request over and over.
// (Not the MariaDB drill: other packages' tests share the stack's MariaDB.)
func TestRehearsalHoldsWhenAnInstanceIsKilled(t *testing.T) {
	sch := seedSchool(t, 300, 80)
	bin := buildSchool(t)
	logs := &testlog.Buffer{}
	ports := freePorts(t, 4) // two instances, each with its ops listener
	env := append(os.Environ(),
		"SCHOOL_DB_DSN="+sch.DSN,
		"SCHOOL_LDAP_BASE_DN="+sch.Dir.BaseDN,
		"SCHOOL_LOG_LEVEL=warn",
	)
	cfg := Config{
		DSN:      sch.DSN,
		Serve:    &Serve{Command: []string{bin, "serve"}, Env: env, Addrs: ports[:2], OpsAddrs: ports[2:], Log: logs},
		Students: 300,
		Demand:   Demand{Hot: 5, HotFactor: 10, Want: 4, Choices: 6, Waitlist: 0.5},
		Lead:     4 * time.Second, Spread: 4 * time.Second,
		AdmitPerSecond: 100, MaxActive: 1000,
		Think:     100 * time.Millisecond,
		Faults:    []Fault{{Kind: FaultInstance, At: 2 * time.Second, For: 2 * time.Second}},
		Seed:      3,
		Impatient: 0.2, AbandonAfter: 2 * time.Millisecond, // shorter than most answers: some are abandoned and sent again
	}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("rehearsal: %v\napp logs:\n%s", err, logs)
	}
	var text strings.Builder
	rep.WriteText(&text)
	t.Log(text.String())
	if !rep.Check.OK() {
		t.Errorf("an invariant broke:\n%s", text.String())
	}
	if !rep.Answered() || rep.TimetableMismatch > 0 {
		t.Errorf("%d of %d students finished, %d timetables missed a registered section:\n%s", rep.Finished, rep.Students, rep.TimetableMismatch, text.String())
	}
	if len(rep.Faults) != 1 || rep.Faults[0].Err != "" {
		t.Errorf("the drill did not run as asked: %+v", rep.Faults)
	}
	if rep.Results["enrolled"] == 0 || rep.Results["full"] == 0 || rep.Check.Enrollments == 0 {
		t.Errorf("a morning with hot sections should enrol some and turn some away: %v", rep.Results)
	}
	if rep.ServerRegister.Count == 0 {
		t.Error("no registration in the instances' own figures: /metrics on their ops listeners was not read")
	}
	if rep.Status5xx > 0 {
		t.Errorf("%d answers were 5xx:\n%s\napp logs:\n%s", rep.Status5xx, text.String(), logs)
	}
	if rep.Errors["abandoned"] == 0 {
		t.Errorf("no request was abandoned: the impatient students did not show up\n%s", text.String())
	}
	if !rep.Health.Watched {
		t.Error("the tool did not watch the instances it started")
	}
	if p := rep.Problems(); len(p) > 0 {
		t.Errorf("the app did not come through: %v\n%s", p, text.String())
	}
	if strings.Contains(logs.String(), "DATA RACE") {
		t.Errorf("the app instances report a data race:\n%s", logs)
	}
	var html strings.Builder
	if err := rep.WriteHTML(&html); err != nil || !strings.Contains(html.String(), "<svg") {
		t.Errorf("HTML report: %v", err)
	}
}

// The check finds each kind of broken invariant when the tables and the answers disagree.
func TestCheckFindsBrokenInvariants(t *testing.T) {
	sch := seedSchool(t, 3, 20)
	ctx := context.Background()
	q := sch.DB
	term, err := q.RehearsalCurrentTerm(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secs, err := q.RehearsalSections(ctx, term)
	if err != nil {
		t.Fatal(err)
	}
	users, err := q.RehearsalStudents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, u := range users {
		ids[u.Username] = u.ID
	}
	a, b := secs[0], secs[1]
	stu1 := &student{username: "stu00001", answers: []answer{{Section: a.ID, Result: "enrolled"}, {Section: b.ID, Result: "waitlisted"}}}
	stu2 := &student{username: "stu00002", unanswered: []answer{{Section: a.ID, Key: "k1"}}}
	students := []*student{stu1, stu2}

	chk, err := checkDB(ctx, q, term, students, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Lost) != 2 || len(chk.Unexplained) != 0 {
		t.Fatalf("told enrolled and waitlisted with empty tables: want 2 lost, got %+v", chk)
	}

	// stu00001's seat is there; stu00002's never-answered request acted (its key is on
	// record) and took a seat too, which is allowed; stu00003 holds one it was never told
	// about, and the section's count says one seat too many.
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := sch.SQL.Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []string{"stu00001", "stu00002", "stu00003"} {
		exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')", ids[u], a.ID, a.CourseID, term)
	}
	exec("INSERT INTO registration_requests (user_id, request_key, action, section_id, result) VALUES (?, 'k1', 'register', ?, 'enrolled')", ids["stu00002"], a.ID)
	exec("INSERT INTO waitlist_entries (user_id, section_id) VALUES (?, ?)", ids["stu00001"], b.ID)
	exec("UPDATE sections SET enrolled = 4 WHERE id = ?", a.ID)

	chk, err = checkDB(ctx, q, term, students, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Lost) != 0 || chk.UnansweredActed != 1 {
		t.Errorf("every answer is in the tables and the unanswered request is found by its key: %+v", chk)
	}
	if len(chk.CountMismatch) != 1 || chk.OK() {
		t.Errorf("enrolled 4 with 3 rows: want a count mismatch, got %+v", chk)
	}
	if chk.OtherStudents != 1 {
		t.Errorf("stu00003 is not in the run: want it counted apart, got %+v", chk)
	}

	// Now stu00003 is in the run but was told nothing: its seat is unexplained.
	students = append(students, &student{username: "stu00003"})
	chk, err = checkDB(ctx, q, term, students, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(chk.Unexplained) != 1 || !strings.Contains(chk.Unexplained[0], "stu00003") {
		t.Errorf("want stu00003's seat unexplained, got %+v", chk.Unexplained)
	}
}
