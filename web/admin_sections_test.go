package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// adminSectionForm is a complete section form; set overrides fields.
func adminSectionForm(set ...string) url.Values {
	v := url.Values{"number": {"01"}, "instructor": {"Prof. Ada"}, "room": {"ENG-101"}, "capacity": {"40"}, "meetings": {"Mon 09:00-10:15"}}
	for i := 0; i+1 < len(set); i += 2 {
		v.Set(set[i], set[i+1])
	}
	return v
}

func TestAdminSectionValidation(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	term := itoa(f.TermID)

	res, _ := app.post(t, staff, "/admin/sections", adminSectionForm("term_id", term, "course", "cs201", "number", "02", "capacity", "2",
		"meetings", "Tue 13:00-14:15\r\nthu 13:00-14:15"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new section: %d", res.StatusCode)
	}
	created := int64(app.count(t, "SELECT s.id FROM sections s JOIN courses c ON c.id = s.course_id WHERE c.code = 'CS201' AND s.number = '02'"))
	if loc := res.Header.Get("Location"); loc != "/admin/sections/"+itoa(created) {
		t.Errorf("sent to %q", loc)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM section_meetings WHERE section_id = ? AND start_minute = 780 AND end_minute = 855", created); n != 2 {
		t.Errorf("%d meetings stored, want 2", n)
	}

	cs101full := itoa(f.Sections["CS101-02"]) // 30 of 30 taken
	for _, tc := range []struct {
		path   string
		form   url.Values
		status int
		field  string
		want   string
	}{
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "02"), 409, "number", "Section 02 of this course already exists"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "NOPE9"), 400, "course", "There is no course NOPE9"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "meetings", "Mon 10:00-09:00"), 400, "meetings", "ends before it starts"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "meetings", "Someday 09:00-10:00"), 400, "meetings", "is not a meeting time"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "meetings", "Mon 25:00-26:00"), 400, "meetings", "is not a meeting time"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "meetings", "Mon 09:00-10:00\nmon 09:30-11:00"), 400, "meetings", "overlaps another meeting"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "capacity", "-1"), 400, "capacity", "from 0 to 100000"},
		{"/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "03", "capacity", "ten"), 400, "capacity", "from 0 to 100000"},
		{"/admin/sections/" + cs101full, adminSectionForm("number", "02", "capacity", "29"), 409, "capacity", "cannot be below the 30 students registered"},
		{"/admin/sections/" + cs101full, adminSectionForm("number", "01"), 409, "number", "Section 01 of this course already exists"},
	} {
		res, body := app.post(t, staff, tc.path, tc.form)
		if got := testid(t, body, "error-"+tc.field); res.StatusCode != tc.status || !strings.Contains(got, tc.want) {
			t.Errorf("%s %v: %d %q, want %d %q", tc.path, tc.form, res.StatusCode, got, tc.status, tc.want)
		}
	}
	// Seats held for the waitlist count too.
	cs201 := itoa(f.Sections["CS201-01"]) // 10 of 40 taken
	if _, err := app.DB.Exec("UPDATE sections SET held = 2 WHERE id = ?", cs201); err != nil {
		t.Fatal(err)
	}
	res, body := app.post(t, staff, "/admin/sections/"+cs201, adminSectionForm("capacity", "11"), "HX-Request", "true")
	if got := testid(t, body, "error-capacity"); res.StatusCode != http.StatusConflict || !strings.Contains(got, "10 students registered plus the 2 seats held") {
		t.Errorf("capacity below enrolled + held: %d %q", res.StatusCode, got)
	}
	if strings.Contains(body, "<html") || doc(t, body).Find("form#section-form").Length() != 1 {
		t.Error("over HTMX the answer is the section form alone")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM sections WHERE capacity = 40 AND id = ?", cs201); n != 1 {
		t.Error("a refused capacity was written")
	}
	res, _ = app.post(t, staff, "/admin/sections/"+cs201, adminSectionForm("capacity", "12"))
	if res.StatusCode != http.StatusSeeOther || app.count(t, "SELECT capacity FROM sections WHERE id = ?", cs201) != 12 {
		t.Errorf("capacity exactly enrolled + held: %d", res.StatusCode)
	}
	// Behind the form, the schema itself refuses an oversold section.
	_, err := app.DB.Exec("UPDATE sections SET capacity = 29 WHERE id = ?", cs101full)
	if !db.IsCheckFailed(err) {
		t.Errorf("the CHECK constraint let capacity fall below enrolled: %v", err)
	}

	want := []string{"sam section.create section#" + itoa(created), "sam section.update section#" + cs201}
	if got := auditTrail(t, app); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
	_, after, _ := auditDetails(t, app, "section.create")
	if ms, _ := after["meetings"].([]any); after["course"] != "CS201" || after["capacity"] != 2.0 || len(ms) != 2 || ms[0] != "Tue 13:00-14:15" {
		t.Errorf("section.create after %v", after)
	}
	before, after, _ := auditDetails(t, app, "section.update")
	if before["capacity"] != 40.0 || after["capacity"] != 12.0 || before["instructor"] != "Prof. Edsger Dijkstra" || after["instructor"] != "Prof. Ada" {
		t.Errorf("section.update before %v after %v", before, after)
	}
}

// students adds student accounts (class year 2) straight to the database.
func students(t *testing.T, app *testApp, names ...string) map[string]int64 {
	t.Helper()
	ids := map[string]int64{}
	for _, n := range names {
		res, err := app.DB.Exec("INSERT INTO users (username, display_name, role, class_year) VALUES (?, ?, 'student', 2)", n, strings.ToUpper(n))
		if err != nil {
			t.Fatal(err)
		}
		ids[n], _ = res.LastInsertId()
	}
	return ids
}

func TestAdminRoster(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	// No registration window is open: staff work outside them.
	if _, err := app.DB.Exec("DELETE FROM registration_windows"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	ids := students(t, app, "s1", "s2", "s3")
	staff := app.client(t)
	app.login(t, staff, sam)
	res, _ := app.post(t, staff, "/admin/sections", adminSectionForm("term_id", itoa(f.TermID), "course", "MATH150", "number", "02", "capacity", "1", "meetings", "Fri 15:00-16:00"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new section: %d", res.StatusCode)
	}
	sec := strings.TrimPrefix(res.Header.Get("Location"), "/admin/sections/")
	path := "/admin/sections/" + sec
	result := func(body string) string { return testid(t, body, "admin-result") }

	for _, tc := range []struct {
		form  url.Values
		field string
		want  string
	}{
		{url.Values{"username": {"s1"}}, "reason", "Fill this in"},
		{url.Values{"username": {"ghost"}, "reason": {"x"}}, "username", "no student with the username ghost"},
		{url.Values{"username": {"sam"}, "reason": {"x"}}, "username", "sam is not a student account"},
	} {
		res, body := app.post(t, staff, path+"/enroll", tc.form)
		if got := testid(t, body, "error-"+tc.field); res.StatusCode != http.StatusBadRequest || !strings.Contains(got, tc.want) {
			t.Errorf("enroll %v: %d %q, want %q", tc.form, res.StatusCode, got, tc.want)
		}
	}
	res, body := app.post(t, staff, path+"/enroll", url.Values{"username": {"s1"}, "reason": {"late add approved by the dean"}}, "HX-Request", "true")
	if res.StatusCode != http.StatusOK || result(body) != "Registered s1 for MATH150-02." {
		t.Fatalf("enroll s1: %d %q", res.StatusCode, result(body))
	}
	if strings.Contains(body, "<html") || doc(t, body).Find(`[data-testid="roster-row"][data-username="s1"]`).Length() != 1 {
		t.Error("over HTMX the answer is the roster block, with s1 in it")
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'staff'", ids["s1"], sec); n != 1 {
		t.Error("no staff enrollment for s1")
	}
	res, body = app.post(t, staff, path+"/enroll", url.Values{"username": {"s2"}, "reason": {"x"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(result(body), "MATH150-02 is full") {
		t.Errorf("enroll into a full section: %d %q", res.StatusCode, result(body))
	}

	// s2 then s3 wait; the page lists them in that order.
	for _, n := range []string{"s2", "s3"} {
		if _, err := app.DB.Exec("INSERT INTO waitlist_entries (user_id, section_id) VALUES (?, ?)", ids[n], sec); err != nil {
			t.Fatal(err)
		}
	}
	_, body = app.get(t, staff, path)
	var order []string
	doc(t, body).Find(`[data-testid="waitlist-row"]`).Each(func(_ int, s *goquerySelection) {
		order = append(order, s.AttrOr("data-username", ""))
	})
	if !slices.Equal(order, []string{"s2", "s3"}) {
		t.Errorf("waitlist order %v", order)
	}
	// A larger capacity goes to the waitlist first: s2 gets the new seat.
	res, _ = app.post(t, staff, path, adminSectionForm("number", "02", "capacity", "2", "meetings", "Fri 15:00-16:00"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("raise capacity: %d", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'waitlist'", ids["s2"], sec); n != 1 {
		t.Error("s2 did not get the new seat")
	}

	res, body = app.post(t, staff, path+"/drop", url.Values{"username": {"s1"}})
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(result(body), "Give a reason") {
		t.Errorf("drop without a reason: %d %q", res.StatusCode, result(body))
	}
	res, body = app.post(t, staff, path+"/drop", url.Values{"username": {"s1"}, "reason": {"student withdrew"}})
	if res.StatusCode != http.StatusOK || result(body) != "Dropped s1 from MATH150-02." {
		t.Errorf("drop s1: %d %q", res.StatusCode, result(body))
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ? AND source = 'waitlist'", ids["s3"], sec); n != 1 {
		t.Error("s3 did not get s1's seat")
	}
	res, body = app.post(t, staff, path+"/drop", url.Values{"username": {"s1"}, "reason": {"again"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(result(body), "s1 is not registered in MATH150-02") {
		t.Errorf("drop twice: %d %q", res.StatusCode, result(body))
	}
	if n := app.count(t, "SELECT enrolled FROM sections WHERE id = ?", sec); n != 2 {
		t.Errorf("enrolled %d, want 2", n)
	}

	// Prerequisites and the credit limit are waived for staff; time conflicts and one
	// section per course are not.
	cs201 := itoa(f.Sections["CS201-01"])
	res, body = app.post(t, staff, "/admin/sections/"+cs201+"/enroll", url.Values{"username": {"s1"}, "reason": {"transfer credit for CS101"}})
	if res.StatusCode != http.StatusOK || result(body) != "Registered s1 for CS201-01, without the prerequisites." {
		t.Errorf("prerequisite waived: %d %q", res.StatusCode, result(body))
	}
	var meeting string
	if err := app.DB.QueryRow("SELECT CONCAT(ELT(weekday, 'Mon','Tue','Wed','Thu','Fri','Sat','Sun'), ' ', TIME_FORMAT(SEC_TO_TIME(start_minute*60), '%H:%i'), '-', TIME_FORMAT(SEC_TO_TIME(end_minute*60), '%H:%i')) FROM section_meetings WHERE section_id = ?", cs201).Scan(&meeting); err != nil {
		t.Fatal(err)
	}
	res, _ = app.post(t, staff, "/admin/sections", adminSectionForm("term_id", itoa(f.TermID), "course", "MATH101", "number", "03", "meetings", meeting))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("section at CS201-01's time (%s): %d", meeting, res.StatusCode)
	}
	clash := strings.TrimPrefix(res.Header.Get("Location"), "/admin/sections/")
	res, body = app.post(t, staff, "/admin/sections/"+clash+"/enroll", url.Values{"username": {"s1"}, "reason": {"x"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(result(body), "meets at the same time as s1's CS201-01") {
		t.Errorf("time conflict: %d %q", res.StatusCode, result(body))
	}
	res, body = app.post(t, staff, "/admin/sections/"+itoa(f.Sections["CS201-01"])+"/enroll", url.Values{"username": {"s1"}, "reason": {"x"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(result(body), "s1 already has CS201-01") {
		t.Errorf("twice in a course: %d %q", res.StatusCode, result(body))
	}
	if _, err := app.DB.Exec("UPDATE users SET credit_limit = 3 WHERE id = ?", ids["s2"]); err != nil {
		t.Fatal(err)
	}
	res, body = app.post(t, staff, "/admin/sections/"+itoa(f.Sections["CS101-01"])+"/enroll", url.Values{"username": {"s2"}, "reason": {"overload approved"}})
	if res.StatusCode != http.StatusOK || result(body) != "Registered s2 for CS101-01, over the credit limit." {
		t.Errorf("credit limit waived: %d %q", res.StatusCode, result(body))
	}
	// The roster says how each student got in; a skipped waitlist entry says why.
	if _, err := app.DB.Exec("INSERT INTO waitlist_entries (user_id, section_id, status, reason) VALUES (?, ?, 'skipped', 'time_conflict')", ids["s1"], sec); err != nil {
		t.Fatal(err)
	}
	_, body = app.get(t, staff, path)
	var how []string
	doc(t, body).Find(`[data-testid="roster-row"]`).Each(func(_ int, s *goquerySelection) {
		how = append(how, s.AttrOr("data-username", "")+": "+strings.TrimSpace(s.Find("td").Eq(3).Text()))
	})
	if !slices.Equal(how, []string{"s2: From the waitlist", "s3: From the waitlist"}) {
		t.Errorf("roster %q", how)
	}
	_, body = app.get(t, staff, "/admin/sections/"+itoa(f.Sections["CS101-01"]))
	if got := testid(t, body, "roster-row"); !strings.Contains(got, "By staff") {
		t.Errorf("staff enrollment shown as %q", got)
	}
	_, body = app.get(t, staff, path)
	if got := testid(t, body, "waitlist-skipped"); got != "s1 was skipped: time conflict" {
		t.Errorf("skipped entry %q", got)
	}
	if _, err := app.DB.Exec("DELETE FROM waitlist_entries WHERE status = 'skipped'"); err != nil {
		t.Fatal(err)
	}

	// A section with students is not deleted.
	res, body = app.post(t, staff, path+"/delete", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "form-error"), "registered: 2, waiting: 0") {
		t.Errorf("delete a section with students: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}
	res, _ = app.post(t, staff, "/admin/sections/"+clash+"/delete", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("delete an empty section: %d", res.StatusCode)
	}

	want := []string{
		"sam section.create section#" + sec, "sam section.enroll section#" + sec, "sam section.update section#" + sec,
		"sam section.drop section#" + sec, "sam section.enroll section#" + cs201, "sam section.create section#" + clash,
		"sam section.enroll section#" + itoa(f.Sections["CS101-01"]), "sam section.delete section#" + clash,
	}
	if got := auditTrail(t, app); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
	_, after, reason := auditDetails(t, app, "section.enroll")
	if after["student"] != "s2" || reason != "overload approved" || !slices.Equal(after["waived"].([]any), []any{"credit_limit"}) {
		t.Errorf("last enroll: after %v reason %q", after, reason)
	}
	before, _, reason := auditDetails(t, app, "section.drop")
	if before["student"] != "s1" || before["section"] != "MATH150-02" || reason != "student withdrew" {
		t.Errorf("drop: before %v reason %q", before, reason)
	}
}

func TestAdminWindows(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	term := itoa(f.TermID)
	form := func(set ...string) url.Values {
		v := url.Values{"term_id": {term}, "class_year": {"3"}, "phase": {"registration"}, "opens_at": {"2027-02-01T09:00"}, "closes_at": {"2027-02-03T18:00"}}
		for i := 0; i+1 < len(set); i += 2 {
			v.Set(set[i], set[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		form  url.Values
		field string
		want  string
	}{
		{form("closes_at", "2027-02-01T08:00"), "closes_at", "close after it opens"},
		{form("closes_at", "2027-02-01T09:00"), "closes_at", "close after it opens"},
		{form("opens_at", "tomorrow"), "opens_at", "date and time"},
		{form("phase", "party"), "phase", "Choose the phase"},
		{form("class_year", "9"), "class_year", "from 1 to 6"},
		{form("term_id", "999999"), "term_id", "Choose the term"},
	} {
		res, body := app.post(t, staff, "/admin/windows", tc.form)
		if got := testid(t, body, "error-"+tc.field); res.StatusCode != http.StatusBadRequest || !strings.Contains(got, tc.want) {
			t.Errorf("%v: %d %q, want %q", tc.form, res.StatusCode, got, tc.want)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM registration_windows"); n != 1 {
		t.Fatalf("refused windows were written: %d", n)
	}
	res, _ := app.post(t, staff, "/admin/windows", form())
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new window: %d", res.StatusCode)
	}
	id := int64(app.count(t, "SELECT MAX(id) FROM registration_windows"))
	var year int
	var opens time.Time
	if err := app.DB.QueryRowContext(context.Background(), "SELECT class_year, opens_at FROM registration_windows WHERE id = ?", id).Scan(&year, &opens); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 2, 1, 9, 0, 0, 0, seoul); year != 3 || !opens.Equal(want) {
		t.Errorf("stored year %d opening %v, want 3 and %v", year, opens, want)
	}
	path := "/admin/windows/" + itoa(id)
	res, _ = app.post(t, staff, path, form("class_year", "", "phase", "add_drop"))
	if res.StatusCode != http.StatusSeeOther || app.count(t, "SELECT COUNT(*) FROM registration_windows WHERE id = ? AND class_year IS NULL AND phase = 'add_drop'", id) != 1 {
		t.Errorf("edit window: %d", res.StatusCode)
	}
	_, body := app.get(t, staff, "/admin/windows?term="+term)
	if n := doc(t, body).Find(`[data-testid="window-row"]`).Length(); n != 2 {
		t.Errorf("%d windows listed, want 2", n)
	}
	if _, err := app.DB.Exec("INSERT INTO waiting_room_tickets (window_id, user_id, prequeue, state, joined_at, last_seen_at, changed_at) VALUES (?, ?, FALSE, 'waiting', NOW(), NOW(), NOW())",
		id, students(t, app, "s1")["s1"]); err != nil {
		t.Fatal(err)
	}
	res, body = app.post(t, staff, path+"/delete", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "form-error"), "waiting room (1)") {
		t.Errorf("delete a window with a waiting room: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}
	if _, err := app.DB.Exec("DELETE FROM waiting_room_tickets"); err != nil {
		t.Fatal(err)
	}
	if res, _ = app.post(t, staff, path+"/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", res.StatusCode)
	}
	n := itoa(id)
	want := []string{"sam window.create registration_window#" + n, "sam window.update registration_window#" + n, "sam window.delete registration_window#" + n}
	if got := auditTrail(t, app); !slices.Equal(got, want) {
		t.Errorf("audit log\n%q\nwant\n%q", got, want)
	}
	before, after, _ := auditDetails(t, app, "window.update")
	if before["phase"] != "registration" || after["phase"] != "add_drop" || before["class_year"] != "3" || after["class_year"] != "all" {
		t.Errorf("window.update before %v after %v", before, after)
	}
}

// Changing the capacity while students register: the section row is locked while the
// capacity is checked and written, so staff always get the plain message with the count
// the change would have broken, never the schema's refusal, and no seat is oversold.
func TestAdminCapacityRacesRegistrations(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	sec := f.Sections["MATH101-02"] // 0 of 50 taken
	names := make([]string, 60)
	for i := range names {
		names[i] = "r" + itoa(int64(i))
	}
	ids := students(t, app, names...)
	reg := registration.New(app.DB, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	staff := app.client(t)
	app.login(t, staff, sam)

	// While staff switch the capacity between 35 and 50, the first 32 students register
	// and keep their seats; the others keep registering and dropping.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req := registration.Request{StudentID: ids[n], SectionID: sec}
				out, err := reg.Register(context.Background(), req)
				if err == nil && out.Result == registration.Enrolled && i < 32 {
					return
				}
				if err == nil && out.Result == registration.Enrolled {
					_, err = reg.Drop(context.Background(), req)
				}
				if err != nil {
					t.Errorf("register or drop %s: %v", n, err)
					return
				}
			}
		}()
	}
	var accepted, refused int
	for i := range 40 {
		capacity := []string{"35", "50"}[i%2]
		res, body := app.post(t, staff, "/admin/sections/"+itoa(sec), adminSectionForm("number", "02", "capacity", capacity, "meetings", ""))
		switch got := testid(t, body, "error-capacity"); {
		case res.StatusCode == http.StatusSeeOther:
			accepted++
		case res.StatusCode == http.StatusConflict && strings.Contains(got, "cannot be below the") && strings.Contains(got, "students registered"):
			refused++
		default:
			t.Errorf("capacity %s during registrations: %d %q %q", capacity, res.StatusCode, got, testid(t, body, "form-error"))
		}
	}
	close(stop)
	wg.Wait()
	// Each student ends registered or not; the section's count agrees with the rows.
	enrolled := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", sec)

	var capacity, count, rows int
	if err := app.DB.QueryRow("SELECT capacity, enrolled, (SELECT COUNT(*) FROM enrollments WHERE section_id = s.id) FROM sections s WHERE id = ?", sec).Scan(&capacity, &count, &rows); err != nil {
		t.Fatal(err)
	}
	if count != enrolled || rows != enrolled || count > capacity {
		t.Errorf("capacity %d, enrolled column %d, enrollment rows %d, registrations answered enrolled %d", capacity, count, rows, enrolled)
	}
	// Every accepted change that moved the capacity is in the audit log, and only those.
	// (The first accepted post also clears the meetings: when the first 35 was refused,
	// that post is a 50 with the capacity unmoved, its audit row about the meetings.)
	var changes int
	rs, err := app.DB.Query(`SELECT JSON_VALUE(details, '$.before.capacity'), JSON_VALUE(details, '$.after.capacity') FROM audit_log
		WHERE action = 'section.update' AND JSON_VALUE(details, '$.before.capacity') <> JSON_VALUE(details, '$.after.capacity') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	last := "50"
	for rs.Next() {
		var b, a string
		if err := rs.Scan(&b, &a); err != nil {
			t.Fatal(err)
		}
		if b != last || a == b {
			t.Errorf("audit capacity %s -> %s after %s", b, a, last)
		}
		last = a
		changes++
	}
	if last != strconv.Itoa(capacity) || changes > accepted {
		t.Errorf("audit log ends at capacity %s with %d changes; the section has %d after %d accepted posts", last, changes, capacity, accepted)
	}
	if accepted == 0 || count < 32 {
		t.Errorf("no capacity change went through (%d), or a student kept no seat (%d registered)", accepted, count)
	}
	t.Logf("%d registered at the end; capacity posts accepted %d (%d changes), refused %d", enrolled, accepted, changes, refused)
}
