package web

import "context"

// SweepOnce runs one pass of the background sweep, for tests that cannot wait for its
// ticker.
func (s *Server) SweepOnce(ctx context.Context) { s.sweepOnce(ctx) }
