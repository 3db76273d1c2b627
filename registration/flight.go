package registration

import (
	"context"
	"errors"
	"sync"

	"github.com/schoolservice/school/db"
)

// flights lets the requests of a double click share one answer. A browser double click,
// or a proxy's retry, sends the same form twice at once; both carry the request key, and
// without this each would read and lock on its own, the second only to be answered from
// the first's record. On the registration morning that is half the rush's database work.
// Requests meet only on this replica and only while the first is in flight; the key's
// record (registration_requests, and unwritten) still answers every later or other
// replica's repeat.
type flights struct {
	mu    sync.Mutex
	calls map[flightKey]*flight
}

// flightKey is a request as the key's record would replay it: the same key for another
// action or section is not the same request, and is answered by replay (Invalid).
type flightKey struct {
	student int64
	key     string
	kind    db.RegistrationRequestsAction
	section int64
}

type flight struct {
	done    chan struct{}
	out     Outcome
	err     error
	waiters int // requests waiting for this one's answer (under flights.mu)
}

// do answers the request with fn, or with the answer of the same request already in
// flight. A waiting request whose client gives up stops waiting; when the first request
// was abandoned by its own client (its context ended), a waiting one still wanted runs
// fn itself rather than pass that on.
func (f *flights) do(ctx context.Context, k flightKey, fn func() (Outcome, error)) (Outcome, error) {
	for {
		f.mu.Lock()
		if c, ok := f.calls[k]; ok {
			c.waiters++
			f.mu.Unlock()
			select {
			case <-c.done:
			case <-ctx.Done():
				return Outcome{}, ctx.Err()
			}
			if isContextEnd(c.err) && ctx.Err() == nil {
				continue
			}
			return c.out, c.err
		}
		c := &flight{done: make(chan struct{}), err: errFlightLost}
		if f.calls == nil {
			f.calls = map[flightKey]*flight{}
		}
		f.calls[k] = c
		f.mu.Unlock()

		// Landed even when fn panics (a handler's recoverer answers the client), so that
		// the key's later requests do not wait on a flight that never ends.
		defer f.land(k, c)
		c.out, c.err = fn()
		return c.out, c.err
	}
}

// errFlightLost is what the requests sharing a flight get when its request ended without
// an answer (a panic).
var errFlightLost = errors.New("the request this one shared its answer with ended without one")

func (f *flights) land(k flightKey, c *flight) {
	f.mu.Lock()
	delete(f.calls, k)
	f.mu.Unlock()
	close(c.done)
}

func isContextEnd(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
