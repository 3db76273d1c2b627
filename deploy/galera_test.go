package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// galera is a Galera stack the test started with deploy/local/stack in a folder of its
// own, on ports of its own.
type galera struct {
	env []string
	dsn string
	dir string // the stack's folder (SCHOOL_STACK_DIR)
}

func (g *galera) stack(t *testing.T, verb string) string {
	t.Helper()
	cmd := exec.Command("local/stack", verb)
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stack %s: %v\n%s", verb, err, out)
	}
	return string(out)
}

// freeBlock finds base in [lo, hi] such that every base+offset is a free loopback port.
func freeBlock(t *testing.T, lo, hi int, offsets ...int) int {
	t.Helper()
next:
	for base := lo; base <= hi; base++ {
		for _, o := range offsets {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+o))
			if err != nil {
				continue next
			}
			l.Close()
		}
		return base
	}
	t.Fatalf("no free ports from %d to %d", lo, hi)
	return 0
}

// diagnose logs what a failed run leaves behind and the cleanup removes: each node's
// state as the stack script sees it, and the end of each node's error log.
func (g *galera) diagnose(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "local/stack", "galera-status")
	cmd.Env = append(os.Environ(), g.env...)
	out, err := cmd.CombinedOutput()
	t.Logf("galera-status (%v):\n%s", err, out)
	for n := 1; n <= 3; n++ {
		b, err := os.ReadFile(filepath.Join(g.dir, "galera", "n"+strconv.Itoa(n), "error.log"))
		if err != nil {
			t.Logf("n%d: %v", n, err)
			continue
		}
		t.Logf("n%d error.log, its end without the reconnection attempts:\n%s", n, tail(clusterLines(b), 4000))
	}
}

// clusterLines drops from a node's log the lines it repeats every second while a peer is
// gone (its attempts to reconnect), which would fill the end of a failed run's log.
func clusterLines(log []byte) []byte {
	var out []byte
	for line := range bytes.Lines(log) {
		if !bytes.Contains(line, []byte("Failed to establish connection")) && !bytes.Contains(line, []byte("reconnecting to")) {
			out = append(out, line...)
		}
	}
	return out
}

// startGalera brings up three nodes and haproxy with the stack script, and takes them
// down when the test ends.
func startGalera(t *testing.T) *galera {
	t.Helper()
	dir := t.TempDir()
	// The nodes run as mysql when the tests run as root: they must reach their folders.
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freeBlock(t, 3460, 3496, 0, 1, 2, 3)
	gcomm := freeBlock(t, 4560, 4576, 1, 2, 3, 11, 12, 13, 21, 22, 23)
	g := &galera{dir: dir, env: []string{"SCHOOL_STACK_DIR=" + dir, "SCHOOL_STACK_GALERA_PORT=" + strconv.Itoa(port),
		"SCHOOL_STACK_GALERA_GCOMM_PORT=" + strconv.Itoa(gcomm)}}
	t.Cleanup(func() {
		if t.Failed() {
			g.diagnose(t)
		}
		cmd := exec.Command("local/stack", "galera-down")
		cmd.Env = append(os.Environ(), g.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("stack galera-down: %v\n%s", err, out)
		}
	})
	t.Log(strings.TrimSpace(g.stack(t, "galera-up")))
	f, err := os.Open(filepath.Join(dir, "galera.env"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for s := bufio.NewScanner(f); s.Scan(); {
		if v, ok := strings.CutPrefix(s.Text(), "SCHOOL_DB_DSN="); ok {
			g.dsn = strings.Trim(v, "'")
		}
	}
	if g.dsn == "" {
		t.Fatal("galera.env has no SCHOOL_DB_DSN")
	}
	return g
}

// TestGaleraWriterKilled: students register through the app while the Galera writer is
// killed (SIGKILL). haproxy moves to a backup node, the app rides through (retries, or
// 503 with Retry-After that the students answer by sending the same request again),
// and afterwards every answer a student got is what the database holds: nothing told
// "enrolled" is lost, nothing is held that nobody was told, no section oversold, and no
// request answered 500. The killed node then rejoins by incremental transfer and holds
// the same rows as the others.
func TestGaleraWriterKilled(t *testing.T) {
	g := startGalera(t)
	ctx := context.Background()
	sqldb, err := db.Open(ctx, g.dsn, db.PoolOptions{MaxOpen: 32, MaxIdle: 32})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqldb.Close() })
	if _, err := db.Migrate(ctx, sqldb); err != nil {
		t.Fatal(err)
	}

	// Six courses of 3 credits with 40 seats each; 50 students each try all six: 300
	// registrations, 60 of them too many.
	const students, courses, seats = 50, 6, 40
	q := db.New(sqldb)
	must := func(id int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dept := must(q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "GAL", Name: "Galera"}))
	term := must(q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)}))
	if _, err := sqldb.Exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)",
		term, time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	var sections []int64
	for i := range courses {
		course := must(q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: dept, Code: fmt.Sprintf("GAL10%d", i), Title: "Certification", Credits: 3}))
		id := insertSection(t, sqldb, course, term, "01")
		if _, err := sqldb.Exec("UPDATE sections SET capacity = ? WHERE id = ?", seats, id); err != nil {
			t.Fatal(err)
		}
		sections = append(sections, id)
	}
	if err := q.BumpCatalogVersion(ctx); err != nil {
		t.Fatal(err)
	}

	dir := ldaptest.New(t)
	users := make([]ldaptest.User, students)
	for i := range users {
		users[i] = ldaptest.User{Username: fmt.Sprintf("gal%03d", i), Password: "galera-secret-1", Name: "Gale Ra",
			StudentNumber: fmt.Sprintf("2027%05d", i), Department: "GAL", ClassYear: 1, Groups: []string{"students"}}
	}
	dir.AddUsers(t, users...)
	srv, err := web.New(web.Options{DB: sqldb, Directory: dir.Authenticator(t), Logger: slog.New(slog.DiscardHandler),
		Registry: prometheus.NewRegistry(), InsecureCookies: true, RequestLimit: web.RequestLimit{Burst: 100, PerSecond: 100}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	clients := make([]*client, students)
	for i, u := range users {
		clients[i] = newClient(t, ts.URL)
		if res := clients[i].post(t, "/login", url.Values{"username": {u.Username}, "password": {u.Password}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("login %s: %d", u.Username, res.StatusCode)
		}
	}

	// The rush. Each request is sent until it is answered, with the same key, as the
	// page's button does; the writer is killed once a third of them are answered.
	type answer struct {
		student int
		section int64
		result  string
	}
	var (
		mu                    sync.Mutex
		answers               []answer
		answered              atomic.Int32
		refused, serverErrors atomic.Int32
		gaveUp                atomic.Int32       // students who stopped at a request refused for giveUp
		refusedBy             = map[string]int{} // each refusal's status and Location, under mu
		stop                  atomic.Bool        // the test is ending: the students stop
		killed                = make(chan struct{})
		wg                    sync.WaitGroup
	)
	// A failover takes seconds; a request still refused after this long is a failure,
	// reported with what it was told, not a test that hangs until go test's timeout.
	const giveUp = 2 * time.Minute
	for i, c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 21))
			for _, sec := range sections {
				time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond) // a student's pause
				form := url.Values{"section_id": {strconv.FormatInt(sec, 10)}, "request_key": {fmt.Sprintf("k-%d-%d", i, sec)}}
				for start := time.Now(); ; {
					if stop.Load() {
						return
					}
					if time.Since(start) > giveUp {
						gaveUp.Add(1)
						return
					}
					res, err := c.try(form)
					if err != nil {
						t.Errorf("student %d, section %d: no answer: %v", i, sec, err)
						return
					}
					if res.StatusCode >= 500 && (res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "") {
						serverErrors.Add(1)
						t.Errorf("student %d, section %d: %d (Retry-After %q)", i, sec, res.StatusCode, res.Header.Get("Retry-After"))
					}
					if got := res.Header.Get("X-Registration-Result"); got != "" && res.StatusCode < 500 {
						mu.Lock()
						answers = append(answers, answer{i, sec, got})
						mu.Unlock()
						if answered.Add(1) == students*courses/3 {
							close(killed)
						}
						break
					}
					refused.Add(1)
					mu.Lock()
					refusedBy[res.Status+" "+res.Header.Get("Location")]++
					mu.Unlock()
					time.Sleep(200 * time.Millisecond) // Retry-After, shortened
				}
			}
		})
	}
	// A fatal failure below (the stack's kill failing) ends this goroutine: the students
	// stop too, rather than send requests through the cleanups.
	defer stop.Store(true)
	rushed := make(chan struct{})
	go func() { wg.Wait(); close(rushed) }()
	select {
	case <-killed:
		t.Log(strings.TrimSpace(g.stack(t, "galera-kill-writer")))
	case <-rushed:
		t.Fatalf("the rush ended before a third of it was answered: the writer was never killed")
	}
	<-rushed
	t.Logf("figures: %d answers, %d refusals resent (by status: %v), %d server errors", len(answers), refused.Load(), refusedBy, serverErrors.Load())
	if n := gaveUp.Load(); n > 0 {
		t.Fatalf("%d students gave up on a request still refused %v after it was first sent", n, giveUp)
	}
	if serverErrors.Load() > 0 {
		t.Errorf("%d requests answered 5xx without Retry-After, or 500", serverErrors.Load())
	}

	// What the students were told against what the database holds.
	userID := map[string]int{}
	for i, u := range users {
		userID[u.Username] = i
	}
	rows, err := sqldb.Query(`SELECT u.username, e.section_id FROM enrollments e JOIN users u ON u.id = e.user_id`)
	if err != nil {
		t.Fatal(err)
	}
	held := map[[2]int64]bool{}
	for rows.Next() {
		var name string
		var sec int64
		if err := rows.Scan(&name, &sec); err != nil {
			t.Fatal(err)
		}
		held[[2]int64{int64(userID[name]), sec}] = true
	}
	rows.Close()
	told := map[[2]int64]bool{}
	enrolled := 0
	for _, a := range answers {
		if a.result != "enrolled" {
			continue
		}
		enrolled++
		k := [2]int64{int64(a.student), a.section}
		told[k] = true
		if !held[k] {
			t.Errorf("lost: %s was told enrolled in section %d; the database has no such enrollment", users[a.student].Username, a.section)
		}
	}
	for k := range held {
		if !told[k] {
			t.Errorf("unexplained: %s holds section %d without having been told", users[k[0]].Username, k[1])
		}
	}
	if enrolled != courses*seats {
		t.Errorf("%d students told enrolled, want every one of the %d seats taken", enrolled, courses*seats)
	}
	var over int
	if err := sqldb.QueryRow(`SELECT COUNT(*) FROM sections s WHERE s.enrolled > s.capacity
		OR s.enrolled <> (SELECT COUNT(*) FROM enrollments e WHERE e.section_id = s.id)`).Scan(&over); err != nil || over != 0 {
		t.Errorf("%d sections oversold or miscounted (%v)", over, err)
	}

	// The killed node comes back by incremental transfer, with the same rows as the rest.
	out := g.stack(t, "galera-rejoin")
	t.Log(strings.TrimSpace(out))
	if !strings.Contains(out, "incremental transfer") {
		t.Errorf("the killed node did not rejoin by incremental transfer:\n%s", out)
	}
	cfg, err := db.Config(g.dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxyPort, _ := strconv.Atoi(cfg.Addr[strings.LastIndex(cfg.Addr, ":")+1:])
	for n := 1; n <= 3; n++ {
		node := *cfg
		node.Addr = "127.0.0.1:" + strconv.Itoa(proxyPort+n)
		node.Params = map[string]string{"wsrep_sync_wait": "1"} // read after everything the node has received
		ndb, err := sql.Open("mysql", node.FormatDSN())
		if err != nil {
			t.Fatal(err)
		}
		var count int
		err = ndb.QueryRow("SELECT COUNT(*) FROM enrollments").Scan(&count)
		ndb.Close()
		if err != nil || count != len(held) {
			t.Errorf("node n%d holds %d enrollments (%v), want %d", n, count, err, len(held))
		}
	}
}

// try posts a registration form and gives the response back, whatever its status.
func (c *client) try(form url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, c.base+"/registrations", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	res.Body.Close()
	return res, nil
}
