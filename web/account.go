package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
)

const (
	// checkPause is how long a replica leaves accounts unchecked after a check found the
	// directory (or the database) not answering: an outage costs one failed search per
	// pause, not one per request, and nobody is signed out for it.
	checkPause = 30 * time.Second
	// maxChecks is how many checks one replica runs at once. They share the directory's
	// search connections with sign-ins; a request that finds no check free goes on and
	// its session is checked on a later one.
	maxChecks = 2
)

// accountChecks spaces the account checks of one replica.
type accountChecks struct {
	mu      sync.Mutex
	running int
	paused  time.Time // no checks before this
}

func (c *accountChecks) start(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.paused) || c.running >= maxChecks {
		return false
	}
	c.running++
	return true
}

func (c *accountChecks) done() {
	c.mu.Lock()
	c.running--
	c.mu.Unlock()
}

func (c *accountChecks) pause(until time.Time) {
	c.mu.Lock()
	if until.After(c.paused) {
		c.paused = until
	}
	c.mu.Unlock()
}

// checkAccount asks the directory about the signed-in account again and reports whether
// its session may go on. An account that is gone or in none of the school's groups ends
// it, and so does staff having ended the account's sessions since the session was last
// checked (a session a request in flight wrote back after the delete). A changed role,
// name or class year is written to the session and to the users row. When the directory
// or the database does not answer, the session goes on unchecked and this replica tries
// again after checkPause.
func (s *Server) checkAccount(r *http.Request, now time.Time) bool {
	if !s.checks.start(now) {
		return true
	}
	defer s.checks.done()
	ctx := r.Context()
	u, _ := s.sessionUser(ctx) // withUser has not run yet: this check may change the user
	checked := s.sessions.GetInt64(ctx, sessChecked)
	ended := func(reason string) bool {
		s.log.InfoContext(ctx, "session ended", slog.String("username", u.Username), slog.String("reason", reason))
		return false
	}

	row, err := s.q.AccountCheck(ctx, u.ID)
	switch {
	case isNoRows(err):
		return ended("the account is no longer in the database")
	case err != nil:
		return s.checkFailed(r, now, u, fmt.Errorf("read account %d: %w", u.ID, err))
	case row.SessionsEndedAt.Valid && checked < row.SessionsEndedAt.Time.UnixMicro():
		return ended("staff ended the account's sessions")
	}

	id, err := s.dir.Lookup(ctx, u.Username)
	switch {
	case errors.Is(err, ErrNoAccount):
		return ended("the account is gone from the directory")
	case errors.Is(err, ErrNoRole):
		return ended("the account is in none of the school's groups")
	case err != nil:
		return s.checkFailed(r, now, u, err)
	}

	// The directory has the last word, in the session at once even when the users row
	// cannot be written now: a demotion never waits for the database.
	if id.Role != u.Role || id.DisplayName != u.Name || id.ClassYear != u.Year {
		s.log.InfoContext(ctx, "account changed in the directory", slog.String("username", u.Username),
			slog.String("role", u.Role), slog.String("new_role", id.Role))
		s.sessions.Put(ctx, sessRole, id.Role)
		s.sessions.Put(ctx, sessName, id.DisplayName)
		s.sessions.Put(ctx, sessYear, id.ClassYear)
	}
	if id.Role != string(row.Role) || id.DisplayName != row.DisplayName || id.ClassYear != int(row.ClassYear.Int16) {
		// Not a sign-in: the last one recorded stays.
		if _, err := s.upsertUser(ctx, id, sql.NullTime{}); err != nil {
			return s.checkFailed(r, now, u, err)
		}
	}
	s.sessions.Put(ctx, sessChecked, now.UnixMicro())
	s.sessions.Put(ctx, sessSeen, now.Unix())
	return true
}

// checkFailed logs a check that could not be made, once, and pauses the checks of this
// replica; the session goes on. A client that went away is no failure of the directory:
// its request's check is dropped without a pause.
func (s *Server) checkFailed(r *http.Request, now time.Time, u sessionUser, err error) bool {
	if r.Context().Err() != nil {
		return true
	}
	s.checks.pause(now.Add(checkPause))
	s.log.WarnContext(r.Context(), "account not checked; the session goes on", slog.String("username", u.Username),
		slog.Duration("next_try_in", checkPause), slog.Any("error", err))
	return true
}

// upsertUser writes the directory's view of the account into MySQL and returns its id.
// lastLogin is the sign-in being recorded; NULL keeps the one there.
func (s *Server) upsertUser(ctx context.Context, id Identity, lastLogin sql.NullTime) (int64, error) {
	res, err := s.q.UpsertUser(ctx, db.UpsertUserParams{
		Username:       id.Username,
		StudentNumber:  sql.NullString{String: id.StudentNumber, Valid: id.StudentNumber != ""},
		DisplayName:    id.DisplayName,
		Email:          id.Email,
		Role:           db.UsersRole(id.Role),
		DepartmentCode: id.Department,
		ClassYear:      sql.NullInt16{Int16: int16(id.ClassYear), Valid: id.ClassYear > 0},
		LastLoginAt:    lastLogin,
	})
	if err != nil {
		return 0, fmt.Errorf("sync user %q: %w", id.Username, err)
	}
	userID, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sync user %q: %w", id.Username, err)
	}
	return userID, nil
}

// endSessions deletes every stored session of the account. Sessions live in MySQL only,
// so this ends them on every replica: each one's next request finds none. It reads every
// stored session to find them (the store knows no owner), which suits a staff action, not
// a request path. It returns how many it ended.
func (s *Server) endSessions(ctx context.Context, userID int64) (int, error) {
	n := 0
	err := s.sessions.Iterate(ctx, func(ctx context.Context) error {
		if s.sessions.GetInt64(ctx, sessUserID) != userID {
			return nil
		}
		n++
		return s.sessions.Destroy(ctx)
	})
	if err != nil {
		return n, fmt.Errorf("end the sessions of user %d: %w", userID, err)
	}
	return n, nil
}
