package web

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Session keys. Only plain values go in the session, so no gob registration is needed.
const (
	sessUserID   = "user_id"
	sessUsername = "username"
	sessName     = "name"
	sessRole     = "role"
	sessYear     = "year"
	sessSeen     = "seen"
	// sessChecked is when the directory last confirmed the account, in Unix microseconds.
	sessChecked = "checked"
)

// seenEvery is how stale a session's last-seen time, and the directory's last word on its
// account, may get before the session is written again and the directory asked again.
const seenEvery = 5 * time.Minute

// sessionUser is who a session belongs to.
type sessionUser struct {
	ID       int64
	Username string
	Name     string
	Role     string
	Year     int // class year, 0 for staff
}

type userKey struct{}

// withUser reads who the session belongs to, once per request, for every later layer:
// the page chrome, the login and role checks, the gate and the handlers.
func (s *Server) withUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, ok := s.sessionUser(r.Context()); ok {
			r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		}
		next.ServeHTTP(w, r)
	})
}

// sessionUser reads who the session belongs to from the session itself: for withUser,
// and for idleSessions, which runs before it and may end or change the session.
func (s *Server) sessionUser(ctx context.Context) (sessionUser, bool) {
	id := s.sessions.GetInt64(ctx, sessUserID)
	if id == 0 {
		return sessionUser{}, false
	}
	return sessionUser{
		ID:       id,
		Username: s.sessions.GetString(ctx, sessUsername),
		Name:     s.sessions.GetString(ctx, sessName),
		Role:     s.sessions.GetString(ctx, sessRole),
		Year:     s.sessions.GetInt(ctx, sessYear),
	}, true
}

// currentUser is who signed in, as withUser read it; false for a visitor.
func (s *Server) currentUser(r *http.Request) (sessionUser, bool) {
	u, ok := r.Context().Value(userKey{}).(sessionUser)
	return u, ok
}

// sweep deletes expired sessions and ended sign-in throttle keys every interval until
// Close. Any replica may do it; the DELETEs are idempotent.
func (s *Server) sweep(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.sweepOnce(ctx)
		}
	}
}

func (s *Server) sweepOnce(ctx context.Context) {
	now := s.now().UTC()
	// Sessions expire by the real clock, as scs sets them and the store reads them.
	n, err := s.q.DeleteExpiredSessions(ctx, time.Now().UTC())
	if err != nil {
		s.log.Warn("delete expired sessions", slog.Any("error", err))
	} else if n > 0 {
		s.log.Debug("deleted expired sessions", slog.Int64("count", n))
	}
	n, err = s.pruneLoginThrottle(ctx, now)
	if err != nil {
		s.log.Warn("prune login throttle", slog.Any("error", err))
	} else if n > 0 {
		s.log.Debug("pruned login throttle keys", slog.Int64("count", n))
	}
}

// idleSessions signs out a session unused for longer than the idle timeout, or whose
// account the directory no longer allows (checkAccount). It records when the session was
// last seen, and checks the account, only every seenEvery, so a busy student costs a
// session write and a directory search every few minutes rather than one per request.
// A session it ends is anonymous from here on: requireLogin sends the user to sign in.
func (s *Server) idleSessions(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if s.sessions.GetInt64(ctx, sessUserID) != 0 {
			// Unix time: the session holds only plain values, so no gob registration.
			now := s.now()
			seen := time.Unix(s.sessions.GetInt64(ctx, sessSeen), 0)
			keep := now.Sub(seen) <= s.idle
			if keep && now.Sub(time.UnixMicro(s.sessions.GetInt64(ctx, sessChecked))) > seenEvery {
				keep = s.checkAccount(r, now)
			}
			switch {
			case !keep:
				if err := s.sessions.Destroy(ctx); err != nil {
					s.serverError(w, r, err)
					return
				}
			case now.Sub(seen) > seenEvery:
				s.sessions.Put(ctx, sessSeen, now.Unix())
			}
		}
		next.ServeHTTP(w, r)
	})
}
