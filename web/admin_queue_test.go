package web_test

import (
	"database/sql"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

func TestQueueAdminAccess(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies)
	seedCatalog(t, app.DB)
	paths := []string{"/admin/waiting-room", "/admin/waiting-room/1/figures"}
	for _, path := range paths {
		if res, _ := app.get(t, app.client(t), path); res.StatusCode != http.StatusSeeOther {
			t.Errorf("anonymous %s: %d, want 303 to sign in", path, res.StatusCode)
		}
	}
	for who, want := range map[string]int{"alice": 403, "sam": 200, "ada": 200} {
		c := app.client(t)
		app.login(t, c, map[string]ldaptest.User{"alice": alice, "sam": sam, "ada": ada}[who])
		for _, path := range paths {
			if res, _ := app.get(t, c, path); res.StatusCode != want {
				t.Errorf("%s %s: %d, want %d", who, path, res.StatusCode, want)
			}
		}
		res, _ := app.post(t, c, "/admin/waiting-room/1", url.Values{"rate": {"5"}, "max_active": {"5"}})
		if want == 403 && res.StatusCode != 403 {
			t.Errorf("%s changing settings: %d, want 403", who, res.StatusCode)
		}
	}
}

func TestQueueAdminControls(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	seedCatalog(t, app.DB)
	queueWindow(t, app, ", paused = TRUE")
	var window string
	if err := app.DB.QueryRow("SELECT id FROM registration_windows").Scan(&window); err != nil {
		t.Fatal(err)
	}
	staff := app.client(t)
	app.login(t, staff, sam)

	// Bad input changes nothing and says why.
	for _, form := range []url.Values{
		{"rate": {"-1"}, "max_active": {"10"}},
		{"rate": {"abc"}, "max_active": {"10"}},
		{"rate": {"5"}, "max_active": {"1.5"}},
	} {
		res, body := app.post(t, staff, "/admin/waiting-room/"+window, form)
		if res.StatusCode != http.StatusBadRequest || testid(t, body, "admin-result") == "" {
			t.Errorf("%v: %d %q", form, res.StatusCode, testid(t, body, "admin-result"))
		}
	}
	res, body := app.post(t, staff, "/admin/waiting-room/"+window, url.Values{"enabled": {"1"}, "paused": {"1"}, "rate": {"2.5"}, "max_active": {"40"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(testid(t, body, "admin-result"), "Saved") {
		t.Fatalf("save: %d %q", res.StatusCode, testid(t, body, "admin-result"))
	}
	var rate float64
	var maxActive int
	var paused bool
	if err := app.DB.QueryRow("SELECT admit_per_second, max_active, paused FROM registration_windows WHERE id = ?", window).Scan(&rate, &maxActive, &paused); err != nil ||
		rate != 2.5 || maxActive != 40 || !paused {
		t.Errorf("settings %v %d %v (%v)", rate, maxActive, paused, err)
	}

	// Alice waits (admission is paused); staff let her through.
	c := app.client(t)
	app.login(t, c, alice)
	eventually(t, "alice's place", func() bool {
		res, body := app.post(t, c, "/queue", nil, hx, "true")
		return res.StatusCode == http.StatusOK && strings.Contains(body, "queue-status")
	})
	_, body = app.get(t, staff, "/admin/waiting-room")
	if got := testid(t, body, "figure-waiting"); got != "1" {
		t.Errorf("waiting figure %q, want 1", got)
	}
	res, body = app.post(t, staff, "/admin/waiting-room/"+window+"/admit", url.Values{"username": {"nobody-here"}})
	if res.StatusCode != http.StatusNotFound || !strings.Contains(testid(t, body, "admin-result"), "no student") {
		t.Errorf("unknown student: %d %q", res.StatusCode, testid(t, body, "admin-result"))
	}
	eventually(t, "the room to know the window", func() bool {
		res, _ := app.post(t, staff, "/admin/waiting-room/"+window+"/admit", url.Values{"username": {"alice"}})
		return res.StatusCode == http.StatusOK
	})
	var state string
	if err := app.DB.QueryRow("SELECT state FROM waiting_room_tickets").Scan(&state); err != nil || state != "admitted" {
		t.Errorf("alice's place: %q (%v)", state, err)
	}
	res, body = app.post(t, staff, "/admin/waiting-room/"+window+"/admit", url.Values{"username": {"alice"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(testid(t, body, "admin-result"), "not waiting") {
		t.Errorf("letting through twice: %d %q", res.StatusCode, testid(t, body, "admin-result"))
	}

	// Both changes are in the audit log, with who made them.
	rows, err := app.DB.Query("SELECT actor, action, JSON_VALUE(details, '$.after.MaxActive') FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var actor, action string
		var after sql.NullString
		if err := rows.Scan(&actor, &action, &after); err != nil {
			t.Fatal(err)
		}
		got = append(got, actor+" "+action+" "+after.String)
	}
	if want := []string{"sam waiting_room.settings 40", "sam waiting_room.let_through "}; !slices.Equal(got, want) {
		t.Errorf("audit log %q, want %q", got, want)
	}
}

// TestQueueAdminShowsTheMachinery: the staff page shows the shuffle's commitment and,
// the window being open, its revealed seed; the admission rates (measured, target, set);
// failed ticks, as any replica counted them; and the chart of students waiting.
func TestQueueAdminShowsTheMachinery(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, insecureCookies, shuffleSecret, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	seedCatalog(t, app.DB)
	queueWindow(t, app, ", admit_per_second = 0, paused = TRUE")
	var window string
	if err := app.DB.QueryRow("SELECT id FROM registration_windows").Scan(&window); err != nil {
		t.Fatal(err)
	}
	c := app.client(t)
	app.login(t, c, alice)
	eventually(t, "alice's place", func() bool {
		res, body := app.post(t, c, "/queue", nil, hx, "true")
		return res.StatusCode == http.StatusOK && strings.Contains(body, "queue-status")
	})
	var commitment, seed string
	eventually(t, "the opening shuffle (of an empty pre-queue)", func() bool {
		err := app.DB.QueryRow("SELECT shuffle_commitment, COALESCE(shuffle_seed, '') FROM waiting_room_state WHERE window_id = ?", window).Scan(&commitment, &seed)
		return err == nil && seed != ""
	})
	staff := app.client(t)
	app.login(t, staff, sam)
	var body string
	eventually(t, "a waiting-length sample on the chart", func() bool {
		_, body = app.get(t, staff, "/admin/waiting-room")
		pts, _ := doc(t, body).Find(`[data-testid="figure-waiting-chart"] svg polyline`).Attr("points")
		return pts != ""
	})
	if got := testid(t, body, "staff-commitment"); got != commitment {
		t.Errorf("commitment on the staff page %q, want %q", got, commitment)
	}
	if got := testid(t, body, "staff-seed"); got != seed {
		t.Errorf("seed on the staff page %q, want %q", got, seed)
	}
	if got := testid(t, body, "figure-rates"); got != "0.0 / 0.0 / 0" {
		t.Errorf("rates of a paused room %q, want 0.0 / 0.0 / 0", got)
	}
	if got := testid(t, body, "figure-failed-ticks"); got != "none" {
		t.Errorf("failed ticks %q, want none", got)
	}

	// Unpaused at 7 a second: the set rate shows, and the target is set × health.
	if _, err := app.DB.Exec("UPDATE registration_windows SET paused = FALSE, admit_per_second = 7"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the set rate on the figures", func() bool {
		_, body = app.get(t, staff, "/admin/waiting-room/"+window+"/figures", hx, "true")
		return strings.HasSuffix(testid(t, body, "figure-rates"), "/ 7.0 / 7")
	})
	if _, err := app.DB.Exec("UPDATE waiting_room_state SET failed_ticks = 3, last_failed_tick_at = UTC_TIMESTAMP(6)"); err != nil {
		t.Fatal(err)
	}
	_, body = app.get(t, staff, "/admin/waiting-room/"+window+"/figures", hx, "true")
	if got := testid(t, body, "figure-failed-ticks"); !strings.HasPrefix(got, "3, the last at ") {
		t.Errorf("failed ticks %q, want 3 and when", got)
	}
}
