package waitingroom

import (
	"context"
	"testing"
	"time"

	"github.com/schoolservice/school/db"
)

// After a database outage long enough that polls have not been written back for
// touchEvery, the sweep holds off until a write-back succeeds: students who kept polling
// are not given up for the database's silence.
func TestSweepWaitsForTheWriteBack(t *testing.T) {
	now := time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC)
	r := &Room{now: func() time.Time { return now }, seen: map[int64]struct{}{}, written: map[int64]time.Time{},
		tickets: map[int64]*ticket{}, windows: map[int64]*window{}}
	w := &window{QueuedWindowsRow: db.QueuedWindowsRow{GraceSeconds: 60, IdleSeconds: 300}} // touchEvery 15 s
	r.flushedAt.Store(now.UnixNano())
	now = now.Add(14 * time.Second)
	if !r.writtenBack(w) {
		t.Fatal("14 s after a write-back: the sweep should run")
	}
	now = now.Add(2 * time.Second)
	if r.writtenBack(w) {
		t.Fatal("16 s without a write-back (an outage): the sweep ran on stale last_seen_at")
	}
	if err := r.flush(context.Background()); err != nil { // nothing seen: nothing to write
		t.Fatal(err)
	}
	if !r.writtenBack(w) {
		t.Error("after a write-back succeeded, the sweep still held off")
	}
}
