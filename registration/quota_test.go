package registration_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// studentsOf adds n students of the class year and department (0: none).
func (w *world) studentsOf(n, classYear int, dept int64) []int64 {
	ids := w.students(n, 18)
	for _, id := range ids {
		var d any
		if dept != 0 {
			d = dept
		}
		if _, err := w.db.Exec("UPDATE users SET class_year = ?, department_id = ? WHERE id = ?", classYear, d, id); err != nil {
			w.t.Fatal(err)
		}
	}
	return ids
}

// department adds a department and returns its id.
func (w *world) department(code string) int64 {
	return w.id(w.exec("INSERT INTO departments (code, name) VALUES (?, ?)", code, code+" department"))
}

// quota adds a seat quota (classYear 0, dept 0: any) to the section, as staff would: the
// quota, then the section's reserve recounted, in one bump of the catalog.
func (w *world) quota(section int64, classYear int, dept int64, capacity int) int64 {
	var y, d any
	if classYear != 0 {
		y = classYear
	}
	if dept != 0 {
		d = dept
	}
	id := w.id(w.exec("INSERT INTO section_quotas (section_id, class_year, department_id, capacity) VALUES (?, ?, ?, ?)", section, y, d, capacity))
	w.exec("UPDATE sections s SET reserved = (SELECT SUM(capacity - enrolled) FROM section_quotas q WHERE q.section_id = s.id) WHERE id = ?", section)
	return id
}

// releaseQuotas sets the section's quota release time minutes from the database's now.
func (w *world) releaseQuotas(section int64, minutes int) {
	w.exec("UPDATE sections SET quota_release_at = NOW(6) + INTERVAL ? MINUTE WHERE id = ?", minutes, section)
}

// quotaOf is the quota the student's seat in the section came from (0: open).
func (w *world) quotaOf(student, section int64) int64 {
	w.t.Helper()
	var id sql.NullInt64
	if err := w.db.QueryRow("SELECT quota_id FROM enrollments WHERE user_id = ? AND section_id = ?", student, section).Scan(&id); err != nil {
		w.t.Fatalf("enrollment of %d in %d: %v", student, section, err)
	}
	return id.Int64
}

// checkQuotas: every quota's enrolled equals its enrollment rows and stays within its
// capacity; every section's reserved is the seats its quotas have left; while the quotas
// hold, the open seats taken stay within the open remainder; every quota seat is held by
// a student the quota is for.
func (w *world) checkQuotas() {
	w.t.Helper()
	rows, err := w.db.Query(`SELECT q.id, q.capacity, q.enrolled, COUNT(e.id) FROM section_quotas q
		LEFT JOIN enrollments e ON e.quota_id = q.id GROUP BY q.id`)
	if err != nil {
		w.t.Fatal(err)
	}
	for rows.Next() {
		var id, capacity, enrolled, count int
		if err := rows.Scan(&id, &capacity, &enrolled, &count); err != nil {
			w.t.Fatal(err)
		}
		if enrolled != count || enrolled > capacity {
			w.t.Errorf("quota %d: capacity %d, enrolled %d, enrollment rows %d", id, capacity, enrolled, count)
		}
	}
	rows.Close()
	for _, c := range []struct{ what, query string }{
		{"sections whose reserved is not their quotas' seats left", `SELECT COUNT(*) FROM sections s WHERE reserved <>
			(SELECT COALESCE(SUM(q.capacity - q.enrolled), 0) FROM section_quotas q WHERE q.section_id = s.id)`},
		{"sections whose open seats taken pass the open remainder", `SELECT COUNT(*) FROM sections s
			WHERE NOT COALESCE(s.quota_release_at <= NOW(6), FALSE)
			  AND (SELECT COUNT(*) FROM enrollments e WHERE e.section_id = s.id AND e.quota_id IS NULL) + s.held >
			      s.capacity - (SELECT COALESCE(SUM(q.capacity), 0) FROM section_quotas q WHERE q.section_id = s.id)`},
		{"quota seats held by students the quota is not for", `SELECT COUNT(*) FROM enrollments e
			JOIN section_quotas q ON q.id = e.quota_id JOIN users u ON u.id = e.user_id
			WHERE (q.class_year IS NOT NULL AND NOT q.class_year <=> u.class_year)
			   OR (q.department_id IS NOT NULL AND NOT q.department_id <=> u.department_id)`},
	} {
		if n := w.count(c.query); n != 0 {
			w.t.Errorf("%d %s", n, c.what)
		}
	}
	w.checkInvariants()
}

func (w *world) quotaSeats(section int64) (enrolled, held, reserved int) {
	w.t.Helper()
	if err := w.db.QueryRow("SELECT enrolled, held, reserved FROM sections WHERE id = ?", section).Scan(&enrolled, &held, &reserved); err != nil {
		w.t.Fatal(err)
	}
	return
}

// A section of 10: 3 seats for the fourth year, 2 for the department's majors, 5 open.
func TestQuotaChoice(t *testing.T) {
	w := newWorld(t)
	math := w.department("MATH")
	sec := w.section(w.course("CS101", 3), "01", 10, mon, hm(9, 0), hm(10, 0))
	seniors := w.quota(sec, 4, 0, 3)
	majors := w.quota(sec, 0, w.dept, 2)

	others := w.studentsOf(6, 2, math)
	for i, st := range others[:5] {
		if out := w.register(st, sec); out.Result != registration.Enrolled || w.quotaOf(st, sec) != 0 {
			t.Fatalf("open seat %d: %s, quota %d", i, out.Result, w.quotaOf(st, sec))
		}
	}
	// Five open seats taken: the five left are reserved, and not free to a student they
	// are not for, who is told so from the first read.
	out := w.register(others[5], sec)
	if out.Result != registration.Full || out.SeatsLeft != 0 {
		t.Fatalf("a student of no quota on the open seats taken: %s, %d seats left, want full", out.Result, out.SeatsLeft)
	}
	// A senior major fits both quotas: the first listed is used.
	seniorMajor := w.studentsOf(1, 4, w.dept)[0]
	if out := w.register(seniorMajor, sec); out.Result != registration.Enrolled || w.quotaOf(seniorMajor, sec) != seniors {
		t.Fatalf("senior major: %s, quota %d, want the seniors' %d", out.Result, w.quotaOf(seniorMajor, sec), seniors)
	}
	seniorsOther := w.studentsOf(3, 4, math)
	for _, st := range seniorsOther[:2] {
		if out := w.register(st, sec); out.Result != registration.Enrolled || w.quotaOf(st, sec) != seniors {
			t.Fatalf("senior: %s, quota %d", out.Result, w.quotaOf(st, sec))
		}
	}
	// The seniors' quota is full and no seat is open: full to a senior of another major,
	// although two majors' seats are left.
	if out := w.register(seniorsOther[2], sec); out.Result != registration.Full {
		t.Fatalf("fourth senior: %s, want full", out.Result)
	}
	// A senior major whose first quota is full takes the majors' quota.
	seniorMajor2 := w.studentsOf(1, 4, w.dept)[0]
	out = w.register(seniorMajor2, sec)
	if out.Result != registration.Enrolled || w.quotaOf(seniorMajor2, sec) != majors {
		t.Fatalf("second senior major: %s, quota %d, want the majors' %d", out.Result, w.quotaOf(seniorMajor2, sec), majors)
	}
	if enrolled, held, reserved := w.quotaSeats(sec); enrolled != 9 || held != 0 || reserved != 1 {
		t.Errorf("section: enrolled %d, held %d, reserved %d; want 9, 0, 1", enrolled, held, reserved)
	}
	// The waitlist is for a seat the student may use: a junior major joining it gets the
	// majors' last seat at once.
	junior := w.studentsOf(1, 3, w.dept)[0]
	if out := w.join(junior, sec); out.Result != registration.Enrolled || w.quotaOf(junior, sec) != majors {
		t.Fatalf("junior major joining the waitlist: %s, quota %d, want enrolled in the majors' %d", out.Result, w.quotaOf(junior, sec), majors)
	}
	w.checkQuotas()
}

// A drop gives the seat back to the counter it came from: a quota seat to its quota (not
// to the waitlist, whose students it may not be for), an open seat to the waitlist.
func TestQuotaDrop(t *testing.T) {
	w := newWorld(t)
	math := w.department("MATH")
	sec := w.section(w.course("CS101", 3), "01", 3, mon, hm(9, 0), hm(10, 0))
	seniors := w.quota(sec, 4, 0, 1)
	senior := w.studentsOf(2, 4, math)
	open := w.studentsOf(3, 2, math)
	for _, st := range []int64{senior[0], open[0], open[1]} {
		if out := w.register(st, sec); out.Result != registration.Enrolled {
			t.Fatalf("register %d: %s", st, out.Result)
		}
	}
	if out := w.join(open[2], sec); out.Result != registration.Waitlisted {
		t.Fatalf("waitlist: %s", out.Result)
	}
	if out := w.drop(senior[0], sec); out.Result != registration.Dropped {
		t.Fatalf("senior drop: %s", out.Result)
	}
	if enrolled, held, reserved := w.quotaSeats(sec); enrolled != 2 || held != 0 || reserved != 1 {
		t.Errorf("after the quota seat's drop: enrolled %d, held %d, reserved %d; want 2, 0, 1", enrolled, held, reserved)
	}
	if n := w.count("SELECT enrolled FROM section_quotas WHERE id = ?", seniors); n != 0 {
		t.Errorf("quota enrolled %d after the drop, want 0", n)
	}
	if n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ?", open[2]); n != 0 {
		t.Errorf("the waiting student (no senior) got the senior's seat")
	}
	if out := w.register(senior[1], sec); out.Result != registration.Enrolled || w.quotaOf(senior[1], sec) != seniors {
		t.Fatalf("another senior: %s", out.Result)
	}
	// An open seat's drop goes to the waitlist.
	if out := w.drop(open[0], sec); out.Result != registration.Dropped {
		t.Fatalf("open drop: %s", out.Result)
	}
	if w.quotaOf(open[2], sec) != 0 {
		t.Errorf("the promoted student holds a quota seat")
	}
	if enrolled, held, reserved := w.quotaSeats(sec); enrolled != 3 || held != 0 || reserved != 0 {
		t.Errorf("after the open drop: enrolled %d, held %d, reserved %d; want 3, 0, 0", enrolled, held, reserved)
	}
	// Staff drop a quota seat: it goes back to the quota too.
	dropped, err := w.svc.StaffDrop(context.Background(), registration.StaffChange{By: db.Actor{Username: "registrar"}, StudentID: senior[1], Student: "senior", SectionID: sec})
	if err != nil {
		t.Fatal(err)
	}
	if dropped.SeatsLeft != 0 { // 3 seats: 2 taken, 1 kept for the seniors' quota
		t.Errorf("the staff answer says %d seats left, want 0: the free seat is the quota's", dropped.SeatsLeft)
	}
	if enrolled, held, reserved := w.quotaSeats(sec); enrolled != 2 || held != 0 || reserved != 1 {
		t.Errorf("after the staff drop: enrolled %d, held %d, reserved %d; want 2, 0, 1", enrolled, held, reserved)
	}
	// Staff enrolment takes the student's quota seat as their own request would.
	out, _, err := w.svc.StaffEnroll(context.Background(), registration.StaffChange{By: db.Actor{Username: "registrar"}, StudentID: senior[0], Student: "senior", SectionID: sec})
	if err != nil || out.Result != registration.Enrolled || w.quotaOf(senior[0], sec) != seniors {
		t.Fatalf("staff enrol a senior: %+v %v", out.Result, err)
	}
	w.checkQuotas()
}

// From the release time on (the database's clock) quota seats are open seats: nobody
// needs to run anything at that time.
func TestQuotaRelease(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 2, mon, hm(9, 0), hm(10, 0))
	w.quota(sec, 4, 0, 1)
	st := w.studentsOf(3, 2, 0)
	if out := w.register(st[0], sec); out.Result != registration.Enrolled {
		t.Fatalf("open seat: %s", out.Result)
	}
	w.releaseQuotas(sec, 10)
	if out := w.register(st[1], sec); out.Result != registration.Full {
		t.Fatalf("before the release: %s, want full", out.Result)
	}
	w.releaseQuotas(sec, -1)
	out := w.register(st[1], sec)
	if out.Result != registration.Enrolled || w.quotaOf(st[1], sec) != 0 {
		t.Fatalf("after the release: %s, quota %d, want an open seat", out.Result, w.quotaOf(st[1], sec))
	}
	if out := w.register(st[2], sec); out.Result != registration.Full {
		t.Fatalf("third student: %s, want full", out.Result)
	}
	// Released quotas reserve nothing: the capacity may fall to the seats taken.
	if _, err := registration.Resize(context.Background(), w.q, sec, 2); err != nil {
		t.Errorf("resize after the release: %v", err)
	}
	w.checkInvariants()
}

// While quotas hold, the capacity cannot fall below the seats taken and reserved.
func TestQuotaResize(t *testing.T) {
	w := newWorld(t)
	sec := w.section(w.course("CS101", 3), "01", 10, mon, hm(9, 0), hm(10, 0))
	w.quota(sec, 4, 0, 4)
	w.register(w.studentsOf(1, 2, 0)[0], sec)
	ctx := context.Background()
	err := db.InTx(ctx, w.db, func(q *db.Queries) error { _, err := registration.Resize(ctx, q, sec, 4); return err })
	if ce, ok := err.(*registration.CapacityError); !ok || ce.Reserved != 4 || ce.Enrolled != 1 {
		t.Fatalf("resize to 4: %v, want a capacity error with 4 reserved and 1 enrolled", err)
	}
	if err := db.InTx(ctx, w.db, func(q *db.Queries) error { _, err := registration.Resize(ctx, q, sec, 5); return err }); err != nil {
		t.Fatalf("resize to 5: %v", err)
	}
}

// Many students of different years and majors race for sections with quotas, under the
// load of TestNoOversellUnderConcurrency (2,000 students at once on 20 sections of 30
// seats): no quota and no section is ever over its count, and every answer matches the
// database.
func TestQuotaNoOversellUnderConcurrency(t *testing.T) {
	w := newWorld(t)
	math := w.department("MATH")
	const nSections, capacity, seniorsQ, majorsQ = 20, 30, 8, 7
	var sections []int64
	quotas := map[int64][2]int64{}
	for i := range nSections {
		c := w.course(fmt.Sprintf("HOT%02d", i), 3)
		sec := w.section(c, "01", capacity, 1+i%5, 9*60, 10*60)
		sections = append(sections, sec)
		quotas[sec] = [2]int64{w.quota(sec, 4, 0, seniorsQ), w.quota(sec, 0, w.dept, majorsQ)}
	}
	// Years 1 to 4, half of them majors, in 8 groups of 250.
	var students []int64
	for g := range 8 {
		dept := w.dept
		if g%2 == 1 {
			dept = math
		}
		students = append(students, w.studentsOf(250, 1+g/2, dept)...)
	}
	outs := run(t, len(students), func(i int) (registration.Outcome, error) {
		return w.svc.Register(context.Background(), registration.Request{StudentID: students[i], SectionID: sections[(i*7)%nSections]})
	})
	got := tally(outs)
	if got[registration.Enrolled] != nSections*capacity || got[registration.Full] != len(students)-nSections*capacity || len(got) != 2 {
		t.Errorf("results %v, want %d enrolled and the rest full", got, nSections*capacity)
	}
	for i, o := range outs {
		n := w.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ?", students[i], sections[(i*7)%nSections])
		if (o.Result == registration.Enrolled) != (n == 1) {
			t.Errorf("student %d told %s, %d enrollment rows", students[i], o.Result, n)
		}
	}
	w.checkQuotas()
	// Demand passes every counter: each quota and each section ends exactly full.
	if n := w.count("SELECT COUNT(*) FROM section_quotas WHERE enrolled <> capacity"); n != 0 {
		t.Errorf("%d quotas not exactly full", n)
	}
	if n := w.count("SELECT COUNT(*) FROM sections WHERE enrolled <> ? OR reserved <> 0", capacity); n != 0 {
		t.Errorf("%d sections not exactly full", n)
	}
}
