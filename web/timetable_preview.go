package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// timetablePreview draws the student's registered sections and their basket on one
// week (예비 시간표), basket sections apart from registered ones and every time conflict
// marked, so the morning's choices can be checked before the window opens.
func (s *Server) timetablePreview(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	ctx := r.Context()
	var page views.TimetablePreview
	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		s.render(w, r, http.StatusOK, views.TimetablePreviewPage(page), nil)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Term = term.Name
	rows, err := s.q.TimetableMeetings(ctx, db.TimetableMeetingsParams{UserID: u.ID, TermID: term.ID})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("timetable of user %d: %w", u.ID, err))
		return
	}
	page.Sections = timetableSections(rows)
	registered := make(map[int64]bool, len(page.Sections))
	for _, sec := range page.Sections {
		registered[sec.ID] = true
	}
	ids, err := s.q.BasketSectionIDs(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("basket of student %d: %w", u.ID, err))
		return
	}
	basket, err := s.sectionsByID(r, ids)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	for _, row := range basket {
		if registered[row.ID] {
			continue // drawn once, as registered
		}
		page.Sections = append(page.Sections, views.TimetableSection{ID: row.ID, CourseCode: row.CourseCode, Title: row.Title,
			Number: row.Number, Room: row.Room, Instructor: row.Instructor, Credits: row.Credits, Meetings: row.Meetings, Basket: true})
	}
	credits, err := s.credits(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Limit = credits.Limit
	s.render(w, r, http.StatusOK, views.TimetablePreviewPage(page), nil)
}
