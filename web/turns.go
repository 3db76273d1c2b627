package web

import (
	"net/http"

	"github.com/schoolservice/school/internal/ctxsync"
)

// newTurns is the requests' turns at the database: at most n in their handlers at once
// (Options.Turns; by default the pool's size), the others first come, first served.
// Without them a burst waits in database/sql's pool, which hands each freed connection to
// a waiter chosen at random: in the rush the unlucky few waited two or three times as
// long as the median. Nil for no limit (a pool without one): no queue to put in order.
func newTurns(n int) *ctxsync.Turns {
	if n <= 0 {
		return nil
	}
	return ctxsync.NewTurns(n)
}

// inTurn holds a request until its turn. A client that leaves while it waits is gone
// quietly, and took no turn.
func (s *Server) inTurn(next http.Handler) http.Handler {
	if s.turns == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.turns.Take(r.Context()); err != nil {
			s.clientGone(r, err)
			return
		}
		defer s.turns.Give()
		next.ServeHTTP(w, r)
	})
}
