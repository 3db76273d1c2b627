package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkClockNow is the cost of one /clock answer through the whole public handler
// (every middleware a page passes before the session), beside /healthz, the cheapest
// route there is, measured in the same run: on registration morning every waiting
// student's page asks /clock a few times. No network: the app's own cost.
//
//	go test -run '^$' -bench BenchmarkClockNow -benchmem ./web/
func BenchmarkClockNow(b *testing.B) {
	app := newTestApp(b)
	h := app.server.Handler()
	for _, path := range []string{"/clock", "/healthz"} {
		b.Run(path[1:], func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
					if w.Code != http.StatusOK {
						b.Fatalf("%s: %d", path, w.Code)
					}
				}
			})
		})
	}
}
