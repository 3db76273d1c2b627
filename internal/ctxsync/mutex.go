// Package ctxsync holds locks whose waiters can give up: a mutex, and turns taken first
// come, first served.
package ctxsync

import (
	"context"
	"sync"
)

// Mutex is a lock a request waits for only as long as its context lasts. The loads it
// guards (a catalog, a prepared statement) wait out a database outage while holding it;
// with sync.Mutex every request behind them would wait too, abandoned or not, and pile
// up. The zero value is unlocked.
type Mutex struct {
	once sync.Once
	ch   chan struct{}
}

// Lock takes the lock, or returns ctx's error when ctx ends first.
func (m *Mutex) Lock(ctx context.Context) error {
	m.once.Do(func() { m.ch = make(chan struct{}, 1) })
	select {
	case m.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Unlock releases the lock taken by Lock. Unlocking a mutex that is not locked is a bug,
// and panics (as sync.Mutex's does) rather than hang.
func (m *Mutex) Unlock() {
	select {
	case <-m.ch:
	default:
		panic("ctxsync: unlock of unlocked mutex")
	}
}
