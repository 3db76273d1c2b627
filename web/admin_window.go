package web

import (
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// windowRecord is a registration window as the audit log keeps it; times in UTC.
type windowRecord struct {
	Term      string    `json:"term"`
	ClassYear string    `json:"class_year"` // "all" or "1" … "6"
	Phase     string    `json:"phase"`
	OpensAt   time.Time `json:"opens_at"`
	ClosesAt  time.Time `json:"closes_at"`
}

func windowRecordOf(term string, year sql.NullInt16, phase db.RegistrationWindowsPhase, opens, closes time.Time) windowRecord {
	w := windowRecord{Term: term, ClassYear: "all", Phase: string(phase), OpensAt: opens.UTC(), ClosesAt: closes.UTC()}
	if year.Valid {
		w.ClassYear = strconv.Itoa(int(year.Int16))
	}
	return w
}

// windowInput validates a window form: a class year or every year, a phase, and an
// opening before the closing.
func windowInput(f *adminForm) db.UpdateWindowParams {
	var p db.UpdateWindowParams
	if y := f.V("class_year"); y != "" {
		p.ClassYear = sql.NullInt16{Int16: int16(f.integer("class_year", 1, 6)), Valid: true}
	}
	p.Phase = db.RegistrationWindowsPhase(f.V("phase"))
	if !slices.Contains([]db.RegistrationWindowsPhase{db.RegistrationWindowsPhaseBasket, db.RegistrationWindowsPhaseRegistration,
		db.RegistrationWindowsPhaseAddDrop}, p.Phase) {
		f.fail("phase", "admin.windows.choose_phase")
	}
	p.OpensAt, p.ClosesAt = f.datetime("opens_at"), f.datetime("closes_at")
	if f.E("opens_at").Key == "" && f.E("closes_at").Key == "" && !p.OpensAt.Before(p.ClosesAt) {
		f.fail("closes_at", "admin.windows.order")
	}
	return p
}

// windowValues fills a window form from stored values, in the server's time zone.
func windowValues(year sql.NullInt16, phase db.RegistrationWindowsPhase, opens, closes time.Time) map[string]string {
	v := map[string]string{"phase": string(phase), "opens_at": opens.Local().Format("2006-01-02T15:04"),
		"closes_at": closes.Local().Format("2006-01-02T15:04")}
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
	p := windowInput(f)
	termID, err := strconv.ParseInt(f.V("term_id"), 10, 64)
	if err != nil {
		f.fail("term_id", "admin.sections.choose_term")
	}
	show := func(status int) { s.renderWindows(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err = s.audited(r, func(q *db.Queries) (change, error) {
		t, err := q.GetTerm(r.Context(), termID)
		if isNoRows(err) {
			return change{}, refuse(http.StatusBadRequest, "term_id", "admin.sections.choose_term")
		}
		if err != nil {
			return change{}, err
		}
		id, err := q.InsertRegistrationWindow(r.Context(), db.InsertRegistrationWindowParams{TermID: termID, ClassYear: p.ClassYear, Phase: p.Phase,
			OpensAt: p.OpensAt, ClosesAt: p.ClosesAt})
		return change{Action: "window.create", Entity: "registration_window", EntityID: id,
			After: windowRecordOf(t.Code, p.ClassYear, p.Phase, p.OpensAt, p.ClosesAt)}, err
	})
	if s.changeFailed(w, r, f, err, "", "", show) {
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
		s.changeFailed(w, r, newAdminForm(r), err, "", "", nil)
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
		f.Values = windowValues(win.ClassYear, win.Phase, win.OpensAt, win.ClosesAt)
	}
	return views.WindowPage(views.WindowEdit{ID: id, TermID: win.TermID, Term: win.TermCode + " · " + win.TermName,
		Form: f.Form, Flash: s.flash(r), DeleteRefused: refused}), nil
}

func (s *Server) updateWindow(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	p := windowInput(f)
	p.ID = id
	action := "/admin/windows/" + itoa(id)
	show := func(status int) {
		page, err := s.windowPage(r, id, f, views.Message{})
		if err != nil {
			s.changeFailed(w, r, f, err, "", "", nil)
			return
		}
		s.render(w, r, status, page, views.WindowForm(action, f.Form, nil))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.audited(r, func(q *db.Queries) (change, error) {
		old, err := q.GetWindowForUpdate(r.Context(), id)
		if err != nil {
			return change{}, err
		}
		t, err := q.GetTerm(r.Context(), old.TermID)
		if err != nil {
			return change{}, err
		}
		before := windowRecordOf(t.Code, old.ClassYear, old.Phase, old.OpensAt, old.ClosesAt)
		after := windowRecordOf(t.Code, p.ClassYear, p.Phase, p.OpensAt, p.ClosesAt)
		if before == after {
			return change{}, nil
		}
		return change{Action: "window.update", Entity: "registration_window", EntityID: id, Before: before, After: after},
			q.UpdateWindow(r.Context(), p)
	})
	if s.changeFailed(w, r, f, err, "", "", show) {
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
	var termID int64
	err := s.audited(r, func(q *db.Queries) (change, error) {
		old, err := q.GetWindowForUpdate(r.Context(), id)
		if err != nil {
			return change{}, err
		}
		termID = old.TermID
		t, err := q.GetTerm(r.Context(), old.TermID)
		if err != nil {
			return change{}, err
		}
		tickets, err := q.WindowTickets(r.Context(), id)
		if err != nil {
			return change{}, err
		}
		if tickets > 0 {
			return change{}, refuse(http.StatusConflict, "", "admin.windows.in_use", tickets)
		}
		if err := q.DeleteWindow(r.Context(), id); err != nil {
			return change{}, err
		}
		return change{Action: "window.delete", Entity: "registration_window", EntityID: id,
			Before: windowRecordOf(t.Code, old.ClassYear, old.Phase, old.OpensAt, old.ClosesAt)}, nil
	})
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.windowPage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/windows?term="+itoa(termID), "#"+itoa(id))
}
