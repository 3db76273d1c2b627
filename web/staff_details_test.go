package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestStaffDetails: the CSV exports are linked from the section and student pages and
// open in Excel as UTF-8; the audit log names fields in the reader's language; a saved
// notice that is not published says it is a draft; the notices table heads its buttons
// "Actions" in both languages.
func TestStaffDetails(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	stu := app.client(t)
	app.login(t, stu, alice)
	if res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(f.Sections["MATH150-01"])}}); res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register: %q", res.Header.Get("X-Registration-Result"))
	}
	staff := app.client(t)
	app.login(t, staff, sam)

	for page, link := range map[string]string{
		"/admin/sections/" + itoa(f.Sections["MATH150-01"]): "roster-csv",
		"/admin/students/alice":                             "enrollments-csv",
	} {
		_, body := app.get(t, staff, page)
		href, ok := doc(t, body).Find(`[data-testid="` + link + `"]`).Attr("href")
		if !ok {
			t.Errorf("%s links no CSV (%s)", page, link)
			continue
		}
		res, csv := app.get(t, staff, href)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(csv, "\ufeff") || !strings.Contains(csv, "MATH150") && !strings.Contains(csv, "alice") {
			t.Errorf("%s → %s: %d, %q", page, href, res.StatusCode, csv[:min(len(csv), 80)])
		}
	}

	ko := []string{"Accept-Language", "ko"}
	res, _ := app.post(t, staff, "/admin/sections/"+itoa(f.Sections["MATH150-01"]), url.Values{"capacity": {"25"}, "number": {"01"},
		"instructor": {"Prof. Paul Erdos"}, "room": {"ENG-101"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("update section: %d", res.StatusCode)
	}
	_, body := app.get(t, staff, "/admin/audit?entity=section", ko...)
	field := doc(t, body).Find(`[data-testid="audit-field"][data-field="capacity"] th`).First()
	if got := strings.TrimSpace(field.Text()); got != "정원" {
		t.Errorf("the capacity field in the Korean audit log reads %q, want 정원", got)
	}
	_, body = app.get(t, staff, "/admin/audit?entity=section")
	if got := strings.TrimSpace(doc(t, body).Find(`[data-testid="audit-field"][data-field="capacity"] th`).First().Text()); got != "Capacity" {
		t.Errorf("the capacity field in the English audit log reads %q, want Capacity", got)
	}

	notice := app.createNotice(t, staff, "Draft notice", "Not yet.")
	_, body = app.get(t, staff, notice+"?saved=1")
	if got := testid(t, body, "notice-state"); !strings.Contains(got, "Not published") {
		t.Errorf("a saved unpublished notice says %q, want it marked as a draft", got)
	}
	app.post(t, staff, notice+"/publish", nil)
	_, body = app.get(t, staff, notice)
	if got := testid(t, body, "notice-state"); !strings.Contains(got, "Published") || strings.Contains(got, "Not published") {
		t.Errorf("a published notice says %q", got)
	}
	_, body = app.get(t, staff, "/admin/notices", ko...)
	heads := doc(t, body).Find("thead th").Text()
	if !strings.Contains(heads, "작업") || strings.Contains(heads, "신청") {
		t.Errorf("the Korean notices table heads %q, want 작업 for its buttons", heads)
	}
}

// TestSeatButtonNames: a free seat's button is named with its visible number as a word
// of its own ("Row B, seat 7, free"), in both languages, so speech input that says the
// label finds the button (axe-core's label-content-name-mismatch matches substrings, and
// passed "Seat B7, free" for "7").
func TestSeatButtonNames(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	event := openEvent(t, app, 2, 12)
	c := app.client(t)
	app.login(t, c, alice)
	for _, lang := range []string{"en", "ko"} {
		_, body := app.get(t, c, "/events/"+itoa(event), "Accept-Language", lang)
		buttons := doc(t, body).Find(`button.seat`)
		if buttons.Length() != 24 {
			t.Fatalf("%s: %d seat buttons, want 24", lang, buttons.Length())
		}
		buttons.Each(func(_ int, b *goquerySelection) {
			name, visible := b.AttrOr("aria-label", ""), strings.TrimSpace(b.Text())
			words := strings.FieldsFunc(name, func(r rune) bool { return r == ' ' || r == ',' })
			if !slices.Contains(words, visible) || !strings.Contains(name, b.AttrOr("data-seat", "?")[:1]) {
				t.Errorf("%s: seat %s named %q: its visible %q is not a word of the name", lang, b.AttrOr("data-seat", ""), name, visible)
			}
		})
	}
}
