package web

import (
	"net/http"
)

// Session keys. Only plain values go in the session, so no gob registration is needed.
const (
	sessUserID   = "user_id"
	sessUsername = "username"
	sessName     = "name"
	sessRole     = "role"
)

// sessionUser is who a session belongs to.
type sessionUser struct {
	ID       int64
	Username string
	Name     string
	Role     string
}

func (s *Server) currentUser(r *http.Request) (sessionUser, bool) {
	ctx := r.Context()
	id := s.sessions.GetInt64(ctx, sessUserID)
	if id == 0 {
		return sessionUser{}, false
	}
	return sessionUser{
		ID:       id,
		Username: s.sessions.GetString(ctx, sessUsername),
		Name:     s.sessions.GetString(ctx, sessName),
		Role:     s.sessions.GetString(ctx, sessRole),
	}, true
}
