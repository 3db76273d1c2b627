package web

import (
	"context"
	"database/sql"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
)

// lastLoginEvery is how often a replica writes the sign-ins it saw: the account page's
// "last sign-in" is that much behind at most.
const lastLoginEvery = 5 * time.Second

// lastLogins collects the accounts that signed in on this replica since the last write.
// A sign-in whose account is unchanged in the directory then writes nothing itself: its
// one durable commit is the session's. On registration morning thousands sign in within a
// minute, and a commit each for a timestamp is what made a login cost two.
type lastLogins struct {
	mu  sync.Mutex
	ids map[int64]struct{}
	q   *db.Queries
	log *slog.Logger
	now func() time.Time
}

func newLastLogins(q *db.Queries, log *slog.Logger, now func() time.Time) *lastLogins {
	return &lastLogins{ids: map[int64]struct{}{}, q: q, log: log, now: now}
}

func (l *lastLogins) note(userID int64) {
	l.mu.Lock()
	l.ids[userID] = struct{}{}
	l.mu.Unlock()
}

// flush writes the sign-ins noted so far, all at the flush's time.
func (l *lastLogins) flush(ctx context.Context) error {
	l.mu.Lock()
	ids := make([]int64, 0, len(l.ids))
	for id := range l.ids {
		ids = append(ids, id)
	}
	clear(l.ids)
	l.mu.Unlock()
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids) // one lock order, whatever the map's
	_, err := l.q.TouchLastLogin(ctx, db.TouchLastLoginParams{At: sql.NullTime{Time: l.now().UTC(), Valid: true}, Ids: ids})
	if err != nil {
		// Put them back for the next try: a sign-in is not lost to a database blink.
		l.mu.Lock()
		for _, id := range ids {
			l.ids[id] = struct{}{}
		}
		l.mu.Unlock()
	}
	return err
}

// run writes every interval until ctx ends, then once more.
func (l *lastLogins) run(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := l.flush(fctx); err != nil {
				l.log.Error("last write of sign-in times", slog.Any("error", err))
			}
			return
		case <-tick.C:
			if err := l.flush(ctx); err != nil {
				l.log.Warn("write sign-in times", slog.Any("error", err))
			}
		}
	}
}
