package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/schoolservice/school/web"
)

// TestRequestsWaitTheirTurn: with every turn at the database taken, a request waits for
// one: a patient client is answered once a turn comes, and a client that gives up while it
// waits is gone quietly (logged once, no error answer) and takes no turn with it.
func TestRequestsWaitTheirTurn(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.Turns = 3 })
	c := app.client(t)
	app.login(t, c, alice)
	held, release := app.server.HoldTurns()
	if held != 3 {
		t.Fatalf("%d turns held, want the 3 set", held)
	}
	released := false
	defer func() {
		if !released {
			release()
		}
	}()

	patient := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/courses", nil)
		res, err := c.Do(req)
		if err != nil {
			t.Errorf("the patient request: %v", err)
			patient <- 0
			return
		}
		res.Body.Close()
		patient <- res.StatusCode
	}()
	eventually(t, "the patient request waiting its turn", func() bool { return app.server.TurnsWaiting() == 1 })

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app.URL+"/courses", nil)
	req.Header.Set("X-Request-Id", "gave-up-in-turn")
	gaveUp := make(chan error, 1)
	go func() {
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
		}
		gaveUp <- err
	}()
	eventually(t, "the second request waiting behind the first", func() bool { return app.server.TurnsWaiting() == 2 })
	cancel()
	if err := <-gaveUp; err == nil {
		t.Fatal("the request given up was answered while every turn was taken")
	}
	eventually(t, "the request given up leaving the queue", func() bool { return app.server.TurnsWaiting() == 1 })
	eventually(t, "the request given up logged", func() bool { return app.logLines("gave-up-in-turn") == 1 })

	release()
	released = true
	if status := <-patient; status != http.StatusOK {
		t.Errorf("the patient request, its turn come: %d, want 200", status)
	}
	// Every turn is back: a page for each at once.
	if res, _ := app.get(t, c, "/courses"); res.StatusCode != http.StatusOK {
		t.Errorf("a page after the queue emptied: %d", res.StatusCode)
	}
	_, metrics := app.ops(t, "/metrics")
	for _, want := range []string{
		"school_http_request_turn_waits_total 2",
		"school_http_requests_waiting_turn 0",
		`school_http_request_failures_total{reason="client_gone"} 1`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(metrics, `code="5`) {
		t.Errorf("an answer 5xx:\n%s", metrics)
	}
}
