package web

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

const maxUsernameLen = 64

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.currentUser(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, views.LoginPage(views.LoginForm{Next: r.URL.Query().Get("next")}), nil)
}

// login checks the password with the directory, syncs the account into MySQL and starts
// a session under a new token.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	form := views.LoginForm{
		Username: strings.TrimSpace(r.PostFormValue("username")),
		Next:     r.PostFormValue("next"),
	}
	password := r.PostFormValue("password")
	fail := func(status int, result string, m views.Message) {
		s.metrics.logins.WithLabelValues(result).Inc()
		form.Error = m
		s.render(w, r, status, views.LoginPage(form), nil)
	}
	switch {
	case form.Username == "" || password == "":
		fail(http.StatusBadRequest, "invalid_input", views.Msg("login.err.missing"))
		return
	case len(form.Username) > maxUsernameLen || !utf8.ValidString(form.Username):
		fail(http.StatusBadRequest, "invalid_input", views.Msg("login.err.too_long"))
		return
	}
	account := strings.ToLower(form.Username)
	now := s.now().UTC()
	keys := newThrottleKeys(s.clientAddress(r), account)

	adm, err := s.admitLogin(ctx, keys, account, now)
	defer adm.release()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if adm.wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(adm.wait.Seconds()))))
		fail(http.StatusTooManyRequests, adm.refused, waitMessage(adm.wait))
		return
	}

	id, err := s.dir.Authenticate(ctx, form.Username, password)
	switch {
	case errors.Is(err, ErrInvalidCredentials):
		if err := s.recordLoginFailure(ctx, keys, now); err != nil {
			s.serverError(w, r, err)
			return
		}
		fail(http.StatusUnauthorized, "invalid", views.Msg("login.err.invalid"))
		return
	case errors.Is(err, ErrNoRole):
		fail(http.StatusForbidden, "no_role", views.Msg("login.err.no_role"))
		return
	case err != nil && ctx.Err() != nil:
		s.clientGone(r, err)
		return
	case err != nil:
		s.log.WarnContext(ctx, "directory unavailable at login", slog.String("username", account),
			slog.String("request_id", middleware.GetReqID(ctx)), slog.Any("error", err))
		w.Header().Set("Retry-After", retryAfter)
		fail(http.StatusServiceUnavailable, "unavailable", views.Msg("login.err.unavailable"))
		return
	}

	userID, err := s.syncUser(r, id, account, adm.stored, now)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	// Only when there is something to forget: a DELETE on every sign-in would be a write
	// on the hot path. The address key is never cleared, or an attacker could sign in to
	// an account of their own now and then to keep spraying.
	if adm.hadAccount {
		if err := s.q.ClearLoginThrottleKey(ctx, keys.account); err != nil {
			s.log.WarnContext(ctx, "clear login throttle", slog.String("username", account), slog.Any("error", err))
		}
	}
	// A new token at login: a session id planted before sign-in is worth nothing after.
	if err := s.sessions.RenewToken(ctx); err != nil {
		s.serverError(w, r, fmt.Errorf("renew session token: %w", err))
		return
	}
	s.sessions.Put(ctx, sessUserID, userID)
	s.sessions.Put(ctx, sessUsername, id.Username)
	s.sessions.Put(ctx, sessName, id.DisplayName)
	s.sessions.Put(ctx, sessRole, id.Role)
	s.sessions.Put(ctx, sessYear, id.ClassYear)
	s.sessions.Put(ctx, sessSeen, now.Unix())
	s.sessions.Put(ctx, sessChecked, now.UnixMicro())
	s.metrics.logins.WithLabelValues("ok").Inc()
	http.Redirect(w, r, localPath(form.Next), http.StatusSeeOther)
}

// syncUser makes the users row say what the directory says and returns its id. Most
// sign-ins find it unchanged, as read with the throttle keys under the name typed
// (account; stored, nil when there was no row): then it costs nothing more, and the
// sign-in time is written later with others (lastLogins), so the session is the
// sign-in's one durable commit. A directory that spells the name otherwise than typed
// has its row read by its own spelling.
func (s *Server) syncUser(r *http.Request, id Identity, account string, stored *storedAccount, now time.Time) (int64, error) {
	if id.Username != account {
		row, err := s.q.AccountByUsername(r.Context(), id.Username)
		switch {
		case err == nil:
			stored = &storedAccount{id: row.ID, username: row.Username, studentNumber: row.StudentNumber.String,
				displayName: row.DisplayName, email: row.Email, role: string(row.Role),
				department: row.DepartmentCode.String, classYear: int(row.ClassYear.Int16)}
		case !isNoRows(err):
			return 0, fmt.Errorf("read user %q: %w", id.Username, err)
		}
	}
	if stored != nil && stored.same(id) {
		s.lastLogins.note(stored.id)
		return stored.id, nil
	}
	return s.upsertUser(r.Context(), id, sql.NullTime{Time: now, Valid: true})
}

// storedAccount is a users row as a sign-in compares it with the directory.
type storedAccount struct {
	id                                                            int64
	username, studentNumber, displayName, email, role, department string
	classYear                                                     int
}

// same reports whether the users row holds what the directory says of the account.
// (An account whose department the school has not set up keeps no department, so it is
// written at every sign-in: rare, and correct.)
func (a *storedAccount) same(id Identity) bool {
	return a.username == id.Username && a.studentNumber == id.StudentNumber && a.displayName == id.DisplayName &&
		a.email == id.Email && a.role == id.Role && a.department == id.Department && a.classYear == id.ClassYear
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.serverError(w, r, fmt.Errorf("destroy session: %w", err))
		return
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// setLanguage stores the user's language choice in a cookie, so it holds before sign-in
// too, and returns to the page the switch was on.
func (s *Server) setLanguage(w http.ResponseWriter, r *http.Request) {
	l, ok := views.ParseLocale(r.PostFormValue("lang"))
	if !ok {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("error.bad_lang"))
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     langCookie,
		Value:    string(l),
		Path:     "/",
		MaxAge:   365 * 24 * 3600,
		HttpOnly: true,
		Secure:   s.sessions.Cookie.Secure,
		SameSite: http.SameSiteLaxMode,
	})
	// What reaches a student outside the app (notification e-mails) follows their choice.
	if u, ok := s.currentUser(r); ok && u.Role == RoleStudent {
		if err := s.q.SetUserLocale(r.Context(), db.SetUserLocaleParams{Locale: sql.NullString{String: string(l), Valid: true}, ID: u.ID}); err != nil {
			s.logRequest(r, slog.LevelWarn, "store the student's language", err)
		}
	}
	http.Redirect(w, r, localPath(r.PostFormValue("next")), http.StatusSeeOther)
}
