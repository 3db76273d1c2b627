package web_test

import (
	"testing"
	"time"
)

// TestSignInWritesOnlyWhatChanged: a sign-in of an account the directory has not changed
// writes no users row; its time is written with the replica's next batch. A change in the
// directory is written at the sign-in itself.
func TestSignInWritesOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	app := newTestApp(t, insecureCookies, withClock(clk))
	seedCatalog(t, app.DB)             // alice's department, CS
	app.login(t, app.client(t), alice) // the first sign-in creates the row
	var created, updated, first time.Time
	read := func() {
		t.Helper()
		if err := app.DB.QueryRow("SELECT created_at, updated_at, last_login_at FROM users WHERE username = 'alice'").Scan(&created, &updated, &first); err != nil {
			t.Fatal(err)
		}
	}
	read()
	before := updated

	clk.add(time.Hour)
	app.login(t, app.client(t), alice)
	read()
	if !updated.Equal(before) {
		t.Errorf("an unchanged account's sign-in rewrote its row (updated_at %v → %v)", before, updated)
	}
	app.server.Close() // writes the batch
	var last time.Time
	if err := app.DB.QueryRow("SELECT last_login_at FROM users WHERE username = 'alice'").Scan(&last); err != nil {
		t.Fatal(err)
	}
	if !last.Equal(clk.now()) {
		t.Errorf("last sign-in %v after the batch, want the second sign-in's %v", last, clk.now())
	}

	app2 := app.replica(t)
	app.Dir.SetAttribute(t, "alice", "displayName", "Alice Kim-Lee")
	app2.login(t, app2.client(t), alice)
	var name string
	if err := app.DB.QueryRow("SELECT display_name FROM users WHERE username = 'alice'").Scan(&name); err != nil {
		t.Fatal(err)
	}
	if name != "Alice Kim-Lee" {
		t.Errorf("the directory's new name was not written at sign-in: %q", name)
	}
}
