package web_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/waitingroom"
)

// BenchmarkQueueStatusHandler is one waiting page's poll through the app's handler,
// without a network: what the app's own code costs a poll (CPU and allocations), apart
// from net/http's reading and writing the connection. BenchmarkWaitingRoomPolling is the
// whole poll, over TCP.
func BenchmarkQueueStatusHandler(b *testing.B) {
	app := newTestApp(b)
	window, places := wrDataset(b, app.DB, 1000)
	// Admitting slowly: the last place stays waiting with a position and a wait.
	if _, err := app.DB.Exec("UPDATE registration_windows SET paused = FALSE, admit_per_second = 0.01 WHERE id = ?", window); err != nil {
		b.Fatal(err)
	}
	signer, err := waitingroom.New(b.Context(), app.DB, waitingroom.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	h := app.server.Handler()
	target := wrPath(signer, places[len(places)-1])
	poll := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("HX-Request", "true")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	eventually(b, "the place waiting in the cache", func() bool {
		w := poll()
		return w.Code == http.StatusOK && strings.Contains(w.Body.String(), `data-state="2"`) && strings.Contains(w.Body.String(), "queue-position")
	})
	time.Sleep(2 * time.Second) // a measured admission rate, so the answer has a wait
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		poll()
	}
}
