package registration

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// gates let a few registrations for one section into their transactions at a time from
// this replica, and tell those that waited whether the section answered full meanwhile.
//
// Why: when a hot section opens, every request for it glances at once, finds seats, and
// goes for the section's row lock; the database then runs them one after another, and
// those queued behind the last seat each run a whole transaction (the student's lock, the
// seat's failed UPDATE, a commit) only to answer full. In the rush benchmark that was
// 2,100 transactions queued on five rows, the queue's tail being the rush's p99. A
// request that waited here while another answered full reads the section again instead
// (the glance, a plain read that locks nothing), and is answered from that read: full
// only when it finds no seat, as any full answer (glance). The database's locks still
// decide every seat; a gate is only where the doomed wait. Measured in the rush benchmark
// (mariadbd's Com_commit around `school bench`): 343-371 transactions in the rush
// without gates, 173 with (150 of them the seats). The pace's latency (Pace) counts the
// wait here, as it counted the wait for the row's lock.
type gates struct {
	m sync.Map // section id → *gate
}

// gateSlots is how many registrations for one section a replica runs at once: enough to
// keep the section's row busy (each holds it from its seat's UPDATE to its commit, and
// reads the student's record before), few enough that at most that many transactions
// per replica answer full once the last seat is gone.
const gateSlots = 4

// regates bounds how often a request reads the section again after waiting: a section
// whose seats come and go (drops, quota seats that fit some students only) sends it to
// its transaction after that.
const regates = 3

type gate struct {
	slots   chan struct{}
	fullAt  atomic.Int64 // when a transaction here last answered full (UnixNano)
	waiting atomic.Int32 // requests waiting for a slot (tests watch it)
}

func (g *gates) of(section int64) *gate {
	if v, ok := g.m.Load(section); ok {
		return v.(*gate)
	}
	v, _ := g.m.LoadOrStore(section, &gate{slots: make(chan struct{}, gateSlots)})
	return v.(*gate)
}

// enter waits for a slot, or for ctx to end.
func (g *gate) enter(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	default:
	}
	g.waiting.Add(1)
	defer g.waiting.Add(-1)
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) leave() { <-g.slots }

// full records a transaction's full answer.
func (g *gate) full(at time.Time) { g.fullAt.Store(at.UnixNano()) }

// fullSince reports whether a transaction here answered full at or after t.
func (g *gate) fullSince(t time.Time) bool { return g.fullAt.Load() >= t.UnixNano() }
