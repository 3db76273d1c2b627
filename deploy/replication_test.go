// Package deploy_test tests the app's read-replica path against two real MariaDB
// servers in replication on loopback: a primary with a binary log and a replica that
// follows it, both started here as child processes with their data in the test's
// temporary folder (the same way deploy/local/stack starts the development server).
package deploy_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// mariadb is one private server.
type mariadb struct {
	dir, sock string
	port      int
	osUser    string
}

// freePort finds a free loopback port in [lo, hi]: the range this project's replication
// servers use, apart from the development stack's.
func freePort(t *testing.T, lo, hi int, taken ...int) int {
	t.Helper()
	for p := lo; p <= hi; p++ {
		if slices.Contains(taken, p) {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatalf("no free port in %d-%d", lo, hi)
	return 0
}

func binary(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/usr/bin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("%s is not installed: run `make test` (deploy/local/stack installs mariadb-server)", name)
	return ""
}

// installMariaDB makes an empty data folder, once: the replica starts from a copy.
func installMariaDB(t *testing.T, dir, osUser string) {
	t.Helper()
	out, err := exec.Command(binary(t, "mariadb-install-db"), "--no-defaults", "--datadir="+dir, "--user="+osUser,
		"--auth-root-authentication-method=socket", "--skip-test-db").CombinedOutput()
	if err != nil {
		t.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
}

// start runs mariadbd until the test ends.
func (m *mariadb) start(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"--no-defaults", "--datadir=" + filepath.Join(m.dir, "data"), "--socket=" + m.sock,
		"--pid-file=" + filepath.Join(m.dir, "mysqld.pid"), "--port=" + strconv.Itoa(m.port), "--bind-address=127.0.0.1",
		"--user=" + m.osUser, "--log-error=" + filepath.Join(m.dir, "error.log"), "--skip-name-resolve",
		"--innodb-buffer-pool-size=64M", "--innodb-flush-log-at-trx-commit=2",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"}, extra...)
	cmd := exec.Command(binary(t, "mariadbd"), args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	for i := 0; ; i++ {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(m.dir, "error.log"))
			t.Fatalf("mariadbd exited: %v\n%s", err, log)
		default:
		}
		if out, err := m.sql("SELECT 1"); err == nil && strings.TrimSpace(out) == "1" {
			return
		}
		if i > 300 {
			t.Fatalf("mariadbd on port %d does not answer", m.port)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// sql runs statements as the OS user's all-privilege account, over the socket.
func (m *mariadb) sql(stmts string) (string, error) {
	cmd := exec.Command("mariadb", "--no-defaults", "--socket="+m.sock, "-u"+m.osUser, "-N", "-B", "-e", stmts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %w\n%s", stmts, err, out)
	}
	return string(out), nil
}

func (m *mariadb) mustSQL(t *testing.T, stmts string) string {
	t.Helper()
	out, err := m.sql(stmts)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (m *mariadb) open(t *testing.T, userPass string) *sql.DB {
	t.Helper()
	sqldb, err := db.Open(context.Background(), fmt.Sprintf("%s@tcp(127.0.0.1:%d)/school", userPass, m.port), db.PoolOptions{MaxOpen: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqldb.Close() })
	return sqldb
}

// eventually polls cond until it holds; giving up after a minute is a failure, not a
// timed assertion (replication on loopback takes milliseconds).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startReplication starts a primary with a binary log and a replica following it
// (GTID), and returns them with the app's accounts made: school (everything, on the
// primary) and reader (SELECT only, used on the replica).
func startReplication(t *testing.T) (primary, replica *mariadb) {
	t.Helper()
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p1 := freePort(t, 3410, 3499)
	primary = &mariadb{dir: filepath.Join(dir, "primary"), port: p1, osUser: u.Username}
	replica = &mariadb{dir: filepath.Join(dir, "replica"), port: freePort(t, 3410, 3499, p1), osUser: u.Username}
	primary.sock, replica.sock = filepath.Join(primary.dir, "mysqld.sock"), filepath.Join(replica.dir, "mysqld.sock")
	for _, m := range []*mariadb{primary, replica} {
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	installMariaDB(t, filepath.Join(primary.dir, "data"), u.Username)
	if out, err := exec.Command("cp", "-a", filepath.Join(primary.dir, "data"), filepath.Join(replica.dir, "data")).CombinedOutput(); err != nil {
		t.Fatalf("copy the data folder: %v\n%s", err, out)
	}
	primary.start(t, "--server-id=1", "--log-bin=primary-bin", "--binlog-format=ROW", "--sync-binlog=0")
	replica.start(t, "--server-id=2", "--relay-log=replica-relay", "--read-only=ON", "--skip-slave-start")

	primary.mustSQL(t, `CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-pw';
		GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';`)
	replica.mustSQL(t, fmt.Sprintf(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%d,
		MASTER_USER='repl', MASTER_PASSWORD='repl-pw', MASTER_USE_GTID=slave_pos; START SLAVE;`, primary.port))
	// Made on the primary, replicated to the replica like everything else.
	primary.mustSQL(t, `CREATE DATABASE school;
		CREATE USER 'school'@'127.0.0.1' IDENTIFIED BY 'school-pw';
		GRANT ALL PRIVILEGES ON school.* TO 'school'@'127.0.0.1';
		CREATE USER 'reader'@'127.0.0.1' IDENTIFIED BY 'reader-pw';
		GRANT SELECT ON school.* TO 'reader'@'127.0.0.1';`)
	eventually(t, "the replica has the reader account", func() bool {
		out, _ := replica.sql("SELECT COUNT(*) FROM mysql.user WHERE user = 'reader'")
		return strings.TrimSpace(out) == "1"
	})
	return primary, replica
}

// TestReadReplica runs the app with ReadDB on the replica: the public catalog comes from
// the replica, a student's own standing (and every write) from the primary.
func TestReadReplica(t *testing.T) {
	primary, replica := startReplication(t)
	ctx := context.Background()
	pdb := primary.open(t, "school:school-pw")
	if _, err := db.Migrate(ctx, pdb); err != nil {
		t.Fatal(err)
	}
	rdb := replica.open(t, "reader:reader-pw")
	if _, err := rdb.Exec("INSERT INTO departments (code, name) VALUES ('X', 'x')"); err == nil {
		t.Fatal("the reader account could write on the replica")
	}

	// A term with one course, registration open for every year.
	q := db.New(pdb)
	must := func(id int64, err error) int64 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	dept := must(q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: "REP", Name: "Replication"}))
	term := must(q.InsertTerm(ctx, db.InsertTermParams{Code: "2027-1", Name: "Spring 2027", IsCurrent: true,
		StartsOn: time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), EndsOn: time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC)}))
	course := must(q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: dept, Code: "REP101", Title: "Binary Logs", Credits: 3}))
	if _, err := pdb.Exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)",
		term, time.Now().UTC().Add(-time.Hour), time.Now().UTC().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}

	dir := ldaptest.New(t)
	student := ldaptest.User{Username: "rita", Password: "rita-secret-1", Name: "Rita Replica", StudentNumber: "202700001",
		Department: "REP", ClassYear: 1, Groups: []string{"students"}}
	dir.AddUsers(t, student)
	srv, err := web.New(web.Options{DB: pdb, ReadDB: rdb, Directory: dir.Authenticator(t),
		Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), InsecureCookies: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	c := newClient(t, ts.URL)
	if res := c.post(t, "/login", url.Values{"username": {student.Username}, "password": {student.Password}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", res.StatusCode)
	}

	// A section written on the primary is in the catalog once it has replicated.
	s1 := insertSection(t, pdb, course, term, "01")
	eventually(t, "section 01 reaches the replica", func() bool { return countOn(t, rdb, s1) == 1 })
	rows := c.catalog(t)
	if _, ok := rows[s1]; !ok {
		t.Fatalf("section %d is on the replica but not in the catalog: %v", s1, rows)
	}
	seatsBefore := rows[s1].seats

	// Replication stops: what the primary gets now, the replica does not.
	replica.mustSQL(t, "STOP SLAVE")
	s2 := insertSection(t, pdb, course, term, "02")
	if countOn(t, pdb, s2) != 1 || countOn(t, rdb, s2) != 0 {
		t.Fatal("section 02 should be on the primary only")
	}
	rows = c.catalog(t)
	if _, ok := rows[s2]; ok {
		t.Fatal("section 02 is only on the primary, yet the catalog lists it: the catalog does not read the replica")
	}

	// The student registers (a write, on the primary) and at once sees it in the
	// catalog's row, which comes from the primary, while the row's seat count, from the
	// replica, is still the old one.
	res := c.post(t, "/registrations", url.Values{"section_id": {strconv.FormatInt(s1, 10)}})
	if got := res.Header.Get("X-Registration-Result"); got != "enrolled" {
		t.Fatalf("register: %d %q", res.StatusCode, got)
	}
	rows = c.catalog(t)
	if rows[s1].standing == "" {
		t.Error("the student's own registration does not show in the catalog row: it must be read from the primary")
	}
	if rows[s1].seats != seatsBefore {
		t.Errorf("seats %q, want the replica's stale %q: the seat count should come from the replica", rows[s1].seats, seatsBefore)
	}

	// Replication resumes: the catalog catches up.
	replica.mustSQL(t, "START SLAVE")
	eventually(t, "the catalog shows section 02 and the taken seat", func() bool {
		rows := c.catalog(t)
		_, has2 := rows[s2]
		return has2 && rows[s1].seats != seatsBefore
	})
}

func insertSection(t *testing.T, pdb *sql.DB, course, term int64, number string) int64 {
	t.Helper()
	res, err := pdb.Exec("INSERT INTO sections (course_id, term_id, number, instructor, room, capacity, enrolled) VALUES (?, ?, ?, 'Prof. Lamport', 'R1', 30, 0)",
		course, term, number)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	// A writer of the catalog bumps its version, so the app's rules see the section.
	if err := db.New(pdb).BumpCatalogVersion(context.Background()); err != nil {
		t.Fatal(err)
	}
	return id
}

func countOn(t *testing.T, sqldb *sql.DB, section int64) int {
	t.Helper()
	var n int
	if err := sqldb.QueryRow("SELECT COUNT(*) FROM sections WHERE id = ?", section).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// client is a browser-like client of the app: its own cookies, no redirects followed,
// forms posted from the app's own origin.
type client struct {
	base string
	http *http.Client
}

func newClient(t *testing.T, base string) *client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &client{base: base, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) post(t *testing.T, path string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}

type catalogRow struct{ seats, standing string }

// catalog returns the rows of the catalog's REP101 search, by section id.
func (c *client) catalog(t *testing.T) map[int64]catalogRow {
	t.Helper()
	res, err := c.http.Get(c.base + "/courses?q=REP101")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /courses: %d", res.StatusCode)
	}
	d, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int64]catalogRow{}
	d.Find(`[data-testid="section-row"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := strconv.ParseInt(s.AttrOr("data-section-id", ""), 10, 64)
		rows[id] = catalogRow{
			seats:    strings.TrimSpace(s.Find(`[data-testid="seats-left"]`).Text()),
			standing: strings.TrimSpace(s.Find(`[data-testid="standing"]`).Text()),
		}
	})
	return rows
}
