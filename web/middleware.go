package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/schoolservice/school/views"
)

// securityHeaders sets the headers every answer carries. The CSP allows only the app's
// own scripts and styles: no inline code, so injected markup cannot run.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

// securityHeaderValues are built once: every answer shares the value slices (each of
// capacity one, so an Add elsewhere copies instead of writing into them).
var securityHeaderValues = []struct {
	key   string
	value []string
}{
	{"Content-Security-Policy", []string{"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"X-Frame-Options", []string{"DENY"}},
	{"Referrer-Policy", []string{"same-origin"}},
	{"Cross-Origin-Opener-Policy", []string{"same-origin"}},
	{"Permissions-Policy", []string{"camera=(), microphone=(), geolocation=()"}},
}

func setSecurityHeaders(h http.Header) {
	for _, kv := range securityHeaderValues {
		h[kv.key] = kv.value
	}
}

// crossOrigin refuses unsafe requests (POST and the like) that a browser sent from
// another origin: the CSRF defence for every form, HTMX request and the login itself.
func (s *Server) crossOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.origins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			panic(fmt.Sprintf("trusted origin %q: %v", o, err)) // validated by the config
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "cross-origin request refused",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("origin", r.Header.Get("Origin")), slog.String("sec_fetch_site", r.Header.Get("Sec-Fetch-Site")))
		s.errorPage(w, r, http.StatusForbidden, "error.cross_origin", views.Msg("error.cross_origin.text"))
	}))
	return cop.Handler(next)
}

// recoverer turns a panic into a logged 500 instead of a dropped connection.
func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				s.recovered(w, r, v)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// recovered answers a request whose handler panicked with v.
func (s *Server) recovered(w http.ResponseWriter, r *http.Request, v any) {
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.serverError(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
}

// timeZone gives every view and form the school's clock.
func (s *Server) timeZone(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(views.WithZone(r.Context(), s.zone)))
	})
}

const langCookie = "lang"

// locale picks the UI language for every view (requestLocale).
func locale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(views.WithLocale(r.Context(), requestLocale(r))))
	})
}

// requestLocale is the user's own choice of language (a cookie), else the browser's
// Accept-Language.
func requestLocale(r *http.Request) views.Locale {
	l := views.NegotiateLocale(r.Header.Get("Accept-Language"))
	if c, err := r.Cookie(langCookie); err == nil {
		if chosen, ok := views.ParseLocale(c.Value); ok {
			l = chosen
		}
	}
	return l
}

// noStore keeps every page behind the session out of every cache, the browser's back-
// forward cache included: on a shared lab PC, Back after sign-out must not show the last
// student's registrations. The sign-in page is included: it is where Back lands then.
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// pageContext gives the layout who is signed in and where the page is. What the header
// shows of the viewer's own (wholePage) is read when a whole page is rendered.
func (s *Server) pageContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := views.Chrome{Path: pagePath(r)}
		if u, ok := s.currentUser(r); ok {
			c.Viewer = viewer(u)
		}
		next.ServeHTTP(w, r.WithContext(views.WithChrome(r.Context(), c)))
	})
}

func viewer(u sessionUser) *views.Viewer {
	return &views.Viewer{Username: u.Username, Name: u.Name, Role: u.Role}
}

// plainPage marks a request whose page renders without the header's figures: the error
// page of a failure (serverError).
type plainPage struct{}

// wholePage is the context a whole page renders in: the header's figures of the signed-in
// viewer (a student's credits and unread notices in one statement, the waiting room, the
// server clock) and the click admission led back to. Render reads them, so that neither
// a fragment, which shows no header, nor a form answered with a redirect pays for them.
func (s *Server) wholePage(r *http.Request) (context.Context, error) {
	ctx := r.Context()
	u, ok := s.currentUser(r)
	if !ok || ctx.Value(plainPage{}) != nil {
		return ctx, nil
	}
	c := views.Chrome{Path: pagePath(r), Viewer: viewer(u)}
	var err error
	if c.Credits, c.Unread, err = s.header(r); err != nil {
		return ctx, err
	}
	c.Queued = r.URL.Path != "/queue" && s.queued(r, u)
	c.KeptIntent = r.URL.Path == "/queue" && s.sessions.Exists(ctx, sessIntent)
	// Taken from the session only once the page will show it: after the header's read.
	if r.Method == http.MethodGet {
		c.Intent = s.intentBack(r)
	}
	c.Clock = s.serverClock(u)
	return views.WithChrome(ctx, c), nil
}

// pagePath is where the language switch returns to: the page itself, or for the answer
// to a form (a POST has no page to load again: a 405) the page the form was on.
func pagePath(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return r.URL.RequestURI()
	}
	ref, err := url.Parse(r.Referer())
	if err != nil || ref.Host != r.Host {
		return "/"
	}
	return localPath(ref.RequestURI())
}

// requireLogin sends anonymous visitors to the sign-in page, and answers 401 to requests
// a redirect would not help (HTMX fragments, form posts).
func (s *Server) requireLogin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.currentUser(r); ok {
			next.ServeHTTP(w, r)
			return
		}
		s.toLogin(w, r)
	})
}

// toLogin sends the request to the sign-in page, with a way back to where it was.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	login := "/login?next=" + url.QueryEscape(r.URL.RequestURI())
	switch {
	case wantsFragment(r):
		w.Header().Set("HX-Redirect", login)
		s.errorPage(w, r, http.StatusUnauthorized, "login.title", views.Msg("login.session_ended"))
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		http.Redirect(w, r, login, http.StatusSeeOther)
	default:
		s.errorPage(w, r, http.StatusUnauthorized, "login.title", views.Msg("login.session_ended"))
	}
}

// localPath returns next when it is a path on this site, "/" otherwise, so a link cannot
// send a user elsewhere after signing in.
func localPath(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || next[0] != '/' || u.Scheme != "" || u.Host != "" ||
		len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return "/"
	}
	return next
}
