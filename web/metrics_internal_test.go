package web

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestInstrument: an invented method is one label, not a new series; what a handler
// writes after an error answer is dropped, so the error page is the whole body.
func TestInstrument(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := newMetrics(reg, &sql.DB{})
	h := m.instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("error page"))
			markAnswered(r)
			w.WriteHeader(http.StatusOK) // as scs does after a failed session save
			w.Write([]byte("the page"))
		}
	}))
	for _, method := range []string{"GET", "POST", "BREW", "XYZZY"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(method, "/", nil))
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if f.GetName() == "school_http_request_duration_seconds" {
			n = len(f.GetMetric())
		}
	}
	if n != 3 {
		t.Errorf("%d series for GET, POST and two invented methods; want 3 (GET, POST, other)", n)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/late", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "error page" {
		t.Errorf("after an error answer: %d %q", rec.Code, rec.Body.String())
	}
	if strings.Contains(rec.Body.String(), "the page") {
		t.Error("the page followed the error answer")
	}
}
