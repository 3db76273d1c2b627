package web_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestPollAnsweredAheadOfTheRouter: a waiting page's poll is answered before the router
// (pollFirst) exactly as the router's queueStatus answers it — the same headers of
// security and caching, the same fragment in the same language, the same histogram —
// and whatever pollFirst does not take (a forged token, another query, HEAD) is still
// the router's, with its errors.
func TestPollAnsweredAheadOfTheRouter(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	// Admitting one place every thousand seconds: this one keeps waiting.
	queueWindow(t, app, ", admit_per_second = 0.001")
	c := app.client(t)
	app.login(t, c, alice)
	var poll string
	eventually(t, "a place in the waiting room", func() bool {
		_, body := app.post(t, c, "/queue", nil, hx, "true")
		poll, _ = doc(t, body).Find(`[data-testid="queue-status"]`).Attr("hx-get")
		return strings.HasPrefix(poll, "/queue/status?t=")
	})
	anon := app.client(t) // a poll needs no session
	eventually(t, "the place waiting in line", func() bool {
		_, body := app.get(t, anon, poll, hx, "true")
		return testid(t, body, "queue-position") != ""
	})

	delay := regexp.MustCompile(`load delay:\d+ms`)
	answer := func(path string, header ...string) (*http.Response, string) {
		t.Helper()
		res, body := app.get(t, anon, path, header...)
		return res, delay.ReplaceAllString(body, "load delay:…")
	}
	// An extra parameter, which pages never send, takes the router's way: the two answers
	// side by side.
	for _, lang := range []string{"en", "ko"} {
		fast, fastBody := answer(poll, hx, "true", "Accept-Language", lang)
		slow, slowBody := answer(poll+"&x=1", hx, "true", "Accept-Language", lang)
		if fast.StatusCode != http.StatusOK || slow.StatusCode != http.StatusOK {
			t.Fatalf("%s: poll %d, through the router %d", lang, fast.StatusCode, slow.StatusCode)
		}
		if fastBody != slowBody {
			t.Errorf("%s: the poll's answer differs from the router's:\n%s\n---\n%s", lang, fastBody, slowBody)
		}
		for name := range slow.Header {
			if name == "Date" || name == "Vary" || name == "Content-Length" {
				continue
			}
			if got, want := fast.Header.Values(name), slow.Header.Values(name); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s: header %s of the poll %q, of the router %q", lang, name, got, want)
			}
		}
		// Vary only on the router's: a no-store answer has no cache to tell apart.
		if fast.Header.Get("Vary") != "" || slow.Header.Get("Vary") == "" {
			t.Errorf("%s: Vary %q on the poll, %q through the router: the poll did not take pollFirst", lang, fast.Header.Get("Vary"), slow.Header.Get("Vary"))
		}
		if fast.Header.Get("Cache-Control") != "no-store" || !strings.Contains(fast.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: the poll's answer lacks no-store or the CSP: %v", lang, fast.Header)
		}
	}
	if _, body := answer(poll, hx, "true", "Accept-Language", "ko"); !strings.Contains(body, "내 대기 순서") {
		t.Errorf("a Korean page's poll is not in Korean:\n%s", body)
	}

	// A forged token, an emptied one, a NUL: the router's answers.
	forged := poll[:len(poll)-2] + "AA"
	for _, path := range []string{forged, "/queue/status?t=", "/queue/status?t=%00"} {
		if res, body := answer(path, hx, "true"); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "alert") {
			t.Errorf("%s: %d, want 400 with the router's message\n%s", path, res.StatusCode, body)
		}
	}
	if res, _ := app.do(t, anon, mustRequest(t, http.MethodHead, app.URL+poll)); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("HEAD of the poll: %d, want the router's 405", res.StatusCode)
	}

	// Every poll in the route's histogram, whichever way it went: 5 answered 200 here,
	// besides those the waits above sent; the NUL was refused before routing.
	_, metrics := app.ops(t, "/metrics")
	if !regexp.MustCompile(`school_http_request_duration_seconds_count\{code="200",method="GET",route="/queue/status"\} ([6-9]|\d\d+)\n`).MatchString(metrics) ||
		!strings.Contains(metrics, `school_http_request_duration_seconds_count{code="400",method="GET",route="/queue/status"} 2`) {
		t.Errorf("the polls are not all in the histogram:\n%s", grepLines(metrics, "/queue/status"))
	}
}

func mustRequest(t testing.TB, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func grepLines(s, sub string) string {
	var out []string
	for l := range strings.Lines(s) {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}
