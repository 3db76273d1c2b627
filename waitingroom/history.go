package waitingroom

import (
	"sync"
	"time"
)

// HistoryLength is how far back the waiting-length history goes.
const HistoryLength = 30 * time.Minute

// Sample is how many students waited in a window at a moment.
type Sample struct {
	At      time.Time
	Waiting int
}

// history keeps, per window, one sample every historyStep from the refreshes: what the
// staff chart draws. It is this replica's memory (every replica sees the same places,
// so the same figures); a replica started lately has a shorter history.
type history struct {
	mu      sync.Mutex
	samples map[int64][]Sample
}

const historyStep = 10 * time.Second

func (h *history) add(window int64, at time.Time, waiting int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.samples == nil {
		h.samples = map[int64][]Sample{}
	}
	s := h.samples[window]
	if n := len(s); n > 0 && at.Sub(s[n-1].At) < historyStep {
		return
	}
	s = append(s, Sample{At: at, Waiting: waiting})
	for len(s) > 0 && at.Sub(s[0].At) > HistoryLength {
		s = s[1:]
	}
	h.samples[window] = s
}

// WaitingHistory returns the window's waiting-length samples of the last HistoryLength,
// oldest first.
func (r *Room) WaitingHistory(windowID int64) []Sample {
	r.history.mu.Lock()
	defer r.history.mu.Unlock()
	return append([]Sample(nil), r.history.samples[windowID]...)
}
