package waitingroom_test

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/waitingroom"
)

var staff = db.Actor{Username: "sam"}

// TestSaveSettings: the settings are kept with an audit row of what they were and are;
// an unknown window is not found.
func TestSaveSettings(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10, maxActive: 5, pass: 600})
	r := f.room()
	if err := r.SaveSettings(f.ctx, staff, w, waitingroom.Settings{Enabled: true, AdmitPerSecond: 2.5, MaxActive: 40, Paused: true}); err != nil {
		t.Fatal(err)
	}
	if n := f.count("SELECT COUNT(*) FROM registration_windows WHERE id = ? AND admit_per_second = 2.5 AND max_active = 40 AND paused", w); n != 1 {
		t.Error("the settings were not kept")
	}
	var details string
	if err := f.db.QueryRow("SELECT details FROM audit_log WHERE action = 'waiting_room.settings' AND entity_id = ? AND actor = 'sam'", w).Scan(&details); err != nil {
		t.Fatalf("audit row: %v", err)
	}
	if want := `{"before":{"QueueEnabled":true,"AdmitPerSecond":10,"MaxActive":5,"Paused":false},"after":{"QueueEnabled":true,"AdmitPerSecond":2.5,"MaxActive":40,"Paused":true}}`; details != want {
		t.Errorf("details\n%s\nwant\n%s", details, want)
	}
	if err := r.SaveSettings(f.ctx, staff, w+100, waitingroom.Settings{}); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("an unknown window: %v, want not found", err)
	}
}
