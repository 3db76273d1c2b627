package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// timetable shows the signed-in user's week. Staff have no enrollments and, like a
// student before registering or a school with no current term, get the empty state.
func (s *Server) timetable(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r)
	page := views.Timetable{}
	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		s.render(w, r, http.StatusOK, views.TimetablePage(page), nil)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Term = views.Name(r.Context(), term.Name, term.NameKo)
	rows, err := s.q.TimetableMeetings(r.Context(), db.TimetableMeetingsParams{UserID: u.ID, TermID: term.ID})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("timetable of user %d: %w", u.ID, err))
		return
	}
	page.Sections = timetableSections(rows)
	s.render(w, r, http.StatusOK, views.TimetablePage(page), nil)
}

// timetableSections folds the query's one-row-per-meeting result back into sections,
// keeping its order.
func timetableSections(rows []db.TimetableMeetingsRow) []views.TimetableSection {
	var out []views.TimetableSection
	index := map[int64]int{}
	for _, row := range rows {
		i, ok := index[row.SectionID]
		if !ok {
			i = len(out)
			index[row.SectionID] = i
			out = append(out, views.TimetableSection{
				ID:         row.SectionID,
				CourseCode: row.CourseCode,
				Title:      row.Title,
				Number:     row.Number,
				Room:       row.Room,
				Instructor: row.Instructor,
				Credits:    int(row.Credits),
			})
		}
		// A section without meetings comes back once with NULL times (LEFT JOIN).
		if row.Weekday.Valid && row.StartMinute.Valid && row.EndMinute.Valid {
			out[i].Meetings = append(out[i].Meetings, views.Meeting{
				Weekday:     int(row.Weekday.Int16),
				StartMinute: int(row.StartMinute.Int16),
				EndMinute:   int(row.EndMinute.Int16),
			})
		}
	}
	return out
}
