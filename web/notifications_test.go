package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/notify"
	"github.com/schoolservice/school/web"
)

// A staff drop reaches the student's notifications: the header counts it, the page lists
// it newest first in the student's language, and marking read (one, then all; only the
// student's own; never from another origin) clears the count.
func TestNotificationsPage(t *testing.T) {
	app := newTestApp(t, insecureCookies)
	f := seedCatalog(t, app.DB)
	stu, staff := app.client(t), app.client(t)
	app.login(t, stu, alice)
	app.login(t, staff, sam)
	sec := f.Sections["MATH150-01"]
	if res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(sec)}}); res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register: %q", res.Header.Get("X-Registration-Result"))
	}
	_, body := app.get(t, stu, "/")
	if n := doc(t, body).Find(`[data-testid="unread-count"]`).Length(); n != 0 {
		t.Errorf("an unread count before anything happened")
	}
	if res, body := app.post(t, staff, "/admin/sections/"+itoa(sec)+"/drop", url.Values{"username": {"alice"}, "reason": {"wrong course"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("staff drop: %d\n%s", res.StatusCode, body)
	}
	if res, body := app.post(t, staff, "/admin/sections/"+itoa(sec)+"/enroll", url.Values{"username": {"alice"}, "reason": {"put back"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("staff enroll: %d\n%s", res.StatusCode, body)
	}

	_, body = app.get(t, stu, "/")
	if got := testid(t, body, "unread-count"); got != "2" {
		t.Errorf("header unread count %q, want 2", got)
	}
	_, body = app.get(t, stu, "/notifications")
	items := doc(t, body).Find(`[data-testid="notification"]`)
	if items.Length() != 2 {
		t.Fatalf("%d notifications listed, want 2\n%s", items.Length(), body)
	}
	if k := items.Eq(0).AttrOr("data-kind", ""); k != "staff_enrolled" {
		t.Errorf("newest first: the first is %q", k)
	}
	if text := items.Eq(1).Text(); !strings.Contains(text, "dropped your registration for MATH150-01") {
		t.Errorf("the drop reads %q", text)
	}

	// Another student's notification is not alice's to mark.
	var bobID, ownID, otherID int64
	if err := app.DB.QueryRow("INSERT INTO users (username, display_name, role) VALUES ('bob', 'Bob', 'student') RETURNING id").Scan(&bobID); err != nil {
		t.Fatal(err)
	}
	app.DB.QueryRow("INSERT INTO notifications (user_id, kind, args) VALUES (?, 'staff_dropped', '{}') RETURNING id", bobID).Scan(&otherID)
	if res, _ := app.post(t, stu, "/notifications/"+itoa(otherID)+"/read", nil); res.StatusCode != http.StatusSeeOther {
		t.Errorf("marking another's: %d", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM notifications WHERE id = ? AND read_at IS NULL", otherID); n != 1 {
		t.Error("alice marked bob's notification read")
	}

	// From another origin: refused, nothing marked.
	if res, _ := app.post(t, stu, "/notifications/read", nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); res.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-origin mark-as-read: %d, want 403", res.StatusCode)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'alice' AND n.read_at IS NULL"); n != 2 {
		t.Errorf("%d unread after a refused request, want 2", n)
	}

	ownID = int64(app.count(t, "SELECT MIN(n.id) FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'alice'"))
	res, body := app.post(t, stu, "/notifications/"+itoa(ownID)+"/read", nil, "HX-Request", "true")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mark one read: %d", res.StatusCode)
	}
	d := doc(t, body)
	if d.Find(`[data-testid="notification"][data-read="false"]`).Length() != 1 || d.Find(`#nav-notifications[hx-swap-oob]`).Length() != 1 ||
		d.Find(`[data-testid="unread-count"]`).Text() != "1" {
		t.Errorf("the fragment after marking one read:\n%s", body)
	}
	if res, _ := app.post(t, stu, "/notifications/read", nil); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/notifications" {
		t.Errorf("mark all read: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	_, body = app.get(t, stu, "/notifications")
	if d := doc(t, body); d.Find(`[data-testid="unread-count"]`).Length() != 0 || d.Find(`[data-testid="unread"]`).Length() != 0 ||
		d.Find(`[data-testid="mark-all-read"]`).Length() != 0 {
		t.Errorf("after marking all read the page still shows unread ones")
	}

	// Korean, and the choice is kept for e-mail.
	if res, _ := app.post(t, stu, "/lang", url.Values{"lang": {"ko"}, "next": {"/notifications"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("switch language: %d", res.StatusCode)
	}
	_, body = app.get(t, stu, "/notifications")
	if text := doc(t, body).Find(`[data-testid="notification"]`).Eq(1).Text(); !strings.Contains(text, "학사 담당자가 MATH150-01") {
		t.Errorf("in Korean the drop reads %q", text)
	}
	if n := app.count(t, "SELECT COUNT(*) FROM users WHERE username = 'alice' AND locale = 'ko'"); n != 1 {
		t.Error("the language chosen was not kept for e-mail")
	}

	// Staff have no notifications page of their own.
	if res, _ := app.get(t, staff, "/notifications"); res.StatusCode != http.StatusForbidden {
		t.Errorf("staff on /notifications: %d, want 403", res.StatusCode)
	}
}

// With the mail server down, a student registers and staff drop them as always: the
// notification is on the page at once, its e-mail waits in the outbox.
func TestRegistrationWhileSMTPIsDown(t *testing.T) {
	// A privileged port nothing here serves: a closed listener's port could be taken by
	// another test's server meanwhile, and the mail would go somewhere after all.
	const down = "127.0.0.1:1"
	app := newTestApp(t, insecureCookies, func(o *web.Options) {
		o.Mail = &notify.SMTP{Addr: down, From: "School Service <noreply@school.example>"}
		o.MailOptions = notify.SenderOptions{Poll: 10 * time.Millisecond, Backoff: 10 * time.Millisecond}
	})
	f := seedCatalog(t, app.DB)
	stu, staff := app.client(t), app.client(t)
	app.login(t, stu, alice)
	app.login(t, staff, sam)
	sec := f.Sections["MATH150-01"]
	if res, _ := app.post(t, stu, "/registrations", url.Values{"section_id": {itoa(sec)}}); res.StatusCode != http.StatusOK || res.Header.Get("X-Registration-Result") != "enrolled" {
		t.Fatalf("register with SMTP down: %d %q", res.StatusCode, res.Header.Get("X-Registration-Result"))
	}
	if res, body := app.post(t, staff, "/admin/sections/"+itoa(sec)+"/drop", url.Values{"username": {"alice"}, "reason": {"test"}}); res.StatusCode != http.StatusOK {
		t.Fatalf("staff drop with SMTP down: %d\n%s", res.StatusCode, body)
	}
	_, body := app.get(t, stu, "/notifications")
	if n := doc(t, body).Find(`[data-testid="notification"][data-kind="staff_dropped"]`).Length(); n != 1 {
		t.Errorf("%d drop notifications on the page, want 1", n)
	}
	eventually(t, "a failed attempt to mail it", func() bool {
		return app.count(t, "SELECT COUNT(*) FROM notifications WHERE mail_state = 'pending' AND mail_attempts > 0") == 1
	})
	if n := app.count(t, "SELECT COUNT(*) FROM notifications WHERE mail_state <> 'pending'"); n != 0 {
		t.Errorf("%d e-mails given up while the server was down", n)
	}
}

// TestNotificationsUnreadBeyondTheList: the page lists the newest 100; the unread count
// still counts them all, read or not.
func TestNotificationsUnreadBeyondTheList(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	c := app.client(t)
	app.login(t, c, alice)
	for i := range 105 {
		if _, err := app.DB.Exec(`INSERT INTO notifications (user_id, kind, args, read_at)
			SELECT id, 'staff_dropped', '{}', IF(?, NOW(6), NULL) FROM users WHERE username = 'alice'`, i < 2); err != nil {
			t.Fatal(err)
		}
	}
	// The list as HTMX asks for it: its own count goes to the header's badge.
	_, body := app.get(t, c, "/notifications", hx, "true")
	d := doc(t, body)
	if n := d.Find(`[data-testid="notification"]`).Length(); n != 100 {
		t.Errorf("%d listed, want the newest 100", n)
	}
	if got := d.Find(`#nav-notifications[hx-swap-oob] [data-testid="unread-count"]`).Text(); got != "103" {
		t.Errorf("unread count %q, want 103 (105, two read)", got)
	}
	// With fewer than the list holds, the count is the list's own.
	if _, err := app.DB.Exec("DELETE FROM notifications WHERE read_at IS NULL LIMIT 100"); err != nil {
		t.Fatal(err)
	}
	_, body = app.get(t, c, "/notifications", hx, "true")
	if got := doc(t, body).Find(`#nav-notifications[hx-swap-oob] [data-testid="unread-count"]`).Text(); got != "3" {
		t.Errorf("unread count %q after deleting 100, want 3", got)
	}
}
