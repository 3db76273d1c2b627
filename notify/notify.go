// Package notify tells students what happened to them: a waitlist seat that came, staff
// enrolling or dropping them, a registration window of theirs that moved. It is not the
// notice board (package notices), which staff write for everyone; a notification is one
// student's, made by the app.
//
// A notification is written by the transaction of its event (Add, WindowMoved take that
// transaction's queries), so it exists exactly when the event committed: never lost, and
// never sent for something that rolled back. It holds a kind and its arguments, not text:
// the page and the e-mail render it in the student's language when they are made. The row
// is also the e-mail's outbox: a Sender (mail.go) sends it later, away from the request,
// so a slow or absent mail server never slows or fails a registration.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
)

// Kind is what happened; the message catalog has a text for each ("notify.<kind>").
type Kind string

const (
	// Promoted: a seat freed in a section the student waited for, and is now theirs.
	Promoted Kind = "promoted"
	// StaffEnrolled: staff enrolled the student in a section.
	StaffEnrolled Kind = "staff_enrolled"
	// StaffDropped: staff took the student out of a section.
	StaffDropped Kind = "staff_dropped"
	// WindowMoved: a registration window that applies to the student changed its times.
	WindowMoved Kind = "window_moved"
)

// Kinds lists every kind, for the catalog test.
var Kinds = []Kind{Promoted, StaffEnrolled, StaffDropped, WindowMoved}

// Args fill a kind's message; each kind uses some of them.
type Args struct {
	Section string    `json:"section,omitempty"` // the section's label, "CS101-01"
	Course  string    `json:"course,omitempty"`  // the course's title
	Term    string    `json:"term,omitempty"`    // the term's code
	Phase   string    `json:"phase,omitempty"`   // the window's phase
	Opens   time.Time `json:"opens,omitzero"`
	Closes  time.Time `json:"closes,omitzero"`
}

// Notification is one notification as it is read or mailed.
type Notification struct {
	ID      int64
	Kind    Kind
	Args    Args
	Created time.Time
	Read    bool
}

// Add writes a notification for the student within q's transaction.
func Add(ctx context.Context, q *db.Queries, studentID int64, kind Kind, a Args) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := q.InsertNotification(ctx, db.InsertNotificationParams{UserID: studentID, Kind: string(kind), Args: b}); err != nil {
		return fmt.Errorf("notify student %d (%s): %w", studentID, kind, err)
	}
	return nil
}

// WindowChanged tells the students of a window's class years (before and after the
// change; every student for a window of every year) that it moved. Run it after the
// change committed: it reads the users rows in ranges of windowFanOut ids, each range a
// statement of its own, so no registration waits behind more than one range's locks.
func WindowChanged(ctx context.Context, q *db.Queries, oldYear, newYear int, a Args) (int64, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return 0, err
	}
	maxID, err := q.MaxUserID(ctx)
	if err != nil {
		return 0, fmt.Errorf("notify the students of a window: %w", err)
	}
	year := func(y int) sql.NullInt16 { return sql.NullInt16{Int16: int16(y), Valid: y != 0} }
	var total int64
	for from := int64(0); from <= maxID; from += windowFanOut {
		n, err := q.InsertWindowNotifications(ctx, db.InsertWindowNotificationsParams{Args: b, FromID: from, ToID: from + windowFanOut,
			Everyone: oldYear == 0 || newYear == 0, OldYear: year(oldYear), NewYear: year(newYear)})
		if err != nil {
			return total, fmt.Errorf("notify the students of a window: %w", err)
		}
		total += n
	}
	return total, nil
}

// windowFanOut is how many user ids one statement of WindowChanged covers.
const windowFanOut = 1000

// List returns the student's latest notifications, newest first.
func List(ctx context.Context, q *db.Queries, studentID int64, limit int) ([]Notification, error) {
	rows, err := q.ListNotifications(ctx, db.ListNotificationsParams{UserID: studentID, Limit: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("notifications of student %d: %w", studentID, err)
	}
	out := make([]Notification, 0, len(rows))
	for _, r := range rows {
		n := Notification{ID: r.ID, Kind: Kind(r.Kind), Created: r.CreatedAt, Read: r.ReadAt.Valid}
		if err := json.Unmarshal(r.Args, &n.Args); err != nil {
			return nil, fmt.Errorf("notification %d: %w", r.ID, err)
		}
		out = append(out, n)
	}
	return out, nil
}
