package web

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// requireStaff keeps students out of the staff pages.
func (s *Server) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := s.currentUser(r); u.Role != RoleStaff && u.Role != RoleAdmin {
			s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("error.forbidden.text"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireStudent keeps the student's own actions (basket, waiting room, registration) to
// students: staff have no basket, no place in a queue and no seat to take.
func (s *Server) requireStudent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := s.currentUser(r); u.Role != RoleStudent {
			s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("result.students_only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAdmin keeps staff out of the admin-only actions: the changes to terms. Which
// term is current decides what every student sees and registers for, so only admins
// create, edit, switch or delete terms; staff see them.
func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _ := s.currentUser(r); u.Role != RoleAdmin {
			s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("admin.err.admins_only"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// actor is the signed-in staff member, as the audit log of their changes names them.
func (s *Server) actor(r *http.Request) db.Actor {
	u, _ := s.currentUser(r)
	return db.Actor{ID: u.ID, Username: u.Username}
}

func (s *Server) isAdmin(r *http.Request) bool {
	u, _ := s.currentUser(r)
	return u.Role == RoleAdmin
}

// adminIndex links every staff page.
func (s *Server) adminIndex(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.AdminIndexPage(s.flash(r)), nil)
}

// Session keys of the message a change leaves for the page it redirects to.
const (
	sessFlash    = "flash"
	sessFlashArg = "flash_arg"
)

// saved ends a change that worked: the next page says so.
func (s *Server) saved(w http.ResponseWriter, r *http.Request, path string, key, arg string) {
	s.catalogChanged(r.Context())
	s.sessions.Put(r.Context(), sessFlash, key)
	s.sessions.Put(r.Context(), sessFlashArg, arg)
	seeOther(w, r, path)
}

// catalogChanged reloads this replica's registration catalog after a staff change made
// here, so staff see its effect at once on the replica they used; other replicas follow
// within the poll (registration.WatchCatalog), and so does this one should this fail.
func (s *Server) catalogChanged(ctx context.Context) {
	if err := s.reg.RefreshCatalog(ctx); err != nil {
		s.log.WarnContext(ctx, "reload the registration catalog after a staff change", slog.Any("error", err))
	}
}

// seeOther sends the browser on to path after a form: an HTMX one by HX-Redirect (a
// page load of its own, not a swap), a plain one by a 303.
func seeOther(w http.ResponseWriter, r *http.Request, path string) {
	if wantsFragment(r) {
		w.Header().Set("HX-Redirect", path)
		w.WriteHeader(http.StatusOK)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// flash returns, once, the message the last change left.
func (s *Server) flash(r *http.Request) views.Message {
	key := s.sessions.PopString(r.Context(), sessFlash)
	if key == "" {
		return views.Message{}
	}
	if arg := s.sessions.PopString(r.Context(), sessFlashArg); arg != "" {
		return views.Msg(key, arg)
	}
	return views.Msg(key)
}

// pathID reads a positive id from the route; false answers 404.
func pathID(r *http.Request, name string) (int64, bool) {
	return parseID(chi.URLParam(r, name))
}

// adminForm is a posted form under validation: the values as typed, for showing the form
// again, and a message for each field that is wrong.
type adminForm struct {
	views.Form
	r *http.Request
}

func newAdminForm(r *http.Request) *adminForm {
	f := &adminForm{Form: views.Form{Values: map[string]string{}, Errors: map[string]views.Message{}}, r: r}
	_ = r.ParseForm()
	for k, v := range r.PostForm {
		if len(v) > 0 {
			f.Values[k] = strings.TrimSpace(v[0])
		}
	}
	return f
}

// fail marks a field wrong (an empty name is the form as a whole); the first message
// per field stays.
func (f *adminForm) fail(name, key string, args ...any) {
	if name == "" {
		if f.Error.Key == "" {
			f.Error = views.Msg(key, args...)
		}
		return
	}
	if _, ok := f.Errors[name]; !ok {
		f.Errors[name] = views.Msg(key, args...)
	}
}

func (f *adminForm) ok() bool { return len(f.Errors) == 0 && f.Error.Key == "" }

// text is a field of at most maxLen characters; required ones may not be empty.
func (f *adminForm) text(name string, maxLen int, required bool) string {
	v := f.Values[name]
	switch {
	case !utf8.ValidString(v):
		f.fail(name, "admin.err.text")
	case required && v == "":
		f.fail(name, "admin.err.required")
	case utf8.RuneCountInString(v) > maxLen:
		f.fail(name, "admin.err.too_long", maxLen)
	}
	return v
}

// integer is a whole number from lo to hi.
func (f *adminForm) integer(name string, lo, hi int) int {
	n, err := strconv.Atoi(f.Values[name])
	if err != nil || n < lo || n > hi {
		f.fail(name, "admin.err.number", lo, hi)
	}
	return n
}

// date is a calendar day as a date input sends it.
func (f *adminForm) date(name string) time.Time {
	d, err := time.Parse(time.DateOnly, f.Values[name])
	if err != nil {
		f.fail(name, "admin.err.date")
	}
	return d
}

// datetime is a moment as a datetime-local input sends it, on the school's clock (the
// one the pages show times in), returned in UTC as the database keeps it.
func (f *adminForm) datetime(name string) time.Time {
	t, err := views.ParseLocalInput(f.r.Context(), f.Values[name])
	if err != nil {
		f.fail(name, "admin.err.datetime")
	}
	return t
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
