package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// termInput validates a term form.
func termInput(f *adminForm) catalog.Term {
	t := catalog.Term{Code: f.text("code", 16, true), Name: f.text("name", 100, true), NameKo: f.text("name_ko", 100, false),
		StartsOn: f.date("starts_on"), EndsOn: f.date("ends_on")}
	if f.E("starts_on").Key == "" && f.E("ends_on").Key == "" && !t.StartsOn.Before(t.EndsOn) {
		f.fail("ends_on", "admin.err.term_dates")
	}
	return t
}

func (s *Server) adminTerms(w http.ResponseWriter, r *http.Request) {
	s.renderTerms(w, r, http.StatusOK, newAdminForm(r))
}

func (s *Server) renderTerms(w http.ResponseWriter, r *http.Request, status int, f *adminForm) {
	rows, err := s.q.AdminListTerms(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list terms: %w", err))
		return
	}
	page := views.TermsAdmin{Form: f.Form, Flash: s.flash(r), CanEdit: s.isAdmin(r)}
	for _, t := range rows {
		page.Terms = append(page.Terms, views.TermRow{ID: t.ID, Code: t.Code, Name: t.Name, StartsOn: t.StartsOn,
			EndsOn: t.EndsOn, Current: t.IsCurrent, Sections: int(t.Sections), Windows: int(t.Windows)})
	}
	s.render(w, r, status, views.TermsPage(page), views.TermForm("/admin/terms", f.Form))
}

func (s *Server) createTerm(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	t := termInput(f)
	show := func(status int) { s.renderTerms(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	_, err := s.staffCatalog.CreateTerm(r.Context(), s.actor(r), t)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, "/admin/terms", "admin.saved", t.Code)
}

func (s *Server) adminTerm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "termID")
	if !ok {
		s.notFound(w, r)
		return
	}
	t, err := s.q.GetTerm(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("term %d: %w", id, err))
		return
	}
	page := s.termEdit(r, t, newAdminForm(r))
	s.render(w, r, http.StatusOK, views.TermPage(page), nil)
}

// termEdit is the edit page of t; the form shows t unless f was posted.
func (s *Server) termEdit(r *http.Request, t db.Term, f *adminForm) views.TermEdit {
	if len(f.Values) == 0 {
		f.Values = map[string]string{"code": t.Code, "name": t.Name, "name_ko": t.NameKo,
			"starts_on": t.StartsOn.Format(time.DateOnly), "ends_on": t.EndsOn.Format(time.DateOnly)}
	}
	return views.TermEdit{ID: t.ID, Code: t.Code, Current: t.IsCurrent, Form: f.Form, Flash: s.flash(r), CanEdit: s.isAdmin(r)}
}

// termPage renders the edit page of term id as it is stored, with f as posted.
func (s *Server) termPage(r *http.Request, id int64, f *adminForm) func(views.Message) templ.Component {
	return func(m views.Message) templ.Component {
		t, _ := s.q.GetTerm(r.Context(), id)
		page := s.termEdit(r, t, f)
		page.DeleteRefused = m
		return views.TermPage(page)
	}
}

func (s *Server) updateTerm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "termID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	t := termInput(f)
	action := "/admin/terms/" + itoa(id)
	show := func(status int) {
		s.render(w, r, status, s.termPage(r, id, f)(views.Message{}), views.TermForm(action, f.Form))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.staffCatalog.UpdateTerm(r.Context(), s.actor(r), id, t)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, action, "admin.saved", t.Code)
}

// setCurrentTerm makes the term the one students see and register for.
func (s *Server) setCurrentTerm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "termID")
	if !ok {
		s.notFound(w, r)
		return
	}
	code, err := s.staffCatalog.SetCurrentTerm(r.Context(), s.actor(r), id)
	if err != nil {
		s.failed(w, r, err)
		return
	}
	s.saved(w, r, "/admin/terms", "admin.terms.now_current", code)
}

func (s *Server) deleteTerm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "termID")
	if !ok {
		s.notFound(w, r)
		return
	}
	code, err := s.staffCatalog.DeleteTerm(r.Context(), s.actor(r), id)
	s.deleteAnswer(w, r, err, s.termPage(r, id, newAdminForm(r)), "/admin/terms", code)
}
