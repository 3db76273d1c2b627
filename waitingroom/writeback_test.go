package waitingroom

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db/dbtest"
)

// TestLivenessJudgedAfterWriteBacksRecover: a replica whose write-backs never failed lets
// the sweep judge by last_seen_at at once; once one has failed (a database outage, polls
// answered from memory), not until two write-back periods after the first to succeed,
// when every replica has written back what it saw meanwhile. What a failed write-back was
// to write is written by the next one.
func TestLivenessJudgedAfterWriteBacksRecover(t *testing.T) {
	now := time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC)
	sqldb, _ := dbtest.New(t)
	r := &Room{db: sqldb, now: func() time.Time { return now }, written: map[int64]int64{},
		tickets: map[int64]ticket{}, windows: map[int64]*window{}}
	r.metrics = newMetrics(prometheus.NewRegistry(), r)
	if !r.livenessKnown() {
		t.Fatal("write-backs never failed: the sweep should judge")
	}

	// The database goes away: a write-back of two places fails, and keeps them.
	r.seen = []int64{9, 7, 9} // a place seen twice is written back once
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the write-back cannot reach the database
	if err := r.flush(ctx); err == nil {
		t.Fatal("a write-back without a database succeeded")
	}
	if !slices.Equal(slices.Sorted(slices.Values(r.seen)), []int64{7, 9}) {
		t.Errorf("after a failed write-back seen holds %v, want places 7 and 9 for the next one", r.seen)
	}
	now = now.Add(time.Minute)
	if r.livenessKnown() {
		t.Fatal("during an outage the sweep judged by last_seen_at")
	}

	// Back: the first write-back succeeds (nothing left to write stands in for it).
	r.seen = nil
	if err := r.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = now.Add(flushEvery)
	if r.livenessKnown() {
		t.Error("one write-back period after recovering: other replicas may not have written back yet")
	}
	now = now.Add(flushEvery)
	if !r.livenessKnown() {
		t.Error("two write-back periods after recovering the sweep still held off")
	}
	if err := r.flush(context.Background()); err != nil || !r.livenessKnown() {
		t.Errorf("a later write-back (%v) closed the gate again", err)
	}
}

// TestSeenListBounded: polls while no write-back takes the seen list (one that hangs) do
// not grow it with every poll: it keeps each place, and about a list's worth of repeats.
func TestSeenListBounded(t *testing.T) {
	r := &Room{}
	for i := range 2 * seenCompactAt {
		r.markSeen(int64(i % 7))
	}
	if len(r.seen) > seenCompactAt {
		t.Errorf("%d entries after %d polls of 7 places, want at most %d", len(r.seen), 2*seenCompactAt, seenCompactAt)
	}
	if got := slices.Compact(slices.Sorted(slices.Values(r.seen))); !slices.Equal(got, []int64{0, 1, 2, 3, 4, 5, 6}) {
		t.Errorf("places seen: %v, want 0 to 6", got)
	}
}
