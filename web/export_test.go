package web

import "context"

// SweepOnce runs one pass of the background sweep, for tests that cannot wait for its
// ticker.
func (s *Server) SweepOnce(ctx context.Context) { s.sweepOnce(ctx) }

// HoldTurns takes every request's turn at the database, so that requests wait for one,
// and says how many it took. Calling the returned function gives them back.
func (s *Server) HoldTurns() (n int, release func()) {
	for s.turns.TryTake() {
		n++
	}
	return n, func() {
		for range n {
			s.turns.Give()
		}
	}
}

// TurnsWaiting is how many requests wait for their turn at the database.
func (s *Server) TurnsWaiting() int {
	n, _ := s.turns.Queue()
	return n
}
