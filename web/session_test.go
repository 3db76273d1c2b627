package web_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
)

// clock is a settable time for the server.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestIdleSessionSignsOut(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now()}
	app := newTestApp(t, insecureCookies, func(o *web.Options) {
		o.Now = clk.now
		o.SessionIdle = time.Hour
	})
	c := app.client(t)
	app.login(t, c, alice)
	// A session is written (and its cookie sent again) only when its last-seen time is a
	// few minutes old, not on every request.
	clk.add(time.Minute)
	if res, _ := app.get(t, c, "/"); sessionCookie(res) != nil {
		t.Error("a request a minute after login rewrote the session")
	}
	for range 3 {
		clk.add(50 * time.Minute)
		res, _ := app.get(t, c, "/")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("signed out after 50 minutes of activity: %d", res.StatusCode)
		}
		if sessionCookie(res) == nil {
			t.Error("the last-seen time was not refreshed after 50 minutes")
		}
	}
	clk.add(61 * time.Minute)
	if res, _ := app.get(t, c, "/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("still signed in after 61 idle minutes: %d", res.StatusCode)
	}
}

// A session the app cannot read (damaged in the store) signs the student out: the
// cookie goes and the page asks them to sign in, instead of an error at every request.
func TestUnreadableSessionSignsOut(t *testing.T) {
	app := newTestApp(t, insecureCookies)
	c := app.client(t)
	app.login(t, c, alice)
	if res, _ := app.get(t, c, "/courses"); res.StatusCode != http.StatusOK {
		t.Fatalf("signed in, /courses: %d", res.StatusCode)
	}
	// Damaged in this app's format, and bytes gob cannot read (the format before it).
	for _, damaged := range [][]byte{{0, 1, 0x80}, []byte("not a gob session")} {
		if _, err := app.DB.Exec("UPDATE sessions SET data = ?", damaged); err != nil {
			t.Fatal(err)
		}
		res, _ := app.get(t, c, "/courses")
		if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/login") {
			t.Fatalf("damaged session %q: %d to %q, want 303 to the sign-in page", damaged, res.StatusCode, res.Header.Get("Location"))
		}
		if ck := sessionCookie(res); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("damaged session %q: the session cookie was not removed: %+v", damaged, ck)
		}
		app.login(t, c, alice)
		if res, _ := app.get(t, c, "/courses"); res.StatusCode != http.StatusOK {
			t.Errorf("signed in again, /courses: %d", res.StatusCode)
		}
	}
}
