package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// windowInput validates a window form: a class year or every year, a phase, and an
// opening before the closing.
func windowInput(f *adminForm) catalog.Window {
	var w catalog.Window
	if y := f.V("class_year"); y != "" {
		w.ClassYear = f.integer("class_year", 1, 6)
	}
	w.Phase = db.RegistrationWindowsPhase(f.V("phase"))
	if !slices.Contains([]db.RegistrationWindowsPhase{db.RegistrationWindowsPhaseBasket, db.RegistrationWindowsPhaseRegistration,
		db.RegistrationWindowsPhaseAddDrop}, w.Phase) {
		f.fail("phase", "admin.windows.choose_phase")
	}
	// Left out (a form from before the setting), the counts stay hidden.
	switch f.V("basket_counts") {
	case "shown":
		w.ShowBasketCounts = true
	case "", "hidden":
	default:
		f.fail("basket_counts", "admin.windows.choose_basket_counts")
	}
	w.Opens, w.Closes = f.datetime("opens_at"), f.datetime("closes_at")
	if f.E("opens_at").Key == "" && f.E("closes_at").Key == "" && !w.Opens.Before(w.Closes) {
		f.fail("closes_at", "admin.windows.order")
	}
	return w
}

// windowValues fills a window form from stored values, on the school's clock.
func windowValues(ctx context.Context, year sql.NullInt16, phase db.RegistrationWindowsPhase, opens, closes time.Time, counts bool) map[string]string {
	v := map[string]string{"phase": string(phase), "opens_at": views.LocalInput(ctx, opens),
		"closes_at": views.LocalInput(ctx, closes), "basket_counts": "hidden"}
	if counts {
		v["basket_counts"] = "shown"
	}
	if year.Valid {
		v["class_year"] = strconv.Itoa(int(year.Int16))
	}
	return v
}

func (s *Server) adminWindows(w http.ResponseWriter, r *http.Request) {
	s.renderWindows(w, r, http.StatusOK, newAdminForm(r))
}

func (s *Server) renderWindows(w http.ResponseWriter, r *http.Request, status int, f *adminForm) {
	chosen := r.URL.Query().Get("term")
	if v := f.V("term_id"); v != "" {
		chosen = v
	}
	terms, termID, err := s.termOptions(r, chosen)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := views.WindowsAdmin{Terms: terms, Term: itoa(termID), Form: f.Form, Flash: s.flash(r)}
	if page.Form.V("term_id") == "" {
		page.Form.Values["term_id"] = page.Term
	}
	rows, err := s.q.AdminListWindows(r.Context(), termID)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list windows: %w", err))
		return
	}
	for _, row := range rows {
		page.Windows = append(page.Windows, views.WindowRow{ID: row.ID, ClassYear: int(row.ClassYear.Int16), Phase: string(row.Phase),
			Opens: row.OpensAt, Closes: row.ClosesAt, Queue: row.QueueEnabled, Tickets: int(row.Tickets)})
	}
	s.render(w, r, status, views.WindowsPage(page), views.WindowForm("/admin/windows", page.Form, terms))
}

func (s *Server) createWindow(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	win := windowInput(f)
	termID, err := strconv.ParseInt(f.V("term_id"), 10, 64)
	if err != nil {
		f.fail("term_id", "admin.sections.choose_term")
	}
	show := func(status int) { s.renderWindows(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	_, err = s.staffCatalog.CreateWindow(r.Context(), s.actor(r), termID, win)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, "/admin/windows?term="+itoa(termID), "admin.windows.saved", "")
}

func (s *Server) adminWindow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	page, err := s.windowPage(r, id, newAdminForm(r), views.Message{})
	if err != nil {
		s.failed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, page, nil)
}

// windowPage is window id's edit page; the form shows the stored values unless f was
// posted.
func (s *Server) windowPage(r *http.Request, id int64, f *adminForm, refused views.Message) (templ.Component, error) {
	win, err := s.q.GetWindow(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if len(f.Values) == 0 {
		f.Values = windowValues(r.Context(), win.ClassYear, win.Phase, win.OpensAt, win.ClosesAt, win.ShowBasketCounts)
	}
	return views.WindowPage(views.WindowEdit{ID: id, TermID: win.TermID, Term: win.TermCode + " · " + win.TermName,
		Form: f.Form, Flash: s.flash(r), DeleteRefused: refused, Basket: win.Phase == db.RegistrationWindowsPhaseBasket}), nil
}

func (s *Server) updateWindow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	win := windowInput(f)
	action := "/admin/windows/" + itoa(id)
	show := func(status int) {
		page, err := s.windowPage(r, id, f, views.Message{})
		if err != nil {
			s.failed(w, r, err)
			return
		}
		s.render(w, r, status, page, views.WindowForm(action, f.Form, nil))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.staffCatalog.UpdateWindow(r.Context(), s.actor(r), id, win)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, action, "admin.windows.saved", "")
}

func (s *Server) deleteWindow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	termID, err := s.staffCatalog.DeleteWindow(r.Context(), s.actor(r), id)
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.windowPage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/windows?term="+itoa(termID), "#"+itoa(id))
}
