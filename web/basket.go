package web

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

func (s *Server) basket(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	b, err := s.basketContent(r, u)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.BasketPage(b), views.BasketContent(b))
}

// basketContent lists the basket with its credit total, and warns of each section that
// meets at the same time as another in the basket or one already registered.
func (s *Server) basketContent(r *http.Request, u sessionUser) (views.Basket, error) {
	var b views.Basket
	if term, err := s.currentTerm(r); err == nil {
		b.Term = views.Name(r.Context(), term.Name, term.NameKo)
	}
	ids, err := s.q.BasketSectionIDs(r.Context(), u.ID)
	if err != nil {
		return b, fmt.Errorf("basket of student %d: %w", u.ID, err)
	}
	mine, err := s.q.MySectionIDs(r.Context(), db.MySectionIDsParams{UserID: u.ID})
	if err != nil {
		return b, fmt.Errorf("sections of student %d: %w", u.ID, err)
	}
	inBasket := map[int64]bool{}
	for _, id := range ids {
		inBasket[id] = true
	}
	rows, err := s.sectionsByID(r, append(ids, mine...))
	if err != nil {
		return b, err
	}
	for _, row := range rows {
		if inBasket[row.ID] {
			b.Rows = append(b.Rows, row)
		}
	}
	for i, row := range b.Rows {
		b.Credits += row.Credits
		for _, other := range rows {
			if other.ID != row.ID && (inBasket[other.ID] || other.Standing == views.Registered) && views.Overlaps(row.Meetings, other.Meetings) {
				b.Rows[i].Warning = views.Msg("basket.conflict", other.Label())
				break
			}
		}
	}
	c, err := s.credits(r)
	if err != nil {
		return b, err
	}
	b.Limit = c.Limit
	return b, nil
}

func (s *Server) addToBasket(w http.ResponseWriter, r *http.Request) {
	s.basketAction(w, r, r.PostFormValue("section_id"), true)
}

func (s *Server) removeFromBasket(w http.ResponseWriter, r *http.Request) {
	s.basketAction(w, r, chi.URLParam(r, "sectionID"), false)
}

// basketAction puts a section of the current term in the basket or takes it out, and
// answers with the section's row.
func (s *Server) basketAction(w http.ResponseWriter, r *http.Request, rawID string, add bool) {
	u, _ := s.currentUser(r) // a student: requireStudent
	id, ok := parseID(rawID)
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("result.bad_section"))
		return
	}
	current, err := s.q.SectionInCurrentTerm(r.Context(), id)
	if err != nil || !current {
		if err != nil && !isNoRows(err) {
			s.serverError(w, r, fmt.Errorf("section %d: %w", id, err))
			return
		}
		s.errorPage(w, r, http.StatusNotFound, "error.not_found", views.Msg("result.not_found"))
		return
	}
	msg := "basket.added"
	if add {
		err = s.q.AddToBasket(r.Context(), db.AddToBasketParams{UserID: u.ID, SectionID: id})
	} else {
		msg = "basket.removed"
		_, err = s.q.RemoveFromBasket(r.Context(), db.RemoveFromBasketParams{UserID: u.ID, SectionID: id})
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("basket of student %d, section %d: %w", u.ID, id, err))
		return
	}
	rows, err := s.sectionsByID(r, []int64{id})
	if err != nil || len(rows) == 0 {
		s.serverError(w, r, fmt.Errorf("section %d after basket change: %w", id, err))
		return
	}
	row := rows[0]
	row.Result = views.Msg(msg, row.Label())
	s.render(w, r, http.StatusOK, views.RegistrationResultPage(row), views.RegistrationResult(row, nil))
}

// registerBasket registers the basket's sections one by one, each with its own result;
// a registered section leaves the basket.
func (s *Server) registerBasket(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	ctx := r.Context()
	ids, err := s.q.BasketSectionIDs(ctx, u.ID)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("basket of student %d: %w", u.ID, err))
		return
	}
	rows, err := s.sectionsByID(r, ids)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	var results []views.BasketResult
	for _, row := range rows {
		out, err := s.reg.Register(ctx, registration.Request{StudentID: u.ID, SectionID: row.ID})
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.stats.count(out.Result)
		results = append(results, views.BasketResult{Label: row.Label(), Message: resultMessage(out, row.Label()), Refused: out.Result.Refused()})
		if out.Result == registration.Enrolled {
			if _, err := s.q.RemoveFromBasket(ctx, db.RemoveFromBasketParams{UserID: u.ID, SectionID: row.ID}); err != nil {
				s.log.WarnContext(ctx, "remove registered section from basket", slog.Int64("section", row.ID), slog.Any("error", err))
			}
		}
	}
	b, err := s.basketContent(r, u)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	b.Results = results
	credits, err := s.credits(r)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.BasketPage(b), views.BasketAnswer(b, credits))
}
