package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
	"github.com/schoolservice/school/views"
)

// seatHeader carries a reservation's result for tools and tests, like resultHeader.
const seatHeader = "X-Seat-Result"

// upcomingShown bounds the events the lists show.
const upcomingShown = 50

// limitSeats caps each student's reserve and cancel clicks, like registration's.
func (s *Server) limitSeats(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := s.currentUser(r)
		if !s.seatLimits.allow(u.ID, s.now()) {
			w.Header().Set(seatHeader, "rate_limited")
			w.Header().Set("Retry-After", "1")
			s.errorPage(w, r, http.StatusTooManyRequests, "error.bad_request", views.Msg("queue.too_fast"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) eventsList(w http.ResponseWriter, r *http.Request) {
	list, err := s.upcomingEvents(r, upcomingShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.EventsPage(views.EventsList{Events: list}), nil)
}

// upcomingEvents are the events still to come, with the viewer's seat.
func (s *Server) upcomingEvents(r *http.Request, limit int) ([]views.EventSummary, error) {
	u, _ := s.currentUser(r)
	now := s.now().UTC()
	rows, err := s.q.UpcomingEvents(r.Context(), db.UpcomingEventsParams{UserID: sql.NullInt64{Int64: u.ID, Valid: u.ID != 0}, Now: now, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("upcoming events: %w", err)
	}
	out := make([]views.EventSummary, 0, len(rows))
	for _, e := range rows {
		out = append(out, views.EventSummary{
			ID: e.ID, Title: e.Title, Venue: e.Venue, StartsAt: e.StartsAt, Opens: e.ReserveOpensAt, Closes: e.ReserveClosesAt,
			State: reserveState(e.ReserveOpensAt, e.ReserveClosesAt, now), SeatsLeft: int(e.SeatsLeft),
			MySeat: events.Seat{Row: int(e.MyRow), Number: int(e.MyNumber)}.String(),
		})
	}
	return out, nil
}

func reserveState(opens, closes, now time.Time) views.ReserveState {
	switch {
	case now.Before(opens):
		return views.ReserveNotOpen
	case now.Before(closes):
		return views.ReserveOpen
	}
	return views.ReserveClosed
}

// eventFromURL loads the event the URL names; ok is false once the answer is sent.
func (s *Server) eventFromURL(w http.ResponseWriter, r *http.Request) (db.GetEventRow, bool) {
	id, ok := pathID(r, "eventID")
	if !ok {
		s.notFound(w, r)
		return db.GetEventRow{}, false
	}
	ev, err := s.q.GetEvent(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return ev, false
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("event %d: %w", id, err))
		return ev, false
	}
	return ev, true
}

// seatMap reads the event's seats as the viewer sees them.
func (s *Server) seatMap(r *http.Request, ev db.GetEventRow) (views.SeatMap, error) {
	u, _ := s.currentUser(r)
	seats, err := s.q.EventSeats(r.Context(), ev.ID)
	if err != nil {
		return views.SeatMap{}, fmt.Errorf("seats of event %d: %w", ev.ID, err)
	}
	m := views.SeatMap{EventID: ev.ID, State: reserveState(ev.ReserveOpensAt, ev.ReserveClosesAt, s.now()), Student: u.Role == RoleStudent}
	for _, st := range seats {
		seat := events.Seat{Row: int(st.SeatRow), Number: int(st.SeatNumber)}
		v := views.SeatView{Label: seat.String(), Number: seat.Number, State: views.SeatFree}
		switch {
		case st.Blocked:
			v.State = views.SeatBlocked
		case st.HolderID.Valid && st.HolderID.Int64 == u.ID:
			v.State, m.Mine = views.SeatMine, v.Label
		case st.HolderID.Valid:
			v.State = views.SeatTaken
		default:
			m.Left++
		}
		if n := len(m.Rows); n == 0 || m.Rows[n-1].Label != v.Label[:1] {
			m.Rows = append(m.Rows, views.SeatRow{Label: v.Label[:1]})
		}
		row := &m.Rows[len(m.Rows)-1]
		row.Seats = append(row.Seats, v)
	}
	return m, nil
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.eventFromURL(w, r)
	if !ok {
		return
	}
	s.renderEvent(w, r, http.StatusOK, ev, views.Message{}, false)
}

// renderEvent answers with the event's page, or for HTMX with the map and the message
// out of band.
func (s *Server) renderEvent(w http.ResponseWriter, r *http.Request, status int, ev db.GetEventRow, m views.Message, refused bool) {
	seatMap, err := s.seatMap(r, ev)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := views.EventPage{
		Event: views.EventSummary{ID: ev.ID, Title: ev.Title, Venue: ev.Venue, StartsAt: ev.StartsAt,
			Opens: ev.ReserveOpensAt, Closes: ev.ReserveClosesAt, State: seatMap.State, SeatsLeft: seatMap.Left, MySeat: seatMap.Mine},
		Description: ev.Description, Map: seatMap, Result: m, Refused: refused,
	}
	s.render(w, r, status, views.EventDetailPage(page), templ.Join(views.SeatMapView(seatMap), views.SeatResult(m, refused, true)))
}

// seatMapFragment answers the map's polling.
func (s *Server) seatMapFragment(w http.ResponseWriter, r *http.Request) {
	ev, ok := s.eventFromURL(w, r)
	if !ok {
		return
	}
	m, err := s.seatMap(r, ev)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, views.SeatMapView(m), views.SeatMapView(m))
}

func (s *Server) reserveSeat(w http.ResponseWriter, r *http.Request) {
	s.seatAction(w, r, func(ev db.GetEventRow, student int64) (events.Outcome, error) {
		seat, ok := events.ParseSeat(r.PostFormValue("seat"))
		if !ok {
			return events.Outcome{Result: events.NoSeat}, errBadSeat
		}
		return s.events.Reserve(r.Context(), ev.ID, student, seat)
	})
}

func (s *Server) cancelSeat(w http.ResponseWriter, r *http.Request) {
	s.seatAction(w, r, func(ev db.GetEventRow, student int64) (events.Outcome, error) {
		return s.events.Cancel(r.Context(), ev.ID, student)
	})
}

var errBadSeat = errors.New("no seat label")

// seatAction runs a reservation or a cancellation and answers with the map as it now
// stands and what happened.
func (s *Server) seatAction(w http.ResponseWriter, r *http.Request, act func(db.GetEventRow, int64) (events.Outcome, error)) {
	u, _ := s.currentUser(r)
	if u.Role != RoleStudent {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("events.students_only"))
		return
	}
	ev, ok := s.eventFromURL(w, r)
	if !ok {
		return
	}
	out, err := act(ev, u.ID)
	if errors.Is(err, errBadSeat) {
		w.Header().Set(seatHeader, string(events.NoSeat))
		s.renderEvent(w, r, http.StatusBadRequest, ev, views.Msg("events.bad_seat"), true)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set(seatHeader, string(out.Result))
	status, m := seatAnswer(r.Context(), out, ev)
	s.renderEvent(w, r, status, ev, m, status != http.StatusOK)
}

// seatAnswer is the status and the words for an outcome.
func seatAnswer(ctx context.Context, out events.Outcome, ev db.GetEventRow) (int, views.Message) {
	label := out.Seat.String()
	switch out.Result {
	case events.Reserved:
		return http.StatusOK, views.Msg("events.reserved", label)
	case events.Cancelled:
		return http.StatusOK, views.Msg("events.cancelled", label)
	case events.Taken:
		return http.StatusConflict, views.Msg("events.taken", label)
	case events.Holding:
		if label == "" {
			return http.StatusConflict, views.Msg("events.holding_unknown")
		}
		return http.StatusConflict, views.Msg("events.holding", label)
	case events.Blocked:
		return http.StatusConflict, views.Msg("events.blocked", label)
	case events.NoSeat:
		return http.StatusBadRequest, views.Msg("events.no_seat", label)
	case events.NotOpen:
		return http.StatusConflict, views.Msg("events.not_open", views.When(ctx, ev.ReserveOpensAt))
	case events.Closed:
		return http.StatusConflict, views.Msg("events.closed_now")
	case events.NotHolding:
		return http.StatusConflict, views.Msg("events.not_holding")
	}
	return http.StatusNotFound, views.Msg("error.not_found.text")
}
