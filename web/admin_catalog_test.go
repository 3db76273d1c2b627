package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestAdminTerms(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	admin, staff := app.client(t), app.client(t)
	app.login(t, admin, ada)
	app.login(t, staff, sam)

	// Staff see the terms but get no form; admins do.
	_, body := app.get(t, staff, "/admin/terms")
	if doc(t, body).Find(`[data-testid="term-form"]`).Length() != 0 || doc(t, body).Find(`[data-testid="term-row"]`).Length() != 2 {
		t.Error("staff: terms listed without a form expected")
	}
	_, body = app.get(t, admin, "/admin/terms")
	if doc(t, body).Find(`[data-testid="term-form"]`).Length() != 1 {
		t.Error("admin: no new-term form")
	}

	for _, tc := range []struct {
		form   url.Values
		status int
		field  string
		want   string
	}{
		{url.Values{"code": {""}, "name": {"Fall 2027"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-12-20"}}, 400, "code", "Fill this in"},
		{url.Values{"code": {"2027-2"}, "name": {"Fall 2027"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-08-01"}}, 400, "ends_on", "end after it starts"},
		{url.Values{"code": {"2027-2"}, "name": {"Fall 2027"}, "starts_on": {"1 Sept"}, "ends_on": {"2027-12-20"}}, 400, "starts_on", "YYYY-MM-DD"},
		{url.Values{"code": {"2027-1"}, "name": {"Again"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-12-20"}}, 409, "code", "2027-1 is already used"},
		{url.Values{"code": {strings.Repeat("x", 17)}, "name": {"Long"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-12-20"}}, 400, "code", "at most 16"},
	} {
		// Over HTMX the answer is the form alone, with the message under the field.
		res, body := app.post(t, admin, "/admin/terms", tc.form, "HX-Request", "true")
		got := testid(t, body, "error-"+tc.field)
		if res.StatusCode != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %d %q, want %d %q", tc.form, res.StatusCode, got, tc.status, tc.want)
		}
		if strings.Contains(body, "<html") || doc(t, body).Find(`form#term-form`).Length() != 1 {
			t.Errorf("%v: an HTMX answer should be the form alone", tc.form)
		}
	}
	res, body := app.post(t, admin, "/admin/terms", url.Values{"code": {"2027-2"}, "name": {"Fall 2027"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-12-20"}}, "HX-Request", "true")
	if res.StatusCode != http.StatusOK || res.Header.Get("HX-Redirect") != "/admin/terms" || body != "" {
		t.Fatalf("create over HTMX: %d, redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	_, body = app.get(t, admin, "/admin/terms")
	if got := testid(t, body, "flash"); got != "Saved 2027-2." {
		t.Errorf("flash %q", got)
	}
	newTerm := int64(app.count(t, "SELECT id FROM terms WHERE code = '2027-2'"))

	res, _ = app.post(t, admin, "/admin/terms/"+itoa(newTerm), url.Values{"code": {"2027-2"}, "name": {"Autumn 2027"}, "starts_on": {"2027-09-01"}, "ends_on": {"2027-12-20"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("rename: %d", res.StatusCode)
	}
	res, _ = app.post(t, admin, "/admin/terms/"+itoa(newTerm)+"/current", nil)
	if res.StatusCode != http.StatusSeeOther || app.count(t, "SELECT COUNT(*) FROM terms WHERE is_current") != 1 ||
		app.count(t, "SELECT id FROM terms WHERE is_current") != int(newTerm) {
		t.Errorf("set current: %d", res.StatusCode)
	}
	// A term with sections is not deleted; an empty one is.
	res, body = app.post(t, admin, "/admin/terms/"+itoa(f.TermID)+"/delete", nil, "HX-Request", "true")
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "form-error"), "in use (sections: 6, registration windows: 1)") {
		t.Errorf("delete a term in use: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}
	res, _ = app.post(t, admin, "/admin/terms/"+itoa(newTerm)+"/delete", nil)
	if res.StatusCode != http.StatusSeeOther || app.count(t, "SELECT COUNT(*) FROM terms WHERE id = ?", newTerm) != 0 {
		t.Errorf("delete an empty term: %d", res.StatusCode)
	}
	// Staff may not change terms.
	if res, _ := app.post(t, staff, "/admin/terms/"+itoa(f.TermID)+"/current", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff setting the current term: %d", res.StatusCode)
	}

	n := itoa(newTerm)
	want := []string{"ada term.create term#" + n, "ada term.update term#" + n, "ada term.set_current term#" + n, "ada term.delete term#" + n}
	if got := auditTrail(t, app); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
	before, after, _ := auditDetails(t, app, "term.update")
	if before["name"] != "Fall 2027" || after["name"] != "Autumn 2027" {
		t.Errorf("term.update before %v after %v", before, after)
	}
	before, after, _ = auditDetails(t, app, "term.set_current")
	if before["current"] != "2027-1" || after["current"] != "2027-2" {
		t.Errorf("term.set_current before %v after %v", before, after)
	}
	if before, after, _ = auditDetails(t, app, "term.delete"); before["code"] != "2027-2" || after != nil {
		t.Errorf("term.delete before %v after %v", before, after)
	}
}

func TestAdminDepartmentsAndCourses(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	cs := itoa(int64(app.count(t, "SELECT id FROM departments WHERE code = 'CS'")))

	res, body := app.post(t, staff, "/admin/departments", url.Values{"code": {"CS"}, "name": {"Again"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "error-code"), "CS is already used") {
		t.Errorf("duplicate department: %d %q", res.StatusCode, testid(t, body, "error-code"))
	}
	res, _ = app.post(t, staff, "/admin/departments", url.Values{"code": {"PHYS"}, "name": {"Physics"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new department: %d", res.StatusCode)
	}
	phys := itoa(int64(app.count(t, "SELECT id FROM departments WHERE code = 'PHYS'")))
	res, body = app.post(t, staff, "/admin/departments/"+cs+"/delete", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "form-error"), "in use (courses: 2, people: 0)") {
		t.Errorf("delete a department with courses: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}

	course := func(code, prereqs string) url.Values {
		return url.Values{"department_id": {phys}, "code": {code}, "title": {"Mechanics"}, "credits": {"3"}, "prerequisites": {prereqs}}
	}
	for _, tc := range []struct {
		form   url.Values
		status int
		field  string
		want   string
	}{
		{course("PHYS101", "NOPE1, CS101"), 400, "prerequisites", "There is no course NOPE1"},
		{course("PHYS101", "PHYS101"), 400, "prerequisites", "its own prerequisite"},
		{course("CS101", ""), 409, "code", "CS101 is already used"},
		{url.Values{"department_id": {phys}, "code": {"PHYS101"}, "title": {"Mechanics"}, "credits": {"13"}}, 400, "credits", "from 0 to 12"},
		{url.Values{"department_id": {"999999"}, "code": {"PHYS101"}, "title": {"Mechanics"}, "credits": {"3"}}, 400, "department_id", "Choose the department"},
	} {
		res, body := app.post(t, staff, "/admin/courses", tc.form)
		if got := testid(t, body, "error-"+tc.field); res.StatusCode != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %d %q, want %d %q", tc.form, res.StatusCode, got, tc.status, tc.want)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM courses WHERE code = 'PHYS101'"); n != 0 {
		t.Fatalf("refused courses were written: %d", n)
	}
	res, _ = app.post(t, staff, "/admin/courses", course("PHYS101", "cs101, math101"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new course: %d", res.StatusCode)
	}
	phys101 := itoa(int64(app.count(t, "SELECT id FROM courses WHERE code = 'PHYS101'")))
	if n := app.count(t, "SELECT COUNT(*) FROM course_prerequisites WHERE course_id = ?", phys101); n != 2 {
		t.Errorf("PHYS101 has %d prerequisites, want 2", n)
	}
	// CS101 needing PHYS101 would close a loop: PHYS101 needs CS101.
	cs101 := itoa(int64(app.count(t, "SELECT id FROM courses WHERE code = 'CS101'")))
	res, body = app.post(t, staff, "/admin/courses/"+cs101, url.Values{"department_id": {cs}, "code": {"CS101"}, "title": {"Introduction to Programming"},
		"credits": {"3"}, "prerequisites": {"PHYS101"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(testid(t, body, "error-prerequisites"), "loop") {
		t.Errorf("prerequisite cycle: %d %q", res.StatusCode, testid(t, body, "error-prerequisites"))
	}
	res, _ = app.post(t, staff, "/admin/courses/"+phys101, url.Values{"department_id": {phys}, "code": {"PHYS101"}, "title": {"Classical Mechanics"},
		"credits": {"4"}, "prerequisites": {"MATH101"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("edit course: %d", res.StatusCode)
	}
	_, body = app.get(t, staff, "/admin/courses?dept=PHYS")
	if rows := doc(t, body).Find(`[data-testid="course-row"]`); rows.Length() != 1 || !strings.Contains(rows.Text(), "MATH101") || !strings.Contains(rows.Text(), "Classical Mechanics") {
		t.Errorf("course list filtered to PHYS: %q", rows.Text())
	}
	// CS101 has sections and is a prerequisite: not deleted. PHYS101 is deleted, and
	// then its department.
	res, body = app.post(t, staff, "/admin/courses/"+cs101+"/delete", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "form-error"), "in use (sections: 2, courses that require it: 1, students who completed it: 0)") {
		t.Errorf("delete a course in use: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}
	for _, path := range []string{"/admin/courses/" + phys101 + "/delete", "/admin/departments/" + phys + "/delete"} {
		if res, _ := app.post(t, staff, path, nil); res.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}

	want := []string{"sam department.create department#" + phys, "sam course.create course#" + phys101, "sam course.update course#" + phys101,
		"sam course.delete course#" + phys101, "sam department.delete department#" + phys}
	if got := auditTrail(t, app); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
	before, after, _ := auditDetails(t, app, "course.update")
	if before["title"] != "Mechanics" || after["title"] != "Classical Mechanics" || before["credits"] != 3.0 || after["credits"] != 4.0 {
		t.Errorf("course.update before %v after %v", before, after)
	}
	if b, a := before["prerequisites"].([]any), after["prerequisites"].([]any); len(b) != 2 || len(a) != 1 || a[0] != "MATH101" {
		t.Errorf("prerequisites before %v after %v", b, a)
	}
}
