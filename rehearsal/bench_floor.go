package rehearsal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/schoolservice/school/db"
)

// floorServer is the floor under the app's HTTP phases, measured in the same run: the
// least an HTTP server can do for a registration and a sign-in as issue 15 keeps them,
// and nothing else. Issue 15 asks the app for 0.6 of the bare transaction's rate and of
// the raw LDAP loop's; the floor shows how much of that any server reaches on this
// machine, and how far the app is from it.
//
//   - POST /registrations: the session's read (the app's statement; the issue keeps it),
//     then the bare transaction (bareRegister), over net/http. No router, no cross-origin
//     check, no rules, no request key, no page: the answer is the result, in the header
//     and as the body.
//   - POST /login: the raw loop's search and bind (ldapLoop), then one session written
//     (the app's CommitSession), the one durable commit the issue allows a sign-in, and
//     the cookie with a redirect.
//
// It serves in the bench's own process, on the bench's own database pool, so its CPU
// shows as the load generator's. Its user is read from the bench's table of the sessions
// it signed in, not decoded from the session's data: a few microseconds less than any
// server could do, so the floor stays a floor.
type floorServer struct {
	url    string
	client *benchClient // the load generator's connections to it
	srv    *http.Server
	db     *sql.DB
	q      *db.Queries
	term   int64
	// users is the bench's sessions (token -> user id) and ldap the raw loop's pools,
	// each stored once before the floor's phase that needs it.
	users   atomic.Pointer[map[string]int64]
	ldap    atomic.Pointer[ldapLoop]
	courses map[int64]int64 // section -> course
	// session is what a floor sign-in stores: as long as the app's session of a student.
	session []byte
}

func (b *bench) startFloor() (*floorServer, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &floorServer{url: "http://" + l.Addr().String(), client: newBenchClient(l.Addr().String(), b.cfg.Clients+16),
		db: b.db, q: b.q, term: b.data.term, courses: map[int64]int64{}, session: make([]byte, 160)}
	for _, s := range b.data.room {
		f.courses[s.id] = s.course
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /registrations", f.register)
	mux.HandleFunc("POST /login", f.login)
	f.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(l)
	return f, nil
}

func (f *floorServer) close() {
	f.client.conns.close()
	f.srv.Close()
}

func (f *floorServer) register(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	sec, err := strconv.ParseInt(r.PostFormValue("section_id"), 10, 64)
	course, known := f.courses[sec]
	if err != nil || !known {
		http.Error(w, "no such section", http.StatusBadRequest)
		return
	}
	if _, err := f.q.FindSession(ctx, db.FindSessionParams{Token: cookie.Value, Now: time.Now().UTC()}); err != nil {
		floorFailed(w, err, http.StatusUnauthorized)
		return
	}
	users := f.users.Load()
	if users == nil {
		floorFailed(w, errors.New("no sessions yet"), 0)
		return
	}
	uid, ok := (*users)[cookie.Value]
	if !ok {
		http.Error(w, "not one of the bench's sessions", http.StatusUnauthorized)
		return
	}
	result, err := bareRegister(ctx, f.db, uid, benchSection{id: sec, course: course}, f.term)
	if err != nil {
		floorFailed(w, err, 0)
		return
	}
	w.Header().Set(resultHeader, result)
	w.Write([]byte(result))
}

func (f *floorServer) login(w http.ResponseWriter, r *http.Request) {
	loop := f.ldap.Load()
	if loop == nil {
		floorFailed(w, errors.New("no directory pools yet"), 0)
		return
	}
	if err := loop.signIn(r.PostFormValue("username"), r.PostFormValue("password")); err != nil {
		http.Error(w, "sign-in refused", http.StatusUnauthorized)
		return
	}
	token := rand.Text()
	if err := f.q.CommitSession(r.Context(), db.CommitSessionParams{Token: token, Data: f.session,
		Expiry: time.Now().Add(12 * time.Hour).UTC()}); err != nil {
		floorFailed(w, err, 0)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// floorFailed answers a failed statement: notFound when it found no row (and notFound is
// not 0), 503 otherwise.
func floorFailed(w http.ResponseWriter, err error, notFound int) {
	if notFound != 0 && errors.Is(err, sql.ErrNoRows) {
		http.Error(w, "not found", notFound)
		return
	}
	w.Header().Set("Retry-After", "1")
	http.Error(w, "unavailable", http.StatusServiceUnavailable)
}

// bareRegister is the bare registration transaction: the app's own statements for the
// student's lock, the seat and the enrollment (db.LockStudent, db.TakeSeat,
// db.InsertEnrollment), in db.InTx as the app runs them, and nothing else. It answers
// enrolled or full.
func bareRegister(ctx context.Context, sqldb *sql.DB, uid int64, sec benchSection, term int64) (string, error) {
	result := ""
	err := db.InTx(ctx, sqldb, func(q *db.Queries) error {
		if _, err := q.LockStudent(ctx, uid); err != nil {
			return err
		}
		n, err := q.TakeSeat(ctx, sec.id)
		if err != nil {
			return err
		}
		if n == 0 {
			result = "full"
			return nil
		}
		result = "enrolled"
		return q.InsertEnrollment(ctx, db.InsertEnrollmentParams{UserID: uid, SectionID: sec.id, CourseID: sec.course,
			TermID: term, Source: db.EnrollmentsSourceRegister})
	})
	if err != nil {
		return "", err
	}
	return result, nil
}
