package web_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/schoolservice/school/web"
)

// shiftedClock is the real clock moved forward by a settable amount.
type shiftedClock struct{ offset atomic.Int64 }

func (c *shiftedClock) Now() time.Time           { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *shiftedClock) Shift(d time.Duration)    { c.offset.Store(int64(d)) }
func (c *shiftedClock) configure(o *web.Options) { o.Now = c.Now }
func shuffleSecret(o *web.Options) {
	o.ShuffleSecret = []byte("web tests' shuffle secret, 32 bytes or more")
}

// TestVerifiableShuffle: the commitment is public (on the list page, and on /queue once
// the pre-queue opens) before the opening; before it, nothing in the database gives the
// seed; at the opening the seed and the whole shuffle are revealed, and a program of the
// test's own recomputes every place from them; the student's page confirms their place.
func TestVerifiableShuffle(t *testing.T) {
	t.Parallel()
	var clock shiftedClock
	app := newTestApp(t, insecureCookies, clock.configure, shuffleSecret, func(o *web.Options) { o.QueuePoll = 100 * time.Millisecond })
	seedCatalog(t, app.DB)
	start := time.Now().UTC()
	prequeueOpens, opens := start.Add(30*time.Minute), start.Add(time.Hour)
	queueWindow(t, app, fmt.Sprintf(", admit_per_second = 0, prequeue_opens_at = '%s', opens_at = '%s', closes_at = '%s'",
		prequeueOpens.Format("2006-01-02 15:04:05.000000"), opens.Format("2006-01-02 15:04:05.000000"), start.Add(24*time.Hour).Format("2006-01-02 15:04:05.000000")))
	catalogChanged(t, app.DB)
	var window int64
	if err := app.DB.QueryRow("SELECT id FROM registration_windows").Scan(&window); err != nil {
		t.Fatal(err)
	}
	listPath := "/queue/shuffle/" + itoa(window)
	anon := app.client(t)

	// Before the pre-queue opens: the commitment is published, the seed is not.
	var commitment string
	eventually(t, "the commitment to be published", func() bool {
		res, body := app.get(t, anon, listPath)
		if res.StatusCode != http.StatusOK {
			return false
		}
		for line := range strings.Lines(body) {
			if c, ok := strings.CutPrefix(strings.TrimSpace(line), "commitment "); ok {
				commitment = c
			}
		}
		if strings.Contains(body, "\nseed ") {
			t.Fatalf("the seed is published before the opening:\n%s", body)
		}
		return len(commitment) == 64
	})

	// The pre-queue opens: alice and 60 others arrive.
	clock.Shift(prequeueOpens.Sub(start) + time.Second)
	c := app.client(t)
	app.login(t, c, alice)
	var place, joined string
	eventually(t, "alice's place in the pre-queue", func() bool {
		res, body := app.post(t, c, "/queue", nil, hx, "true")
		place, joined = testid(t, body, "queue-prequeue"), body
		if res.StatusCode == http.StatusOK && place != "" {
			if got := testid(t, body, "queue-commitment"); !strings.Contains(got, commitment) {
				t.Fatalf("/queue in the pre-queue shows %q, want the commitment %s", got, commitment)
			}
			return true
		}
		return false
	})
	// Half an hour before the opening the page polls at three times the set interval
	// (100 ms here), give or take a fifth: nothing changes in the pre-queue until then.
	if m := regexp.MustCompile(`load delay:(\d+)ms`).FindStringSubmatch(joined); m == nil {
		t.Fatalf("the pre-queue page sets no next poll:\n%s", joined)
	} else if ms, _ := strconv.Atoi(m[1]); ms < 240 || ms > 360 {
		t.Errorf("the pre-queue page polls again in %d ms, want 300 ms ± a fifth", ms)
	}
	var users, tickets [][]any
	for i := range 60 {
		users = append(users, []any{fmt.Sprintf("pq%02d", i), "Pre Queue", "student", 2, 18})
	}
	bulk(t, app, "users", []string{"username", "display_name", "role", "class_year", "credit_limit"}, users)
	rows, err := app.DB.Query("SELECT id FROM users WHERE username LIKE 'pq%'")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		at := prequeueOpens.Add(2 * time.Second)
		tickets = append(tickets, []any{window, id, true, at, at, at})
	}
	rows.Close()
	bulk(t, app, "waiting_room_tickets", []string{"window_id", "user_id", "prequeue", "joined_at", "last_seen_at", "changed_at"}, tickets)

	// Everything the database holds about the room and the app's keys, before the opening.
	var dump []string
	for _, q := range []string{
		"SELECT CONCAT_WS('|', window_id, shuffle_commitment, COALESCE(shuffle_nonce, ''), COALESCE(shuffle_seed, '')) FROM waiting_room_state",
		"SELECT HEX(value) FROM app_secrets",
	} {
		rs, err := app.DB.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var s string
			rs.Scan(&s)
			dump = append(dump, strings.ToLower(s))
		}
		rs.Close()
	}
	var nonce string
	var storedSeed *string
	if err := app.DB.QueryRow("SELECT shuffle_nonce, shuffle_seed FROM waiting_room_state WHERE window_id = ?", window).Scan(&nonce, &storedSeed); err != nil || storedSeed != nil {
		t.Fatalf("before the opening the database holds seed %v (%v); want none", storedSeed, err)
	}
	var passKey []byte
	if err := app.DB.QueryRow("SELECT value FROM app_secrets WHERE name = 'waiting_room'").Scan(&passKey); err != nil {
		t.Fatal(err)
	}

	// The opening: the next tick shuffles and reveals.
	clock.Shift(opens.Sub(start) + time.Second)
	var list string
	eventually(t, "the reveal", func() bool {
		_, list = app.get(t, anon, listPath)
		return strings.Contains(list, "\nseed ")
	})

	// An outside program: read the text, recompute everything with its own code.
	var seed string
	var order []int64
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "commitment" && len(f) == 2:
			if f[1] != commitment {
				t.Fatalf("commitment changed from %s to %s", commitment, f[1])
			}
		case f[0] == "seed" && len(f) == 2:
			seed = f[1]
		case len(f) == 2:
			n, err1 := strconv.Atoi(f[0])
			id, err2 := strconv.ParseInt(f[1], 10, 64)
			if err1 != nil || err2 != nil || n != len(order)+1 {
				t.Fatalf("bad line %q", sc.Text())
			}
			order = append(order, id)
		default:
			t.Fatalf("bad line %q", sc.Text())
		}
	}
	if sum := sha256.Sum256([]byte(seed)); hex.EncodeToString(sum[:]) != commitment {
		t.Fatalf("SHA-256 of the revealed seed %s is %x, not the commitment %s", seed, sum, commitment)
	}
	key := func(id int64) string {
		sum := sha256.Sum256([]byte(seed + ":" + strconv.FormatInt(id, 10)))
		return hex.EncodeToString(sum[:])
	}
	recomputed := append([]int64(nil), order...)
	sort.Slice(recomputed, func(i, j int) bool { return key(recomputed[i]) < key(recomputed[j]) })
	if len(order) != 61 {
		t.Fatalf("%d places in the reveal, want 61", len(order))
	}
	stored := map[int64]int{}
	rs, err := app.DB.Query("SELECT id, shuffle_position FROM waiting_room_tickets WHERE window_id = ? AND prequeue", window)
	if err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		var id int64
		var pos int
		rs.Scan(&id, &pos)
		stored[id] = pos
	}
	rs.Close()
	for i, id := range recomputed {
		if order[i] != id || stored[id] != i+1 {
			t.Fatalf("place %d: recomputed ticket %d, published %d, the database has ticket %d at %d", i+1, id, order[i], id, stored[id])
		}
	}
	sorted := append([]int64(nil), order...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	if fmt.Sprint(sorted) == fmt.Sprint(order) {
		t.Error("the shuffle is the arrival order")
	}

	// The seed was nowhere in the database before the opening, and the keys it held do
	// not give it.
	for _, d := range dump {
		if strings.Contains(d, seed) {
			t.Errorf("the seed was in the database before the opening: %q", d)
		}
	}
	m := hmac.New(sha256.New, passKey)
	fmt.Fprintf(m, "school waiting room shuffle:%d:%s", window, nonce)
	if hex.EncodeToString(m.Sum(nil)) == seed {
		t.Error("the seed is derived from a key stored in the database")
	}

	// Alice's page confirms her place.
	var ticket, pos int64
	if err := app.DB.QueryRow("SELECT id, shuffle_position FROM waiting_room_tickets WHERE window_id = ? AND user_id = (SELECT id FROM users WHERE username = 'alice')", window).Scan(&ticket, &pos); err != nil {
		t.Fatal(err)
	}
	res, body := app.get(t, c, "/queue/shuffle")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/queue/shuffle: %d", res.StatusCode)
	}
	want := fmt.Sprintf("%d of 61", pos)
	if testid(t, body, "shuffle-ticket") != itoa(ticket) || testid(t, body, "shuffle-place") != want ||
		testid(t, body, "shuffle-recomputed") != want || testid(t, body, "shuffle-verified") == "" ||
		testid(t, body, "shuffle-seed") != seed || testid(t, body, "shuffle-commitment") != commitment {
		t.Errorf("alice's shuffle page: ticket %q place %q recomputed %q verified %q; want ticket %d at %s, verified\n%s",
			testid(t, body, "shuffle-ticket"), testid(t, body, "shuffle-place"), testid(t, body, "shuffle-recomputed"),
			testid(t, body, "shuffle-verified"), ticket, want, testid(t, body, "queue-shuffle"))
	}
}
