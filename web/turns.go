package web

import (
	"net/http"

	"github.com/schoolservice/school/internal/ctxsync"
)

// newTurns is the requests' turns at the database: at most as many in their handlers at
// once as the pool has connections, the others first come, first served. Without them a
// burst waits in database/sql's pool, which hands each freed connection to a waiter chosen
// at random: in the rush the unlucky few waited two or three times as long as the median.
// Nil for a pool without a limit, which has no queue to put in order.
func newTurns(poolSize int) *ctxsync.Turns {
	if poolSize <= 0 {
		return nil
	}
	return ctxsync.NewTurns(poolSize)
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
