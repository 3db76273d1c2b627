package web

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
)

// render writes a page, or only fragment when HTMX asked for a part of one. The body is
// rendered before the status is sent, so a rendering failure can still become a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page, fragment templ.Component) {
	c := page
	if fragment != nil && wantsFragment(r) {
		c = fragment
	}
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		s.serverError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// Pages differ by HTMX request and language: caches must not mix them.
	w.Header().Add("Vary", "HX-Request, HX-Boosted, Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// wantsFragment reports whether HTMX asked for a part of a page. Boosted links and history
// restores are HTMX requests too, but they want the whole page.
func wantsFragment(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true" &&
		r.Header.Get("HX-History-Restore-Request") != "true"
}
