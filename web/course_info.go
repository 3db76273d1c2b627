package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// courseInfo is a course's page for students: what it is (both names, 이수구분, the year
// it is meant for, whether other departments may take it, its description and syllabus
// link) and its sections this term, with seats and buttons as in the catalog.
func (s *Server) courseInfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	code := strings.ToUpper(chi.URLParam(r, "code"))
	if code == "" || len(code) > 16 {
		s.notFound(w, r)
		return
	}
	c, err := s.q.CourseInfoByCode(ctx, code)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	prereqs, err := s.q.PrerequisiteCodes(ctx, []int64{c.ID})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("prerequisites of %s: %w", code, err))
		return
	}
	page := views.CourseInfo{Code: c.Code, Title: c.Title, TitleKo: c.TitleKo, Credits: int(c.Credits), Description: c.Description,
		CourseType: c.CourseType, ClassYear: int(c.ClassYear), OpenToOthers: c.OpenToOthers, SyllabusURL: c.SyllabusUrl,
		Department: c.DepartmentCode, DepartmentName: c.DepartmentName, DepartmentNameKo: c.DepartmentNameKo}
	for _, p := range prereqs {
		page.Prerequisites = append(page.Prerequisites, p.Code)
	}
	term, err := s.currentTerm(r)
	switch {
	case errors.Is(err, errNoCurrentTerm):
	case err != nil:
		s.serverError(w, r, err)
		return
	default:
		page.Term = views.Name(ctx, term.Name, term.NameKo)
		cat, err := s.reg.FreshCatalog(ctx)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		found, _ := cat.Search(registration.Search{TermID: term.ID, CourseCode: c.Code}, 0, 200)
		if page.Sections, err = s.listingViews(r, found); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, views.CourseInfoPage(page), nil)
}
