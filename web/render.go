package web

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/a-h/templ"
)

const (
	contentTypeHTML = "text/html; charset=utf-8"
	// varyPage: pages differ by HTMX request and language, so caches must not mix them.
	varyPage = "HX-Request, HX-Boosted, Accept-Language, Cookie"
)

// render writes a page, or only fragment when HTMX asked for a part of one. The body is
// rendered before the status is sent, so a rendering failure can still become a clean
// answer. A request whose client has gone is not rendered at all.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, fragment templ.Component) {
	if err := r.Context().Err(); err != nil {
		s.clientGone(r, err)
		return
	}
	c, ctx := page, r.Context()
	if wantsFragment(r) {
		if fragment != nil {
			c = fragment
		}
	} else {
		var err error
		if ctx, err = s.wholePage(r); err != nil {
			if r.Context().Err() != nil {
				s.clientGone(r, err)
				return
			}
			// The page goes without the header's figures rather than not at all: what it
			// answers (a form's result among them) has been done by now.
			s.logRequest(r, slog.LevelWarn, "header figures unavailable", err)
			ctx = r.Context()
		}
	}
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		s.renderFailed(w, r, err)
		return
	}
	w.Header().Set("Content-Type", contentTypeHTML)
	w.Header().Add("Vary", varyPage)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// renderFailed answers when a page could not be rendered. It must not render again (the
// error page is a page too, and could fail the same way), so it writes plain text.
func (s *Server) renderFailed(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.clientGone(r, err)
		return
	}
	s.metrics.failures.WithLabelValues("internal").Inc()
	s.logRequest(r, slog.LevelError, "render failed", err)
	w.Header().Set("Retry-After", retryAfter)
	http.Error(w, "Service unavailable, please try again in a moment. / 잠시 후 다시 시도하세요.", http.StatusServiceUnavailable)
	markAnswered(r)
}

// wantsFragment reports whether HTMX asked for a part of a page. Boosted links and history
// restores are HTMX requests too, but they want the whole page.
func wantsFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}
