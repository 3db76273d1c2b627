package rehearsal

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/seed"
)

// benchData is what a bench run is played on.
type benchData struct {
	term int64
	ids  map[string]int64 // username -> user id
	// Each phase's students, by username (the seed's stu00001 on, in this order).
	rush, http, logins, bare []string
	floor                    []string       // the floor's registrations (bench_floor.go), as many as http
	hot                      []benchSection // the rush's sections
	room                     []benchSection // sections with room for every registration of the run
}

type benchSection struct{ id, course int64 }

// prepare seeds the students (database and directory alike, through the seed) and adds
// the bench's own catalog to the seed's current term, whose window is open for every
// year without a waiting room.
func (b *bench) prepare(ctx context.Context, nHTTP, nBare int) (benchData, error) {
	cfg := b.cfg
	var d benchData
	n := cfg.Rush.Students + 2*nHTTP + cfg.Logins + nBare
	if _, err := db.Migrate(ctx, b.db); err != nil {
		return d, err
	}
	ds := seed.Generate(seed.Sizes{Students: n, Sections: 16}, cfg.Seed)
	if err := seed.WriteMySQL(ctx, b.db, ds, true); err != nil {
		return d, fmt.Errorf("seed the database: %w", err)
	}
	dir := seed.Directory{BaseDN: cfg.Dir.BaseDN, Dial: func() (*ldap.Conn, error) {
		conn, err := ldap.DialURL(cfg.Dir.URL)
		if err != nil {
			return nil, err
		}
		if err := conn.Bind(cfg.Dir.AdminDN, cfg.Dir.AdminPassword); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind as %s: %w", cfg.Dir.AdminDN, err)
		}
		return conn, nil
	}}
	if err := dir.Write(ds, seed.Passwords{Student: benchPassword, Staff: "demo-staff", Admin: "demo-admin"}); err != nil {
		return d, fmt.Errorf("seed the directory: %w", err)
	}
	names := make([]string, n)
	for i := range names {
		names[i] = ds.People[i].Username // students come first
	}
	take := func(k int) []string { s := names[:k]; names = names[k:]; return s }
	d.rush, d.http, d.logins, d.bare, d.floor = take(cfg.Rush.Students), take(nHTTP), take(cfg.Logins), take(nBare), take(nHTTP)

	users, err := b.q.RehearsalStudents(ctx)
	if err != nil {
		return d, err
	}
	d.ids = make(map[string]int64, len(users))
	for _, u := range users {
		d.ids[u.Username] = u.ID
	}
	if d.term, err = b.q.RehearsalCurrentTerm(ctx); err != nil {
		return d, fmt.Errorf("current term: %w", err)
	}

	// Seats: the hot sections have the rush's capacity; every other section has room
	// for all the registrations the run sends it, and one seat more.
	demand := make([]int, benchSections)
	for i := range cfg.Registrations {
		_, s := spread(i, nHTTP, httpPerStudent)
		demand[s] += 2 // the app's and the floor's
	}
	for i := range cfg.Bare {
		_, s := spread(i, nBare, barePerStudent)
		demand[s]++
	}
	if d.hot, err = b.addSections(ctx, d.term, "BH", "Hot section", repeat(cfg.Rush.Capacity, cfg.Rush.Sections)); err != nil {
		return d, err
	}
	if cfg.Rush.Quotas != "" {
		if err := b.addQuotas(ctx, d.hot); err != nil {
			return d, err
		}
	}
	for i := range demand {
		demand[i]++
	}
	if d.room, err = b.addSections(ctx, d.term, "BR", "Bench course", demand); err != nil {
		return d, err
	}
	return d, nil
}

// spread is the i-th registration of a phase whose students each take per sections:
// which student and which section (an index into the sections with room). Consecutive
// registrations are different students'; one student's sections are different courses in
// different meeting slots.
func spread(i, students, per int) (who, section int) {
	who = i % students
	return who, (per*who + i/students) % benchSections
}

// addSections adds one course of 3 credits and one section for each capacity, the k-th
// meeting once a week in slot k % benchSlots (five a day, 50 minutes, from 9:00).
func (b *bench) addSections(ctx context.Context, term int64, code, title string, capacities []int) ([]benchSection, error) {
	dept, err := b.q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: code, Name: title + "s (bench)"})
	if err != nil {
		return nil, fmt.Errorf("department %s: %w", code, err)
	}
	out := make([]benchSection, len(capacities))
	rows := make([][]any, len(capacities))
	for i, c := range capacities {
		if out[i].course, err = b.q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: dept, Code: fmt.Sprintf("%s%03d", code, i),
			Title: fmt.Sprintf("%s %d", title, i+1), Credits: 3}); err != nil {
			return nil, fmt.Errorf("course %s%03d: %w", code, i, err)
		}
		rows[i] = []any{out[i].course, term, "01", "Prof. Bench", "ENG-101", c}
	}
	if err := b.q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity"}, rows); err != nil {
		return nil, err
	}
	ids, err := b.q.ListTermSectionIDs(ctx, term)
	if err != nil {
		return nil, err
	}
	byCourse := make(map[int64]int64, len(ids))
	for _, s := range ids {
		byCourse[s.CourseID] = s.ID
	}
	rows = rows[:0]
	for i := range out {
		out[i].id = byCourse[out[i].course]
		slot := i % benchSlots
		start := 9*60 + 60*(slot%5)
		rows = append(rows, []any{out[i].id, 1 + slot/5, start, start + 50})
	}
	if err := b.q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, rows); err != nil {
		return nil, err
	}
	return out, nil
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// OwnDatabase creates the database name on the server of dsn, unless it exists, and
// returns its DSN. It refuses the database dsn names itself, which the bench would wipe.
func OwnDatabase(ctx context.Context, dsn, name string) (string, error) {
	cfg, err := db.Config(dsn)
	if err != nil {
		return "", err
	}
	if !ownName.MatchString(name) || name == cfg.DBName {
		return "", fmt.Errorf("the bench's database %q: want lower-case letters, digits and _, and not the database of the DSN (%s), which every bench run would wipe", name, cfg.DBName)
	}
	admin, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpen: 1})
	if err != nil {
		return "", err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	cfg.DBName = name
	return cfg.FormatDSN(), nil
}

// OwnSubtree creates ou=name under suffix, with ou=people and ou=groups below it, unless
// they exist, and returns its DN: the bench's accounts live there and nowhere else.
func OwnSubtree(url, adminDN, adminPassword, suffix, name string) (string, error) {
	if !ownName.MatchString(name) {
		return "", fmt.Errorf("the bench's directory subtree %q: want lower-case letters, digits and _", name)
	}
	conn, err := ldap.DialURL(url)
	if err != nil {
		return "", fmt.Errorf("dial %s: %w", url, err)
	}
	defer conn.Close()
	if err := conn.Bind(adminDN, adminPassword); err != nil {
		return "", fmt.Errorf("bind as %s: %w", adminDN, err)
	}
	base := "ou=" + name + "," + suffix
	for _, ou := range []string{base, "ou=people," + base, "ou=groups," + base} {
		req := ldap.NewAddRequest(ou, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		req.Attribute("ou", []string{strings.TrimPrefix(strings.SplitN(ou, ",", 2)[0], "ou=")})
		if err := conn.Add(req); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return "", fmt.Errorf("add %s: %w", ou, err)
		}
	}
	return base, nil
}

var ownName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
