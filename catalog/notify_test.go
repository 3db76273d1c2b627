package catalog_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/notify"
)

// failAudit makes every audit row fail to write, so a staff change's transaction rolls
// back after its own statements ran; the returned func lifts it.
func (f *fixture) failAudit() func() {
	f.exec("CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'audit refused by the test'")
	return func() { f.exec("DROP TRIGGER audit_fails") }
}

// windowNotices counts each student's window_moved notifications, by username.
func (f *fixture) windowNotices() map[string]int {
	f.t.Helper()
	rows, err := f.db.Query("SELECT u.username, COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.kind = 'window_moved' GROUP BY u.username")
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			f.t.Fatal(err)
		}
		out[name] = n
	}
	return out
}

func TestWindowChangeNotifiesItsStudents(t *testing.T) {
	f := newFixture(t)
	f.student("y2a")
	f.student("y2b")
	f.exec("INSERT INTO users (username, display_name, role, class_year) VALUES ('y3', 'y3', 'student', 3), ('y4', 'y4', 'student', 4), ('staff1', 'staff1', 'staff', NULL)")
	opens := time.Date(2027, 2, 15, 1, 0, 0, 0, time.UTC)
	w := catalog.Window{ClassYear: 2, Phase: db.RegistrationWindowsPhaseRegistration, Opens: opens, Closes: opens.Add(2 * time.Hour)}
	id, err := f.svc.CreateWindow(f.ctx, sam, f.term, w)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, want map[string]int) {
		t.Helper()
		got := f.windowNotices()
		if len(got) != len(want) {
			t.Errorf("%s: notifications %v, want %v", step, got, want)
			return
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: notifications %v, want %v", step, got, want)
				return
			}
		}
	}
	check("created", map[string]int{})
	if err := f.svc.UpdateWindow(f.ctx, sam, id, w); err != nil {
		t.Fatal(err)
	}
	check("saved unchanged", map[string]int{})

	// Rolled back: nobody is told of a change that did not happen.
	lift := f.failAudit()
	moved := w
	moved.Opens = opens.Add(30 * time.Minute)
	if err := f.svc.UpdateWindow(f.ctx, sam, id, moved); err == nil {
		t.Fatal("the update went through although its audit row failed")
	}
	lift()
	check("rolled back", map[string]int{})

	if err := f.svc.UpdateWindow(f.ctx, sam, id, moved); err != nil {
		t.Fatal(err)
	}
	check("moved", map[string]int{"y2a": 1, "y2b": 1})
	var args json.RawMessage
	if err := f.db.QueryRow("SELECT n.args FROM notifications n JOIN users u ON u.id = n.user_id WHERE u.username = 'y2a'").Scan(&args); err != nil {
		t.Fatal(err)
	}
	var a notify.Args
	if err := json.Unmarshal(args, &a); err != nil || a.Term != "2027-1" || a.Phase != "registration" ||
		!a.Opens.Equal(moved.Opens) || !a.Closes.Equal(moved.Closes) {
		t.Errorf("arguments %s (%v)", args, err)
	}

	// Given to year 3 instead: the students of both years hear of it.
	moved.ClassYear = 3
	if err := f.svc.UpdateWindow(f.ctx, sam, id, moved); err != nil {
		t.Fatal(err)
	}
	check("year changed", map[string]int{"y2a": 2, "y2b": 2, "y3": 1})

	// For every year: every student, and only students.
	moved.ClassYear, moved.Closes = 0, moved.Closes.Add(time.Hour)
	if err := f.svc.UpdateWindow(f.ctx, sam, id, moved); err != nil {
		t.Fatal(err)
	}
	check("every year", map[string]int{"y2a": 3, "y2b": 3, "y3": 2, "y4": 1})
}
