package waitingroom_test

import (
	"testing"

	"github.com/schoolservice/school/db"
)

// TestNextInLineReadsTheNextOnly: a tick's read of who is next costs what it returns,
// however many were admitted before them. By the position index (the optimizer's choice
// while most places wait) it stepped over every place admitted so far.
func TestNextInLineReadsTheNextOnly(t *testing.T) {
	f := newFixture(t)
	w := f.window(windowSpec{rate: 100})
	f.students(20000)
	// 400 admitted at the front of the line, 19,600 waiting behind them: the share of the
	// polling benchmark, where the optimizer chose otherwise.
	f.exec(`INSERT INTO waiting_room_tickets (window_id, user_id, prequeue, joined_at, last_seen_at, changed_at, arrival, position, state)
		SELECT ?, id, FALSE, NOW(6), NOW(6), NOW(6), n, n, IF(n <= 400, 'admitted', 'waiting')
		FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n FROM users WHERE role = 'student') s`, w)
	f.exec("ANALYZE TABLE waiting_room_tickets")

	conn, err := f.db.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reads := func() int64 { // index entries read by this connection so far
		t.Helper()
		var total int64
		for _, name := range []string{"Handler_read_key", "Handler_read_next", "Handler_read_first", "Handler_read_rnd_next"} {
			var k string
			var v int64
			if err := conn.QueryRowContext(f.ctx, "SHOW SESSION STATUS LIKE ?", name).Scan(&k, &v); err != nil {
				t.Fatal(err)
			}
			total += v
		}
		return total
	}
	before := reads()
	next, err := db.New(conn).NextInLine(f.ctx, db.NextInLineParams{WindowID: w, Limit: 25})
	if err != nil {
		t.Fatal(err)
	}
	read := reads() - before // SHOW STATUS reads no index: nothing else counts
	if len(next) != 25 {
		t.Fatalf("%d next in line, want 25", len(next))
	}
	if read > 40 {
		t.Errorf("reading the next 25 read %d index entries, want about 25 (not the 400 admitted before them)", read)
	}
}
