package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// registrationsPrint is the 수강신청 확인서: the student's registered sections of the
// current term on one A4 page, for the browser's own Print (no script), with who they
// are and when it was printed.
func (s *Server) registrationsPrint(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, _ := s.currentUser(r)
	page := views.RegistrationPrint{PrintedAt: s.now()}
	st, err := s.q.PrintedStudent(ctx, u.ID)
	if err != nil {
		s.failed(w, r, fmt.Errorf("student %d: %w", u.ID, err))
		return
	}
	page.Student = views.PrintedStudent{Name: st.DisplayName, Number: st.StudentNumber.String, Username: st.Username,
		ClassYear: int(st.ClassYear.Int16), Department: st.DepartmentCode.String,
		DepartmentName: st.DepartmentName.String, DepartmentNameKo: st.DepartmentNameKo.String}
	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		s.render(w, r, http.StatusOK, views.RegistrationPrintPage(page), nil)
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Term, page.TermKo, page.HasTerm = term.Name, term.NameKo, true
	rows, err := s.q.PrintedRegistrations(ctx, db.PrintedRegistrationsParams{UserID: u.ID, TermID: term.ID})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("registrations of student %d: %w", u.ID, err))
		return
	}
	ids := make([]int64, len(rows))
	for i, row := range rows {
		ids[i] = row.ID
	}
	meetings := map[int64][]views.Meeting{}
	if len(ids) > 0 {
		ms, err := s.q.MeetingsForSections(ctx, ids)
		if err != nil {
			s.serverError(w, r, fmt.Errorf("meetings of %d sections: %w", len(ids), err))
			return
		}
		meetings = meetingViews(ms)
	}
	for _, row := range rows {
		page.Sections = append(page.Sections, views.PrintedSection{CourseCode: row.CourseCode, Number: row.Number,
			Title: row.Title, TitleKo: row.TitleKo, Credits: int(row.Credits), CourseType: row.CourseType,
			Instructor: row.Instructor, Room: row.Room, Department: row.DepartmentCode, Meetings: meetings[row.ID]})
		page.Credits += int(row.Credits)
	}
	s.render(w, r, http.StatusOK, views.RegistrationPrintPage(page), nil)
}
