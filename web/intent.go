package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/schoolservice/school/views"
)

// While a student's window is queued, the gate turns a registration click away to the
// waiting room. The click is kept in the session (sessIntent) and, at admission, the
// student goes back to the page they clicked on, at the section's row, with a banner
// offering the action again (sessIntentBack, shown once).
const (
	sessIntent     = "intent"
	sessIntentBack = "intent_back"
)

// intentActions are the gated requests worth coming back to, by path.
var intentActions = map[string]string{
	"/registrations":       "register",
	"/waitlist":            "waitlist",
	"/basket/register":     "basket",
	"/registrations/quick": "quick",
}

// keepIntent remembers the registration click the waiting room turned away: what, which
// section, and the page it was on (HTMX names it; a plain form's Referer does).
func (s *Server) keepIntent(r *http.Request) {
	action := intentActions[r.URL.Path]
	if action == "" {
		return
	}
	id, _ := parseID(r.PostFormValue("section_id"))
	page := ""
	for _, from := range []string{r.Header.Get("HX-Current-URL"), r.Referer()} {
		if u, err := url.Parse(from); from != "" && err == nil && (u.Host == "" || u.Host == r.Host) {
			page = localPath(u.RequestURI())
			break
		}
	}
	if page == "" {
		return // not a click on a page of the app (a script, a probe): nothing to go back to
	}
	if action == "quick" {
		page = withQuickCodes(page, r.PostFormValue("codes"))
	}
	s.sessions.Put(r.Context(), sessIntent, fmt.Sprintf("%s|%d|%s", action, id, page))
}

// intentReturn is where admission leads: the kept click's page at its section, or the
// catalog. The click is then offered once, on that page. Asked again before that page
// was shown (the waiting page loaded again with the pass), it answers the same.
func (s *Server) intentReturn(r *http.Request) string {
	ctx := r.Context()
	if v := s.sessions.PopString(ctx, sessIntent); v != "" {
		s.sessions.Put(ctx, sessIntentBack, v)
	}
	in, ok := parseIntent(s.sessions.GetString(ctx, sessIntentBack))
	if !ok {
		return "/courses"
	}
	if in.SectionID > 0 {
		return in.Path + "#" + in.Anchor()
	}
	return in.Path
}

// intentBack takes the click to offer again on this page, if admission just led here.
func (s *Server) intentBack(r *http.Request) *views.Intent {
	if !s.sessions.Exists(r.Context(), sessIntentBack) {
		return nil
	}
	in, ok := parseIntent(s.sessions.PopString(r.Context(), sessIntentBack))
	if !ok {
		return nil
	}
	return &in
}

func parseIntent(v string) (views.Intent, bool) {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return views.Intent{}, false
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id < 0 {
		return views.Intent{}, false
	}
	return views.Intent{Action: parts[0], SectionID: id, Path: localPath(parts[2])}, true
}

// queued reports whether the student's window is queued and they hold no admitted pass:
// registration would send them to the waiting room.
func (s *Server) queued(r *http.Request, u sessionUser) bool {
	if u.Role != "student" {
		return false
	}
	windowID, queued := s.room.WindowFor(u.Year)
	if !queued {
		return false
	}
	place, err := s.room.CheckPass(passFrom(r), windowID, u.ID)
	return err != nil || !s.room.Admitted(place)
}
