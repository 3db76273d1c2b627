package registration

import (
	"context"
	"time"
)

// HoldGate takes every slot of the section's gate, so that registrations for it wait
// there. Calling the returned function lets them in.
func (s *Service) HoldGate(section int64) (release func()) {
	g := s.gates.of(section)
	for range gateSlots {
		if err := g.enter(context.Background()); err != nil {
			panic(err)
		}
	}
	return func() {
		for range gateSlots {
			g.leave()
		}
	}
}

// MarkGateFull records a full answer at the section's gate, as a transaction that found
// the last seat gone does.
func (s *Service) MarkGateFull(section int64) { s.gates.of(section).full(time.Now()) }

// GateSlots is how many registrations for one section a replica runs at once.
const GateSlots = gateSlots

// GateWaiting reports whether n registrations wait at the section's gate for a slot.
func (s *Service) GateWaiting(section int64, n int) bool {
	waiting, _ := s.gates.of(section).slots.Queue()
	return waiting >= n
}
