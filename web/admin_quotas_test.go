package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Staff set a section's seat quotas in its form, each mistake is told on the field, and
// a student sees the seats left in the quotas that fit them.
func TestAdminSectionQuotas(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	staff := app.client(t)
	app.login(t, staff, sam)
	term := itoa(f.TermID)

	for _, tc := range []struct {
		quotas, release string
		status          int
		field, want     string
	}{
		{"4/*=30; */CS=11", "", 400, "quotas", "add up to 41 seats, more than the capacity of 40"},
		{"*/*=2", "", 400, "quotas", "is for anyone"},
		{"9/*=2", "", 400, "quotas", "class year outside 1 to 6"},
		{"4/*=0", "", 400, "quotas", "needs at least one seat"},
		{"4/*=2; 4/*=3", "", 400, "quotas", "listed twice"},
		{"seniors 20", "", 400, "quotas", "is not like 4/*=20"},
		{"*/NOPE=2", "", 400, "quotas", "There is no department NOPE"},
		{"", "2027-02-20T09:00", 400, "quota_release_at", "needs quotas to release"},
		{"4/*=2", "soon", 400, "quota_release_at", ""},
	} {
		res, body := app.post(t, staff, "/admin/sections", adminSectionForm("term_id", term, "course", "CS201", "number", "07",
			"quotas", tc.quotas, "quota_release_at", tc.release))
		if got := testid(t, body, "error-"+tc.field); res.StatusCode != tc.status || got == "" || !strings.Contains(got, tc.want) {
			t.Errorf("quotas %q release %q: %d %q, want %d %q", tc.quotas, tc.release, res.StatusCode, got, tc.status, tc.want)
		}
	}
	if n := app.count(t, "SELECT COUNT(*) FROM section_quotas"); n != 0 {
		t.Fatalf("%d quotas written by refused forms", n)
	}

	// CS101-01: 30 seats, none taken. Quotas for the second year, the fourth, and MATH
	// majors; the rest open.
	sec := itoa(f.Sections["CS101-01"])
	res, _ := app.post(t, staff, "/admin/sections/"+sec, adminSectionForm("capacity", "30", "quotas", "2/*=5\n4/*=6; */math=7",
		"quota_release_at", "2027-02-20T09:00"))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("set quotas: %d", res.StatusCode)
	}
	if n := app.count(t, "SELECT reserved FROM sections WHERE id = ?", sec); n != 18 {
		t.Errorf("reserved %d, want 18", n)
	}
	_, body := app.get(t, staff, "/admin/sections/"+sec)
	if got := doc(t, body).Find(`[name="quotas"]`).Text(); got != "2/*=5; 4/*=6; */MATH=7" {
		t.Errorf("the form shows quotas %q", got)
	}
	res, body = app.post(t, staff, "/admin/sections/"+sec, adminSectionForm("capacity", "17", "quotas", "2/*=5; 4/*=6; */MATH=7"))
	if got := testid(t, body, "error-quotas"); res.StatusCode != http.StatusBadRequest || !strings.Contains(got, "add up to 18 seats, more than the capacity of 17") {
		t.Errorf("quotas over the capacity: %d %q", res.StatusCode, got)
	}
	// Five open seats taken: 5 + 18 kept for quotas do not fit in 20.
	if _, err := app.DB.Exec("UPDATE sections SET enrolled = 5 WHERE id = ?", sec); err != nil {
		t.Fatal(err)
	}
	res, body = app.post(t, staff, "/admin/sections/"+sec, adminSectionForm("capacity", "20", "quotas", "2/*=5; 4/*=6; */MATH=7"))
	if got := testid(t, body, "error-capacity"); res.StatusCode != http.StatusConflict || !strings.Contains(got, "the 18 seats still kept for quotas") {
		t.Errorf("capacity below the seats taken and kept: %d %q", res.StatusCode, got)
	}
	if _, err := app.DB.Exec("UPDATE sections SET enrolled = 0 WHERE id = ?", sec); err != nil {
		t.Fatal(err)
	}

	// alice is a second-year CS major: the second year's quota is hers, the others not.
	c := app.client(t)
	app.login(t, c, alice)
	_, body = app.get(t, c, "/courses?q=CS101")
	row := doc(t, body).Find(`[data-section-id="` + sec + `"]`)
	quotas := strings.Join(strings.Fields(row.Find(`[data-testid="quota-seats"]`).Text()), " ")
	if quotas != "Year 2: 5 of 5 left" {
		t.Errorf("alice's quotas: %q, want only the second year's", quotas)
	}
	if seats := row.Find(`[data-testid="seats-left"]`).Text(); !strings.Contains(seats, "17 of 30 left") {
		t.Errorf("alice's seats: %q, want the 12 open and her quota's 5", seats)
	}
	if row.Find(`[data-testid="quota-release"]`).Length() != 1 {
		t.Errorf("no release time shown")
	}

	// Her basket, where she registers from on the morning, counts the same seats.
	if res, _ := app.post(t, c, "/basket", url.Values{"section_id": {sec}}); res.StatusCode != http.StatusOK {
		t.Fatalf("add to basket: %d", res.StatusCode)
	}
	_, body = app.get(t, c, "/basket")
	row = doc(t, body).Find(`[data-section-id="` + sec + `"]`)
	if seats := row.Find(`[data-testid="seats-left"]`).Text(); !strings.Contains(seats, "17 of 30 left") {
		t.Errorf("alice's basket shows the seats as %q, want 17 of 30 (12 open and her quota's 5)", seats)
	}
}
