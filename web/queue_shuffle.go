package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/waitingroom"
)

// queueShuffle shows a student their window's shuffle: the commitment, and after the
// opening the seed, their own place in the shuffle recomputed from it, and whether the
// whole published list is the one the seed gives.
func (s *Server) queueShuffle(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	windowID, queued := s.room.WindowFor(u.Year)
	if !queued {
		http.Redirect(w, r, "/courses", http.StatusSeeOther)
		return
	}
	p, err := s.room.ShufflePlaceOf(r.Context(), windowID, u.ID)
	if errors.Is(err, waitingroom.ErrNoRoom) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.failed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.QueueShufflePage(views.QueueShuffle{
		WindowID: windowID, Commitment: p.Commitment, Seed: p.Seed, Places: len(p.Order),
		Ticket: p.Ticket, Position: p.Position, Recomputed: p.Recomputed, Verified: p.Verified, Problem: p.Problem,
		ListURL: s.absoluteURL(r, "/queue/shuffle/"+strconv.FormatInt(windowID, 10)),
	}), nil)
}

// queueShuffleList publishes a window's shuffle as text (waitingroom.Shuffle.WriteReveal)
// for any program to check: the commitment before the opening, then the seed and every
// shuffled ticket id. It names no student, so it needs no sign-in.
func (s *Server) queueShuffleList(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "windowID")
	if !ok {
		s.notFound(w, r)
		return
	}
	sh, err := s.room.Shuffle(r.Context(), id)
	if errors.Is(err, waitingroom.ErrNoRoom) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.failed(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := sh.WriteReveal(&buf, id); err != nil {
		s.failed(w, r, fmt.Errorf("shuffle of window %d: %w", id, err))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if sh.Revealed() {
		w.Header().Set("Cache-Control", "public, max-age=3600") // a reveal never changes
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(buf.Bytes())
}

// absoluteURL is path on the host the request came to, for a command line to fetch.
func (s *Server) absoluteURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || s.sessions.Cookie.Secure {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}
