package web

import (
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// adminAccounts opens an account by the username typed in its form.
func (s *Server) adminAccounts(w http.ResponseWriter, r *http.Request) {
	username := strings.TrimSpace(r.URL.Query().Get("username"))
	if username == "" {
		s.render(w, r, http.StatusOK, views.AccountsPage(views.AccountSearch{}), nil)
		return
	}
	if _, ok, err := s.account(r, username); err != nil {
		s.serverError(w, r, err)
		return
	} else if !ok {
		s.render(w, r, http.StatusNotFound, views.AccountsPage(views.AccountSearch{Username: username,
			Error: views.Msg("admin.accounts.no_account", username)}), nil)
		return
	}
	http.Redirect(w, r, "/admin/students/"+url.PathEscape(username), http.StatusSeeOther)
}

// adminAccount is an account's page.
func (s *Server) adminAccount(w http.ResponseWriter, r *http.Request) {
	a, ok, err := s.account(r, chi.URLParam(r, "username"))
	switch {
	case err != nil:
		s.serverError(w, r, err)
	case !ok:
		s.notFound(w, r)
	default:
		s.render(w, r, http.StatusOK, views.AccountPage(a), nil)
	}
}

// endAccountSessions signs an account out everywhere: it records when (the periodic
// check ends any session confirmed before then), with the audit row, then deletes every
// stored session of the account. Staff end students' sessions, the registrar's desk work
// after a lost phone; the sessions of staff and admin accounts only an admin may end, so
// a staff account cannot keep the people who would disable it signed out.
func (s *Server) endAccountSessions(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	a, ok, err := s.account(r, chi.URLParam(r, "username"))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !ok {
		s.notFound(w, r)
		return
	}
	show := func(status int, m views.Message) {
		a.Result, a.Refused = m, status >= 400
		s.render(w, r, status, views.AccountPage(a), views.AccountSessions(a))
	}
	if !a.MayEnd {
		show(http.StatusForbidden, views.Msg("admin.accounts.admins_only"))
		return
	}
	f := newAdminForm(r)
	reason := f.text("reason", 500, false)
	if !f.ok() {
		a.Reason = f.Form
		show(http.StatusBadRequest, views.Message{})
		return
	}
	// The database keeps microseconds; the sessions' check times are compared with this.
	at := s.now().UTC().Truncate(time.Microsecond)
	// The one staff change web/ writes itself: ending sessions is the session store's
	// business (scs, below), which lives here.
	err = db.Audited(ctx, s.db, s.actor(r), func(q *db.Queries) (db.Change, error) {
		if _, err := q.MarkSessionsEnded(ctx, db.MarkSessionsEndedParams{EndedAt: sql.NullTime{Time: at, Valid: true}, ID: a.ID}); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "account.end_sessions", Entity: "user", EntityID: a.ID,
			After: map[string]any{"username": a.Username, "sessions_ended_at": at}, Reason: reason}, nil
	})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("end the sessions of %q: %w", a.Username, err))
		return
	}
	n, err := s.endSessions(ctx, a.ID)
	if err != nil {
		// What is recorded holds: the sessions left end at their next check.
		s.serverError(w, r, err)
		return
	}
	if u, _ := s.currentUser(r); u.ID == a.ID {
		// This request's session was among them; it must not be saved again.
		if err := s.sessions.Destroy(ctx); err != nil {
			s.serverError(w, r, fmt.Errorf("destroy session: %w", err))
			return
		}
		if wantsFragment(r) {
			w.Header().Set("HX-Redirect", "/login")
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a.SessionsEnded = at
	show(http.StatusOK, views.Msg("admin.accounts.ended", n, a.Username))
}

// account reads an account for the staff pages; false when there is none by that name.
func (s *Server) account(r *http.Request, username string) (views.Account, bool, error) {
	if username == "" || len(username) > maxUsernameLen || !utf8.ValidString(username) {
		return views.Account{}, false, nil
	}
	row, err := s.q.AccountByUsername(r.Context(), username)
	if isNoRows(err) {
		return views.Account{}, false, nil
	}
	if err != nil {
		return views.Account{}, false, fmt.Errorf("account %q: %w", username, err)
	}
	viewer, _ := s.currentUser(r)
	role := string(row.Role)
	return views.Account{
		ID: row.ID, Username: row.Username, Name: row.DisplayName, Role: role,
		StudentNumber: row.StudentNumber.String, Email: row.Email, Department: row.DepartmentCode.String,
		ClassYear: int(row.ClassYear.Int16), LastLogin: row.LastLoginAt.Time, SessionsEnded: row.SessionsEndedAt.Time,
		MayEnd: role == RoleStudent || viewer.Role == RoleAdmin,
	}, true, nil
}
