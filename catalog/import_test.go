package catalog_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
)

const header = "department,course_code,title,credits,term,section,capacity,instructor,room,meetings\n"

// run confirms job id and runs it to its end, as the confirmation's replica does.
func (f *fixture) run(id int64) db.GetImportJobRow {
	f.t.Helper()
	q := db.New(f.db)
	if n, err := q.StartImportJob(f.ctx, id); err != nil || n != 1 {
		f.t.Fatalf("start import %d: %d %v", id, n, err)
	}
	f.svc.RunImport(f.ctx, id, sam)
	job, err := q.GetImportJob(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return job
}

// TestImportCatalog: a file with problems is not kept; a good one is kept, then applied
// with one audit row.
func TestImportCatalog(t *testing.T) {
	f := newFixture(t)
	bad, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "bad.csv", []byte(header+"ART,ART101,Drawing,2,2027-1,01,20,,,\n"))
	if err != nil || bad.JobID != 0 || len(bad.Problems) != 1 || bad.Problems[0].Code != "unknown_department" {
		t.Fatalf("a file with problems: %+v %v", bad, err)
	}
	if n := f.count("SELECT COUNT(*) FROM import_jobs"); n != 0 {
		t.Errorf("%d jobs kept for a file with problems", n)
	}
	good, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "spring.csv", []byte(header+
		"CS,CS101,Programming,3,2027-1,01,30,Prof. Ada,ENG-101,Mon 09:00-10:15; Wed 09:00-10:15\n"+
		"CS,CS101,Programming,3,2027-1,02,30,,,\n"))
	if err != nil || good.JobID == 0 || len(good.Problems) != 0 {
		t.Fatalf("a good file: %+v %v", good, err)
	}
	if sm, ok := good.Summary.(catalogcsv.CatalogSummary); !ok || sm.NewCourses != 1 || sm.NewSections != 2 {
		t.Errorf("summary %+v", good.Summary)
	}
	if n := f.count("SELECT COUNT(*) FROM sections"); n != 0 {
		t.Errorf("the preview wrote %d sections", n)
	}

	job := f.run(good.JobID)
	if job.State != db.ImportJobsStateDone || job.Done != 2 {
		t.Fatalf("job %s, %d rows done", job.State, job.Done)
	}
	if n := f.count("SELECT COUNT(*) FROM sections s JOIN courses c ON c.id = s.course_id WHERE c.code = 'CS101'"); n != 2 {
		t.Errorf("%d sections of CS101, want 2", n)
	}
	if n := f.count("SELECT COUNT(*) FROM section_meetings"); n != 2 {
		t.Errorf("%d meetings, want 2", n)
	}
	var actor, entity string
	var details []byte
	if err := f.db.QueryRow("SELECT actor, entity, details FROM audit_log WHERE action = 'import.catalog' AND entity_id = ?", good.JobID).Scan(&actor, &entity, &details); err != nil {
		t.Fatalf("audit row: %v", err)
	}
	var d struct {
		After struct {
			File    string
			Summary catalogcsv.CatalogSummary
		}
	}
	if err := json.Unmarshal(details, &d); err != nil || actor != "sam" || entity != "import_job" || d.After.File != "spring.csv" || d.After.Summary.NewSections != 2 {
		t.Errorf("audit row by %q of %q: %s (%v)", actor, entity, details, err)
	}
}

// TestImportCapacity: an import changes a capacity by registration's rule: never below
// the seats taken, and new seats to the students waiting first.
func TestImportCapacity(t *testing.T) {
	f := newFixture(t)
	course := f.course("CS101")
	sec, _, err := f.svc.CreateSection(f.ctx, sam, "CS101", f.term, catalog.Section{Number: "01", Capacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := f.student("s1"), f.student("s2")
	f.exec("INSERT INTO enrollments (user_id, section_id, course_id, term_id, source) VALUES (?, ?, ?, ?, 'register')", s1, sec, course, f.term)
	f.exec("UPDATE sections SET enrolled = 1 WHERE id = ?", sec)
	f.exec("INSERT INTO waitlist_entries (user_id, section_id) VALUES (?, ?)", s2, sec)
	file := func(capacity string) []byte {
		return []byte(header + "CS,CS101,Course CS101,3,2027-1,01," + capacity + ",,,\n")
	}

	below, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "below.csv", file("0"))
	if err != nil || len(below.Problems) != 1 || below.Problems[0].Code != "capacity_below_enrolled" {
		t.Errorf("a capacity below the student registered: %+v %v", below.Problems, err)
	}
	more, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "more.csv", file("3"))
	if err != nil || more.JobID == 0 {
		t.Fatalf("%+v %v", more, err)
	}
	if job := f.run(more.JobID); job.State != db.ImportJobsStateDone {
		t.Fatalf("job %s: %s", job.State, job.Problems)
	}
	if n := f.count("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'waitlist'", s2, sec); n != 1 {
		t.Error("the student waiting did not get one of the new seats")
	}
	if n := f.count("SELECT capacity - enrolled - held FROM sections WHERE id = ?", sec); n != 1 {
		t.Errorf("%d seats free for anyone, want 1", n)
	}
}

// TestImportTranscripts records completed courses; a course recorded again takes the
// file's grade.
func TestImportTranscripts(t *testing.T) {
	f := newFixture(t)
	f.course("CS101")
	f.student("alice")
	for _, grade := range []string{"B", "A"} {
		c, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Transcripts, "grades.csv", []byte("student,course_code,term,grade\nALICE,cs101,2026-2,"+grade+"\n"))
		if err != nil || c.JobID == 0 {
			t.Fatalf("%+v %v", c, err)
		}
		if job := f.run(c.JobID); job.State != db.ImportJobsStateDone {
			t.Fatalf("job %s: %s", job.State, job.Problems)
		}
	}
	if n := f.count("SELECT COUNT(*) FROM completed_courses WHERE grade = 'A'"); n != 1 {
		t.Error("the second file did not update the grade")
	}
	if n := f.count("SELECT COUNT(*) FROM audit_log WHERE action = 'import.transcripts'"); n != 2 {
		t.Errorf("%d audit rows, want 2", n)
	}
}

// TestImportQuotas: the quotas and quota_release_at columns replace the sections' quotas;
// a quota keeps its students, and a quota below them refuses the file.
func TestImportQuotas(t *testing.T) {
	f := newFixture(t)
	f.course("CS101")
	const qheader = "department,course_code,title,credits,term,section,capacity,quotas,quota_release_at\n"
	imp := func(rows string) catalog.Check {
		t.Helper()
		c, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "q.csv", []byte(qheader+rows))
		if err != nil {
			t.Fatal(err)
		}
		if c.JobID != 0 {
			if job := f.run(c.JobID); job.State != db.ImportJobsStateDone {
				c.Problems = append(c.Problems, catalogcsv.Problem{Code: string(job.Problems)})
			}
		}
		return c
	}
	if c := imp("CS,CS101,Course CS101,3,2027-1,01,30,4/*=10; */CS=5,2027-02-20T09:00+09:00\n"); len(c.Problems) > 0 {
		t.Fatalf("new section with quotas: %+v", c.Problems)
	}
	var sec int64
	if err := f.db.QueryRow("SELECT id FROM sections WHERE number = '01'").Scan(&sec); err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT reserved FROM sections WHERE id = ? AND quota_release_at = '2027-02-20 00:00:00'", sec); n != 15 {
		t.Errorf("reserved %d, want 15 with the release time kept", n)
	}
	f.exec("UPDATE section_quotas SET enrolled = 4 WHERE class_year = 4")
	if c := imp("CS,CS101,Course CS101,3,2027-1,01,30,4/*=3,\n"); len(c.Problems) != 1 {
		t.Errorf("a quota below its students: %+v", c.Problems)
	}
	if c := imp("CS,CS101,Course CS101,3,2027-1,01,20,4/*=6,\n"); len(c.Problems) > 0 {
		t.Fatalf("quotas changed: %+v", c.Problems)
	}
	if n := f.count("SELECT COUNT(*) FROM section_quotas WHERE section_id = ? AND class_year = 4 AND capacity = 6 AND enrolled = 4", sec); n != 1 {
		t.Errorf("the fourth year's quota lost its students or its new size")
	}
	if n := f.count("SELECT reserved FROM sections WHERE id = ? AND capacity = 20 AND quota_release_at IS NULL", sec); n != 2 {
		t.Errorf("reserved %d, want 2", n)
	}
}

// TestQuotaOrderFollowsStaff: a student takes a seat of the first quota listed that fits
// them, so listing the same quotas in another order must change which comes first, and
// the quotas kept keep their students.
func TestQuotaOrderFollowsStaff(t *testing.T) {
	f := newFixture(t)
	f.course("CS101")
	const qheader = "department,course_code,title,credits,term,section,capacity,quotas,quota_release_at\n"
	imp := func(quotas string) {
		t.Helper()
		c, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, "q.csv", []byte(qheader+"CS,CS101,Course CS101,3,2027-1,01,30,"+quotas+",\n"))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Problems) > 0 {
			t.Fatalf("%s: %+v", quotas, c.Problems)
		}
		if c.JobID != 0 {
			if job := f.run(c.JobID); job.State != db.ImportJobsStateDone {
				t.Fatalf("%s: %s", quotas, job.Problems)
			}
		}
	}
	var sec int64
	order := func() string {
		t.Helper()
		qs, _, err := f.svc.Quotas(f.ctx, sec)
		if err != nil {
			t.Fatal(err)
		}
		return catalogcsv.FormatQuotas(qs)
	}
	imp("4/*=10; */CS=5")
	if err := f.db.QueryRow("SELECT id FROM sections WHERE number = '01'").Scan(&sec); err != nil {
		t.Fatal(err)
	}
	f.exec("UPDATE section_quotas SET enrolled = 2 WHERE class_year = 4")
	for _, want := range []string{"*/CS=5; 4/*=10", "*/CS=5; 3/*=4; 4/*=10", "4/*=10; */CS=5"} {
		imp(want)
		if got := order(); got != want {
			t.Errorf("listed %q, read back %q", want, got)
		}
		// What registration chooses by: its catalog's quotas, in the order tried, for a
		// fourth-year CS major (whom 3/* does not fit).
		cat, err := f.reg.FreshCatalog(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		fits, _ := cat.QuotasFor(sec, 4, f.dept, 30, 0, 0, 0, map[int64]int{})
		var tried []string
		for _, q := range fits {
			tried = append(tried, catalogcsv.Quota{ClassYear: q.ClassYear, Department: q.Department, Seats: q.Capacity}.String())
		}
		if got, wantTried := strings.Join(tried, "; "), strings.ReplaceAll(want, "3/*=4; ", ""); got != wantTried {
			t.Errorf("listed %q, registration tries %q, want %q", want, got, wantTried)
		}
		if n := f.count("SELECT COUNT(*) FROM section_quotas WHERE section_id = ? AND class_year = 4 AND enrolled = 2", sec); n != 1 {
			t.Errorf("listed %q: the fourth year's quota lost its students", want)
		}
	}
}
