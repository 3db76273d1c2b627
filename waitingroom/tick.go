package waitingroom

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
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
		t := time.NewTicker(flushEvery)
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

// flushEvery is how often Run writes back the places seen polling.
const flushEvery = 5 * time.Second

func (r *Room) windowIDs() []int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]int64, 0, len(r.windows))
	for id := range r.windows {
		ids = append(ids, id)
	}
	return ids
}

// maxCreditSeconds bounds the admission credit a window banks: after a stall (a busy
// machine, a slow database, a replica restarting) a tick catches up at most this many
// seconds of admissions at the set rate, so a short stall costs no admissions and a long
// one does not end in a burst larger than three seconds' worth.
const maxCreditSeconds = 3

// sweepBatch bounds the places a sweep expires or finishes: the sweep's reads go through
// indexes that hold only the places concerned, so a tick's cost does not grow with the
// number of students waiting.
const sweepBatch = 1000

// Tick runs one admission step for a window. It first sweeps, once a second (drops places
// whose students stopped polling, frees the slots of idle or finished students), then, as one
// transaction under the window's state row lock, orders the pre-queue at opening (the
// shuffle) and arrivals since, and admits as many as the rate and the active limit allow
// (Options.Pace keeps both to what the backend sustains): replicas take turns, and the
// active count they check is
// the one they change. A tick locks every place it will number or admit in one pass in
// primary-key order before changing any, and the write-backs and the sweep change theirs
// in that order too, so ticks and write-backs never deadlock.
func (r *Room) Tick(ctx context.Context, windowID int64) error {
	start := time.Now()
	err := r.tick(ctx, windowID)
	r.metrics.tickDuration.Observe(time.Since(start).Seconds())
	if err != nil && ctx.Err() == nil {
		r.metrics.tickErrors.Inc()
		// Best effort, so staff see failing ticks from any replica.
		if cerr := r.q.CountFailedTick(ctx, db.CountFailedTickParams{At: sql.NullTime{Time: r.now().UTC(), Valid: true}, WindowID: windowID}); cerr != nil {
			err = errors.Join(err, fmt.Errorf("count the failed tick: %w", cerr))
		}
	}
	return err
}

func (r *Room) tick(ctx context.Context, windowID int64) error {
	r.mu.RLock()
	w := r.windows[windowID]
	r.mu.RUnlock()
	if w == nil {
		return nil
	}
	if r.sweepDue(windowID) {
		if err := r.sweep(ctx, w); err != nil {
			return fmt.Errorf("window %d: %w", windowID, err)
		}
	}
	var admitted []db.NextInLineRow
	var admittedAt time.Time
	shuffled := 0
	err := db.InTx(ctx, r.db, func(q *db.Queries) error {
		admitted, shuffled = nil, 0
		st, err := q.LockRoomState(ctx, windowID)
		if err != nil {
			return fmt.Errorf("lock room state: %w", err)
		}
		// Microseconds, as the database keeps them.
		now := r.now().UTC().Truncate(time.Microsecond)
		open := !now.Before(w.OpensAt)
		shuffledAt := st.ShuffledAt
		last := st.LastPosition
		var revealed sql.NullString
		// The places this tick numbers, in queue order: at the opening the pre-queue in
		// the shuffle's order, then the arrivals since.
		var pre, later []int64
		joinedAt := map[int64]time.Time{}
		if open {
			// No join is in flight (they hold the state row shared): this read sees every
			// arrival numbered so far.
			rows, err := q.UnorderedTickets(ctx, windowID)
			if err != nil {
				return fmt.Errorf("unordered places: %w", err)
			}
			for _, t := range rows {
				if t.Prequeue && !shuffledAt.Valid {
					pre = append(pre, t.ID)
				} else {
					later = append(later, t.ID)
				}
				if t.State == db.WaitingRoomTicketsStateWaiting { // not one that expired before its turn
					joinedAt[t.ID] = t.JoinedAt
				}
			}
			if !shuffledAt.Valid {
				seed, err := r.shuffleSeed(windowID, st)
				if err != nil {
					return err
				}
				pre = ShuffleOrder(seed, pre)
				shuffledAt = sql.NullTime{Time: now, Valid: true}
				revealed = sql.NullString{String: seed, Valid: true}
			}
		}
		queue := slices.Concat(pre, later)

		// Who is let in: the front of the line numbered so far, then, if the rate and the
		// limit reach past it, the places numbered now, in their order.
		credit := st.AdmitCredit
		var next []db.NextInLineRow
		var n int64
		limited := false
		if open && !w.Paused && st.LastTickAt.Valid {
			elapsed := min(now.Sub(st.LastTickAt.Time).Seconds(), maxCreditSeconds)
			active, err := q.CountActive(ctx, windowID)
			if err != nil {
				return fmt.Errorf("count active: %w", err)
			}
			rate, maxActive := r.pace(windowID, w.AdmitPerSecond, int64(w.MaxActive), active)
			r.paced.Store(windowID, rate)
			credit = min(credit+rate*max(0, elapsed), math.Max(1, rate*maxCreditSeconds))
			room := maxActive - active
			limited = room < int64(credit)
			if n = min(int64(credit), room); n > 0 {
				if next, err = q.NextInLine(ctx, db.NextInLineParams{WindowID: windowID, Limit: int32(n)}); err != nil {
					return fmt.Errorf("next in line: %w", err)
				}
				for _, id := range queue {
					if int64(len(next)) >= n {
						break
					}
					if at, ok := joinedAt[id]; ok {
						next = append(next, db.NextInLineRow{ID: id, JoinedAt: at})
					}
				}
			}
		}

		// Every place changed below, locked first in one pass in primary-key order, as the
		// write-backs and the sweep lock theirs (LockTickets).
		lock := slices.Clone(queue)
		for _, t := range next {
			lock = append(lock, t.ID)
		}
		slices.Sort(lock)
		lock = slices.Compact(lock)
		waiting := make(map[int64]bool, len(lock))
		// Under 1,000 a statement: from there MariaDB turns an IN list into a join, whose
		// plan a locking read should not depend on (in_predicate_conversion_threshold).
		for start := 0; start < len(lock); start += 500 {
			rows, err := q.LockTickets(ctx, lock[start:min(start+500, len(lock))])
			if err != nil {
				return fmt.Errorf("lock places: %w", err)
			}
			for _, t := range rows {
				waiting[t.ID] = t.State == db.WaitingRoomTicketsStateWaiting
			}
		}
		short := int64(len(next)) < n // fewer waiting than the credit and the limit allow
		// A place of the line read that expired or was let through since is passed over.
		next = slices.DeleteFunc(next, func(t db.NextInLineRow) bool { return !waiting[t.ID] })
		if revealed.Valid {
			if err := numberTickets(ctx, q, now, pre, 1, true); err != nil {
				return fmt.Errorf("shuffle the pre-queue: %w", err)
			}
			last, shuffled = int64(len(pre)), len(pre)
		}
		if err := numberTickets(ctx, q, now, later, last+1, false); err != nil {
			return fmt.Errorf("order arrivals: %w", err)
		}
		last += int64(len(later))

		if n > 0 {
			if len(next) > 0 {
				ids := make([]int64, len(next))
				for i, t := range next {
					ids[i] = t.ID
				}
				slices.Sort(ids)
				k, err := q.AdmitTickets(ctx, db.AdmitTicketsParams{
					AdmittedAt:    sql.NullTime{Time: now, Valid: true},
					PassExpiresAt: sql.NullTime{Time: now.Add(time.Duration(w.PassSeconds) * time.Second), Valid: true},
					Now:           now, Ids: ids,
				})
				if err != nil {
					return fmt.Errorf("admit: %w", err)
				}
				if k != int64(len(next)) { // they are locked: nothing can have changed them
					return fmt.Errorf("admitted %d of %d places", k, len(next))
				}
				admitted = next
				credit -= float64(k)
				admittedAt = now
			}
			if short {
				credit = min(credit, 1) // nobody left waiting: no credit to save up
			}
		}
		// Credit is for ticks that could not run. While the active limit holds students
		// back (the pacer finding the backend strained, or staff's limit), none is saved:
		// a bank spent the moment the limit lifts would be a burst into a backend that has
		// only just recovered, and more than the set rate over any minute.
		if limited {
			credit = min(credit, 1)
		}
		return q.SaveRoomState(ctx, db.SaveRoomStateParams{LastPosition: last, AdmitCredit: credit,
			TickAt: sql.NullTime{Time: now, Valid: true}, Admitted: int64(len(admitted)), ShuffledAt: shuffledAt,
			ShuffleSeed: revealed, WindowID: windowID})
	}, r.metrics.retry("tick"))
	if err != nil {
		return fmt.Errorf("window %d: %w", windowID, err)
	}
	r.metrics.shuffled.Add(float64(shuffled))
	r.metrics.admitted.Add(float64(len(admitted)))
	for _, t := range admitted {
		// How long they waited, counted from the opening for the pre-queue.
		r.metrics.wait.Observe(admittedAt.Sub(later(t.JoinedAt, w.OpensAt)).Seconds())
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// shuffleSeed is the window's seed, derived again from the app's secret and checked
// against the commitment published before the pre-queue opened. A replica whose secret
// gives another seed refuses for a while, so that one holding the right secret shuffles;
// after that it shuffles with its own seed, and the reveal shows the mismatch to all.
func (r *Room) shuffleSeed(windowID int64, st db.LockRoomStateRow) (string, error) {
	if !st.ShuffleNonce.Valid { // a room committed before seeds were derived: its seed is stored
		return st.ShuffleSeed.String, nil
	}
	seed := r.seeds.seed(windowID, st.ShuffleNonce.String)
	if Commitment(seed) != st.ShuffleCommitment {
		r.mu.RLock()
		w := r.windows[windowID]
		r.mu.RUnlock()
		if w != nil && r.now().Sub(w.OpensAt) < seedMismatchGrace {
			return "", fmt.Errorf("window %d: this replica's shuffle secret does not give the committed seed (is -shuffle-secret-file the same on every replica?)", windowID)
		}
		r.log.Error("waiting room: shuffling with a seed that does not match the commitment", slog.Int64("window", windowID))
	}
	return seed, nil
}

// seedMismatchGrace is how long after the opening a replica with the wrong shuffle secret
// leaves the shuffle to the others.
const seedMismatchGrace = 10 * time.Second

// numberTickets gives ids (in queue order) the positions first, first+1, …, in chunks
// written in primary-key order; shuffle also records them as the shuffle's places.
func numberTickets(ctx context.Context, q *db.Queries, now time.Time, ids []int64, first int64, shuffle bool) error {
	type numbered struct{ id, pos int64 }
	ns := make([]numbered, len(ids))
	for i, id := range ids {
		ns[i] = numbered{id, first + int64(i)}
	}
	slices.SortFunc(ns, func(a, b numbered) int { return int(min(max(a.id-b.id, -1), 1)) })
	// FIELD scans its list for every row: small chunks keep that cheap.
	const chunk = 250
	for start := 0; start < len(ns); start += chunk {
		part := ns[start:min(start+chunk, len(ns))]
		idStr, posStr, idNum := make([]string, len(part)), make([]string, len(part)), make([]int64, len(part))
		for i, n := range part {
			idStr[i], posStr[i], idNum[i] = strconv.FormatInt(n.id, 10), strconv.FormatInt(n.pos, 10), n.id
		}
		k, err := q.NumberTickets(ctx, db.NumberTicketsParams{Ids: idStr, Positions: posStr, Shuffle: shuffle,
			Ids2: idStr, Positions2: posStr, Now: now, Ids3: idNum})
		if err != nil {
			return err
		}
		if k != int64(len(part)) {
			return fmt.Errorf("numbered %d of %d places", k, len(part))
		}
	}
	return nil
}

// sweepDue says whether a window's sweep is due: once a second, not at every tick (grace,
// idle time and passes are counted in seconds), which saves three reads in four ticks.
func (r *Room) sweepDue(windowID int64) bool {
	now := r.now()
	r.sweptMu.Lock()
	defer r.sweptMu.Unlock()
	if last, ok := r.swept[windowID]; ok && now.Sub(last) < time.Second && !now.Before(last) {
		return false
	}
	r.swept[windowID] = now
	return true
}

// sweep expires the places of students who stopped polling and finishes the admissions
// that ended (pass over, or idle), at most sweepBatch of each a tick: candidates read
// without locks, changed by primary key with the condition checked again.
func (r *Room) sweep(ctx context.Context, w *window) error {
	now := r.now().UTC().Truncate(time.Microsecond)
	// A polling place is written back only every touchEvery, so its last_seen_at may be
	// up to that much older than its last poll: a student is given up after the grace (or
	// idle time) plus that, so a page closed for less than the grace never loses its place.
	lag := touchEvery(w)
	seenBefore := now.Add(-time.Duration(w.GraceSeconds)*time.Second - lag)
	idleBefore := now.Add(-time.Duration(w.IdleSeconds)*time.Second - lag)
	if !r.livenessKnown() { // nobody is given up for silence; ended passes still end
		seenBefore, idleBefore = time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()
	}
	absent, err := r.q.AbsentWaiting(ctx, db.AbsentWaitingParams{WindowID: w.ID, SeenBefore: seenBefore, Limit: sweepBatch})
	if err != nil {
		return fmt.Errorf("absent places: %w", err)
	}
	if len(absent) > 0 {
		slices.Sort(absent)
		if err := db.InTx(ctx, r.db, func(q *db.Queries) error {
			_, err := q.ExpireTickets(ctx, db.ExpireTicketsParams{Now: now, Ids: absent, SeenBefore: seenBefore})
			return err
		}, r.metrics.retry("sweep")); err != nil {
			return fmt.Errorf("expire absent: %w", err)
		}
	}
	idle, err := r.q.IdleAdmitted(ctx, db.IdleAdmittedParams{WindowID: w.ID, SeenBefore: idleBefore, Limit: sweepBatch})
	if err != nil {
		return fmt.Errorf("idle admissions: %w", err)
	}
	ended, err := r.q.PassEndedAdmitted(ctx, db.PassEndedAdmittedParams{WindowID: w.ID, PassBefore: sql.NullTime{Time: now, Valid: true}, Limit: sweepBatch})
	if err != nil {
		return fmt.Errorf("ended passes: %w", err)
	}
	done := slices.Compact(slices.Sorted(slices.Values(append(idle, ended...))))
	if len(done) > 0 {
		if err := db.InTx(ctx, r.db, func(q *db.Queries) error {
			_, err := q.FinishTickets(ctx, db.FinishTicketsParams{Now: now, Ids: done,
				PassBefore: sql.NullTime{Time: now, Valid: true}, SeenBefore: idleBefore})
			return err
		}, r.metrics.retry("sweep")); err != nil {
			return fmt.Errorf("finish idle: %w", err)
		}
	}
	return nil
}

// Refresh reloads the queued windows and the places that changed since the last refresh:
// two small reads per window, whatever the number of students polling.
func (r *Room) Refresh(ctx context.Context) error {
	now := r.now().UTC()
	// Commit to the shuffle of every enabled room as soon as it is enabled: before its
	// pre-queue opens, so the commitment is public before anyone arrives.
	awaiting, err := r.q.WindowsAwaitingCommitment(ctx, now)
	if err != nil {
		return fmt.Errorf("rooms awaiting a commitment: %w", err)
	}
	for _, id := range awaiting {
		if err := r.ensureState(ctx, id); err != nil {
			return err
		}
	}
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

	var seats map[int64]*seatEntry
	if len(rows) > 0 {
		if seats, err = r.seatsShown(ctx); err != nil {
			return err
		}
	}

	r.mu.Lock()
	if seats != nil {
		// Carry over when each was last asked for, and keep what a signed-in page brought
		// in (SeatsNow) while the refresh read.
		recent := now.Add(-30 * time.Second).UnixNano()
		for id, old := range r.seats {
			if e := seats[id]; e != nil {
				e.wanted.Store(old.wanted.Load())
			} else if old.wanted.Load() >= recent {
				seats[id] = old
			}
		}
	}
	r.seats = seats
	for _, c := range changes {
		for _, t := range c.rows {
			r.tickets[t.ID] = ticket{window: c.window, user: t.UserID, position: t.Position.Int64, state: stateOf(t.State)}
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
	positions := map[int64][]int64{} // waiting ones, by window
	r.mu.RLock()
	for _, t := range r.tickets {
		w := fresh[t.window]
		if w == nil {
			continue
		}
		switch t.state {
		case waiting:
			w.waiting++
			if t.position > 0 {
				positions[t.window] = append(positions[t.window], t.position)
			}
		case admitted:
			w.active++
		}
		if t.state == admitted || t.state == done {
			admittedTotal[t.window]++
		}
	}
	r.mu.RUnlock()
	for id, w := range fresh {
		r.history.add(id, now, w.waiting)
		w.line = makeLine(positions[id])
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

// seatsShown reads the seats left of the sections waiting pages asked for in the last
// half minute: what students are shown, a primary-key lookup each, however many sections
// the term has.
func (r *Room) seatsShown(ctx context.Context) (map[int64]*seatEntry, error) {
	since := r.now().Add(-30 * time.Second).UnixNano()
	r.mu.RLock()
	ids := make([]int64, 0, len(r.seats))
	for id, e := range r.seats {
		if e.wanted.Load() >= since {
			ids = append(ids, id)
		}
	}
	r.mu.RUnlock()
	slices.Sort(ids)
	seats := make(map[int64]*seatEntry, len(ids))
	for start := 0; start < len(ids); start += 1000 {
		list, err := r.q.SeatsLeftOf(ctx, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("seats left: %w", err)
		}
		for _, s := range list {
			seats[s.ID] = &seatEntry{SectionSeats: SectionSeats{Label: registration.SectionLabel(s.CourseCode, s.Number), SeatsLeft: int(max(0, s.SeatsLeft))}}
		}
	}
	return seats, nil
}

// Flush writes back when the students seen since the last flush were last seen, in
// batches, so polling costs the database a few writes per replica every few seconds.
// Each batch is in ascending ticket order, as every other writer of places.
func (r *Room) Flush(ctx context.Context) error {
	start := time.Now()
	err := r.flush(ctx)
	r.metrics.flushDuration.Observe(time.Since(start).Seconds())
	if err != nil && ctx.Err() == nil {
		r.metrics.flushErrors.Inc()
	}
	return err
}

func (r *Room) flush(ctx context.Context) error {
	r.seenMu.Lock()
	ids := r.seen
	r.seen = make([]int64, 0, len(ids))
	r.seenMu.Unlock()
	slices.Sort(ids)
	ids = slices.Compact(ids)
	now := r.now().UTC()

	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	// A place written back lately is left alone: its last_seen_at is fresh enough for the
	// sweep (touchEvery), and every write moves it in the liveness index.
	due := ids[:0]
	r.mu.RLock()
	for _, id := range ids {
		if at, ok := r.written[id]; ok {
			if t, ok := r.tickets[id]; ok {
				if w := r.windows[t.window]; w != nil && now.Sub(time.Unix(0, at)) < touchEvery(w) {
					continue
				}
			}
		}
		due = append(due, id)
	}
	r.mu.RUnlock()
	for id, at := range r.written {
		if now.Sub(time.Unix(0, at)) > 10*time.Minute { // the student left, or the window closed
			delete(r.written, id)
		}
	}
	var errs []error
	for start := 0; start < len(due); start += 1000 {
		part := due[start:min(start+1000, len(due))]
		if err := db.InTx(ctx, r.db, func(q *db.Queries) error {
			return q.TouchTickets(ctx, db.TouchTicketsParams{Now: now, Ids: part})
		}, r.metrics.retry("flush")); err != nil {
			errs = append(errs, err)
			// Seen all the same: the next write-back tries them again.
			r.seenMu.Lock()
			r.seen = append(r.seen, part...)
			r.seenMu.Unlock()
			continue
		}
		for _, id := range part {
			r.written[id] = now.UnixNano()
		}
	}
	if len(errs) > 0 {
		r.flushFailedAt.Store(now.UnixNano())
	} else if r.flushFailedAt.Load() > r.recoveredAt.Load() {
		r.recoveredAt.Store(now.UnixNano()) // the first whole write-back after a failure
	}
	return errors.Join(errs...)
}

// livenessKnown reports whether last_seen_at says who stopped polling. During a
// database outage polls are answered from memory but not written back (they stay in
// seen, and go out with the first write-back that succeeds), and every replica has its
// own to catch up: a student may have polled only another replica all through it. So from
// a failed write-back until two write-back periods after the first one to succeed, the
// sweep gives nobody up for silence; ended passes still end. A replica whose write-backs
// never failed judges at once: a write-back that is slow holds nothing up.
func (r *Room) livenessKnown() bool {
	failed := r.flushFailedAt.Load()
	if failed == 0 {
		return true
	}
	recovered := r.recoveredAt.Load()
	return recovered > failed && r.now().Sub(time.Unix(0, recovered)) >= 2*flushEvery
}

// touchEvery is how often a place seen polling is written back: a quarter of the time
// without a poll after which it is given up (grace for the waiting, idle for the
// admitted). A student who keeps polling is never more than that behind in the database,
// and the sweep allows for it. With the default grace of 60 s: every 15 s, not 5, and a
// page closed is given up 60 to 80 s after its last poll.
func touchEvery(w *window) time.Duration { return keep(w) / 4 }

// keep is how long a place is kept without a poll, whatever its state: the lesser of
// the window's grace (while it waits) and idle time (once admitted).
func keep(w *window) time.Duration {
	return time.Duration(min(w.GraceSeconds, w.IdleSeconds)) * time.Second
}
