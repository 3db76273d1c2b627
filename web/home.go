package web

import (
	"database/sql"
	"errors"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r)
	user, err := s.q.GetUser(r.Context(), u.ID)
	if errors.Is(err, sql.ErrNoRows) {
		// The account was removed since sign-in: the session is worthless.
		_ = s.sessions.Destroy(r.Context())
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	} else if err != nil {
		s.serverError(w, r, fmt.Errorf("load user %d: %w", u.ID, err))
		return
	}
	h := views.Home{
		Name:          user.DisplayName,
		StudentNumber: user.StudentNumber.String,
		ClassYear:     int(user.ClassYear.Int16),
		CreditLimit:   int(user.CreditLimit),
	}
	if user.DepartmentID.Valid {
		if d, err := s.q.GetDepartment(r.Context(), user.DepartmentID.Int64); err == nil {
			h.Department = d.Name
		}
	}
	term, err := s.currentTerm(r)
	if err != nil && !errors.Is(err, errNoCurrentTerm) {
		s.serverError(w, r, err)
		return
	}
	h.Term = views.Name(r.Context(), term.Name, term.NameKo)
	if u.Role == RoleStudent {
		_, h.Queue = s.room.WindowFor(u.Year)
		h.Student = true
		if err := s.homeRegistration(r, &h, term, int(user.ClassYear.Int16)); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	if h.Events, err = s.upcomingEvents(r, homeEvents); err != nil {
		s.serverError(w, r, err)
		return
	}
	if h.Notices, err = s.publishedNotices(r, homeNotices); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.HomePage(h), nil)
}

// homeEvents bounds the events on the home page.
const homeEvents = 3

// homeRegistration adds the student's timetable of the term and their registration
// windows that have not closed. Without a current term there is neither.
func (s *Server) homeRegistration(r *http.Request, h *views.Home, term db.Term, year int) error {
	if term.ID == 0 {
		return nil
	}
	u, _ := s.currentUser(r)
	rows, err := s.q.TimetableMeetings(r.Context(), db.TimetableMeetingsParams{UserID: u.ID, TermID: term.ID})
	if err != nil {
		return fmt.Errorf("timetable of user %d: %w", u.ID, err)
	}
	h.Timetable = views.Timetable{Term: views.Name(r.Context(), term.Name, term.NameKo), Sections: timetableSections(rows)}
	windows, err := s.q.ListTermWindows(r.Context())
	if err != nil {
		return fmt.Errorf("registration windows: %w", err)
	}
	now := s.now()
	for _, w := range windows {
		if (w.ClassYear.Valid && int(w.ClassYear.Int16) != year) || !now.Before(w.ClosesAt) {
			continue
		}
		h.Windows = append(h.Windows, views.HomeWindow{Phase: string(w.Phase), Opens: w.OpensAt, Closes: w.ClosesAt,
			Open: !now.Before(w.OpensAt)})
	}
	return nil
}

// errNoCurrentTerm: no term is marked current (between terms, or before the first).
var errNoCurrentTerm = errors.New("no current term")

// currentTerm is the term registration is about; errNoCurrentTerm when none is marked
// current.
func (s *Server) currentTerm(r *http.Request) (db.Term, error) {
	t, err := s.q.CurrentTerm(r.Context())
	if errors.Is(err, sql.ErrNoRows) {
		return db.Term{}, errNoCurrentTerm
	}
	if err != nil {
		return db.Term{}, fmt.Errorf("current term: %w", err)
	}
	return t, nil
}
