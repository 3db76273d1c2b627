// Package testlog is for tests that read a server's log while the server writes it.
package testlog

import (
	"bytes"
	"sync"
)

// Buffer collects what servers, processes and their goroutines write, for a test to read
// at any moment: a bytes.Buffer behind a mutex.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
