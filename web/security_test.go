package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCrossOriginPostRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	app.login(t, c, alice)

	cases := []struct {
		name   string
		header []string
	}{
		{"other site by Sec-Fetch-Site", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}},
		{"other origin by Origin alone", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/logout", "/login", "/lang"} {
				form := url.Values{"username": {"alice"}, "password": {alice.Password}, "lang": {"ko"}}
				res, body := app.post(t, c, path, form, tc.header...)
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("%s: status %d, want 403", path, res.StatusCode)
				}
				if msg := testid(t, body, "alert"); !strings.Contains(msg, "sent from another site") {
					t.Errorf("%s: message %q", path, msg)
				}
			}
		})
	}
	// Still signed in: the refused logout did nothing.
	if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("refused cross-origin logout signed the user out: %d", res.StatusCode)
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	for _, path := range []string{"/login", "/healthz", "/static/app.css", "/no-such-page"} {
		res, _ := app.get(t, app.client(t), path)
		for header, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
			"Content-Security-Policy": "script-src 'self'",
		} {
			if got := res.Header.Get(header); !strings.Contains(got, want) {
				t.Errorf("%s: %s = %q, want %q", path, header, got, want)
			}
		}
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	res, body := app.get(t, c, "/no-such-page")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(testid(t, body, "alert"), "nothing at this address") {
		t.Errorf("404 page: %d %q", res.StatusCode, testid(t, body, "alert"))
	}
	res, _ = app.post(t, c, "/healthz", nil)
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", res.StatusCode)
	}
}

func TestLanguage(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	_, body := app.get(t, c, "/login", "Accept-Language", "ko-KR,ko;q=0.9,en;q=0.8")
	if !strings.Contains(body, `lang="ko"`) || !strings.Contains(body, "로그인") {
		t.Error("Accept-Language ko did not give the Korean page")
	}
	_, body = app.get(t, c, "/login", "Accept-Language", "fr-FR,en;q=0.5")
	if !strings.Contains(body, `lang="en"`) || !strings.Contains(body, "Sign in") {
		t.Error("Accept-Language fr,en did not give the English page")
	}

	// The switch wins over the browser's language and returns to the page it was on.
	res, _ := app.post(t, c, "/lang", url.Values{"lang": {"ko"}, "next": {"/login?next=%2Fcourses"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fcourses" {
		t.Fatalf("language switch: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = app.get(t, c, "/login", "Accept-Language", "en")
	if !strings.Contains(body, `lang="ko"`) {
		t.Error("the chosen language did not stick")
	}
	// A failed login in Korean explains itself in Korean.
	_, body = app.post(t, c, "/login", url.Values{"username": {"alice"}, "password": {"wrong-one"}})
	if msg := testid(t, body, "alert"); !strings.Contains(msg, "비밀번호가 올바르지 않습니다") {
		t.Errorf("Korean failure message: %q", msg)
	}

	res, body = app.post(t, c, "/lang", url.Values{"lang": {"xx"}})
	if res.StatusCode != http.StatusBadRequest || testid(t, body, "alert") == "" {
		t.Errorf("unknown language: %d", res.StatusCode)
	}
}

// TestHealthAndMetrics: the operators' listener answers /healthz, /readyz and /metrics;
// the public one answers /healthz only, to anyone, signed in or not.
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		if res, body := app.ops(t, path); res.StatusCode != http.StatusOK {
			t.Errorf("ops %s: %d %s", path, res.StatusCode, body)
		}
	}
	if res, body := app.ops(t, "/login"); res.StatusCode != http.StatusNotFound {
		t.Errorf("ops /login: %d, want 404: the ops listener serves no pages\n%s", res.StatusCode, body)
	}
	if res, body := app.get(t, c, "/healthz"); res.StatusCode != http.StatusOK {
		t.Errorf("public /healthz: %d %s", res.StatusCode, body)
	}
	publicRefuses := func(when string) {
		t.Helper()
		for _, path := range []string{"/readyz", "/metrics", "/metrics?name[]=up"} {
			res, body := app.get(t, c, path)
			if res.StatusCode != http.StatusNotFound || strings.Contains(body, "go_sql_") || strings.Contains(body, "mysql:") {
				t.Errorf("public %s %s: %d, want 404 without the operators' answer\n%s", path, when, res.StatusCode, body)
			}
		}
	}
	publicRefuses("signed out")
	app.login(t, c, alice)
	publicRefuses("signed in")
	app.get(t, c, "/courses?q=x")
	app.get(t, c, "/courses/../../etc/passwd")

	_, metrics := app.ops(t, "/metrics")
	for _, want := range []string{
		`school_http_request_duration_seconds_count{code="200",method="GET",route="/courses"} 1`,
		`school_http_request_duration_seconds_count{code="303",method="POST",route="/login"} 1`,
		`school_logins_total{result="ok"} 1`,
		`go_sql_max_open_connections{db_name="school"}`,
		`go_sql_in_use_connections{db_name="school"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Raw paths never become labels.
	if strings.Contains(metrics, "passwd") {
		t.Error("a raw request path leaked into the metric labels")
	}
}
