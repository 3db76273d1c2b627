package waitingroom_test

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestArrivalOrderWithDelayedCommit: a join whose commit is held back still lands where
// its arrival puts it. Student a joins first, but a's transaction stalls before it
// commits; b joins after and commits at once; a tick runs meanwhile. The tick waits for
// a's commit (joins hold the state row shared), and a is ahead of b.
func TestArrivalOrderWithDelayedCommit(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 1, maxActive: 1})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	first := f.queue(r, w, 3) // some already in line, ordered
	us := f.students(2)
	a, b := us[0], us[1]

	inserted, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	r.SetBeforeJoinCommit(func() {
		if held.CompareAndSwap(false, true) { // the first join only: a's
			close(inserted)
			<-release
		}
	})
	aDone := make(chan error, 1)
	go func() {
		_, _, err := r.Join(f.ctx, w, a)
		aDone <- err
	}()
	<-inserted // a has its arrival number, not committed

	f.clock.Advance(time.Millisecond)
	f.join(r, w, b) // b commits first
	tickDone := make(chan error, 1)
	go func() { tickDone <- r.Tick(f.ctx, w) }()
	// The tick is waiting for the state row (a's join holds it shared), not merely not
	// started yet: its statement shows in the process list.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-tickDone:
			t.Fatalf("a tick finished (%v) while a join was in flight: it could have ordered b before a", err)
		default:
		}
		if f.count(`SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE ID <> CONNECTION_ID() AND DB = DATABASE() AND COMMAND = 'Query' AND INFO LIKE '%name: LockRoomState%'`) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the tick never came to wait for the state row")
		}
	}
	close(release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if err := <-tickDone; err != nil {
		t.Fatal(err)
	}
	xa, xb := f.ticket(w, a), f.ticket(w, b)
	if !xa.position.Valid || !xb.position.Valid {
		t.Fatalf("after the tick a is at %v, b at %v: both should be ordered", xa.position, xb.position)
	}
	if xa.position.Int64 != int64(len(first)+1) || xb.position.Int64 != int64(len(first)+2) {
		t.Errorf("a (arrived first, committed last) at %d, b at %d; want %d and %d",
			xa.position.Int64, xb.position.Int64, len(first)+1, len(first)+2)
	}
}
