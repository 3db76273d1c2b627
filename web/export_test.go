package web

import "context"

// SweepOnce runs one pass of the background sweep, for tests that cannot wait for its
// ticker.
func (s *Server) SweepOnce(ctx context.Context) { s.sweepOnce(ctx) }

// HoldTurns takes every request's turn at the database, so that requests wait for one.
// Calling the returned function gives them back.
func (s *Server) HoldTurns() (release func()) {
	n := s.db.Stats().MaxOpenConnections
	for range n {
		if err := s.turns.Take(context.Background()); err != nil {
			panic(err)
		}
	}
	return func() {
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
