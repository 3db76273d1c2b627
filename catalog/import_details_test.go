package catalog_test

import (
	"testing"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
)

// A file with the course detail columns sets them; a file without them, as files were
// written before the columns existed, imports and leaves them as they are; a file with
// one of them changes that one only.
func TestImportCourseDetails(t *testing.T) {
	f := newFixture(t)
	importFile := func(name, data string) {
		t.Helper()
		c, err := f.svc.PrepareImport(f.ctx, sam, catalogcsv.Catalog, name, []byte(data))
		if err != nil || c.JobID == 0 {
			t.Fatalf("%s: %+v %v", name, c.Problems, err)
		}
		if job := f.run(c.JobID); job.State != db.ImportJobsStateDone {
			t.Fatalf("%s: job %s", name, job.State)
		}
	}
	type details struct {
		title, titleKo, kind, syllabus, description string
		year                                        int
		open                                        bool
	}
	read := func(code string) details {
		t.Helper()
		var d details
		if err := f.db.QueryRow("SELECT title, title_ko, course_type, syllabus_url, description, class_year, open_to_others FROM courses WHERE code = ?", code).
			Scan(&d.title, &d.titleKo, &d.kind, &d.syllabus, &d.description, &d.year, &d.open); err != nil {
			t.Fatal(err)
		}
		return d
	}

	importFile("new.csv", "department,course_code,title,credits,term,section,capacity,title_ko,course_type,class_year,open_to_other_departments,description,syllabus_url\n"+
		"CS,CS301,Operating Systems,3,2027-1,01,40,운영체제,전공필수,3,N,Processes and memory,https://cs.example.ac.kr/syllabus/CS301\n")
	want := details{"Operating Systems", "운영체제", "major_required", "https://cs.example.ac.kr/syllabus/CS301", "Processes and memory", 3, false}
	if got := read("CS301"); got != want {
		t.Errorf("after the new file: %+v, want %+v", got, want)
	}

	importFile("old.csv", header+"CS,CS301,Operating Systems II,3,2027-1,01,40,,,\n")
	want.title = "Operating Systems II"
	if got := read("CS301"); got != want {
		t.Errorf("after a file without the columns: %+v, want %+v", got, want)
	}

	importFile("type.csv", "department,course_code,title,credits,term,section,capacity,course_type\nCS,CS301,Operating Systems II,3,,,,major_elective\n")
	want.kind = "major_elective"
	if got := read("CS301"); got != want {
		t.Errorf("after a file with the type only: %+v, want %+v", got, want)
	}
}
