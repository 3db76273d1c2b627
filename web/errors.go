package web

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// retryAfter is what a refused request is told to wait, in seconds: about the time a
// database failover or a directory restart takes.
const retryAfter = "5"

// serverError answers a request that failed for a reason other than what the user sent:
// 503 with Retry-After, try again. A change runs in one transaction, so it was kept whole
// or not at all; a registration sent again with its key is answered, not applied twice. The error itself is logged once with the request's details;
// the page never shows it. A request whose client has gone gets no answer at all.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.clientGone(r, err)
		return
	}
	kind, level := "internal", slog.LevelError
	if unavailable(err) {
		kind, level = "unavailable", slog.LevelWarn
	}
	s.metrics.failures.WithLabelValues(kind).Inc()
	s.logRequest(r, level, "request failed", err)
	w.Header().Set("Retry-After", retryAfter)
	if wantsFragment(r) {
		// The message goes to the page's notice area; what the student was looking at
		// (a form, a row of the catalog) stays as it was, ready for another try.
		w.Header().Set("HX-Retarget", "#"+views.FlashID)
		w.Header().Set("HX-Reswap", "innerHTML")
	}
	// The error page goes without the header's figures: after a failure, reading them
	// would most likely wait for the same fault again.
	r = r.WithContext(context.WithValue(r.Context(), plainPage{}, true))
	s.errorPage(w, r, http.StatusServiceUnavailable, "error.unavailable", views.Msg("error.unavailable.text"))
	markAnswered(r)
}

// clientGone records a request abandoned by its client (closed tab, proxy timeout):
// there is no one to answer, so nothing is rendered, and the transaction it was in has
// rolled back with the context.
func (s *Server) clientGone(r *http.Request, err error) {
	if !firstGone(r) {
		return // the session save after the handler finds it gone too: once is enough
	}
	s.metrics.failures.WithLabelValues("client_gone").Inc()
	s.logRequest(r, slog.LevelInfo, "client gone", err)
}

// requestState is what the error paths note about one request, for its other layers.
type requestState struct {
	gone atomic.Bool // the client left: counted and logged once
	// answered: an error answer was written. A handler's own writes after it are dropped:
	// the session store fails when scs saves the session as the handler starts writing,
	// and the page would otherwise follow the error page in the same body.
	answered atomic.Bool
}

type stateKey struct{}

func withState(r *http.Request) (*http.Request, *requestState) {
	st := new(requestState)
	return r.WithContext(context.WithValue(r.Context(), stateKey{}, st)), st
}

// firstGone marks the request gone and reports whether it was not marked before.
func firstGone(r *http.Request) bool {
	st, ok := r.Context().Value(stateKey{}).(*requestState)
	return !ok || !st.gone.Swap(true)
}

func markAnswered(r *http.Request) {
	if st, ok := r.Context().Value(stateKey{}).(*requestState); ok {
		st.answered.Store(true)
	}
}

// logRequest logs one line about a request that did not end well, with what identifies
// it.
func (s *Server) logRequest(r *http.Request, level slog.Level, msg string, err error) {
	s.log.LogAttrs(r.Context(), level, msg,
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.String("request_id", middleware.GetReqID(r.Context())), slog.Any("error", err))
}

// unavailable reports whether err means a service the app depends on did not answer (as
// opposed to a fault in the app): those are logged as warnings, the rest as errors.
func unavailable(err error) bool {
	var (
		ne net.Error
		le *ldap.Error
	)
	switch {
	case db.Unavailable(err), db.Retryable(err), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
		return true
	case errors.As(err, &le):
		return le.ResultCode == ldap.ErrorNetwork || le.ResultCode == ldap.LDAPResultBusy ||
			le.ResultCode == ldap.LDAPResultUnavailable
	}
	return false
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
