package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// resultHeader carries the registration result for tools and tests (the HTTP contract).
const resultHeader = "X-Registration-Result"

// resultNote is the context key under which countRegistrations leaves room for the
// request's result.
type resultNote struct{}

// answerResult sets the result header of the HTTP contract and notes the result in the
// request's context for countRegistrations, so the middleware need not read its own
// response back.
func answerResult(w http.ResponseWriter, r *http.Request, result registration.Result) {
	w.Header().Set(resultHeader, string(result))
	if note, ok := r.Context().Value(resultNote{}).(*registration.Result); ok {
		*note = result
	}
}

type registrationAct func(context.Context, registration.Request) (registration.Outcome, error)

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	s.registrationAction(w, r, r.PostFormValue("section_id"), s.reg.Register)
}

func (s *Server) joinWaitlist(w http.ResponseWriter, r *http.Request) {
	s.registrationAction(w, r, r.PostFormValue("section_id"), s.reg.JoinWaitlist)
}

func (s *Server) drop(w http.ResponseWriter, r *http.Request) {
	s.registrationAction(w, r, chi.URLParam(r, "sectionID"), s.reg.Drop)
}

func (s *Server) leaveWaitlist(w http.ResponseWriter, r *http.Request) {
	s.registrationAction(w, r, chi.URLParam(r, "sectionID"), s.reg.LeaveWaitlist)
}

// registrationAction parses the request, applies it, and answers with the section's row
// as it now stands (for a browser without HTMX, a page around it).
func (s *Server) registrationAction(w http.ResponseWriter, r *http.Request, rawID string, act registrationAct) {
	u, _ := s.currentUser(r) // a student: requireStudent
	id, ok := parseID(rawID)
	key := r.PostFormValue("request_key")
	if !ok || len(key) > registration.MaxKeyLen {
		answerResult(w, r, registration.Invalid)
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("result.bad_section"))
		return
	}
	out, err := act(r.Context(), registration.Request{StudentID: u.ID, SectionID: id, Key: key})
	if errors.Is(err, registration.ErrNotStudent) {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("result.students_only"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	answerResult(w, r, out.Result)

	row, err := s.resultRow(r, out)
	if errors.Is(err, errNoSection) {
		s.errorPage(w, r, resultStatus(out.Result), "error.not_found", views.Msg("result.not_found"))
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	row.Result, row.Refused = resultMessage(out, row.Label()), out.Result.Refused()
	var credits *views.Credits
	if out.CreditsKnown {
		credits = &views.Credits{Used: out.CreditsUsed, Limit: out.CreditLimit}
	}
	s.render(w, r, resultStatus(out.Result), views.RegistrationResultPage(row), views.RegistrationResult(row, credits))
}

var errNoSection = errors.New("no such section")

// resultRow is the section's row after the request. On registration day this answer is
// the hot path, so it is built from what the request read and the catalog it was checked
// against, without a query; only a section the catalog does not have is loaded (a
// request about nothing gets errNoSection).
func (s *Server) resultRow(r *http.Request, out registration.Outcome) (views.SectionRow, error) {
	sec := out.Section
	if sec.CourseCode == "" {
		rows, err := s.sectionsByID(r, []int64{sec.ID})
		if err != nil {
			return views.SectionRow{}, err
		}
		if len(rows) == 0 {
			return views.SectionRow{}, errNoSection
		}
		return rows[0], nil
	}
	var st standing
	switch {
	case out.Replayed || out.Result == registration.Invalid:
		// Nothing changed now: the row shows where the student stands.
		st = standing{registered: out.Found.Registered, position: out.Found.Position, inBasket: out.Found.InBasket}
	case out.Result == registration.Enrolled:
		st.registered = true
	case out.Result == registration.Waitlisted:
		st.position = out.Position
	default:
		// The buttons of a section not held depend on the basket.
		st.inBasket = out.Found.InBasket
	}
	meetings := make([]views.Meeting, len(out.Meetings))
	for i, m := range out.Meetings {
		meetings[i] = views.Meeting(m)
	}
	row := sectionRow(sec, out.SeatsLeft, meetings, true, st)
	row.Demand = s.demand(r, sec.ID)
	return row, nil
}

// resultStatus is the HTTP status of a result: 200 for a change made, 409 for a rule's
// refusal, 404 and 400 for requests about nothing or nonsense.
func resultStatus(r registration.Result) int {
	switch r {
	case registration.Enrolled, registration.Waitlisted, registration.Dropped, registration.LeftWaitlist:
		return http.StatusOK
	case registration.NotFound:
		return http.StatusNotFound
	case registration.Invalid:
		return http.StatusBadRequest
	}
	return http.StatusConflict
}

// resultMessage says what happened in words a student understands.
func resultMessage(out registration.Outcome, label string) views.Message {
	switch out.Result {
	case registration.Enrolled:
		return views.Msg("result.enrolled", label)
	case registration.Waitlisted:
		if out.Position == 0 { // a replayed answer does not carry the position
			return views.Msg("section.waitlist_position_only", label)
		}
		return views.Msg("result.waitlisted", out.Position, label)
	case registration.Dropped:
		return views.Msg("result.dropped", label)
	case registration.LeftWaitlist:
		return views.Msg("result.left_waitlist", label)
	case registration.Full:
		return views.Msg("result.full", label)
	case registration.Duplicate:
		return views.Msg("result.duplicate", out.Other)
	case registration.TimeConflict:
		return views.Msg("result.time_conflict", label, out.Other)
	case registration.CreditLimit:
		return views.Msg("result.credit_limit", label, out.CreditsUsed+out.Section.Credits, out.CreditLimit)
	case registration.Prerequisite:
		return views.Msg("result.prerequisite", label, strings.Join(out.Missing, ", "))
	case registration.WindowClosed:
		return views.Msg("result.window_closed")
	case registration.NotFound:
		if out.NotInTerm {
			return views.Msg("result.not_in_term", label)
		}
		return views.Msg("result.not_held", label)
	case registration.Invalid:
		return views.Msg("result.key_reused")
	}
	return views.Msg("error.server.text")
}

// parseID accepts a positive whole number.
func parseID(v string) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	return id, err == nil && id > 0
}

// registrations is the student's own page: what they hold and what they wait for.
func (s *Server) registrations(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r)
	page := views.Registrations{}
	if term, err := s.currentTerm(r); err == nil {
		page.Term = views.Name(r.Context(), term.Name, term.NameKo)
	}
	if u.Role == RoleStudent {
		if windowID, queued := s.room.WindowFor(u.Year); queued {
			_, err := s.room.CheckPass(passFrom(r), windowID, u.ID)
			page.Queued = err == nil
		}
		ids, err := s.q.MySectionIDs(r.Context(), db.MySectionIDsParams{UserID: u.ID})
		if err != nil {
			s.serverError(w, r, fmt.Errorf("sections of student %d: %w", u.ID, err))
			return
		}
		rows, err := s.sectionsByID(r, ids)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		for _, row := range rows {
			if row.Standing == views.OnWaitlist {
				page.Waitlisted = append(page.Waitlisted, row)
			} else {
				page.Enrolled = append(page.Enrolled, row)
			}
		}
	}
	s.render(w, r, http.StatusOK, views.RegistrationsPage(page), nil)
}
