package web

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/schoolservice/school/views"
)

// Body limits. Every form of the app is a few fields of text: maxFormBytes is ample for
// the longest (a notice's body). Files come only as multipart uploads (the catalog
// import), up to maxUploadBytes.
const (
	maxFormBytes   = 256 << 10
	maxUploadBytes = maxImportBytes + 64<<10
	// uploadMemory is how much of an upload is kept in memory; the rest goes to temporary
	// files, removed when the request ends.
	uploadMemory = 1 << 20
)

// checkInput reads and checks what a request carries before any handler sees it: the body
// within its limit, the form parsed, and every value (path, query, form) valid UTF-8
// without NUL bytes, which no one types and MySQL refuses in text columns. A request
// that fails gets 400 or 413 with a message and reaches no handler, so nothing is
// written. Files an upload left on disk are removed when the request ends, whatever the
// handler did.
func (s *Server) checkInput(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !readable(r.URL.Path) || !readableValues(r.URL.Query()) {
			s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("error.bad_input"))
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			limit := int64(maxFormBytes)
			mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if mt == "multipart/form-data" {
				limit = maxUploadBytes
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			var err error
			if mt == "multipart/form-data" {
				err = r.ParseMultipartForm(uploadMemory)
				if r.MultipartForm != nil {
					defer r.MultipartForm.RemoveAll()
				}
			} else {
				err = r.ParseForm()
			}
			var tooBig *http.MaxBytesError
			switch {
			case errors.As(err, &tooBig):
				s.errorPage(w, r, http.StatusRequestEntityTooLarge, "error.too_large", views.Msg("error.too_large.text", limit>>10))
				return
			case err != nil:
				s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("error.bad_input"))
				return
			case !readableValues(r.PostForm):
				s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("error.bad_input"))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func readable(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsRune(v, 0)
}

func readableValues(vs url.Values) bool {
	for k, list := range vs {
		if !readable(k) {
			return false
		}
		for _, v := range list {
			if !readable(v) {
				return false
			}
		}
	}
	return true
}
