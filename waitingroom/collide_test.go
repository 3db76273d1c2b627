package waitingroom_test

import (
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/schoolservice/school/waitingroom"
)

// metric sums the samples of the named family whose labels include want (a counter's or
// gauge's value, a histogram's count).
func metric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var sum float64
	next:
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue next
				}
			}
			sum += value(m)
		}
		return sum, true
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

// TestTicksAndWriteBacksDoNotCollide: two replicas tick while both write back thousands
// of places seen, students keep arriving, and the sweep expires and finishes places, all
// at once, through the opening shuffle. No tick, sweep or write-back fails, and hardly
// any is even retried: every writer of places locks them in primary-key order, and the sweep's
// and the tick's reads take no locks on the liveness index. The counters and timings
// are in /metrics.
func TestTicksAndWriteBacksDoNotCollide(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{prequeue: time.Hour, rate: 400, maxActive: 300, grace: 4, idle: 2, pass: 3})
	regs := []*prometheus.Registry{prometheus.NewRegistry(), prometheus.NewRegistry()}
	rooms := make([]*waitingroom.Room, len(regs))
	for i, reg := range regs {
		rooms[i] = f.room(func(o *waitingroom.Options) { o.Registry = reg })
	}
	f.clock.Set(opens.Add(-time.Minute))
	f.refresh(rooms...)
	// 3,000 in the pre-queue, through the app's join.
	var places []waitingroom.Place
	var mu sync.Mutex
	var wg sync.WaitGroup
	users := f.students(3000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < len(users); i += 8 {
				p, _, err := rooms[i%2].Join(f.ctx, w, users[i])
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				places = append(places, p)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	f.clock.Set(opens)
	f.refresh(rooms...)

	// Two thirds of the students poll on both replicas; the rest never do and expire.
	polling := places[:2*len(places)/3]
	late := f.students(300)
	stop := make(chan struct{})
	errs := make(chan error, 1000)
	var bg sync.WaitGroup
	run := func(f func() error) {
		bg.Add(1)
		go func() {
			defer bg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := f(); err != nil {
					select {
					case errs <- err:
					default: // enough kept to fail the test; a full channel must not hang it
					}
				}
			}
		}()
	}
	for _, r := range rooms {
		run(func() error { return r.Tick(f.ctx, w) })
		run(func() error {
			for _, p := range polling {
				r.Status(p)
			}
			return r.Flush(f.ctx)
		})
		run(func() error { return r.Refresh(f.ctx) })
	}
	// Time runs 10 times as fast, so places expire and passes end during the run.
	run(func() error { f.clock.Advance(50 * time.Millisecond); time.Sleep(5 * time.Millisecond); return nil })
	for i, u := range late {
		if _, _, err := rooms[i%2].Join(f.ctx, w, u); err != nil {
			t.Error(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	bg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND state = 'expired'", w); n == 0 {
		t.Error("no place expired: the sweep did not run against the write-backs")
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND state = 'done'", w); n == 0 {
		t.Error("no admission finished: the sweep did not run against the admissions")
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND shuffle_position IS NOT NULL", w); n != len(places) {
		t.Errorf("%d places shuffled, want the %d of the pre-queue", n, len(places))
	}
	var shuffled float64
	for _, reg := range regs {
		v, _ := metric(t, reg, "school_waiting_room_prequeue_shuffled_total", nil)
		shuffled += v
	}
	if int(shuffled) != len(places) {
		t.Errorf("the replicas counted %v places shuffled, want %d", shuffled, len(places))
	}
	for i, reg := range regs {
		for _, name := range []string{"school_waiting_room_tick_errors_total", "school_waiting_room_flush_errors_total"} {
			if v, ok := metric(t, reg, name, nil); !ok || v != 0 {
				t.Errorf("replica %d: %s = %v (present %v), want 0", i, name, v, ok)
			}
		}
		// Ticks and write-backs locking in one order never deadlock each other; a rare
		// retry can still come from a join or a sweep that finds its rows by student (seen
		// once in many runs, on a machine at load 30), so one retry per hundred of the
		// replica's ticks and write-backs is let pass, and none may fail. Colliding by
		// design, as before the primary-key order, retried at nearly every write-back.
		ticks, _ := metric(t, reg, "school_waiting_room_tick_duration_seconds", nil)
		flushes, _ := metric(t, reg, "school_waiting_room_flush_duration_seconds", nil)
		retries := 0.0
		for _, op := range []string{"tick", "sweep", "flush"} {
			v, ok := metric(t, reg, "school_waiting_room_retries_total", map[string]string{"op": op})
			if !ok {
				t.Errorf("replica %d: no retries_total{op=%q}", i, op)
			}
			retries += v
		}
		if allowed := max(1, (ticks+flushes)/100); retries > allowed {
			t.Errorf("replica %d: ticks, sweeps and write-backs retried %v times in %v ticks and %v write-backs, want at most %v: they collide", i, retries, ticks, flushes, allowed)
		}
		for _, name := range []string{"school_waiting_room_tick_duration_seconds", "school_waiting_room_flush_duration_seconds"} {
			if v, ok := metric(t, reg, name, nil); !ok || v == 0 {
				t.Errorf("replica %d: %s counted %v (present %v)", i, name, v, ok)
			}
		}
		for _, name := range []string{"school_waiting_room_admit_rate_set", "school_waiting_room_admit_rate_target", "school_waiting_room_admit_rate_measured"} {
			if _, ok := metric(t, reg, name, nil); !ok {
				t.Errorf("replica %d: no %s", i, name)
			}
		}
		if v, _ := metric(t, reg, "school_waiting_room_admit_rate_set", nil); v != 400 {
			t.Errorf("replica %d: set rate %v, want 400", i, v)
		}
	}
}

// TestFailedTickCounted: a tick that fails is counted in /metrics and, for the staff
// page of any replica, in the window's state row.
func TestFailedTickCounted(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 0.001})
	reg := prometheus.NewRegistry()
	r := f.room(func(o *waitingroom.Options) { o.Registry = reg })
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	f.queue(r, w, 2)
	f.join(r, w, f.students(1)[0])
	// Break the numbering: the position the next arrival is due is taken already.
	f.exec("UPDATE waiting_room_tickets SET position = 3 WHERE window_id = ? AND position = 2", w)
	if err := r.Tick(f.ctx, w); err == nil {
		t.Fatal("the tick succeeded against a taken position")
	}
	if v, _ := metric(t, reg, "school_waiting_room_tick_errors_total", nil); v != 1 {
		t.Errorf("tick errors %v, want 1", v)
	}
	var failed int
	var at time.Time
	if err := f.db.QueryRow("SELECT failed_ticks, last_failed_tick_at FROM waiting_room_state WHERE window_id = ?", w).Scan(&failed, &at); err != nil || failed != 1 || !at.Equal(f.clock.Now()) {
		t.Errorf("failed_ticks %d at %v (%v), want 1 at %v", failed, at, err, f.clock.Now())
	}
}
