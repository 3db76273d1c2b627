package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/web/ldaptest"
)

func TestLoginSucceeds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)

	// A visitor gets a session before signing in (the login page's); the token must change.
	res, _ := app.get(t, c, "/courses")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fcourses" {
		t.Fatalf("anonymous /courses: %d to %q, want 303 to the login page", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := app.post(t, c, "/login", url.Values{"username": {"alice"}, "password": {alice.Password}, "next": {"/courses"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303\n%s", res.StatusCode, body)
	}
	if loc := res.Header.Get("Location"); loc != "/courses" {
		t.Errorf("redirect to %q, want /courses", loc)
	}
	cookie := sessionCookie(res)
	if cookie == nil || cookie.Value == "" {
		t.Fatal("no session cookie after login")
	}

	res, body = app.get(t, c, "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("home after login: %d", res.StatusCode)
	}
	if got := testid(t, body, "profile"); !strings.Contains(got, "202600001") {
		t.Errorf("profile %q lacks the student number from the directory", got)
	}

	// The account was synced from the directory.
	var role, name string
	var year int
	err := app.DB.QueryRow("SELECT role, display_name, class_year FROM users WHERE username = 'alice'").Scan(&role, &name, &year)
	if err != nil || role != "student" || name != "Alice Kim" || year != 2 {
		t.Errorf("synced user: role %q name %q year %d err %v", role, name, year, err)
	}
}

func TestLoginRenewsSessionToken(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	// A token held before a sign-in (here, from an earlier one) must not survive it.
	app.login(t, c, alice)
	u, _ := url.Parse(app.URL)
	before := c.Jar.Cookies(u)
	res, _ := app.post(t, c, "/login", url.Values{"username": {"alice"}, "password": {alice.Password}})
	after := sessionCookie(res)
	if len(before) == 0 || after == nil || before[0].Value == after.Value {
		t.Fatalf("session token not renewed at login: before %v, after %v", before, after)
	}
	// The old token is worthless now.
	old := app.client(t)
	old.Jar.SetCookies(u, before)
	if res, _ := app.get(t, old, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("old session token still signed in: status %d", res.StatusCode)
	}
}

func TestLoginFails(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	cases := []struct {
		name, username, password string
		status                   int
		message                  string
	}{
		{"wrong password", "alice", "not-her-password", http.StatusUnauthorized, "username or password is not right"},
		{"unknown user", "mallory", "whatever-1", http.StatusUnauthorized, "username or password is not right"},
		{"filter injection", "*)(uid=*", "whatever-1", http.StatusUnauthorized, "username or password is not right"},
		{"injection with wildcard", "al*", alice.Password, http.StatusUnauthorized, "username or password is not right"},
		{"injection closing the filter", "alice)(|(uid=*", alice.Password, http.StatusUnauthorized, "username or password is not right"},
		{"empty password", "alice", "", http.StatusBadRequest, "Enter your username and your password"},
		{"empty username", "", "x", http.StatusBadRequest, "Enter your username and your password"},
		{"overlong username", strings.Repeat("a", 65), "x", http.StatusBadRequest, "too long"},
		{"no group", "nobody", nobody.Password, http.StatusForbidden, "not allowed to use School Service"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := app.client(t)
			res, body := app.post(t, c, "/login", url.Values{"username": {tc.username}, "password": {tc.password}})
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d\n%s", res.StatusCode, tc.status, body)
			}
			if msg := testid(t, body, "alert"); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want it to say %q", msg, tc.message)
			}
			if doc(t, body).Find(`[data-testid="login-form"]`).Length() != 1 {
				t.Error("the login page is not shown again")
			}
			if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
				t.Errorf("signed in after a failed login: / gave %d", res.StatusCode)
			}
		})
	}
}

func TestLoginRoles(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	for _, u := range []ldaptest.User{alice, sam, ada} {
		app.login(t, app.client(t), u)
	}
	want := map[string]string{"alice": "student", "sam": "staff", "ada": "admin"}
	for user, role := range want {
		var got string
		if err := app.DB.QueryRow("SELECT role FROM users WHERE username = ?", user).Scan(&got); err != nil || got != role {
			t.Errorf("%s: role %q (%v), want %q", user, got, err, role)
		}
	}
}

func TestLogout(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	app.login(t, c, alice)
	res, _ := app.post(t, c, "/logout", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("still signed in after logout: %d", res.StatusCode)
	}
	var n int
	if err := app.DB.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM sessions").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d sessions left in MySQL after logout (%v)", n, err)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	t.Parallel()
	app := newTestApp(t) // the default: Secure cookies
	res, _ := app.post(t, app.client(t), "/login", url.Values{"username": {"alice"}, "password": {alice.Password}})
	c := sessionCookie(res)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie flags: Secure %v HttpOnly %v SameSite %v", c.Secure, c.HttpOnly, c.SameSite)
	}
}

func TestLoginRedirectStaysOnSite(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", `/\evil.example`, "javascript:alert(1)"} {
		res, _ := app.post(t, app.client(t), "/login", url.Values{"username": {"alice"}, "password": {alice.Password}, "next": {next}})
		if loc := res.Header.Get("Location"); loc != "/" {
			t.Errorf("next=%q redirected to %q, want /", next, loc)
		}
	}
}

// The username column keeps the directory's spelling, whatever case was typed.
func TestLoginUsesDirectoryUsername(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	app.login(t, app.client(t), ldaptest.User{Username: "Alice", Password: alice.Password})
	n, err := db.New(app.DB).CountUsers(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("%d users (%v), want 1", n, err)
	}
	var name string
	if err := app.DB.QueryRow("SELECT username FROM users").Scan(&name); err != nil || name != "alice" {
		t.Errorf("username %q (%v), want alice", name, err)
	}
}
