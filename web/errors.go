package web

import (
	"database/sql"
	"errors"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/schoolservice/school/views"
)

// serverError logs what went wrong with the request's details and shows the user a safe
// message; the error text itself never reaches the page.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "request failed",
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("request_id", middleware.GetReqID(r.Context())), slog.Any("error", err))
	s.errorPage(w, r, http.StatusInternalServerError, "error.server", views.Msg("error.server.text"))
}

// errorPage answers status with a page (for HTMX, just the message) in the user's
// language.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, titleKey string, m views.Message) {
	s.render(w, r, status, views.ErrorPage(views.T(r.Context(), titleKey), m), views.Alert(m))
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "error.not_found", views.Msg("error.not_found.text"))
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusMethodNotAllowed, "error.method", views.Msg("error.method.text"))
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
