package web

import (
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/waitingroom"
)

func (s *Server) queueAdmin(w http.ResponseWriter, r *http.Request) {
	s.renderQueueAdmin(w, r, http.StatusOK, views.Message{}, false)
}

func (s *Server) renderQueueAdmin(w http.ResponseWriter, r *http.Request, status int, m views.Message, refused bool) {
	rows, err := s.q.ListTermWindows(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("registration windows: %w", err))
		return
	}
	page := views.QueueAdmin{Message: m, Refused: refused}
	for _, row := range rows {
		qw, err := s.queueWindow(r, row)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		page.Windows = append(page.Windows, qw)
	}
	s.render(w, r, status, views.QueueAdminPage(page), nil)
}

// queueWindow reads a window's waiting-room figures. Staff pages may query: only staff
// watch them.
func (s *Server) queueWindow(r *http.Request, row db.ListTermWindowsRow) (views.QueueWindow, error) {
	ctx := r.Context()
	now := s.now().UTC()
	year := views.T(ctx, "admin.queue.all_years")
	if row.ClassYear.Valid {
		year = views.Tf(ctx, "admin.queue.year", row.ClassYear.Int16)
	}
	qw := views.QueueWindow{
		ID: row.ID, Label: views.Tf(ctx, "admin.queue.window_label", views.T(ctx, "phase."+string(row.Phase)), year),
		Opens: row.OpensAt, Closes: row.ClosesAt, Enabled: row.QueueEnabled, Paused: row.Paused,
		AdmitPerSecond: row.AdmitPerSecond, MaxActive: int(row.MaxActive),
	}
	c, err := s.q.WaitingRoomCounts(ctx, db.WaitingRoomCountsParams{Since: sql.NullTime{Time: now.Add(-time.Minute), Valid: true}, WindowID: row.ID})
	if err != nil {
		return qw, fmt.Errorf("waiting room figures of window %d: %w", row.ID, err)
	}
	qw.Waiting, qw.Active, qw.Admitted = int(c.Waiting), int(c.Active), int(c.Admitted)
	qw.AdmittedPerSec = float64(c.AdmittedRecently) / 60
	adm, err := s.q.RecentAdmissions(ctx, row.ID)
	if err != nil {
		return qw, fmt.Errorf("waiting times of window %d: %w", row.ID, err)
	}
	// A pre-queue place waits from the opening, not from when the student arrived.
	waits := make([]time.Duration, 0, len(adm))
	for _, a := range adm {
		waits = append(waits, a.AdmittedAt.Time.Sub(later(a.JoinedAt, row.OpensAt)))
	}
	qw.MedianWait, qw.P95Wait = percentile(waits, 0.5), percentile(waits, 0.95)
	st, err := s.q.RoomShuffle(ctx, row.ID)
	if err != nil && !isNoRows(err) {
		return qw, fmt.Errorf("shuffle of window %d: %w", row.ID, err)
	}
	if err == nil {
		qw.Commitment, qw.FailedTicks, qw.LastFailedTick = st.ShuffleCommitment, st.FailedTicks, st.LastFailedTickAt.Time
		if st.ShuffledAt.Valid {
			sh, err := s.room.Shuffle(ctx, row.ID)
			if err != nil {
				return qw, err
			}
			qw.Seed, qw.Shuffled = sh.Seed, len(sh.Order)
		}
	}
	rates := s.room.Rates(row.ID)
	qw.MeasuredRate, qw.TargetRate, qw.SetRate = rates.Measured, rates.Target, rates.Set
	qw.WaitingChart = waitingChart(s.room.WaitingHistory(row.ID), now)
	return qw, nil
}

// waitingChart draws the waiting-length samples per minute over the history's span, the
// last sample of each minute; a minute without one is left out.
func waitingChart(samples []waitingroom.Sample, now time.Time) views.LineChart {
	minutes := int(waitingroom.HistoryLength / time.Minute)
	values := make([]float64, minutes)
	for i := range values {
		values[i] = math.NaN()
	}
	for _, sm := range samples {
		back := int(now.Sub(sm.At) / time.Minute)
		if back >= 0 && back < minutes {
			values[minutes-1-back] = float64(sm.Waiting)
		}
	}
	return views.LineChart{Minutes: minutes, Series: []views.LineSeries{{Name: "waiting", Class: "c-waitlisted", Values: values}}}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// percentile is the nearest-rank percentile of ds, 0 for none.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// queueFigures answers the figures' own polling.
func (s *Server) queueFigures(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	rows, err := s.q.ListTermWindows(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("registration windows: %w", err))
		return
	}
	for _, row := range rows {
		if row.ID == id {
			qw, err := s.queueWindow(r, row)
			if err != nil {
				s.serverError(w, r, err)
				return
			}
			s.render(w, r, http.StatusOK, views.QueueFigures(qw), views.QueueFigures(qw))
			return
		}
	}
	s.notFound(w, r)
}

// queueSettings changes a waiting room's settings; every replica picks them up within a
// second.
func (s *Server) queueSettings(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("rate")), 64)
	if err != nil || !(rate >= 0 && rate <= 10000) { // NaN fails both comparisons
		s.renderQueueAdmin(w, r, http.StatusBadRequest, views.Msg("admin.queue.bad_rate"), true)
		return
	}
	maxActive, err := strconv.Atoi(strings.TrimSpace(r.PostFormValue("max_active")))
	if err != nil || maxActive < 0 || maxActive > 1000000 {
		s.renderQueueAdmin(w, r, http.StatusBadRequest, views.Msg("admin.queue.bad_max"), true)
		return
	}
	err = s.room.SaveSettings(r.Context(), s.actor(r), id, waitingroom.Settings{Enabled: r.PostFormValue("enabled") != "",
		AdmitPerSecond: rate, MaxActive: maxActive, Paused: r.PostFormValue("paused") != ""})
	if err != nil {
		s.failed(w, r, err)
		return
	}
	s.renderQueueAdmin(w, r, http.StatusOK, views.Msg("admin.queue.saved"), false)
}

// queueLetThrough admits one waiting student at once.
func (s *Server) queueLetThrough(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	student, err := s.q.UserIDByUsername(r.Context(), username)
	if isNoRows(err) || username == "" {
		s.renderQueueAdmin(w, r, http.StatusNotFound, views.Msg("admin.queue.no_user", username), true)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("user %q: %w", username, err))
		return
	}
	admitted, err := s.room.LetThrough(r.Context(), s.actor(r), id, student, username)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("let %q through: %w", username, err))
		return
	}
	if !admitted {
		s.renderQueueAdmin(w, r, http.StatusConflict, views.Msg("admin.queue.not_waiting", username), true)
		return
	}
	s.renderQueueAdmin(w, r, http.StatusOK, views.Msg("admin.queue.let_in", username), false)
}
