package web_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// seoul is the school's zone when none is configured.
var seoul = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		panic(err)
	}
	return loc
}()

// TestSchoolTimeZone runs where servers and images run: a process whose own zone is UTC.
// A registrar types Korean wall-clock times; the database keeps UTC; pages show KST.
func TestSchoolTimeZone(t *testing.T) {
	if os.Getenv("TZ") != "UTC" {
		// time.Local is fixed at start-up: run this test again in a process whose zone is UTC.
		cmd := exec.Command(os.Args[0], "-test.run=^TestSchoolTimeZone$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestSchoolTimeZone") {
			t.Fatalf("under TZ=UTC: %v\n%s", err, out)
		}
		return
	}
	if name, off := time.Now().Zone(); off != 0 {
		t.Fatalf("process zone %s (offset %d), want UTC", name, off)
	}
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	if _, err := app.DB.Exec("DELETE FROM registration_windows"); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	term := itoa(f.TermID)

	res, body := app.post(t, staff, "/admin/windows", url.Values{"term_id": {term}, "phase": {"basket"},
		"opens_at": {"2027-02-01T09:00"}, "closes_at": {"2027-02-01T18:00"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new window: %d\n%s", res.StatusCode, body)
	}
	var opens, closes time.Time
	if err := app.DB.QueryRow("SELECT opens_at, closes_at FROM registration_windows WHERE phase = 'basket'").Scan(&opens, &closes); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC); !opens.Equal(want) || !closes.Equal(want.Add(9*time.Hour)) {
		t.Errorf("stored %v – %v, want %v – %v", opens.UTC(), closes.UTC(), want, want.Add(9*time.Hour))
	}
	_, body = app.get(t, staff, "/admin/windows?term="+term)
	row := doc(t, body).Find(`[data-testid="window-row"]`).Text()
	if !strings.Contains(row, "2027-02-01 09:00 KST") || !strings.Contains(row, "2027-02-01 18:00 KST") {
		t.Errorf("window row %q, want 09:00 KST and 18:00 KST", row)
	}
	if hint := testid(t, body, "time-zone"); !strings.Contains(hint, "Asia/Seoul (KST)") {
		t.Errorf("form hint %q, want the zone named", hint)
	}
	id := itoa(int64(app.count(t, "SELECT id FROM registration_windows WHERE phase = 'basket'")))
	_, body = app.get(t, staff, "/admin/windows/"+id)
	if v, _ := doc(t, body).Find(`input[name="opens_at"]`).Attr("value"); v != "2027-02-01T09:00" {
		t.Errorf("edit form opens_at %q, want the wall clock typed", v)
	}

	// A registration window typed on the Korean clock opens at that Korean moment: one
	// that opened two minutes ago (KST) admits now; read as UTC it would open in 9 hours.
	stu := app.client(t)
	app.login(t, stu, alice)
	kst := func(d time.Duration) string { return time.Now().Add(d).In(seoul).Format("2006-01-02T15:04") }
	res, body = app.post(t, staff, "/admin/windows", url.Values{"term_id": {term}, "phase": {"registration"},
		"opens_at": {kst(2 * time.Minute)}, "closes_at": {kst(time.Hour)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("future window: %d\n%s", res.StatusCode, body)
	}
	register := func() string {
		res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["CS101-01"])}})
		return res.Header.Get("X-Registration-Result")
	}
	if got := register(); got != "window_closed" {
		t.Errorf("before a window opening in 2 minutes (KST): %q, want window_closed", got)
	}
	res, _ = app.post(t, staff, "/admin/windows/"+itoa(int64(app.count(t, "SELECT id FROM registration_windows WHERE phase = 'registration'"))),
		url.Values{"phase": {"registration"}, "opens_at": {kst(-2 * time.Minute)}, "closes_at": {kst(time.Hour)}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("move the window: %d", res.StatusCode)
	}
	if got := register(); got != "enrolled" {
		t.Errorf("in a window opened 2 minutes ago (KST): %q, want enrolled", got)
	}
	_, body = app.get(t, stu, "/")
	if !strings.Contains(body, " KST") {
		t.Errorf("home page shows no zone beside its times")
	}
}
