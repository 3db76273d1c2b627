package web_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestBasket(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)

	_, body := app.get(t, c, "/basket")
	if testid(t, body, "basket-empty") == "" {
		t.Error("an empty basket does not say so")
	}
	for _, key := range []string{"CS101-01", "MATH150-01", "MATH101-01", "CS201-01"} {
		status, _, body := app.regPost(t, c, "/basket", sectionForm(f.Sections[key]))
		if status != http.StatusOK || !strings.Contains(testid(t, body, "row-result"), key+" is in your basket") {
			t.Fatalf("add %s: %d %q", key, status, testid(t, body, "row-result"))
		}
		if doc(t, body).Find(`[data-testid="basket-remove"]`).Length() != 1 {
			t.Errorf("%s: the row does not offer to remove it from the basket", key)
		}
	}
	// Adding twice keeps one.
	app.regPost(t, c, "/basket", sectionForm(f.Sections["CS101-01"]))

	_, body = app.get(t, c, "/basket")
	if got := strings.Join(rowCodes(t, body), " "); got != "CS101-01 CS201-01 MATH101-01 MATH150-01" {
		t.Errorf("basket rows %q", got)
	}
	if got := testid(t, body, "basket-credits"); !strings.Contains(got, "12 credits") {
		t.Errorf("basket credits %q", got)
	}

	// A section meeting at the same time as a basket section is flagged on both.
	if _, err := app.DB.Exec(`UPDATE section_meetings SET weekday = 1, start_minute = 540, end_minute = 615
		WHERE section_id IN (?, ?)`, f.Sections["CS101-01"], f.Sections["MATH150-01"]); err != nil {
		t.Fatal(err)
	}
	catalogChanged(t, app.DB)
	_, body = app.get(t, c, "/basket")
	d := doc(t, body)
	for key, other := range map[string]string{"CS101-01": "MATH150-01", "MATH150-01": "CS101-01"} {
		warn := strings.TrimSpace(d.Find(`[data-section-id="` + itoa(f.Sections[key]) + `"] [data-testid="row-warning"]`).Text())
		if !strings.Contains(warn, "same time as "+other) {
			t.Errorf("%s warning %q", key, warn)
		}
	}

	// Register all: each section its own result; registered ones leave the basket.
	res, body := app.post(t, c, "/basket/register", nil, hx, "true")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("register all: %d", res.StatusCode)
	}
	var results []string
	doc(t, body).Find(`[data-testid="basket-result"]`).Each(func(_ int, s *goquerySelection) {
		results = append(results, strings.TrimSpace(s.Text()))
	})
	want := []string{"Registered for CS101-01", "CS201-01 needs CS101 first", "MATH101-01 is full", "MATH150-01 meets at the same time as CS101-01"}
	if len(results) != len(want) {
		t.Fatalf("results %q", results)
	}
	for i := range want {
		if !strings.Contains(results[i], want[i]) {
			t.Errorf("result %d: %q, want %q", i, results[i], want[i])
		}
	}
	if got := doc(t, body).Find(`#credits[hx-swap-oob="true"]`).Text(); got != "3 / 18 credits" {
		t.Errorf("header credits after register all: %q", got)
	}
	if got := strings.Join(rowCodes(t, body), " "); got != "CS201-01 MATH101-01 MATH150-01" {
		t.Errorf("basket after register all: %q", got)
	}

	status, _, _ := app.regPost(t, c, "/basket/"+itoa(f.Sections["MATH101-01"])+"/remove", nil)
	if status != http.StatusOK || app.count(t, "SELECT COUNT(*) FROM basket_items") != 2 {
		t.Errorf("remove: %d", status)
	}
}

func TestBasketBadInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	for form, want := range map[string]int{"abc": 400, "-1": 400, "": 400, "99999999": 404} {
		status, _, body := app.regPost(t, c, "/basket", map[string][]string{"section_id": {form}})
		if status != want || testid(t, body, "alert") == "" {
			t.Errorf("section_id %q: %d, want %d with a message", form, status, want)
		}
	}
	s := app.client(t)
	app.login(t, s, sam)
	if res, _ := app.get(t, s, "/basket"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff basket: %d", res.StatusCode)
	}
}
