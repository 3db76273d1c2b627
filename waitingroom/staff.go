package waitingroom

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
)

// What staff do with a waiting room: set how it admits, and let one student through at
// once. Each is one transaction with its audit row; every replica picks the settings up
// at its next refresh.

// Settings are how a window's waiting room admits students.
type Settings struct {
	Enabled        bool
	AdmitPerSecond float64
	MaxActive      int
	Paused         bool
}

// SaveSettings sets window windowID's waiting room.
func (r *Room) SaveSettings(ctx context.Context, by db.Actor, windowID int64, s Settings) error {
	return db.Audited(ctx, r.db, by, func(q *db.Queries) (db.Change, error) {
		before, err := q.GetWaitingRoomSettings(ctx, windowID)
		if err != nil {
			return db.Change{}, err
		}
		p := db.UpdateWaitingRoomSettingsParams{QueueEnabled: s.Enabled, AdmitPerSecond: s.AdmitPerSecond,
			MaxActive: int32(s.MaxActive), Paused: s.Paused, ID: windowID}
		if _, err := q.UpdateWaitingRoomSettings(ctx, p); err != nil {
			return db.Change{}, err
		}
		after := db.GetWaitingRoomSettingsRow{QueueEnabled: p.QueueEnabled, AdmitPerSecond: p.AdmitPerSecond, MaxActive: p.MaxActive, Paused: p.Paused}
		return db.Change{Action: "waiting_room.settings", Entity: "registration_window", EntityID: windowID, Before: before, After: after}, nil
	})
}

// LetThrough admits student userID (username, as the audit log names them), waiting in
// window windowID's room, at once on staff's word; it does not count against the rate.
// False when the student has no place waiting there.
func (r *Room) LetThrough(ctx context.Context, by db.Actor, windowID, userID int64, username string) (bool, error) {
	r.mu.RLock()
	w := r.windows[windowID]
	r.mu.RUnlock()
	if w == nil {
		return false, fmt.Errorf("window %d has no waiting room now", windowID)
	}
	var admitted bool
	err := db.Audited(ctx, r.db, by, func(q *db.Queries) (db.Change, error) {
		now := r.now().UTC()
		n, err := q.AdmitTicketNow(ctx, db.AdmitTicketNowParams{
			AdmittedAt:    sql.NullTime{Time: now, Valid: true},
			PassExpiresAt: sql.NullTime{Time: now.Add(time.Duration(w.PassSeconds) * time.Second), Valid: true},
			Now:           now, WindowID: windowID, UserID: userID,
		})
		if admitted = n > 0; err != nil || !admitted {
			return db.Change{}, err
		}
		return db.Change{Action: "waiting_room.let_through", Entity: "registration_window", EntityID: windowID,
			After: map[string]any{"student": username}}, nil
	})
	return admitted, err
}
