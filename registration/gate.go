package registration

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schoolservice/school/internal/ctxsync"
)

// gates let a few registrations for one section into their transactions at a time from
// this replica, and tell those that waited whether the section answered full meanwhile.
//
// Why: when a hot section opens, every request for it glances at once, finds seats, and
// goes for the section's row lock; the database then runs them one after another, and
// those queued behind the last seat each ran a whole transaction (the student's lock, the
// seat's failed UPDATE, the key's record, a commit) only to answer full. A request that
// waited here while another answered full reads the section again instead (the glance, a
// plain read that locks nothing) and is answered from that read: full only when it finds
// no seat, as any full answer (glance), and remembered under its key as any answer of
// the glance is (unwritten). The database's locks still decide every seat; a gate is
// only where the doomed wait. Measured (mariadbd's Com_commit around `school bench`):
// the rush ran 343-371 transactions without gates, 173 with, 150 of them the seats.
//
// The pace's latency (Pace) counts the wait here, as it counted the wait for the row's
// lock; its other signal, requests waiting for their turn at the database, comes later,
// since a request waiting here holds its turn.
type gates struct {
	m sync.Map // section id → *gate
}

// gateSlots is how many registrations for one section a replica runs at once: enough to
// keep the section's row busy (each holds it from its seat's UPDATE to its commit, and
// reads the student's record before), few enough that about that many transactions per
// replica answer full once the last seat is gone.
const gateSlots = 4

type gate struct {
	slots  *ctxsync.Turns // first come, first served
	fullAt atomic.Int64   // when a transaction here last answered full (since epoch; 0: never)
}

func (g *gates) of(section int64) *gate {
	if v, ok := g.m.Load(section); ok {
		return v.(*gate)
	}
	v, _ := g.m.LoadOrStore(section, &gate{slots: ctxsync.NewTurns(gateSlots)})
	return v.(*gate)
}

// enter waits for a slot, or for ctx to end.
func (g *gate) enter(ctx context.Context) error { return g.slots.Take(ctx) }

func (g *gate) leave() { g.slots.Give() }

// epoch makes the gates' times monotonic: Time.Sub reads the monotonic clock, which a
// step of the wall clock does not move.
var epoch = time.Now()

// full records a transaction's full answer at at, keeping the latest one recorded.
func (g *gate) full(at time.Time) {
	t := max(int64(at.Sub(epoch)), 1)
	for {
		old := g.fullAt.Load()
		if old >= t || g.fullAt.CompareAndSwap(old, t) {
			return
		}
	}
}

// fullSince reports whether a transaction here answered full at or after t.
func (g *gate) fullSince(t time.Time) bool {
	f := g.fullAt.Load()
	return f != 0 && f >= int64(t.Sub(epoch))
}
