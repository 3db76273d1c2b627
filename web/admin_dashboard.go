package web

import (
	"cmp"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// dashMinutes is how many minutes the dashboard's charts span, the current one last.
const dashMinutes = 30

// p95Minutes is how many recent minutes the headline 95th percentile covers.
const p95Minutes = 5

// resultGroups stack the registration results in the per-minute chart; a result not
// listed counts as a refusal.
var resultGroups = []struct {
	key, class string
	results    []registration.Result
}{
	{"dash.group.enrolled", "c-enrolled", []registration.Result{registration.Enrolled}},
	{"dash.group.waitlisted", "c-waitlisted", []registration.Result{registration.Waitlisted}},
	{"dash.group.full", "c-full", []registration.Result{registration.Full}},
	{"dash.group.refused", "c-refused", []registration.Result{registration.Duplicate, registration.TimeConflict,
		registration.CreditLimit, registration.Prerequisite, registration.WindowClosed, registration.NotFound, registration.Invalid}},
	{"dash.group.dropped", "c-dropped", []registration.Result{registration.Dropped, registration.LeftWaitlist}},
	{"dash.group.turned_away", "c-turned-away", []registration.Result{registration.Queued, registration.RateLimited}},
	{"dash.group.error", "c-error", []registration.Result{failed}},
}

const refusedGroup = 3

// hotClasses colour the hot sections' lines.
var hotClasses = []string{"c-hot1", "c-hot2", "c-hot3", "c-hot4", "c-hot5"}

func groupOf(result string) int {
	for i, g := range resultGroups {
		if slices.Contains(g.results, registration.Result(result)) {
			return i
		}
	}
	return refusedGroup
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboardData(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.DashboardPage(d), nil)
}

// dashboardFigures answers the dashboard's own polling.
func (s *Server) dashboardFigures(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboardData(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.DashboardPage(d), views.DashboardFigures(d))
}

// dashboardData reads the figures every replica has flushed. Staff pages may query: only
// a few people watch them, and each poll costs a handful of indexed reads.
func (s *Server) dashboardData(r *http.Request) (views.Dashboard, error) {
	ctx := r.Context()
	now := s.now().UTC().Truncate(time.Minute)
	start := now.Add(-(dashMinutes - 1) * time.Minute)
	minuteOf := func(t time.Time) int { return int(t.Sub(start) / time.Minute) }
	d := views.Dashboard{Minutes: dashMinutes}

	results, err := s.q.ResultsSince(ctx, start)
	if err != nil {
		return d, fmt.Errorf("registration results: %w", err)
	}
	d.Results = views.BarChart{Minutes: dashMinutes}
	for _, g := range resultGroups {
		d.Results.Series = append(d.Results.Series, views.BarSeries{Key: g.key, Class: g.class, Values: make([]int, dashMinutes)})
	}
	totals := map[string]*views.ResultTotal{}
	for _, row := range results {
		m := minuteOf(row.MinuteAt)
		if m < 0 || m >= dashMinutes {
			continue
		}
		g := groupOf(row.Result)
		d.Results.Series[g].Values[m] += int(row.N)
		t := totals[row.Result]
		if t == nil {
			t = &views.ResultTotal{Result: row.Result, Class: resultGroups[g].class}
			totals[row.Result] = t
		}
		t.Window += int(row.N)
		if m == dashMinutes-1 {
			t.LastMinute += int(row.N)
			d.ThisMinute += int(row.N)
		}
	}
	for _, t := range totals {
		d.ResultTotals = append(d.ResultTotals, *t)
	}
	slices.SortFunc(d.ResultTotals, func(a, b views.ResultTotal) int {
		return cmp.Or(cmp.Compare(groupOf(a.Result), groupOf(b.Result)), cmp.Compare(b.Window, a.Window), cmp.Compare(a.Result, b.Result))
	})

	if err := s.dashboardLatency(r, start, &d); err != nil {
		return d, err
	}
	if err := s.dashboardHot(r, start, &d); err != nil {
		return d, err
	}
	if err := s.dashboardQueue(r, start, &d); err != nil {
		return d, err
	}
	term, err := s.q.TermSeatFigures(ctx)
	if err != nil {
		return d, fmt.Errorf("seat figures: %w", err)
	}
	d.Sections, d.FullSections = int(term.Sections), int(term.FullSections)
	d.Enrolled, d.Capacity = int(term.Enrolled), int(term.Capacity)
	return d, nil
}

// dashboardLatency sums the replicas' latency buckets: per minute, and over the last
// few minutes for the headline figure.
func (s *Server) dashboardLatency(r *http.Request, start time.Time, d *views.Dashboard) error {
	rows, err := s.q.LatencySince(r.Context(), start)
	if err != nil {
		return fmt.Errorf("registration latency: %w", err)
	}
	perMinute := make([]map[int32]int64, dashMinutes)
	recent := map[int32]int64{}
	for _, row := range rows {
		m := int(row.MinuteAt.Sub(start) / time.Minute)
		if m < 0 || m >= dashMinutes {
			continue
		}
		if perMinute[m] == nil {
			perMinute[m] = map[int32]int64{}
		}
		perMinute[m][row.LeMs] += row.N
		if m >= dashMinutes-p95Minutes {
			recent[row.LeMs] += row.N
		}
	}
	series := views.LineSeries{Name: "p95", Class: "c-latency", Values: make([]float64, dashMinutes)}
	for m, b := range perMinute {
		series.Values[m] = math.NaN()
		if p, ok := quantile(0.95, b); ok {
			series.Values[m] = float64(p.Milliseconds())
		}
	}
	d.P95Series = views.LineChart{Minutes: dashMinutes, Series: []views.LineSeries{series}}
	d.P95, d.HasP95 = quantile(0.95, recent)
	return nil
}

// quantile estimates the q-quantile of the times counted in buckets (upper bound in ms:
// count), interpolating within the bucket as Prometheus's histogram_quantile does. Times
// in the overflow bucket count as the last finite bound.
func quantile(q float64, buckets map[int32]int64) (time.Duration, bool) {
	var total int64
	for _, n := range buckets {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	rank := q * float64(total)
	var cum int64
	lower := 0.0
	for _, le := range latencyBounds {
		n := buckets[le]
		if n > 0 && float64(cum+n) >= rank {
			return ms(lower + (float64(le)-lower)*(rank-float64(cum))/float64(n)), true
		}
		cum += n
		lower = float64(le)
	}
	return ms(lower), true
}

// dashboardHot charts the sections with the most seats taken in the chart's span: how
// full each was, minute by minute, from enrollments.created_at. Seats given up are not in
// enrollments any more, so the line shows the seats taken and still held.
func (s *Server) dashboardHot(r *http.Request, start time.Time, d *views.Dashboard) error {
	ctx := r.Context()
	hot, err := s.q.HotSections(ctx, start)
	if err != nil {
		return fmt.Errorf("hot sections: %w", err)
	}
	if len(hot) == 0 {
		return nil
	}
	ids := make([]int64, len(hot))
	for i, h := range hot {
		ids[i] = h.ID
	}
	taken, err := s.q.SeatsTakenPerMinute(ctx, db.SeatsTakenPerMinuteParams{Origin: start, Ids: ids, Since: start})
	if err != nil {
		return fmt.Errorf("seats taken per minute: %w", err)
	}
	perMinute := map[int64][]int{}
	for _, id := range ids {
		perMinute[id] = make([]int, dashMinutes)
	}
	for _, t := range taken {
		if t.MinuteNo >= 0 && t.MinuteNo < dashMinutes {
			perMinute[t.SectionID][t.MinuteNo] += int(t.N)
		}
	}
	d.HotChart = views.LineChart{Minutes: dashMinutes, Unit: "%", Top: 100}
	for i, h := range hot {
		class := hotClasses[i%len(hotClasses)]
		d.Hot = append(d.Hot, views.HotSection{Label: registration.SectionLabel(h.Code, h.Number), Class: class,
			Enrolled: int(h.Enrolled), Capacity: int(h.Capacity), Recent: int(h.Recent)})
		// Seats held before the chart's span: what is held now less what was taken since.
		held := int(h.Enrolled)
		for _, n := range perMinute[h.ID] {
			held -= n
		}
		values := make([]float64, dashMinutes)
		for m, n := range perMinute[h.ID] {
			held += n
			values[m] = 100 * float64(max(0, held)) / float64(max(1, h.Capacity))
		}
		d.HotChart.Series = append(d.HotChart.Series, views.LineSeries{Name: registration.SectionLabel(h.Code, h.Number), Class: class, Values: values})
	}
	return nil
}

// dashboardQueue reads the waiting rooms of the current term's queued windows.
func (s *Server) dashboardQueue(r *http.Request, start time.Time, d *views.Dashboard) error {
	ctx := r.Context()
	windows, err := s.q.ListTermWindows(ctx)
	if err != nil {
		return fmt.Errorf("registration windows: %w", err)
	}
	var ids []int64
	for _, w := range windows {
		if !w.QueueEnabled {
			continue
		}
		ids = append(ids, w.ID)
		c, err := s.q.WaitingRoomCounts(ctx, db.WaitingRoomCountsParams{Since: sql.NullTime{Time: s.now().UTC().Add(-time.Minute), Valid: true}, WindowID: w.ID})
		if err != nil {
			return fmt.Errorf("waiting room figures of window %d: %w", w.ID, err)
		}
		d.Waiting += int(c.Waiting)
		d.Active += int(c.Active)
		d.AdmittedLastMinute += int(c.AdmittedRecently)
	}
	if len(ids) == 0 {
		return nil
	}
	d.QueueOn = true
	rows, err := s.q.AdmissionsPerMinute(ctx, db.AdmissionsPerMinuteParams{Origin: start, WindowIds: ids, Since: sql.NullTime{Time: start, Valid: true}})
	if err != nil {
		return fmt.Errorf("admissions per minute: %w", err)
	}
	values := make([]int, dashMinutes)
	for _, row := range rows {
		if row.MinuteNo >= 0 && row.MinuteNo < dashMinutes {
			values[row.MinuteNo] += int(row.N)
		}
	}
	d.Admissions = views.BarChart{Minutes: dashMinutes, Series: []views.BarSeries{{Key: "dash.admitted", Class: "c-waitlisted", Values: values}}}
	return nil
}
