package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestTimetablePreview: the basket and the registered sections on one week, basket cells
// told apart in words, both sides of a time conflict marked and explained; reachable
// from the basket; students only.
func TestTimetablePreview(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	// Nothing yet: the empty state.
	_, body := app.get(t, c, "/timetable/preview")
	if testid(t, body, "preview-empty") == "" {
		t.Errorf("an empty preview does not say so")
	}

	// CS201-01 meets at MATH150-01's time too (a second meeting), so the basket conflicts
	// with what alice holds.
	if _, err := app.DB.Exec(`INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute)
		SELECT ?, weekday, start_minute + 30, end_minute + 30 FROM section_meetings WHERE section_id = ?`,
		f.Sections["CS201-01"], f.Sections["MATH150-01"]); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	if status, result, _ := app.regPost(t, c, "/registrations", sectionForm(f.Sections["MATH150-01"])); result != "enrolled" {
		t.Fatalf("register MATH150-01: %d %q", status, result)
	}
	for _, label := range []string{"CS201-01", "MATH101-02", "MATH150-01"} { // the last one is registered: drawn once
		if status, _, _ := app.regPost(t, c, "/basket", sectionForm(f.Sections[label])); status != http.StatusOK {
			t.Fatalf("basket %s: %d", label, status)
		}
	}

	_, basket := app.get(t, c, "/basket")
	if href := doc(t, basket).Find(`[data-testid="preview-link"]`).AttrOr("href", ""); href != "/timetable/preview" {
		t.Errorf("the basket's link to the preview: %q", href)
	}

	res, body := app.get(t, c, "/timetable/preview")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/timetable/preview: %d", res.StatusCode)
	}
	d := doc(t, body)
	type cell struct {
		id               string
		basket, conflict bool
		text             string
	}
	var cells []cell
	d.Find(`table.timetable td[data-testid="meeting"]`).Each(func(_ int, td *goquerySelection) {
		cells = append(cells, cell{td.AttrOr("data-section-id", ""), td.HasClass("basket"), td.HasClass("conflict"), strings.Join(strings.Fields(td.Text()), " ")})
	})
	byID := map[string][]cell{}
	for _, x := range cells {
		byID[x.id] = append(byID[x.id], x)
	}
	math150, cs201, math101 := byID[itoa(f.Sections["MATH150-01"])], byID[itoa(f.Sections["CS201-01"])], byID[itoa(f.Sections["MATH101-02"])]
	if len(cells) != 4 || len(math150) != 1 || len(cs201) != 2 || len(math101) != 1 {
		t.Fatalf("meeting cells %+v, want MATH150-01 once, CS201-01 twice, MATH101-02 once", cells)
	}
	if m := math150[0]; m.basket || !m.conflict || !strings.Contains(m.text, "Time conflict with CS201-01") {
		t.Errorf("registered MATH150-01's cell: %+v, want registered, marked as conflicting with CS201-01", m)
	}
	conflicting := slices.IndexFunc(cs201, func(x cell) bool { return x.conflict })
	if conflicting < 0 || !strings.Contains(cs201[conflicting].text, "Time conflict with MATH150-01") {
		t.Errorf("CS201-01's cells %+v: none marked as conflicting with MATH150-01", cs201)
	}
	for _, x := range append(cs201, math101...) {
		if !x.basket || !strings.Contains(x.text, "Basket") {
			t.Errorf("basket cell %+v: not told apart as a basket section", x)
		}
	}
	if m := math101[0]; m.conflict {
		t.Errorf("MATH101-02 is marked as a conflict: %+v", m)
	}
	// The same in the list, in words.
	if got := testid(t, body, "preview-conflicts"); got != "2 sections meet at the same time as another." {
		t.Errorf("conflict summary %q", got)
	}
	var list []string
	d.Find(`[data-testid="preview-section"]`).Each(func(_ int, li *goquerySelection) {
		list = append(list, li.AttrOr("data-basket", "")+" "+strings.TrimSpace(li.Find(`[data-testid="preview-conflict"]`).Text()))
	})
	if want := []string{"false Time conflict with CS201-01", "true Time conflict with MATH150-01", "true "}; !slices.Equal(list, want) {
		t.Errorf("preview list %q, want %q", list, want)
	}
	if got := testid(t, body, "preview-credits"); got != "Registered 2 credits, basket 7 credits: 9 together; your limit is 18." {
		t.Errorf("credits line %q", got)
	}

	// Korean.
	_, ko := app.get(t, c, "/timetable/preview", "Accept-Language", "ko")
	if got := testid(t, ko, "preview-conflicts"); got != "다른 분반과 시간이 겹치는 분반이 2개 있습니다." {
		t.Errorf("Korean conflict summary %q", got)
	}

	// Staff have no basket.
	staff := app.client(t)
	app.login(t, staff, sam)
	if res, _ := app.get(t, staff, "/timetable/preview"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff's preview: %d, want 403", res.StatusCode)
	}
}
