package ctxsync

import (
	"context"
	"errors"
	"testing"
)

func TestMutexWaiterGivesUp(t *testing.T) {
	var m Mutex
	if err := m.Lock(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Lock(ctx) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("waiter: %v, want context.Canceled", err)
	}
	m.Unlock()
	if err := m.Lock(context.Background()); err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	m.Unlock()
}

func TestMutexExcludes(t *testing.T) {
	var m Mutex
	n := 0
	done := make(chan struct{})
	for range 8 {
		go func() {
			for range 1000 {
				if err := m.Lock(context.Background()); err != nil {
					t.Error(err)
				}
				n++
				m.Unlock()
			}
			done <- struct{}{}
		}()
	}
	for range 8 {
		<-done
	}
	if n != 8000 {
		t.Errorf("n = %d, want 8000", n)
	}
}

func TestUnlockOfUnlockedPanics(t *testing.T) {
	for _, name := range []string{"never locked", "unlocked twice"} {
		var m Mutex
		if name == "unlocked twice" {
			if err := m.Lock(context.Background()); err != nil {
				t.Fatal(err)
			}
			m.Unlock()
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Unlock returned, want a panic", name)
				}
			}()
			m.Unlock()
		}()
	}
}
