package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
	"github.com/schoolservice/school/views"
)

func (s *Server) adminEvents(w http.ResponseWriter, r *http.Request) {
	rows, err := s.q.ListEvents(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("events: %w", err))
		return
	}
	var page views.AdminEvents
	for _, e := range rows {
		page.Events = append(page.Events, views.AdminEvent{ID: e.ID, Title: e.Title, Venue: e.Venue, StartsAt: e.StartsAt,
			Held: int(e.Held), SeatsLeft: int(e.SeatsLeft)})
	}
	s.render(w, r, http.StatusOK, views.AdminEventsPage(page), nil)
}

func (s *Server) newEventForm(w http.ResponseWriter, r *http.Request) {
	// A starting point: reservations open now for a week, the event a day after.
	now := s.now().Truncate(time.Hour).Add(time.Hour)
	f := views.EventForm{
		StartsAt: views.LocalInput(r.Context(), now.AddDate(0, 0, 8)),
		Opens:    views.LocalInput(r.Context(), now),
		Closes:   views.LocalInput(r.Context(), now.AddDate(0, 0, 7)),
		Rows:     "10", PerRow: "20",
	}
	s.render(w, r, http.StatusOK, views.EventFormPage(f), nil)
}

func (s *Server) editEventForm(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.eventFromURL(w, r)
	if !ok {
		return
	}
	var m views.Message
	switch {
	case r.URL.Query().Get("created") != "":
		m = views.Msg("admin.events.created", ev.Title)
	case r.URL.Query().Get("saved") != "":
		m = views.Msg("admin.events.saved", ev.Title)
	}
	s.renderEventForm(w, r, http.StatusOK, ev, views.EventForm{}, m)
}

// renderEventForm shows an existing event's form: f as sent when it was refused,
// otherwise the event as stored.
func (s *Server) renderEventForm(w http.ResponseWriter, r *http.Request, status int, ev db.GetEventRow, f views.EventForm, m views.Message) {
	seatMap, err := s.seatMap(r, ev)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if f.ID == 0 {
		f = views.EventForm{ID: ev.ID, Title: ev.Title, Venue: ev.Venue, Description: ev.Description,
			StartsAt: views.LocalInput(r.Context(), ev.StartsAt),
			Opens:    views.LocalInput(r.Context(), ev.ReserveOpensAt),
			Closes:   views.LocalInput(r.Context(), ev.ReserveClosesAt),
			Rows:     strconv.Itoa(int(ev.SeatRows)), PerRow: strconv.Itoa(int(ev.SeatsPerRow)),
			Blocked: blockedLabels(seatMap)}
	}
	f.Message, f.Refused, f.Map = m, status != http.StatusOK, &seatMap
	s.render(w, r, status, views.EventFormPage(f), nil)
}

func blockedLabels(m views.SeatMap) string {
	var labels []string
	for _, row := range m.Rows {
		for _, seat := range row.Seats {
			if seat.State == views.SeatBlocked {
				labels = append(labels, seat.Label)
			}
		}
	}
	return strings.Join(labels, ", ")
}

// eventForm reads and checks the form; a message is returned when it is refused.
func eventForm(r *http.Request) (views.EventForm, events.Details, events.Layout, views.Message) {
	f := views.EventForm{
		Title:       strings.TrimSpace(r.PostFormValue("title")),
		Venue:       strings.TrimSpace(r.PostFormValue("venue")),
		Description: strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("description"), "\r\n", "\n")),
		StartsAt:    strings.TrimSpace(r.PostFormValue("starts_at")),
		Opens:       strings.TrimSpace(r.PostFormValue("opens_at")),
		Closes:      strings.TrimSpace(r.PostFormValue("closes_at")),
		Rows:        strings.TrimSpace(r.PostFormValue("rows")),
		PerRow:      strings.TrimSpace(r.PostFormValue("per_row")),
		Blocked:     strings.TrimSpace(r.PostFormValue("blocked")),
	}
	v := events.Details{Title: f.Title, Venue: f.Venue, Description: f.Description}
	var l events.Layout
	if f.Title == "" || utf8.RuneCountInString(f.Title) > 200 {
		return f, v, l, views.Msg("admin.events.err_title")
	}
	if utf8.RuneCountInString(f.Venue) > 200 || utf8.RuneCountInString(f.Description) > 5000 {
		return f, v, l, views.Msg("admin.events.err_text")
	}
	var errs [3]error
	v.StartsAt, errs[0] = views.ParseLocalInput(r.Context(), f.StartsAt)
	v.ReserveOpens, errs[1] = views.ParseLocalInput(r.Context(), f.Opens)
	v.ReserveCloses, errs[2] = views.ParseLocalInput(r.Context(), f.Closes)
	if errors.Join(errs[:]...) != nil {
		return f, v, l, views.Msg("admin.events.err_time")
	}
	if !v.ReserveOpens.Before(v.ReserveCloses) || v.ReserveCloses.After(v.StartsAt) {
		return f, v, l, views.Msg("admin.events.err_order")
	}
	var err1, err2 error
	l.Rows, err1 = strconv.Atoi(f.Rows)
	l.PerRow, err2 = strconv.Atoi(f.PerRow)
	if err1 != nil || err2 != nil || l.Rows < 1 || l.Rows > events.MaxRows || l.PerRow < 1 || l.PerRow > events.MaxPerRow {
		return f, v, l, views.Msg("admin.events.err_size")
	}
	var bad string
	l.Blocked, bad = events.ParseSeats(f.Blocked)
	if bad != "" {
		return f, v, l, views.Msg("admin.events.err_blocked", bad)
	}
	for _, seat := range l.Blocked {
		if !l.Contains(seat) {
			return f, v, l, views.Msg("admin.events.err_off_map", seat.String())
		}
	}
	return f, v, l, views.Message{}
}

func (s *Server) createEvent(w http.ResponseWriter, r *http.Request) {
	f, v, l, bad := eventForm(r)
	if bad.Key != "" {
		f.Message, f.Refused = bad, true
		s.render(w, r, http.StatusBadRequest, views.EventFormPage(f), nil)
		return
	}
	id, err := s.events.Create(r.Context(), s.actor(r), v, l)
	if rf, ok := refusalOf(err); ok {
		f.Message, f.Refused = rf.msg, true
		s.render(w, r, rf.status, views.EventFormPage(f), nil)
		return
	}
	if err != nil {
		s.failed(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/events/%d?created=1", id), http.StatusSeeOther)
}

func (s *Server) updateEvent(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.eventFromURL(w, r)
	if !ok {
		return
	}
	f, v, l, bad := eventForm(r)
	f.ID = ev.ID
	if bad.Key != "" {
		s.renderEventForm(w, r, http.StatusBadRequest, ev, f, bad)
		return
	}
	err := s.events.Update(r.Context(), s.actor(r), ev.ID, v, l)
	if rf, ok := refusalOf(err); ok {
		s.renderEventForm(w, r, rf.status, ev, f, rf.msg)
		return
	}
	if err != nil {
		s.failed(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/events/%d?saved=1", ev.ID), http.StatusSeeOther)
}
