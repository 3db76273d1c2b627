package waitingroom

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// Run keeps the room going until ctx ends: admission every tick, the cache refreshed
// every second, and the students seen polling written back every five seconds. The
// write-back runs on its own: with a hundred thousand places it takes longer than a tick,
// and admission must not pause for it.
func (r *Room) Run(ctx context.Context, tick time.Duration) {
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := r.Flush(ctx); err != nil {
				r.log.WarnContext(ctx, "waiting room liveness", slog.Any("error", err))
			}
		}
	}()
	defer func() { <-flushed }()

	t := time.NewTicker(tick)
	defer t.Stop()
	var lastRefresh time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.now()
		if now.Sub(lastRefresh) >= time.Second {
			if err := r.Refresh(ctx); err != nil {
				r.log.WarnContext(ctx, "waiting room refresh", slog.Any("error", err))
			}
			lastRefresh = now
		}
		for _, id := range r.windowIDs() {
			if err := r.Tick(ctx, id); err != nil {
				r.log.WarnContext(ctx, "waiting room admission", slog.Int64("window", id), slog.Any("error", err))
			}
		}
	}
}

func (r *Room) windowIDs() []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]int64, 0, len(r.windows))
	for id := range r.windows {
		ids = append(ids, id)
	}
	return ids
}

// Tick runs one admission step for a window, as one transaction under the window's
// state row lock: replicas take turns, and the active count they check is the one they
// change. It orders the pre-queue at opening (the shuffle) and arrivals since, drops
// places whose students stopped polling, frees the slots of idle or finished students,
// and admits as many as the rate and the active limit allow (Options.Pace keeps both to
// what the backend sustains).
func (r *Room) Tick(ctx context.Context, windowID int64) error {
	r.mu.RLock()
	w := r.windows[windowID]
	r.mu.RUnlock()
	if w == nil {
		return nil
	}
	admitted := int64(0)
	var admittedAt time.Time
	err := db.InTx(ctx, r.db, func(q *db.Queries) error {
		admitted = 0
		st, err := q.LockRoomState(ctx, windowID)
		if err != nil {
			return fmt.Errorf("lock room state: %w", err)
		}
		// Microseconds, as the database keeps them: the admitted places are found again by
		// their admission time.
		now := r.now().UTC().Truncate(time.Microsecond)
		open := !now.Before(w.OpensAt)
		shuffledAt := st.ShuffledAt
		last := st.LastPosition
		if open {
			if !shuffledAt.Valid {
				n, err := q.ShufflePrequeue(ctx, db.ShufflePrequeueParams{WindowID: windowID, Now: now})
				if err != nil {
					return fmt.Errorf("shuffle the pre-queue: %w", err)
				}
				last = n
				shuffledAt = sql.NullTime{Time: now, Valid: true}
				r.metrics.shuffled.Add(float64(n))
			}
			n, err := q.OrderArrivals(ctx, db.OrderArrivalsParams{After: last, WindowID: windowID, Now: now})
			if err != nil {
				return fmt.Errorf("order arrivals: %w", err)
			}
			last += n
		}
		if _, err := q.ExpireAbsent(ctx, db.ExpireAbsentParams{Now: now, WindowID: windowID,
			SeenBefore: now.Add(-time.Duration(w.GraceSeconds) * time.Second)}); err != nil {
			return fmt.Errorf("expire absent: %w", err)
		}
		if _, err := q.FinishIdle(ctx, db.FinishIdleParams{Now: now, WindowID: windowID,
			PassBefore: sql.NullTime{Time: now, Valid: true},
			SeenBefore: now.Add(-time.Duration(w.IdleSeconds) * time.Second)}); err != nil {
			return fmt.Errorf("finish idle: %w", err)
		}
		credit := st.AdmitCredit
		if open && !w.Paused && st.LastTickAt.Valid {
			elapsed := min(now.Sub(st.LastTickAt.Time).Seconds(), 2)
			// The credit never banks more than a second's worth, so a pause or a stalled
			// replica does not end in a burst.
			active, err := q.CountActive(ctx, windowID)
			if err != nil {
				return fmt.Errorf("count active: %w", err)
			}
			rate, maxActive := r.pace(w.AdmitPerSecond, int64(w.MaxActive), active)
			credit = min(credit+rate*max(0, elapsed), math.Max(1, rate))
			if n := min(int64(credit), maxActive-active); n > 0 {
				admitted, err = q.AdmitNext(ctx, db.AdmitNextParams{
					AdmittedAt:    sql.NullTime{Time: now, Valid: true},
					PassExpiresAt: sql.NullTime{Time: now.Add(time.Duration(w.PassSeconds) * time.Second), Valid: true},
					Now:           now, WindowID: windowID, Limit: int32(n),
				})
				if err != nil {
					return fmt.Errorf("admit: %w", err)
				}
				credit -= float64(admitted)
				admittedAt = now
				if admitted < n {
					credit = min(credit, 1) // nobody left waiting: no credit to save up
				}
			}
		}
		return q.SaveRoomState(ctx, db.SaveRoomStateParams{LastPosition: last, AdmitCredit: credit,
			TickAt: sql.NullTime{Time: now, Valid: true}, Admitted: admitted, ShuffledAt: shuffledAt, WindowID: windowID})
	})
	if err != nil {
		return fmt.Errorf("window %d: %w", windowID, err)
	}
	r.metrics.admitted.Add(float64(admitted))
	if admitted > 0 {
		// How long they waited, counted from the opening for the pre-queue.
		joined, err := r.q.JoinedAtOfAdmitted(ctx, db.JoinedAtOfAdmittedParams{WindowID: windowID, AdmittedAt: sql.NullTime{Time: admittedAt, Valid: true}})
		if err != nil {
			return fmt.Errorf("window %d: waits: %w", windowID, err)
		}
		for _, j := range joined {
			if j.Before(w.OpensAt) {
				j = w.OpensAt
			}
			r.metrics.wait.Observe(admittedAt.Sub(j).Seconds())
		}
	}
	return nil
}

// Refresh reloads the queued windows and the places that changed since the last refresh:
// two small reads per window, whatever the number of students polling.
func (r *Room) Refresh(ctx context.Context) error {
	now := r.now().UTC()
	rows, err := r.q.QueuedWindows(ctx, db.QueuedWindowsParams{Now: now, StartedBy: sql.NullTime{Time: now, Valid: true}})
	if err != nil {
		return fmt.Errorf("queued windows: %w", err)
	}
	r.mu.RLock()
	old := r.windows
	r.mu.RUnlock()
	fresh := make(map[int64]*window, len(rows))
	type change struct {
		window int64
		rows   []db.TicketsChangedSinceRow
	}
	var changes []change
	for _, row := range rows {
		w := &window{QueuedWindowsRow: row}
		if prev := old[row.ID]; prev != nil {
			w.since, w.admissions = prev.since, prev.admissions
		} else if err := r.ensureState(ctx, row.ID); err != nil {
			return err
		}
		// A second of overlap: a change committed just before the last read but stamped
		// earlier is read again rather than missed; applying it twice is harmless. A window
		// new to this replica loads all its places.
		since := time.Unix(0, 0).UTC()
		if !w.since.IsZero() {
			since = w.since.Add(-time.Second)
		}
		tickets, err := r.q.TicketsChangedSince(ctx, db.TicketsChangedSinceParams{WindowID: row.ID, Since: since})
		if err != nil {
			return fmt.Errorf("places of window %d: %w", row.ID, err)
		}
		w.since = now
		fresh[row.ID] = w
		changes = append(changes, change{row.ID, tickets})
	}

	var seats map[int64]SectionSeats
	if len(rows) > 0 {
		list, err := r.q.SeatsLeftThisTerm(ctx)
		if err != nil {
			return fmt.Errorf("seats left: %w", err)
		}
		seats = make(map[int64]SectionSeats, len(list))
		for _, s := range list {
			seats[s.ID] = SectionSeats{Label: registration.SectionLabel(s.CourseCode, s.Number), SeatsLeft: int(max(0, s.SeatsLeft))}
		}
	}

	r.mu.Lock()
	r.seats = seats
	for _, c := range changes {
		for _, t := range c.rows {
			r.tickets[t.ID] = &ticket{window: c.window, user: t.UserID, position: t.Position.Int64, state: t.State}
		}
	}
	for id := range old {
		if fresh[id] == nil { // a window closed: forget its places
			for tid, t := range r.tickets {
				if t.window == id {
					delete(r.tickets, tid)
				}
			}
		}
	}
	r.mu.Unlock()

	// Recount from the places: cheap next to the network, and never drifts. Polls go on
	// reading meanwhile; only this goroutine changes the places, and fresh is not shown
	// until it is complete.
	admittedTotal := map[int64]int{}
	r.mu.RLock()
	for _, t := range r.tickets {
		w := fresh[t.window]
		if w == nil {
			continue
		}
		switch t.state {
		case db.WaitingRoomTicketsStateWaiting:
			w.waiting++
			if t.position > 0 {
				w.line = append(w.line, t.position)
			}
		case db.WaitingRoomTicketsStateAdmitted:
			w.active++
		}
		if t.state == db.WaitingRoomTicketsStateAdmitted || t.state == db.WaitingRoomTicketsStateDone {
			admittedTotal[t.window]++
		}
	}
	r.mu.RUnlock()
	for id, w := range fresh {
		slices.Sort(w.line)
		w.admissions = append(w.admissions, stamp{at: now, total: admittedTotal[id]})
		for len(w.admissions) > 1 && now.Sub(w.admissions[0].at) > 10*time.Second {
			w.admissions = w.admissions[1:]
		}
	}
	r.mu.Lock()
	r.windows = fresh
	r.mu.Unlock()
	return nil
}

// Flush writes back when the students seen since the last flush were last seen, in
// batches, so polling costs the database a few writes per replica every few seconds.
func (r *Room) Flush(ctx context.Context) error {
	r.seenMu.Lock()
	ids := make([]int64, 0, len(r.seen))
	for id := range r.seen {
		ids = append(ids, id)
	}
	r.seen = map[int64]struct{}{}
	r.seenMu.Unlock()
	now := r.now().UTC()
	var errs []error
	for start := 0; start < len(ids); start += 1000 {
		part := ids[start:min(start+1000, len(ids))]
		if err := db.InTx(ctx, r.db, func(q *db.Queries) error {
			return q.TouchTickets(ctx, db.TouchTicketsParams{Now: now, Ids: part})
		}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
