package web

import (
	"context"
	"time"

	"github.com/schoolservice/school/db"
)

// sessionStore keeps the sessions in MySQL, in the table and with the meaning of scs's
// mysqlstore, so every replica sees every sign-in. It is the app's own for two things
// the request path needs: it takes the request's context (a request whose client has
// gone stops waiting for its session, and a database outage costs the request its
// deadline, not the driver's), and it reads a session as a prepared statement
// (db.NewPrepared), the first statement of every signed-in request. Expired sessions are
// swept by the server (sweep), not by the store. Expiry is by the real clock, as scs
// sets it, never by a test's (Options.Now).
type sessionStore struct {
	q *db.Queries
}

func (s sessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, err := s.q.FindSession(ctx, db.FindSessionParams{Token: token, Now: time.Now().UTC()})
	if isNoRows(err) {
		return nil, false, nil
	}
	return b, err == nil, err
}

func (s sessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return s.q.CommitSession(ctx, db.CommitSessionParams{Token: token, Data: b, Expiry: expiry.UTC()})
}

// DeleteCtx deletes the session even when the request's client has gone: a student who
// signs out and closes the tab at once never gets the answer that drops their cookie, so
// on a shared computer the session must end in the database regardless.
func (s sessionStore) DeleteCtx(ctx context.Context, token string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sessionDeleteTimeout)
	defer cancel()
	return s.q.DeleteSession(ctx, token)
}

// sessionDeleteTimeout bounds a sign-out that outlives its request.
const sessionDeleteTimeout = 5 * time.Second

// AllCtx serves scs's Iterate (endSessions).
func (s sessionStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.q.AllSessions(ctx, time.Now().UTC())
	if err != nil {
		return nil, err
	}
	all := make(map[string][]byte, len(rows))
	for _, r := range rows {
		all[r.Token] = r.Data
	}
	return all, nil
}

// The context-free forms scs's Store interface asks for; scs calls the ones above.

func (s sessionStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

func (s sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

func (s sessionStore) Delete(token string) error {
	return s.DeleteCtx(context.Background(), token)
}

func (s sessionStore) All() (map[string][]byte, error) {
	return s.AllCtx(context.Background())
}
