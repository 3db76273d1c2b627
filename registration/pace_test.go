package registration

import (
	"log/slog"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db/dbtest"
)

// TestPacer: an opening starts slow, the pace climbs while registrations are fast, holds
// while busy, falls while strained (never below its floor nor above the set rate), and
// starts slow again at the next opening.
func TestPacer(t *testing.T) {
	var p pacer
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	step := func(seconds float64, ceiling float64, l load) float64 {
		var r float64
		for range int(seconds * 4) {
			now = now.Add(250 * time.Millisecond)
			r = p.next(now, ceiling, l)
		}
		return r
	}
	if r := p.next(now, 1000, light); r != startRate {
		t.Fatalf("opening pace %.1f, want %v", r, startRate)
	}
	if r := p.next(now, 5, light); r != 5 {
		t.Errorf("pace %.1f above a set rate of 5", r)
	}
	// The set rate raised again: the pace climbs from where the lower one held it.
	want := 5 * math.Pow(growth, 10)
	if r := step(10, 1000, light); math.Abs(r-want) > 1 {
		t.Errorf("after 10 s fast: %.1f a second, want %.1f", r, want)
	}
	held := p.rate
	if r := step(5, 1000, busy); r != held {
		t.Errorf("busy for 5 s moved the pace from %.1f to %.1f", held, r)
	}
	if r := step(3, 1000, strained); math.Abs(r-held*math.Pow(shrink, 3)) > 1 {
		t.Errorf("strained for 3 s: %.1f, want %.1f", r, held*math.Pow(shrink, 3))
	}
	if r := step(60, 1000, strained); r != minRate {
		t.Errorf("strained for a minute: %.2f, want the floor %v", r, minRate)
	}
	if r := step(60, 1000, light); r != 1000 {
		t.Errorf("fast for a minute: %.1f, want the set rate", r)
	}
	if r := step(1, 40, light); r != 40 {
		t.Errorf("set rate lowered to 40: pace %.1f", r)
	}
	// A tick that stalled for 10 s moves the pace by one second's worth.
	now = now.Add(10 * time.Second)
	if r := p.next(now, 1000, strained); math.Abs(r-40*shrink) > 0.01 {
		t.Errorf("after a 10 s stall, strained: %.2f, want %.2f", r, 40*shrink)
	}
	now = now.Add(idleReset + time.Second)
	if r := p.next(now, 1000, light); r != startRate {
		t.Errorf("next opening starts at %.1f, want %v", r, startRate)
	}
}

// TestLoadFollowsTransactions: slow transactions strain, fast ones and silence do not.
func TestLoadFollowsTransactions(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	s := New(sqldb, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if l := s.load(); l != light {
		t.Errorf("nobody registering: %v, want light", l)
	}
	for range 50 {
		s.latency.observe(200 * time.Millisecond)
	}
	if l := s.load(); l != strained {
		t.Errorf("transactions averaging 200 ms: %v, want strained", l)
	}
	for range 50 {
		s.latency.observe(50 * time.Millisecond)
	}
	if l := s.load(); l != busy {
		t.Errorf("transactions averaging about 50 ms: %v, want busy", l)
	}
	for range 80 {
		s.latency.observe(2 * time.Millisecond)
	}
	if l := s.load(); l != light {
		t.Errorf("transactions averaging 2 ms: %v, want light", l)
	}
}
