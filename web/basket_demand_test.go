package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Basket counts are aggregates in the catalog and the basket, with the competition ratio,
// and only while the window in force for the student's year shows them; staff always see
// them, and the setting is a validated, audited window change.
func TestBasketCounts(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	ids := students(t, app, "holder1", "holder2", "holder3")
	cs101, cs201 := f.Sections["CS101-01"], f.Sections["CS201-01"]
	for _, id := range ids {
		if _, err := app.DB.Exec("INSERT INTO basket_items (user_id, section_id) VALUES (?, ?)", id, cs101); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app.DB.Exec("INSERT INTO basket_items (user_id, section_id) VALUES (?, ?)", ids["holder1"], cs201); err != nil {
		t.Fatal(err)
	}
	// A replica started now has counted the baskets (each recounts every 5 s after).
	rep := app.replica(t)
	student := rep.client(t)
	rep.login(t, student, alice)
	staff := rep.client(t)
	rep.login(t, staff, sam)

	demandOf := func(body string, section int64) (baskets, ratio string) {
		row := doc(t, body).Find(`[data-testid="section-row"][data-section-id="` + itoa(section) + `"]`)
		return strings.TrimSpace(row.Find(`[data-testid="demand-baskets"]`).Text()), strings.TrimSpace(row.Find(`[data-testid="demand-ratio"]`).Text())
	}
	hidden := func(who, body string) {
		t.Helper()
		if n := doc(t, body).Find(`[data-testid="demand"]`).Length(); n != 0 || strings.Contains(body, "in baskets") {
			t.Errorf("%s: %d basket counts shown while the window hides them", who, n)
		}
	}

	// The seeded window hides them (the default) from students; staff see them.
	_, body := rep.get(t, student, "/courses")
	hidden("student, window hides", body)
	_, body = rep.get(t, staff, "/courses")
	if b, r := demandOf(body, cs101); b != "3 in baskets" || r != "0.10 : 1" {
		t.Errorf("staff see CS101-01 as %q %q, want 3 in baskets, 0.10 : 1", b, r)
	}

	window := itoa(int64(app.count(t, "SELECT id FROM registration_windows")))
	form := func(counts string) url.Values {
		return url.Values{"class_year": {""}, "phase": {"registration"}, "basket_counts": {counts},
			"opens_at":  {time.Now().In(seoul).Add(-time.Hour).Format("2006-01-02T15:04")},
			"closes_at": {time.Now().In(seoul).Add(24 * time.Hour).Format("2006-01-02T15:04")}}
	}
	res, body := rep.post(t, staff, "/admin/windows/"+window, form("everyone"))
	if got := testid(t, body, "error-basket_counts"); res.StatusCode != http.StatusBadRequest || !strings.Contains(got, "basket counts") {
		t.Errorf("a made-up setting: %d %q", res.StatusCode, got)
	}
	if res, _ = rep.post(t, staff, "/admin/windows/"+window, form("shown")); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("show the counts: %d", res.StatusCode)
	}
	before, after, _ := auditDetails(t, app, "window.update")
	if before["basket_counts"] != false || after["basket_counts"] != true {
		t.Errorf("audit of the setting: before %v after %v", before, after)
	}

	_, body = rep.get(t, student, "/courses")
	if b, r := demandOf(body, cs101); b != "3 in baskets" || r != "0.10 : 1" {
		t.Errorf("CS101-01 shows %q %q, want 3 in baskets, 0.10 : 1", b, r)
	}
	if b, _ := demandOf(body, f.Sections["MATH101-02"]); b != "0 in baskets" {
		t.Errorf("a section in no basket shows %q", b)
	}
	for name := range ids {
		if strings.Contains(body, name) || strings.Contains(body, strings.ToUpper(name)) {
			t.Errorf("the catalog names %s, who has the section in their basket", name)
		}
	}
	_, body = rep.get(t, student, "/courses", "Accept-Language", "ko")
	if b, r := demandOf(body, cs201); b != "1명 담음" || r != "0.03 : 1" {
		t.Errorf("Korean CS201-01: %q %q", b, r)
	}

	// In the student's basket too.
	if res, _ := rep.post(t, student, "/basket", url.Values{"section_id": {itoa(cs101)}}); res.StatusCode != http.StatusOK {
		t.Fatalf("add to basket: %d", res.StatusCode)
	}
	// The count is a recount every 5 s: alice's own basket may be in it yet or not.
	_, body = rep.get(t, student, "/basket")
	if b, r := demandOf(body, cs101); !(b == "3 in baskets" && r == "0.10 : 1" || b == "4 in baskets" && r == "0.13 : 1") {
		t.Errorf("the basket shows CS101-01 as %q %q, want 3 (0.10 : 1) or, recounted, 4 (0.13 : 1)", b, r)
	}

	// A later window for alice's year that hides them wins over the all-years one.
	if _, err := app.DB.Exec("INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES (?, 2, 'add_drop', ?, ?)",
		f.TermID, time.Now().UTC().Add(-time.Minute), time.Now().UTC().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	_, body = rep.get(t, student, "/courses")
	hidden("student, year 2's later window hides", body)
}

// Staff run the auto-enrolment from its page once the basket phase has closed; the page
// reports each section and says when a second run enrolled nobody new.
func TestBasketAutoPage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	now := time.Now().UTC()
	if _, err := app.DB.Exec("DELETE FROM registration_windows"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Exec(`INSERT INTO registration_windows (term_id, class_year, phase, opens_at, closes_at) VALUES
		(?, NULL, 'basket', ?, ?), (?, NULL, 'registration', ?, ?)`,
		f.TermID, now.Add(-48*time.Hour), now.Add(time.Hour), f.TermID, now.Add(24*time.Hour), now.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	ids := students(t, app, "s1", "s2")
	fits, over := f.Sections["CS101-01"], f.Sections["MATH101-01"] // over: no seat left
	for _, id := range ids {
		if _, err := app.DB.Exec("INSERT INTO basket_items (user_id, section_id) VALUES (?, ?), (?, ?)", id, fits, id, over); err != nil {
			t.Fatal(err)
		}
	}
	staff := app.client(t)
	app.login(t, staff, sam)

	// Still open: refused, nothing written.
	res, body := app.post(t, staff, "/admin/basket-auto", nil)
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "alert"), "basket phase is open until") {
		t.Errorf("run while the basket phase is open: %d %q", res.StatusCode, testid(t, body, "alert"))
	}
	if _, err := app.DB.Exec("UPDATE registration_windows SET closes_at = ? WHERE phase = 'basket'", now.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)

	decision := func(body string, section int64) string {
		return strings.TrimSpace(doc(t, body).Find(`[data-testid="basket-auto-row"][data-section-id="` + itoa(section) + `"] [data-testid="basket-auto-decision"]`).Text())
	}
	_, body = app.get(t, staff, "/admin/basket-auto")
	if decision(body, fits) != "Fits: enrolled automatically" || decision(body, over) != "Over demand: left for registration day" {
		t.Errorf("plan: %q, %q", decision(body, fits), decision(body, over))
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments"); n != 0 {
		t.Fatalf("the plan enrolled %d", n)
	}

	res, body = app.post(t, staff, "/admin/basket-auto", nil)
	if want := "Sections fitted: 1 · over demand: 1 · students enrolled: 2 · seats given: 2"; res.StatusCode != http.StatusOK || testid(t, body, "basket-auto-summary") != want {
		t.Errorf("run: %d %q, want %q", res.StatusCode, testid(t, body, "basket-auto-summary"), want)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ? AND source = 'basket'", fits); n != 2 {
		t.Errorf("%d enrolled in the fitting section, want 2", n)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM enrollments WHERE section_id = ?", over); n != 0 {
		t.Errorf("%d enrolled in the section over demand", n)
	}
	// Over HTMX the answer is the report alone, in place of the last one.
	res, body = app.post(t, staff, "/admin/basket-auto", nil, "Accept-Language", "ko", "HX-Request", "true")
	if res.StatusCode != http.StatusOK || strings.Contains(body, "<html") || !strings.Contains(testid(t, body, "basket-auto-nothing"), "새로 신청된 학생이 없습니다") {
		t.Errorf("second run: %d %q", res.StatusCode, testid(t, body, "basket-auto-nothing"))
	}
	if got := auditTrail(t, app); len(got) != 2 || got[0] != "sam basket.auto_enroll term#"+itoa(f.TermID) {
		t.Errorf("audit: %q", got)
	}
	_, after, _ := auditDetails(t, app, "basket.auto_enroll")
	if after["students_enrolled"] != 0.0 || after["sections_over"] != 1.0 {
		t.Errorf("the second run's audit row: %v", after)
	}
}
