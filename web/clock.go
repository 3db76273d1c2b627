package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/schoolservice/school/views"
)

// clockNow answers the server's time, in Unix milliseconds, for the page header's clock
// (static/clock.js), which takes a few of these and keeps the one with the shortest round
// trip: the offset is measured from the page's own requests, never read off the device's
// clock. On registration morning every waiting student's page asks a few times, so it is
// answered without the session and without the database, and never from a cache.
func (s *Server) clockNow(w http.ResponseWriter, r *http.Request) {
	body := strconv.AppendInt([]byte(`{"now":`), s.now().UnixMilli(), 10)
	body = append(body, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

// serverClock is what the header's clock shows a student: nil unless one of their
// registration windows is open, opens or closes on the school's today. It reads the
// registration catalog in memory, so a page view on registration morning pays no query
// for it.
func (s *Server) serverClock(u sessionUser) *views.ServerClock {
	cat := s.reg.Catalog()
	if u.Role != RoleStudent || cat == nil {
		return nil
	}
	now := s.now()
	y, m, d := now.In(s.zone).Date()
	dayStart := time.Date(y, m, d, 0, 0, 0, 0, s.zone)
	windows := cat.StudentWindows(u.Year, dayStart, dayStart.AddDate(0, 0, 1))
	if len(windows) == 0 {
		return nil
	}
	c := &views.ServerClock{Now: now}
	for _, w := range windows {
		switch {
		case !now.Before(w.Opens) && now.Before(w.Closes):
			c.Open = true
			if w.Closes.After(c.Closes) {
				c.Closes = w.Closes
			}
		case now.Before(w.Opens) && c.Opens.IsZero():
			c.Opens = w.Opens // windows come earliest first
		}
	}
	return c
}
