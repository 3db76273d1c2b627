package web

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

func TestBasketParam(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("7,", maxBasketShown+5)
	for v, want := range map[string][]int64{
		"":                nil,
		"3":               {3},
		"1,2,3":           {1, 2, 3},
		"1,x,,-4, 5,0,2a": {1, 5},
		many:              slices.Repeat([]int64{7}, maxBasketShown),
	} {
		if got := basketParam(v); !slices.Equal(got, want) {
			t.Errorf("basketParam(%q) = %v, want %v", v, got, want)
		}
	}
}

// A page polls less often while its place cannot change for a while (the opening far
// off, or its admission, at the set rate or by the rate measured), closing in on that
// moment, and more often within one poll of its measured turn; no page polls more seldom
// than three times the set interval, 15 s or a quarter of the time the place is kept
// without one.
func TestPollEvery(t *testing.T) {
	t.Parallel()
	now := time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)
	pre := func(before time.Duration) waitingroom.Status {
		return waitingroom.Status{State: waitingroom.Prequeue, Opens: now.Add(before), Keep: time.Minute}
	}
	short := pre(time.Hour)
	short.Keep = 20 * time.Second
	measured := func(wait time.Duration) waitingroom.Status {
		return waitingroom.Status{State: waitingroom.Waiting, Wait: wait, Measured: true, Keep: time.Minute}
	}
	paused := measured(3 * time.Second)
	paused.Paused = true
	for _, c := range []struct {
		name string
		poll time.Duration
		st   waitingroom.Status
		want time.Duration
	}{
		{"pre-queue, an hour before", 5 * time.Second, pre(time.Hour), 15 * time.Second},
		{"pre-queue, 20 s before", 5 * time.Second, pre(20 * time.Second), 10 * time.Second},
		{"pre-queue, 6 s before", 5 * time.Second, pre(6 * time.Second), 5 * time.Second},
		{"pre-queue, past the opening before the tick", 5 * time.Second, pre(-time.Second), 5 * time.Second},
		{"pre-queue, a fast poll", 100 * time.Millisecond, pre(time.Hour), 300 * time.Millisecond},
		{"pre-queue, a slow poll", 20 * time.Second, pre(time.Hour), 20 * time.Second},
		{"pre-queue, kept briefly without a poll", 2 * time.Second, short, 5 * time.Second},
		{"pre-queue, kept for less than four polls", 5 * time.Second, short, 5 * time.Second},
		{"waiting, next in line", 5 * time.Second, waitingroom.Status{State: waitingroom.Waiting, Opens: now.Add(-time.Hour), Keep: time.Minute}, 5 * time.Second},
		{"waiting, admitted in 20 s at the soonest", 5 * time.Second, waitingroom.Status{State: waitingroom.Waiting, Soonest: 20 * time.Second, Keep: time.Minute}, 10 * time.Second},
		{"waiting, admitted in 10 minutes at the soonest", 5 * time.Second, waitingroom.Status{State: waitingroom.Waiting, Soonest: 10 * time.Minute, Keep: time.Minute}, 15 * time.Second},
		{"waiting, a poll from its measured turn", 5 * time.Second, measured(5 * time.Second), 1250 * time.Millisecond},
		{"waiting, 3 s from its measured turn", 5 * time.Second, measured(3 * time.Second), 1250 * time.Millisecond},
		{"waiting, 8 s from its measured turn", 5 * time.Second, measured(8 * time.Second), 5 * time.Second},
		{"waiting, 25 s from its measured turn", 5 * time.Second, measured(25 * time.Second), 10 * time.Second},
		{"waiting, 10 minutes from its measured turn", 5 * time.Second, measured(10 * time.Minute), 15 * time.Second},
		{"waiting, 3 s from its turn at the set rate (nothing measured yet)", 5 * time.Second, waitingroom.Status{State: waitingroom.Waiting, Wait: 3 * time.Second, Keep: time.Minute}, 5 * time.Second},
		{"waiting, 3 s from its measured turn, paused", 5 * time.Second, paused, 5 * time.Second},
		{"admitted", 5 * time.Second, waitingroom.Status{State: waitingroom.Admitted, Soonest: 10 * time.Minute, Opens: now.Add(time.Hour), Keep: time.Minute}, 5 * time.Second},
		{"joining", 5 * time.Second, waitingroom.Status{State: waitingroom.Joining, Opens: now.Add(-time.Second)}, 5 * time.Second},
	} {
		if got := pollEvery(c.poll, c.st, now); got != c.want {
			t.Errorf("%s: pollEvery(%v) = %v, want %v", c.name, c.poll, got, c.want)
		}
	}
}
