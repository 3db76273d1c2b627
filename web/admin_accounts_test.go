package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestStaffEndsEveryAccountSession(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	other := app.replica(t)
	bob := ldapUser("bob", "students")
	app.Dir.AddUsers(t, bob)
	// alice is signed in twice, on two replicas; bob once.
	phone, laptop, bobs, staff := app.client(t), other.client(t), app.client(t), app.client(t)
	app.login(t, phone, alice)
	other.login(t, laptop, alice)
	app.login(t, bobs, bob)
	app.login(t, staff, sam)

	// Staff find the account from the staff pages.
	res, _ := app.get(t, staff, "/admin/students?username=alice")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/students/alice" {
		t.Fatalf("open alice: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body := app.get(t, staff, "/admin/students?username=mallory")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(testid(t, body, "form-error"), "mallory") {
		t.Errorf("unknown account: %d %q", res.StatusCode, testid(t, body, "form-error"))
	}
	res, body = app.get(t, staff, "/admin/students/alice")
	if res.StatusCode != http.StatusOK || testid(t, body, "account-role") != "Student" {
		t.Fatalf("account page: %d, role %q", res.StatusCode, testid(t, body, "account-role"))
	}
	if doc(t, body).Find(`[data-testid="end-sessions-form"]`).Length() != 1 {
		t.Fatal("no form to end the sessions")
	}

	// A student may not, and nothing happens.
	if res, _ := app.post(t, bobs, "/admin/students/alice/sessions/end", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("a student ending alice's sessions: %d, want 403", res.StatusCode)
	}
	if res, _ := app.get(t, phone, "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("alice signed out by a refused request: %d", res.StatusCode)
	}

	res, body = app.post(t, staff, "/admin/students/alice/sessions/end", url.Values{"reason": {"lost phone"}}, "HX-Request", "true")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("end alice's sessions: %d\n%s", res.StatusCode, body)
	}
	if got := testid(t, body, "admin-result"); got != "Ended 2 sessions of alice." {
		t.Errorf("result %q", got)
	}
	if doc(t, body).Find(`[data-testid="sessions-ended"]`).Length() != 1 {
		t.Error("the answer does not say when the sessions were ended")
	}
	// Signed out on both replicas at the next request; the others stay signed in.
	if res, _ := app.get(t, phone, "/courses"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("alice's phone: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := other.get(t, laptop, "/timetable", "HX-Request", "true"); res.StatusCode != http.StatusUnauthorized || res.Header.Get("HX-Redirect") == "" {
		t.Errorf("alice's laptop, HTMX, on the other replica: %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	for name, c := range map[string]*http.Client{"bob": bobs, "sam": staff} {
		if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusOK {
			t.Errorf("%s signed out too: %d", name, res.StatusCode)
		}
	}
	aliceID := app.count(t, "SELECT id FROM users WHERE username = 'alice'")
	if got := auditTrail(t, app); len(got) != 1 || got[0] != "sam account.end_sessions user#"+itoa(int64(aliceID)) {
		t.Errorf("audit log %q", got)
	}
	if _, _, reason := auditDetails(t, app, "account.end_sessions"); reason != "lost phone" {
		t.Errorf("audit reason %q", reason)
	}
	// It is no lock: alice signs in again.
	app.login(t, phone, alice)
	if res, _ := app.get(t, phone, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("alice after signing in again: %d", res.StatusCode)
	}
}

// The sessions of staff and admin accounts are an admin's to end.
func TestEndingStaffSessionsIsForAdmins(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	staff, admin := app.client(t), app.client(t)
	app.login(t, staff, sam)
	app.login(t, admin, ada)

	_, body := app.get(t, staff, "/admin/students/ada")
	if doc(t, body).Find(`[data-testid="end-sessions-form"]`).Length() != 0 || testid(t, body, "admins-only") == "" {
		t.Error("staff are offered to end an admin's sessions")
	}
	if res, _ := app.post(t, staff, "/admin/students/ada/sessions/end", nil); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff ending an admin's sessions: %d, want 403", res.StatusCode)
	}
	if res, _ := app.get(t, admin, "/admin"); res.StatusCode != http.StatusOK {
		t.Fatalf("ada signed out by a refused request: %d", res.StatusCode)
	}

	if res, _ := app.post(t, admin, "/admin/students/sam/sessions/end", nil); res.StatusCode != http.StatusOK {
		t.Errorf("admin ending staff sessions: %d, want 200", res.StatusCode)
	}
	if res, _ := app.get(t, staff, "/admin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("sam after an admin ended his sessions: %d, want 303", res.StatusCode)
	}
	// An admin ending their own sessions is signed out with them.
	res, _ := app.post(t, admin, "/admin/students/ada/sessions/end", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Errorf("ada ending her own sessions: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := app.get(t, admin, "/admin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("ada still signed in: %d", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM sessions"); n != 0 {
		t.Errorf("%d sessions left", n)
	}
	if n := len(auditTrail(t, app)); n != 2 {
		t.Errorf("%d audit rows, want 2", n)
	}
}

// A request in flight when staff end the sessions can write its session back after the
// delete (the store saves by upsert). The account's next check ends it.
func TestSessionWrittenBackAfterEndingIsEndedAtItsNextCheck(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	app := newTestApp(t, insecureCookies, withClock(clk))
	student, staff := app.client(t), app.client(t)
	app.login(t, student, alice)
	app.login(t, staff, sam)
	u, _ := url.Parse(app.URL)
	var token string
	for _, c := range student.Jar.Cookies(u) {
		if c.Name == "school_session" {
			token = c.Value
		}
	}
	var data []byte
	var expiry time.Time
	if err := app.DB.QueryRow("SELECT data, expiry FROM sessions WHERE token = ?", token).Scan(&data, &expiry); err != nil {
		t.Fatalf("alice's session: %v", err)
	}

	clk.add(time.Second)
	if res, _ := app.post(t, staff, "/admin/students/alice/sessions/end", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("end alice's sessions: %d", res.StatusCode)
	}
	if _, err := app.DB.Exec("INSERT INTO sessions (token, data, expiry) VALUES (?, ?, ?)", token, data, expiry); err != nil {
		t.Fatal(err)
	}
	// alice signs in again on another device after the staff action: that one stays.
	clk.add(time.Second)
	tablet := app.client(t)
	app.login(t, tablet, alice)

	if res, _ := app.get(t, student, "/"); res.StatusCode != http.StatusOK {
		t.Fatalf("the written-back session before its check: %d", res.StatusCode)
	}
	clk.add(6 * time.Minute)
	if res, _ := app.get(t, student, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the written-back session after its check: %d, want 303", res.StatusCode)
	}
	if res, _ := app.get(t, tablet, "/"); res.StatusCode != http.StatusOK {
		t.Errorf("the sign-in after the staff action: %d, want 200", res.StatusCode)
	}
	if !strings.Contains(app.logs.String(), "staff ended the account's sessions") {
		t.Error("no log line says why the session ended")
	}
}
