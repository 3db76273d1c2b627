package notices_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/notices"
)

// TestNoticeLifecycle: each change is kept with its audit row; doing what is already done
// changes and records nothing.
func TestNoticeLifecycle(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	ctx := context.Background()
	at := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	svc := notices.New(sqldb, func() time.Time { return at })
	res, err := sqldb.Exec("INSERT INTO users (username, display_name, role) VALUES ('sam', 'Sam', 'staff')")
	if err != nil {
		t.Fatal(err)
	}
	samID, _ := res.LastInsertId()
	sam := db.Actor{ID: samID, Username: "sam"}

	n := notices.Notice{Title: "Registration opens", Body: "On Monday at 10."}
	id, err := svc.Create(ctx, sam, n)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Update(ctx, sam, id, n); err != nil {
		t.Errorf("saving it unchanged: %v", err)
	}
	n.Body = "On Monday at 10:00."
	if err := svc.Update(ctx, sam, id, n); err != nil {
		t.Fatal(err)
	}
	for _, toggle := range []notices.Toggle{notices.Publish, notices.Publish, notices.Pin, notices.Unpin, notices.Unpublish} {
		if title, err := svc.Switch(ctx, sam, id, toggle); err != nil || title != n.Title {
			t.Errorf("%s: %q %v", toggle, title, err)
		}
		if toggle == notices.Publish {
			var published sql.NullTime
			if err := sqldb.QueryRow("SELECT published_at FROM notices WHERE id = ?", id).Scan(&published); err != nil || !published.Time.Equal(at) {
				t.Errorf("published at %v (%v), want %v", published, err, at)
			}
		}
	}
	if _, err := svc.Switch(ctx, sam, id, notices.Toggle("shred")); err == nil {
		t.Error("an unknown change was made")
	}
	if _, err := svc.Switch(ctx, sam, id+100, notices.Pin); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("an unknown notice: %v, want not found", err)
	}

	var actions string
	if err := sqldb.QueryRow("SELECT GROUP_CONCAT(action ORDER BY id) FROM audit_log WHERE actor_id = ?", samID).Scan(&actions); err != nil {
		t.Fatal(err)
	}
	if want := "notice.create,notice.update,notice.publish,notice.pin,notice.unpin,notice.unpublish"; actions != want {
		t.Errorf("audit log %s, want %s", actions, want)
	}
	var author int64
	if err := sqldb.QueryRow("SELECT author_id FROM notices WHERE id = ?", id).Scan(&author); err != nil || author != samID {
		t.Errorf("author %d (%v), want sam", author, err)
	}
}
