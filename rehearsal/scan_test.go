package rehearsal

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/waitingroom"
)

func render(t *testing.T, c templ.Component) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := c.Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The students' scans read the app's own templates as an HTML parser does.
func TestScansReadTheAppsPages(t *testing.T) {
	row := func(id int64, st views.Standing, result bool) views.SectionRow {
		r := views.SectionRow{Section: registration.Section{ID: id, CourseCode: "CS101", Number: "1", Title: `Data "and" <things>`},
			SeatsLeft: 3, Actions: true, Standing: st, Position: 2}
		if result {
			r.Result, r.Refused = views.Msg("result.full", r.Label()), true
		}
		return r
	}
	cases := []struct {
		name string
		body []byte
		sec  int64
		res  string
		want bool
	}{
		{"enrolled", render(t, views.RegistrationResult(row(17, views.Registered, false), nil)), 17, "enrolled", true},
		{"waitlisted", render(t, views.RegistrationResult(row(17, views.OnWaitlist, false), nil)), 17, "waitlisted", true},
		{"full", render(t, views.RegistrationResult(row(17, views.NotRegistered, true), nil)), 17, "full", true},
		{"another section's row", render(t, views.RegistrationResult(row(171, views.Registered, false), nil)), 17, "enrolled", false},
		{"told enrolled, row without standing", render(t, views.RegistrationResult(row(17, views.NotRegistered, true), nil)), 17, "enrolled", false},
		{"told full, row without a reason", render(t, views.RegistrationResult(row(17, views.Registered, false), nil)), 17, "full", false},
		{"not a row", []byte(`<p data-testid="section-row" data-section-id="17">x</p>`), 17, "full", false},
	}
	for _, c := range cases {
		doc, err := goquery.NewDocumentFromReader(bytes.NewReader(append(append([]byte("<table><tbody>"), c.body...), "</tbody></table>"...)))
		if err != nil {
			t.Fatal(err)
		}
		sel := doc.Find(`tr[data-testid="section-row"][data-section-id="` + strconv.FormatInt(c.sec, 10) + `"]`)
		parsed := sel.Length() == 1 && (c.res == "full" && sel.Find(`[data-testid="row-result"]`).Length() == 1 ||
			c.res != "full" && sel.Find(`[data-testid="standing"]`).Length() == 1)
		if got := answerShows(c.body, c.sec, c.res); got != c.want || parsed != c.want {
			t.Errorf("%s: answerShows %v, the parser %v, want %v", c.name, got, parsed, c.want)
		}
	}

	tt := views.Timetable{Term: "Fall", Sections: []views.TimetableSection{{ID: 4, CourseCode: "A", Credits: 3}, {ID: 40, CourseCode: "B", Credits: 1}}}
	if got := testIDs(render(t, views.TimetablePage(tt)), "li", "timetable-section"); !slices.Equal(got, []string{"4", "40"}) {
		t.Errorf("timetable sections %v, want [4 40]", got)
	}

	q := views.Queue{Token: "a b&c", Status: waitingroom.Waiting, Position: 12, NextPoll: 1500 * time.Millisecond}
	p, ok := parseQueue(render(t, views.QueueStatus(q)))
	if !ok || p.state != int(waitingroom.Waiting) || p.pollURL != "/queue/status?t=a+b%26c" || p.delay != 1500*time.Millisecond {
		t.Errorf("waiting: %+v, %v", p, ok)
	}
	q.Status = waitingroom.Admitted
	if p, ok := parseQueue(render(t, views.QueueStatus(q))); !ok || p.state != int(waitingroom.Admitted) || p.enterToken != "a b&c" {
		t.Errorf("admitted: %+v, %v", p, ok)
	}
	if _, ok := parseQueue([]byte(`<p data-testid="queue-status" data-state="2" hx-get="/x">`)); ok {
		t.Error("a status that is not the section read as one")
	}
}
