package web

import (
	"context"
	"errors"
	"net/http"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// adminBasketAuto shows the current term's basket demand and which sections the
// auto-enrolment would give (a read, nothing changes).
func (s *Server) adminBasketAuto(w http.ResponseWriter, r *http.Request) {
	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		s.render(w, r, http.StatusOK, views.BasketAutoPage(views.BasketAuto{Error: views.Msg("catalog.no_term")}), nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	plan, err := s.reg.BasketPlan(r.Context(), term.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.BasketAutoPage(views.BasketAuto{Term: term.Code + " · " + term.Name, Sections: plan}), nil)
}

// runBasketAuto runs the auto-enrolment of the current term and shows its report. The
// run is not the request's: a closed tab or a dropped connection does not stop it
// halfway, so every run that starts ends with its audit row.
func (s *Server) runBasketAuto(w http.ResponseWriter, r *http.Request) {
	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		s.render(w, r, http.StatusConflict, views.BasketAutoPage(views.BasketAuto{Error: views.Msg("catalog.no_term")}), nil)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := views.BasketAuto{Term: term.Code + " · " + term.Name}
	rep, err := s.reg.AutoEnroll(context.WithoutCancel(r.Context()), s.actor(r), term.ID)
	var open *registration.ErrBasketOpen
	switch {
	case errors.As(err, &open):
		page.Error = views.Msg("basket_auto.err.open", views.When(r.Context(), open.Closes))
	case errors.Is(err, registration.ErrNoBasketPhase):
		page.Error = views.Msg("basket_auto.err.no_phase")
	case err != nil:
		s.serverError(w, r, err)
		return
	default:
		page.Report, page.Sections = &rep, rep.Sections
	}
	status := http.StatusOK
	if page.Error.Key != "" {
		status = http.StatusConflict
		if page.Sections, err = s.reg.BasketPlan(r.Context(), term.ID); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.render(w, r, status, views.BasketAutoPage(page), views.BasketAutoContent(page))
}
