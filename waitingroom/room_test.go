package waitingroom_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

// These tests drive time with a fake clock and call Refresh, Tick and Flush by hand, as
// Run would: nothing depends on how fast the machine is.

// TestFairness: 500 students in the pre-queue, 500 after opening. The pre-queue is
// ordered by the committed seed, ahead of every later arrival; later arrivals keep their
// order; admission follows the positions and admits everyone exactly once.
func TestFairness(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{prequeue: 30 * time.Minute, maxActive: 5000, rate: 100, grace: 60})
	r := f.room()
	users := f.students(1000)
	early, late := users[:500], users[500:]

	// The pre-queue: 500 students arrive at once, twenty minutes before opening.
	f.clock.Set(opens.Add(-20 * time.Minute))
	f.refresh(r)
	if r.Open(w) {
		t.Fatal("Open before opens_at")
	}
	places := make(map[int64]waitingroom.Place, len(users)) // by student
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int64)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				p, _, err := r.Join(f.ctx, w, u)
				if err != nil {
					t.Error(err)
					continue
				}
				mu.Lock()
				places[u] = p
				mu.Unlock()
			}
		}()
	}
	for _, u := range early {
		next <- u
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	all := func() []waitingroom.Place {
		out := make([]waitingroom.Place, 0, len(places))
		for _, p := range places {
			out = append(out, p)
		}
		return out
	}
	var commitment string
	if err := f.db.QueryRow("SELECT shuffle_commitment FROM waiting_room_state WHERE window_id = ?", w).Scan(&commitment); err != nil {
		t.Fatalf("no commitment once the pre-queue has students: %v", err)
	}

	// They wait, polling, until opening: nobody has a position, nobody expires.
	for now := f.clock.Now(); now.Before(opens.Add(-30 * time.Second)); {
		now = f.clock.Advance(30 * time.Second)
		f.poll(r, all()...)
		f.tick(r, w)
		f.refresh(r)
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE window_id = ? AND state = 'waiting' AND position IS NULL AND prequeue", w); n != 500 {
		t.Fatalf("before opening: %d of 500 pre-queue places waiting without a position", n)
	}
	for _, u := range early {
		if st := r.Status(places[u]); !st.Known || st.State != waitingroom.Prequeue || st.Position != 0 || !st.Opens.Equal(opens) {
			t.Fatalf("pre-queue status of student %d: %+v", u, st)
		}
	}

	// Admission is checked after every tick: once admitted, a place stays admitted with
	// the same admitted_at; nothing expires.
	admittedAt := map[int64]time.Time{}
	check := func() {
		t.Helper()
		for _, x := range f.tickets(w, "id") {
			switch x.state {
			case "waiting":
				if _, ok := admittedAt[x.id]; ok {
					t.Fatalf("ticket %d went back to waiting after its admission", x.id)
				}
			case "admitted":
				if at, ok := admittedAt[x.id]; ok && !at.Equal(x.admittedAt.Time) || !x.admittedAt.Valid {
					t.Fatalf("ticket %d admitted twice (%v, then %v)", x.id, at, x.admittedAt)
				}
				admittedAt[x.id] = x.admittedAt.Time
			default:
				t.Fatalf("ticket %d is %s", x.id, x.state)
			}
		}
	}

	// Opening: the first tick shuffles the pre-queue.
	f.clock.Set(opens)
	f.refresh(r)
	if !r.Open(w) {
		t.Fatal("not Open at opens_at")
	}
	f.poll(r, all()...)
	f.tick(r, w)
	check()
	f.refresh(r)
	var shuffledAt time.Time
	if err := f.db.QueryRow("SELECT shuffled_at FROM waiting_room_state WHERE window_id = ?", w).Scan(&shuffledAt); err != nil || !shuffledAt.Equal(opens) {
		t.Fatalf("shuffled_at %v, %v; want the opening", shuffledAt, err)
	}

	// 500 more arrive after opening, in a known order, ten milliseconds apart, with a tick
	// every fifty.
	order := slices.Clone(late)
	rand.New(rand.NewPCG(7, 11)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	lateTickets := make([]int64, 0, len(order))
	for i, u := range order {
		f.clock.Advance(10 * time.Millisecond)
		p := f.join(r, w, u)
		places[u] = p
		lateTickets = append(lateTickets, p.Ticket)
		if (i+1)%50 == 0 {
			f.poll(r, all()...)
			f.tick(r, w)
			check()
			f.refresh(r)
		}
	}

	// What a waiting student sees is their rank among those still waiting.
	waiting := 0
	for _, x := range f.tickets(w, "position") {
		if x.state != "waiting" {
			continue
		}
		waiting++
		st := r.Status(places[x.user])
		if !st.Known || st.State != waitingroom.Waiting || st.Position != waiting {
			t.Fatalf("status of the place at %v, number %d waiting: %+v", x.position, waiting, st)
		}
	}
	if waiting == 0 {
		t.Fatal("nobody left waiting after the arrivals")
	}

	// Everyone is admitted, 100 a second, a tick every 100 ms, everyone polling.
	for i := 0; len(admittedAt) < len(users); i++ {
		if i == 1000 {
			t.Fatalf("after %d ticks only %d of %d admitted", i, len(admittedAt), len(users))
		}
		f.clock.Advance(100 * time.Millisecond)
		f.poll(r, all()...)
		f.tick(r, w)
		check()
		f.refresh(r)
	}
	// Ticks with nobody left waiting admit nobody again.
	for range 20 {
		f.clock.Advance(100 * time.Millisecond)
		f.poll(r, all()...)
		f.tick(r, w)
		check()
	}

	// Admission order is position order, positions 1 to 1000.
	admitted := f.tickets(w, "admitted_at, position")
	if len(admitted) != len(users) {
		t.Fatalf("%d places for %d students", len(admitted), len(users))
	}
	for i, x := range admitted {
		if x.state != "admitted" || x.position.Int64 != int64(i+1) {
			t.Fatalf("admitted number %d: position %v, %s", i+1, x.position, x.state)
		}
	}
	if n := f.count("SELECT COUNT(DISTINCT user_id) FROM waiting_room_tickets WHERE window_id = ?", w); n != len(users) {
		t.Errorf("%d distinct students in %d places", n, len(admitted))
	}
	var total int
	if err := f.db.QueryRow("SELECT admitted_total FROM waiting_room_state WHERE window_id = ?", w).Scan(&total); err != nil || total != len(users) {
		t.Errorf("admitted_total %d, %v; want %d", total, err, len(users))
	}

	// Every pre-queue student is ahead of every later arrival.
	byUser := map[int64]row{}
	for _, x := range admitted {
		byUser[x.user] = x
	}
	var lastEarly, firstLate int64 = 0, 1 << 62
	for _, u := range early {
		x := byUser[u]
		if !x.prequeue {
			t.Errorf("student %d joined in the pre-queue but prequeue is false", u)
		}
		lastEarly = max(lastEarly, x.position.Int64)
	}
	for _, u := range late {
		x := byUser[u]
		if x.prequeue {
			t.Errorf("student %d joined after opening but prequeue is true", u)
		}
		firstLate = min(firstLate, x.position.Int64)
	}
	if lastEarly >= firstLate {
		t.Errorf("a pre-queue student is at %d, behind a later arrival at %d", lastEarly, firstLate)
	}

	// Later arrivals keep their arrival order, right behind the pre-queue.
	pos := map[int64]int64{}
	for _, x := range admitted {
		pos[x.id] = x.position.Int64
	}
	for i, id := range lateTickets {
		if pos[id] != int64(len(early)+1+i) {
			t.Fatalf("later arrival number %d (ticket %d) is at %d, want %d", i+1, id, pos[id], len(early)+1+i)
		}
	}

	// The pre-queue order is the one anyone can recompute from the revealed seed, which
	// matches the commitment made before anyone arrived.
	var seed, commitmentNow string
	if err := f.db.QueryRow("SELECT shuffle_seed, shuffle_commitment FROM waiting_room_state WHERE window_id = ?", w).Scan(&seed, &commitmentNow); err != nil {
		t.Fatal(err)
	}
	if commitmentNow != commitment {
		t.Errorf("commitment changed from %s to %s", commitment, commitmentNow)
	}
	if sum := sha256.Sum256([]byte(seed)); hex.EncodeToString(sum[:]) != commitment {
		t.Errorf("sha256(seed) = %x, commitment %s", sum, commitment)
	}
	var pre []row
	for _, x := range admitted {
		if x.prequeue {
			pre = append(pre, x)
		}
	}
	key := func(id int64) string {
		sum := sha256.Sum256([]byte(seed + ":" + strconv.FormatInt(id, 10)))
		return hex.EncodeToString(sum[:])
	}
	recomputed := slices.Clone(pre)
	sort.Slice(recomputed, func(i, j int) bool { return key(recomputed[i].id) < key(recomputed[j].id) })
	for i, x := range recomputed {
		if x.position.Int64 != int64(i+1) {
			t.Fatalf("recomputed from the seed, ticket %d is number %d; it is at %d", x.id, i+1, x.position.Int64)
		}
	}

	// And it is not the arrival order (ticket ids), nor its reverse.
	sort.Slice(pre, func(i, j int) bool { return pre[i].position.Int64 < pre[j].position.Int64 })
	ids := make([]int64, len(pre))
	for i, x := range pre {
		ids[i] = x.id
	}
	if slices.IsSorted(ids) {
		t.Error("the pre-queue is in arrival order")
	}
	slices.Reverse(ids)
	if slices.IsSorted(ids) {
		t.Error("the pre-queue is in reverse arrival order")
	}
}

// TestOnePlacePerStudent: five tabs and a second replica all get the same place.
func TestOnePlacePerStudent(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{prequeue: 10 * time.Minute})
	r1, r2 := f.room(), f.room()
	f.clock.Set(opens.Add(-5 * time.Minute))
	f.refresh(r1, r2)
	u := f.students(1)[0]

	var places [6]waitingroom.Place
	var tokens [6]string
	var errs [6]error
	var wg sync.WaitGroup
	for i := range 5 { // five tabs at once on one replica
		wg.Add(1)
		go func() {
			defer wg.Done()
			places[i], tokens[i], errs[i] = r1.Join(f.ctx, w, u)
		}()
	}
	wg.Wait()
	places[5], tokens[5], errs[5] = r2.Join(f.ctx, w, u) // and one on another replica
	for i := range places {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if places[i] != places[0] || tokens[i] != tokens[0] {
			t.Errorf("join %d: %+v %q; first %+v %q", i, places[i], tokens[i], places[0], tokens[0])
		}
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE user_id = ?", u); n != 1 {
		t.Errorf("%d places for one student", n)
	}
	for _, r := range []*waitingroom.Room{r1, r2} {
		if p, err := r.ParseToken(tokens[5]); err != nil || p != places[0] {
			t.Errorf("ParseToken on either replica: %+v, %v", p, err)
		}
	}

	// After opening the place keeps its pre-queue standing, whichever replica is asked.
	f.clock.Set(opens.Add(time.Second))
	f.refresh(r1, r2)
	f.tick(r2, w)
	p := f.join(r2, w, u)
	x := f.ticket(w, u)
	if p != places[0] || !x.prequeue || x.position.Int64 != 1 || x.state != "waiting" {
		t.Errorf("after opening: %+v, row %+v", p, x)
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets WHERE user_id = ?", u); n != 1 {
		t.Errorf("%d places for one student", n)
	}
}

// TestPlace: Place finds a student's place without taking one, on any replica, and
// only while it counts; a place that expired is Join's to take again.
func TestPlace(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{prequeue: 10 * time.Minute})
	r1, r2 := f.room(), f.room()
	f.clock.Set(opens.Add(-5 * time.Minute))
	f.refresh(r1, r2)
	u := f.students(1)[0]

	if _, _, ok, err := r1.Place(f.ctx, w, u); err != nil || ok {
		t.Fatalf("before joining: ok %v, %v", ok, err)
	}
	if n := f.count("SELECT COUNT(*) FROM waiting_room_tickets"); n != 0 {
		t.Fatalf("Place took a place: %d tickets", n)
	}
	joined, token, err := r1.Join(f.ctx, w, u)
	if err != nil {
		t.Fatal(err)
	}
	p, tok, ok, err := r2.Place(f.ctx, w, u) // the other replica, before its next refresh
	if err != nil || !ok || p != joined || tok != token {
		t.Fatalf("after joining: %+v %q %v %v; joined %+v %q", p, tok, ok, err, joined, token)
	}
	if st := r2.Status(p); !st.Known {
		t.Error("the replica that found the place does not know it yet")
	}

	f.exec("UPDATE waiting_room_tickets SET state = 'expired' WHERE user_id = ?", u)
	if _, _, ok, err := r1.Place(f.ctx, w, u); err != nil || ok {
		t.Errorf("expired: ok %v, %v", ok, err)
	}
	if again, _, err := r1.Join(f.ctx, w, u); err != nil || again != joined || f.ticket(w, u).state != "waiting" {
		t.Errorf("joining again: %+v, %v, row %+v", again, err, f.ticket(w, u))
	}
}

// TestActiveLimitAcrossReplicas: two replicas tick in turn, then at once; admitted places
// never exceed max_active.
func TestActiveLimitAcrossReplicas(t *testing.T) {
	const limit = 20
	f := newFixture(t)
	w := f.window(windowSpec{maxActive: limit, rate: 50})
	rooms := []*waitingroom.Room{f.room(), f.room()}
	f.clock.Set(opens.Add(time.Second))
	f.refresh(rooms[1])
	f.open(rooms[0], w)
	for i, u := range f.students(600) {
		f.join(rooms[i%2], w, u)
	}
	f.tick(rooms[0], w)

	peak := 0
	checkLimit := func(when string) {
		t.Helper()
		n := f.active(w)
		if n > limit {
			t.Fatalf("%s: %d admitted, more than %d", when, n, limit)
		}
		peak = max(peak, n)
	}
	finishOldest := func(r *waitingroom.Room, n int) {
		t.Helper()
		rs, err := f.db.Query("SELECT user_id FROM waiting_room_tickets WHERE window_id = ? AND state = 'admitted' ORDER BY admitted_at, position LIMIT ?", w, n)
		if err != nil {
			t.Fatal(err)
		}
		var us []int64
		for rs.Next() {
			var u int64
			if err := rs.Scan(&u); err != nil {
				t.Fatal(err)
			}
			us = append(us, u)
		}
		rs.Close()
		for _, u := range us {
			if err := r.Finish(f.ctx, w, u); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Thirty fake seconds, a tick every 100 ms from one replica or the other; every
	// 400 ms the two who have been admitted longest finish, the others stay.
	rng := rand.New(rand.NewPCG(3, 5))
	for i := range 300 {
		f.clock.Advance(100 * time.Millisecond)
		r := rooms[rng.IntN(2)]
		f.tick(r, w)
		checkLimit("after tick " + strconv.Itoa(i))
		if i%4 == 3 {
			finishOldest(rooms[rng.IntN(2)], 2)
			checkLimit("after finishing")
		}
		if i%10 == 0 {
			f.refresh(rooms...)
		}
	}
	if peak != limit {
		t.Errorf("peak %d admitted; the limit %d was never reached, the test proves nothing", peak, limit)
	}
	before := f.admittedEver(w)
	if before <= 2*limit {
		t.Errorf("only %d admitted in 30 s: finished slots were not reused", before)
	}

	// Now both replicas tick at once, two goroutines each, while students finish.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rooms[g%2]
			for j := range 50 {
				f.clock.Advance(50 * time.Millisecond)
				if err := r.Tick(f.ctx, w); err != nil {
					t.Errorf("goroutine %d tick %d: %v", g, j, err)
					return
				}
				if n := f.active(w); n > limit {
					t.Errorf("goroutine %d tick %d: %d admitted, more than %d", g, j, n, limit)
				}
				if j%3 == g%3 {
					var u int64
					err := f.db.QueryRow("SELECT user_id FROM waiting_room_tickets WHERE window_id = ? AND state = 'admitted' ORDER BY admitted_at, position LIMIT 1 OFFSET ?", w, g).Scan(&u)
					switch {
					case errors.Is(err, sql.ErrNoRows):
						continue // fewer admitted than g+1 just now
					case err == nil:
						err = r.Finish(f.ctx, w, u)
					}
					if err != nil {
						t.Errorf("goroutine %d finish: %v", g, err)
						return
					}
					if n := f.active(w); n > limit {
						t.Errorf("goroutine %d after finishing: %d admitted, more than %d", g, n, limit)
					}
				}
			}
		}()
	}
	wg.Wait()
	checkLimit("after the concurrent ticks")
	if after := f.admittedEver(w); after <= before {
		t.Errorf("the concurrent ticks admitted nobody (%d then %d)", before, after)
	}
	var total int
	if err := f.db.QueryRow("SELECT admitted_total FROM waiting_room_state WHERE window_id = ?", w).Scan(&total); err != nil || total != f.admittedEver(w) {
		t.Errorf("admitted_total %d (%v), %d places admitted", total, err, f.admittedEver(w))
	}
}

// TestAdmissionRate: 10 a second, a tick every 250 ms of fake time for 20 fake seconds.
func TestAdmissionRate(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	f.queue(r, w, 260)
	before := f.admittedEver(w)
	for range 80 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	if n := f.admittedEver(w) - before; n < 198 || n > 202 {
		t.Errorf("20 s at 10 a second admitted %d, want 200 ± 2", n)
	}
}

// TestPace: a backend that takes half the set rate halves admission over the same fake
// time.
func TestPace(t *testing.T) {
	f := newFixture(t)
	full, half := f.window(windowSpec{rate: 10}), f.window(windowSpec{rate: 10})
	rFull := f.room()
	rHalf := f.room(func(o *waitingroom.Options) {
		o.Pace = func(_ int64, rate float64, maxActive, _ int64) (float64, int64) { return rate / 2, maxActive }
	})
	f.clock.Set(opens.Add(time.Second))
	f.open(rFull, full)
	f.open(rHalf, half)
	f.queue(rFull, full, 260)
	f.queue(rHalf, half, 260)
	f.tick(rFull, full) // both windows start from a tick at the same time
	f.tick(rHalf, half)
	fullBefore, halfBefore := f.admittedEver(full), f.admittedEver(half)
	for range 80 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(rFull, full)
		f.tick(rHalf, half)
	}
	nFull, nHalf := f.admittedEver(full)-fullBefore, f.admittedEver(half)-halfBefore
	if nFull < 198 || nFull > 202 {
		t.Errorf("full pace: %d admitted in 20 s, want 200 ± 2", nFull)
	}
	if nHalf < 98 || nHalf > 102 {
		t.Errorf("half pace: %d admitted in 20 s, want 100 ± 2 (full pace: %d)", nHalf, nFull)
	}
}

// TestPaceLimitsActive: the pace's active limit holds admission below the staff's, and
// the pace is told how many are active.
func TestPaceLimitsActive(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{maxActive: 1000, rate: 100})
	var told []int64
	limit := int64(7)
	r := f.room(func(o *waitingroom.Options) {
		o.Pace = func(_ int64, rate float64, maxActive, active int64) (float64, int64) {
			told = append(told, active)
			return rate, min(maxActive, limit)
		}
	})
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	f.queue(r, w, 500)
	for range 20 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	if n := f.active(w); n != 7 {
		t.Errorf("%d active, want the pace's limit of 7", n)
	}
	if len(told) == 0 || told[len(told)-1] != 7 {
		t.Errorf("the pace was told active counts %v, want the last to be 7", told)
	}

	// Five seconds held at the limit saved no credit: once it lifts, admission goes on at
	// the rate, not in a burst of what the limit held back.
	limit = 1000
	for range 4 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	if n := f.active(w) - 7; n < 98 || n > 101 {
		t.Errorf("the second after the limit lifted admitted %d, want the rate's 100", n)
	}
}

// TestPause: a paused window admits nobody; unpaused it resumes at its rate, without a
// burst for the time it was paused.
func TestPause(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	f.queue(r, w, 300)
	for range 8 { // two seconds at the rate first, to have credit in hand
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	before := f.admittedEver(w)

	f.exec("UPDATE registration_windows SET paused = TRUE WHERE id = ?", w)
	f.refresh(r)
	for range 40 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	if n := f.admittedEver(w); n != before {
		t.Fatalf("10 s paused: %d admitted, want none", n-before)
	}

	f.exec("UPDATE registration_windows SET paused = FALSE WHERE id = ?", w)
	f.refresh(r)
	f.clock.Advance(250 * time.Millisecond)
	f.tick(r, w)
	if n := f.admittedEver(w) - before; n > 3 {
		t.Errorf("first tick after a 10 s pause admitted %d, want a quarter second's worth (2 or 3)", n)
	}
	// A replica that then stalls for ten seconds catches up at most three seconds' worth
	// (maxCreditSeconds); one that stalls for two catches all of it up.
	mark := f.admittedEver(w)
	f.clock.Advance(10 * time.Second)
	f.tick(r, w)
	if n := f.admittedEver(w) - mark; n < 28 || n > 30 {
		t.Errorf("a tick after a 10 s stall admitted %d, want 28 to 30 (three seconds' worth)", n)
	}
	mark = f.admittedEver(w)
	f.clock.Advance(2 * time.Second)
	f.tick(r, w)
	if n := f.admittedEver(w) - mark; n < 19 || n > 20 {
		t.Errorf("a tick after a 2 s stall admitted %d, want 19 or 20 (all of it)", n)
	}
	mark = f.admittedEver(w)
	for range 16 {
		f.clock.Advance(250 * time.Millisecond)
		f.tick(r, w)
	}
	if n := f.admittedEver(w) - mark; n < 38 || n > 42 {
		t.Errorf("4 s after resuming admitted %d, want 40 ± 2", n)
	}
}

// TestAbandonment: a waiting student who stops polling loses the place and the next
// one gets the slot; an idle admitted student, and one whose pass ends, frees the slot;
// joining again queues at the back.
func TestAbandonment(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{maxActive: 1, rate: 1, grace: 10, idle: 30, pass: 120})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	us := f.students(4)
	a, b, c, d := us[0], us[1], us[2], us[3]
	var ps [4]waitingroom.Place
	for i, u := range us {
		f.clock.Advance(100 * time.Millisecond)
		ps[i] = f.join(r, w, u)
	}
	pa, pb, pc, pd := ps[0], ps[1], ps[2], ps[3]
	f.flush(r) // the joins count as seen
	f.clock.Advance(100 * time.Millisecond)
	f.tick(r, w)
	for i, u := range us {
		if x := f.ticket(w, u); x.position.Int64 != int64(i+1) {
			t.Fatalf("student %d at %v, want %d", i, x.position, i+1)
		}
	}
	bSeen := f.ticket(w, b).lastSeen

	step := func() {
		t.Helper()
		f.tick(r, w)
		f.refresh(r)
		if n := f.active(w); n > 1 {
			t.Fatalf("%d admitted, max_active 1", n)
		}
	}
	state := func(u int64) string { t.Helper(); return f.ticket(w, u).state }

	// a is admitted; from then on a is never seen. b never polls. c and d poll.
	f.clock.Advance(time.Second)
	f.poll(r, pc, pd)
	f.tick(r, w)
	if state(a) != "admitted" {
		t.Fatalf("a is %s, want admitted", state(a))
	}
	aSeen := f.ticket(w, a).lastSeen
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("a never became idle")
		}
		now := f.clock.Advance(time.Second)
		f.poll(r, pc, pd)
		step()
		// Given up after the grace, or idle time, and the quarter of the smaller of the
		// two that last_seen_at may lag (the sweep allows for it).
		const lag = 10 * time.Second / 4
		wantB := "waiting"
		if now.Sub(bSeen) > 10*time.Second+lag {
			wantB = "expired"
		}
		if got := state(b); got != wantB {
			t.Fatalf("at +%v since b was seen: b is %s, want %s", now.Sub(bSeen), got, wantB)
		}
		if now.Sub(aSeen) <= 30*time.Second+lag {
			if state(a) != "admitted" || state(c) != "waiting" || state(d) != "waiting" {
				t.Fatalf("at +%v since a was seen: a %s, c %s, d %s; want admitted, waiting, waiting", now.Sub(aSeen), state(a), state(c), state(d))
			}
			continue
		}
		// a idled out: the slot goes to c, b's turn having passed.
		if state(a) != "done" || state(c) != "admitted" || state(d) != "waiting" {
			t.Fatalf("at +%v since a was seen: a %s, c %s, d %s; want done, admitted, waiting", now.Sub(aSeen), state(a), state(c), state(d))
		}
		break
	}
	if x := f.ticket(w, b); x.admittedAt.Valid || x.state != "expired" {
		t.Fatalf("b: %+v, want expired and never admitted", x)
	}
	if st := r.Status(pb); !st.Known || st.State != waitingroom.Lost {
		t.Errorf("b's status: %+v, want expired", st)
	}

	// c stays active, seen, until the pass ends; then d gets the slot.
	cExpiry := f.ticket(w, c).passExpiry.Time
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatal("c's pass never ended")
		}
		now := f.clock.Advance(time.Second)
		r.Seen(pc)
		f.poll(r, pd)
		step()
		if !now.After(cExpiry) {
			if state(c) != "admitted" || state(d) != "waiting" {
				t.Fatalf("%v before c's pass ends: c %s, d %s; want admitted, waiting", cExpiry.Sub(now), state(c), state(d))
			}
			continue
		}
		if state(c) != "done" || state(d) != "admitted" {
			t.Fatalf("%v after c's pass ended: c %s, d %s; want done, admitted", now.Sub(cExpiry), state(c), state(d))
		}
		break
	}
	if x := f.ticket(w, b); x.admittedAt.Valid || x.state != "expired" {
		t.Fatalf("b: %+v, want expired and never admitted", x)
	}

	// b comes back: the same place, at the back. Then a comes back, behind b.
	others := f.maxPosition(w)
	if p := f.join(r, w, b); p != pb {
		t.Errorf("b joins again as %+v, was %+v", p, pb)
	}
	if x := f.ticket(w, b); x.state != "waiting" || x.position.Valid || x.prequeue {
		t.Errorf("b after joining again: %+v", x)
	}
	f.clock.Advance(time.Second)
	f.tick(r, w)
	if x := f.ticket(w, b); x.state != "waiting" || x.position.Int64 <= others {
		t.Errorf("b joined again at %v, want behind everyone (> %d)", x.position, others)
	}
	f.clock.Advance(time.Second)
	f.join(r, w, a)
	f.tick(r, w)
	if xa, xb := f.ticket(w, a), f.ticket(w, b); xa.state != "waiting" || xa.position.Int64 <= xb.position.Int64 {
		t.Errorf("a joined again at %v (%s), want behind b at %v", xa.position, xa.state, xb.position)
	}
	f.refresh(r)
	if st := r.Status(pb); !st.Known || st.State != waitingroom.Waiting || st.Position != 1 {
		t.Errorf("b's status: %+v, want waiting, next in line", st)
	}
	if st := r.Status(pa); !st.Known || st.State != waitingroom.Waiting || st.Position != 2 {
		t.Errorf("a's status: %+v, want waiting, second in line", st)
	}
}

// TestRequeueQueuesBehindEarlierArrivals: a student who lost their place and joins again
// goes behind a student who arrived before them, even when one tick orders both.
func TestRequeueQueuesBehindEarlierArrivals(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{maxActive: 1, rate: 1, grace: 10})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	us := f.students(3)
	a, b, n := us[0], us[1], us[2]
	pa := f.join(r, w, a)
	f.join(r, w, b)
	f.flush(r)
	f.tick(r, w)
	for range 15 { // b stops polling and loses the place (grace 10 s, and the 2.5 s it may lag)
		f.clock.Advance(time.Second)
		f.poll(r, pa)
		f.tick(r, w)
	}
	if x := f.ticket(w, b); x.state != "expired" {
		t.Fatalf("b is %s, want expired", x.state)
	}
	f.clock.Advance(100 * time.Millisecond)
	f.join(r, w, n) // a newcomer arrives
	f.clock.Advance(100 * time.Millisecond)
	f.join(r, w, b) // then b comes back
	f.tick(r, w)
	xn, xb := f.ticket(w, n), f.ticket(w, b)
	if !xn.joinedAt.Before(xb.joinedAt) {
		t.Fatalf("newcomer joined at %v, b at %v", xn.joinedAt, xb.joinedAt)
	}
	if xb.position.Int64 <= xn.position.Int64 {
		t.Errorf("b came back after the newcomer but is ahead: b at %v, newcomer at %v", xb.position, xn.position)
	}
}

// TestLateArrivalBeforeFirstTick: a student who arrives after opening is a later
// arrival even if no tick has run since the opening: behind the whole pre-queue, in
// arrival order, not shuffled into it. With a pre-queue the gap is until the next tick;
// without one, until the first tick after the window reached the cache of some replica.
func TestLateArrivalBeforeFirstTick(t *testing.T) {
	for _, prequeue := range []int{50, 0} {
		name := "pre-queue"
		if prequeue == 0 {
			name = "no pre-queue"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			spec := windowSpec{}
			if prequeue > 0 {
				spec.prequeue = 10 * time.Minute
			}
			w := f.window(spec)
			r := f.room()
			if prequeue > 0 {
				f.clock.Set(opens.Add(-time.Minute))
				f.refresh(r)
				for _, u := range f.students(prequeue) {
					f.join(r, w, u)
				}
			}
			f.clock.Set(opens) // open; the next tick is due a few milliseconds later
			f.refresh(r)
			var late []int64
			for _, u := range f.students(8) {
				f.clock.Advance(10 * time.Millisecond)
				late = append(late, f.join(r, w, u).Ticket)
			}
			f.tick(r, w)
			pos := map[int64]row{}
			for _, x := range f.tickets(w, "id") {
				pos[x.id] = x
			}
			for i, id := range late {
				if x := pos[id]; x.prequeue || x.position.Int64 != int64(prequeue+1+i) {
					t.Errorf("arrival %d after opening (prequeue %v) is at %v, want %d", i+1, x.prequeue, x.position.Int64, prequeue+1+i)
				}
			}
		})
	}
}

// TestPasses: only an admitted place gets a pass, and a pass is good only for its
// student and window until it expires.
func TestPasses(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 1, pass: 120})
	other := f.window(windowSpec{})
	r, r2 := f.room(), f.room()
	f.clock.Set(opens.Add(time.Second))
	f.refresh(r2)
	f.open(r, w)
	us := f.students(3)
	a, b, c := us[0], us[1], us[2]
	pa, tokenA, err := r.Join(f.ctx, w, a)
	if err != nil {
		t.Fatal(err)
	}
	pb := f.join(r, w, b)
	f.tick(r, w)

	if _, _, err := r.Enter(f.ctx, pa); !errors.Is(err, waitingroom.ErrNotAdmitted) {
		t.Errorf("Enter while waiting: %v, want ErrNotAdmitted", err)
	}
	f.clock.Advance(time.Second)
	f.tick(r, w) // admits a, one a second
	f.refresh(r)
	if _, _, err := r.Enter(f.ctx, pb); !errors.Is(err, waitingroom.ErrNotAdmitted) {
		t.Errorf("Enter for b, still waiting: %v, want ErrNotAdmitted", err)
	}
	if _, _, err := r.Enter(f.ctx, waitingroom.Place{Window: w, User: c, Ticket: pa.Ticket}); !errors.Is(err, waitingroom.ErrNotAdmitted) {
		t.Errorf("Enter for a student with no place, with a's ticket: %v, want ErrNotAdmitted", err)
	}
	if _, _, err := r.Enter(f.ctx, waitingroom.Place{Window: w, User: b, Ticket: pa.Ticket}); !errors.Is(err, waitingroom.ErrNotAdmitted) {
		t.Errorf("Enter for b with a's ticket: %v, want ErrNotAdmitted", err)
	}

	pass, expires, err := r.Enter(f.ctx, pa)
	if err != nil {
		t.Fatal(err)
	}
	if x := f.ticket(w, a); !expires.Equal(x.passExpiry.Time) || !expires.Equal(x.admittedAt.Time.Add(120*time.Second)) {
		t.Errorf("pass expires %v; row %+v", expires, x)
	}
	for _, room := range []*waitingroom.Room{r, r2} { // any replica accepts it
		if p, err := room.CheckPass(pass, w, a); err != nil || p != pa {
			t.Errorf("CheckPass: %+v, %v; want %+v", p, err, pa)
		}
	}
	bad := func(what, pass string, window, user int64) {
		t.Helper()
		if p, err := r.CheckPass(pass, window, user); !errors.Is(err, waitingroom.ErrBadToken) {
			t.Errorf("CheckPass %s: %+v, %v; want ErrBadToken", what, p, err)
		}
	}
	bad("for another student", pass, w, b)
	bad("for another window", pass, other, a)
	bad("empty", "", w, a)
	bad("a poll token", tokenA, w, a)
	for i := range len(pass) {
		tampered := []byte(pass)
		tampered[i] ^= 0x01
		if tampered[i] == '.' {
			tampered[i] = '1'
		}
		bad("with character "+strconv.Itoa(i)+" changed", string(tampered), w, a)
	}
	bad("with a character added", pass+"A", w, a)
	bad("truncated", pass[:len(pass)-1], w, a)
	if _, err := r.ParseToken(pass); !errors.Is(err, waitingroom.ErrBadToken) {
		t.Errorf("ParseToken of a pass: %v, want ErrBadToken", err)
	}

	f.clock.Set(expires.Add(-time.Second))
	if _, err := r.CheckPass(pass, w, a); err != nil {
		t.Errorf("a second before it expires: %v", err)
	}
	f.clock.Set(expires)
	bad("at expiry", pass, w, a)
	f.clock.Set(expires.Add(time.Hour))
	bad("an hour after expiry", pass, w, a)

	// Status of a place answers only for the student it names.
	if st := r.Status(waitingroom.Place{Window: w, User: b, Ticket: pa.Ticket}); st.Known {
		t.Errorf("Status of a's ticket for b: %+v, want unknown", st)
	}
	if st := r.Status(pa); !st.Known || st.State != waitingroom.Admitted {
		t.Errorf("a's status: %+v, want admitted", st)
	}

	// Finished, the place gets no more passes.
	f.clock.Set(opens.Add(time.Minute))
	if err := r.Finish(f.ctx, w, a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Enter(f.ctx, pa); !errors.Is(err, waitingroom.ErrNotAdmitted) {
		t.Errorf("Enter after Finish: %v, want ErrNotAdmitted", err)
	}
}

// TestLetThrough: staff admit one waiting student at once, out of turn.
func TestLetThrough(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10, maxActive: 5, pass: 600})
	r := f.room()
	f.exec("UPDATE registration_windows SET paused = TRUE WHERE id = ?", w)
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	places := f.queue(r, w, 10)
	f.clock.Advance(time.Second)
	f.tick(r, w)
	if n := f.admittedEver(w); n != 0 {
		t.Fatalf("paused, %d admitted", n)
	}

	lucky := places[6]
	now := f.clock.Advance(time.Second)
	if ok, err := r.LetThrough(f.ctx, staff, w, lucky.User, "lucky"); !ok || err != nil {
		t.Fatalf("LetThrough: %v, %v", ok, err)
	}
	for i, p := range places {
		x := f.ticket(w, p.User)
		if p == lucky {
			if x.state != "admitted" || !x.admittedAt.Time.Equal(now) || !x.passExpiry.Time.Equal(now.Add(600*time.Second)) {
				t.Errorf("let through: %+v", x)
			}
		} else if x.state != "waiting" {
			t.Errorf("place %d is %s", i, x.state)
		}
	}
	if _, _, err := r.Enter(f.ctx, lucky); err != nil {
		t.Errorf("Enter after LetThrough: %v", err)
	}
	if ok, err := r.LetThrough(f.ctx, staff, w, lucky.User, "lucky"); ok || err != nil {
		t.Errorf("LetThrough of an admitted student: %v, %v; want false", ok, err)
	}
	if ok, err := r.LetThrough(f.ctx, staff, w, f.students(1)[0], "nobody"); ok || err != nil {
		t.Errorf("LetThrough of a student with no place: %v, %v; want false", ok, err)
	}
	if _, err := r.LetThrough(f.ctx, staff, w+100, lucky.User, "lucky"); err == nil {
		t.Error("LetThrough in a window with no waiting room: no error")
	}
	// Only the admission is recorded, with who let whom through.
	if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'waiting_room.let_through' AND actor = 'sam'
		AND JSON_VALUE(details, '$.after.student') = 'lucky'`); n != 1 || f.count("SELECT COUNT(*) FROM audit_log") != 1 {
		t.Errorf("audit rows: %d of the admission, want exactly that one", n)
	}

	// Unpaused, the queue goes on in order, past the student let through.
	f.exec("UPDATE registration_windows SET paused = FALSE WHERE id = ?", w)
	f.refresh(r)
	f.clock.Advance(time.Second)
	f.tick(r, w)
	var order []int64
	for _, x := range f.tickets(w, "admitted_at, position") {
		if x.admittedAt.Valid {
			order = append(order, x.user)
		}
	}
	want := []int64{lucky.User, places[0].User, places[1].User, places[2].User, places[3].User}
	if !slices.Equal(order, want) {
		t.Errorf("admitted %v, want %v (max_active 5 counting the one let through)", order, want)
	}
}

// TestStatusAfterLetThrough: letting one student through out of turn does not move
// anyone else's place in line as the waiting page shows it.
func TestStatusAfterLetThrough(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{})
	r := f.room()
	f.exec("UPDATE registration_windows SET paused = TRUE WHERE id = ?", w)
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	places := f.queue(r, w, 10)
	f.refresh(r)
	for i, p := range places {
		if st := r.Status(p); st.Position != i+1 {
			t.Fatalf("before: place %d shows %d", i+1, st.Position)
		}
	}
	if ok, err := r.LetThrough(f.ctx, staff, w, places[6].User, "seventh"); !ok || err != nil {
		t.Fatalf("LetThrough: %v, %v", ok, err)
	}
	f.clock.Advance(time.Second)
	f.refresh(r)
	inLine := 0
	for i, p := range places {
		st := r.Status(p)
		if i == 6 {
			if st.State != waitingroom.Admitted {
				t.Errorf("the student let through is %s", st.State)
			}
			continue
		}
		inLine++
		if st.Position != inLine {
			t.Errorf("after letting the 7th through, number %d in line is shown at %d", inLine, st.Position)
		}
	}
}

// TestWindowForAndOpen: the window a class year waits in, and when it opens.
func TestWindowForAndOpen(t *testing.T) {
	f := newFixture(t)
	w2 := f.window(windowSpec{classYear: 2, prequeue: 10 * time.Minute})
	w3 := f.window(windowSpec{classYear: 3})
	r := f.room()
	f.clock.Set(opens.Add(-20 * time.Minute))
	f.refresh(r)
	if id, ok := r.WindowFor(2); ok {
		t.Errorf("before its pre-queue: WindowFor(2) = %d", id)
	}
	f.clock.Set(opens.Add(-5 * time.Minute))
	f.refresh(r)
	if id, ok := r.WindowFor(2); !ok || id != w2 || r.Open(w2) {
		t.Errorf("in the pre-queue: WindowFor(2) = %d, %v; Open %v", id, ok, r.Open(w2))
	}
	if id, ok := r.WindowFor(3); ok {
		t.Errorf("year 3 has no pre-queue, yet WindowFor(3) = %d", id)
	}
	if _, _, err := r.Join(f.ctx, w3, f.students(1)[0]); err == nil {
		t.Error("Join a window not yet queued: no error")
	}
	f.clock.Set(opens)
	f.refresh(r)
	if id, ok := r.WindowFor(3); !ok || id != w3 || !r.Open(w3) || !r.Open(w2) {
		t.Errorf("at opening: WindowFor(3) = %d, %v; Open %v %v", id, ok, r.Open(w3), r.Open(w2))
	}
	if id, ok := r.WindowFor(4); ok {
		t.Errorf("WindowFor(4) = %d", id)
	}
	f.clock.Set(opens.Add(2 * time.Hour))
	f.refresh(r)
	if id, ok := r.WindowFor(2); ok {
		t.Errorf("after closing: WindowFor(2) = %d", id)
	}
}

// TestRun: Run refreshes, ticks and flushes on its own until its context ends.
func TestRun(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 100})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	places := f.queue(r, w, 5)

	ctx, cancel := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx, time.Millisecond)
	}()
	// The fake clock moves 100 ms per real millisecond or so; the bound on iterations
	// only keeps a broken Run from hanging the test.
	admitted := func() bool {
		for _, p := range places {
			if r.Status(p).State != waitingroom.Admitted {
				return false
			}
		}
		return true
	}
	for i := 0; !admitted(); i++ {
		if i == 20000 {
			cancel()
			t.Fatalf("Run admitted %d of %d", f.admittedEver(w), len(places))
		}
		f.clock.Advance(100 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute): // a watchdog, not a measurement
		t.Fatal("Run did not return after its context ended")
	}
	if n := f.admittedEver(w); n != len(places) {
		t.Errorf("%d admitted, want %d", n, len(places))
	}
}

// TestRunWithoutLogger: Options.Logger may be left nil like the other options; Run must
// survive its first error (here, its context ending during a refresh).
func TestRunWithoutLogger(t *testing.T) {
	f := newFixture(t)
	f.window(windowSpec{})
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	r := f.room(func(o *waitingroom.Options) {
		o.Logger = nil
		o.Now = func() time.Time { cancel(); return opens } // the refresh that follows fails
	})
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("Run panicked: %v", p)
		}
	}()
	r.Run(ctx, time.Millisecond)
}
