// Package notices holds the staff's side of the notice board: a notice is written, then
// published (students see it, pinned ones first) or taken down, pinned or unpinned. Each
// change is one transaction with its audit row; doing what is already done changes and
// records nothing.
package notices

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
)

// Service makes the staff's changes to notices.
type Service struct {
	db  *sql.DB
	now func() time.Time
}

// New returns a Service on sqldb; now is the clock publications are dated by (time.Now
// when nil).
func New(sqldb *sql.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: sqldb, now: now}
}

// Notice is what staff write.
type Notice struct {
	Title, Body string
	Pinned      bool
}

// record is a notice as the audit log keeps it.
type record struct {
	Title     string `json:"title"`
	Body      string `json:"body"`
	Pinned    bool   `json:"pinned"`
	Published bool   `json:"published"`
}

// Create writes a new notice, not yet published, by the staff member by.
func (s *Service) Create(ctx context.Context, by db.Actor, n Notice) (int64, error) {
	var id int64
	err := db.Audited(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		var err error
		id, err = q.InsertNotice(ctx, db.InsertNoticeParams{Title: n.Title, Body: n.Body, Pinned: n.Pinned,
			AuthorID: sql.NullInt64{Int64: by.ID, Valid: by.ID != 0}})
		if err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "notice.create", Entity: "notice", EntityID: id,
			After: record{Title: n.Title, Body: n.Body, Pinned: n.Pinned}}, nil
	})
	return id, err
}

// Update rewrites notice id; whether it is published stays.
func (s *Service) Update(ctx context.Context, by db.Actor, id int64, n Notice) error {
	return db.Audited(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.LockNotice(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		before := record{Title: old.Title, Body: old.Body, Pinned: old.Pinned, Published: old.PublishedAt.Valid}
		after := record{Title: n.Title, Body: n.Body, Pinned: n.Pinned, Published: old.PublishedAt.Valid}
		if before == after {
			return db.Change{}, nil
		}
		if _, err := q.UpdateNotice(ctx, db.UpdateNoticeParams{Title: n.Title, Body: n.Body, Pinned: n.Pinned, ID: id}); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "notice.update", Entity: "notice", EntityID: id, Before: before, After: after}, nil
	})
}

// Toggle is what Switch does to a notice.
type Toggle string

const (
	Publish   Toggle = "publish"
	Unpublish Toggle = "unpublish"
	Pin       Toggle = "pin"
	Unpin     Toggle = "unpin"
)

// Switch publishes, unpublishes, pins or unpins notice id, and returns its title.
func (s *Service) Switch(ctx context.Context, by db.Actor, id int64, t Toggle) (title string, err error) {
	err = db.Audited(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.LockNotice(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		title = old.Title
		before := record{Title: old.Title, Pinned: old.Pinned, Published: old.PublishedAt.Valid}
		after := before
		switch t {
		case Publish, Unpublish:
			after.Published = t == Publish
			if after.Published != before.Published {
				at := sql.NullTime{Time: s.now().UTC(), Valid: after.Published}
				_, err = q.SetNoticePublished(ctx, db.SetNoticePublishedParams{PublishedAt: at, ID: id})
			}
		case Pin, Unpin:
			after.Pinned = t == Pin
			if after.Pinned != before.Pinned {
				_, err = q.SetNoticePinned(ctx, db.SetNoticePinnedParams{Pinned: after.Pinned, ID: id})
			}
		default:
			return db.Change{}, fmt.Errorf("no such change to a notice: %q", t)
		}
		if err != nil || after == before {
			return db.Change{}, err
		}
		return db.Change{Action: "notice." + string(t), Entity: "notice", EntityID: id, Before: before, After: after}, nil
	})
	return title, err
}
