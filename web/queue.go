package web

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/waitingroom"
)

const passCookie = "school_pass"

// queuePage shows the student's place in their window's waiting room, or, when they have
// none, the form that takes one. It writes nothing: a link preview or a prefetch does not
// put anyone in line.
func (s *Server) queuePage(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	windowID, queued := s.room.WindowFor(u.Year)
	if !queued {
		http.Redirect(w, r, "/courses", http.StatusSeeOther)
		return
	}
	if _, err := s.room.CheckPass(passFrom(r), windowID, u.ID); err == nil {
		http.Redirect(w, r, s.intentReturn(r), http.StatusSeeOther)
		return
	}
	place, token, found, err := s.room.Place(r.Context(), windowID, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !found {
		s.render(w, r, http.StatusOK, views.QueuePage(views.Queue{}), views.QueueJoin())
		return
	}
	s.showPlace(w, r, u.ID, place, token)
}

// queueJoin puts the student in the waiting room of their window, in the one place they
// have whatever tabs they use, and shows it: to HTMX, the place's status in the join
// form's stead; to a plain form, by a redirect to the page, so a reload posts nothing.
func (s *Server) queueJoin(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	windowID, queued := s.room.WindowFor(u.Year)
	if !queued {
		seeOther(w, r, "/courses")
		return
	}
	if _, err := s.room.CheckPass(passFrom(r), windowID, u.ID); err == nil {
		seeOther(w, r, s.intentReturn(r))
		return
	}
	place, token, err := s.room.Join(r.Context(), windowID, u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !wantsFragment(r) {
		http.Redirect(w, r, "/queue", http.StatusSeeOther)
		return
	}
	s.showPlace(w, r, u.ID, place, token)
}

// showPlace renders a place: the waiting page, or for HTMX its status.
func (s *Server) showPlace(w http.ResponseWriter, r *http.Request, userID int64, place waitingroom.Place, token string) {
	basket, err := s.q.BasketSectionIDs(r.Context(), userID)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("basket of student %d: %w", userID, err))
		return
	}
	basket = basket[:min(len(basket), maxBasketShown)]
	// The cache has seats only for sections waiting pages showed lately: read the others.
	if _, err := s.room.SeatsNow(r.Context(), basket); err != nil {
		s.failed(w, r, err)
		return
	}
	q := s.queueView(place, token, basket)
	s.render(w, r, http.StatusOK, views.QueuePage(q), views.QueuePlace(q))
}

// queueStatus answers a waiting page's poll from the replica's cache: no session, no
// database. An admitted place's answer carries the form that enters (views.QueueStatus).
func (s *Server) queueStatus(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	place, err := s.room.ParseToken(token)
	if err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.bad_request", views.Msg("queue.bad_token"))
		return
	}
	q := s.queueView(place, token, basketParam(r.URL.Query().Get("b")))
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, views.QueueStatus(q), views.QueueStatus(q))
}

// maxBasketShown bounds the basket sections a waiting page lists.
const maxBasketShown = 20

// basketParam reads the basket a poll URL carries ("1,2,3"), at most maxBasketShown
// sections; what is not an id is left out.
func basketParam(v string) []int64 {
	if v == "" { // most polls: no basket, and no failed parse to allocate an error for
		return nil
	}
	var ids []int64
	for f := range strings.SplitSeq(v, ",") {
		if id, ok := parseID(f); ok && len(ids) < maxBasketShown {
			ids = append(ids, id)
		}
	}
	return ids
}

func (s *Server) queueView(p waitingroom.Place, token string, basket []int64) views.Queue {
	st := s.room.Status(p)
	// Each poll a fifth early or late: a crowd that arrived together does not poll together.
	next := time.Duration((0.8 + 0.4*rand.Float64()) * float64(pollEvery(s.poll, st, s.now())))
	return views.Queue{Token: token, Status: st.State, Position: st.Position, Wait: st.Wait, Opens: st.Opens,
		Paused: st.Paused, NextPoll: next, BasketIDs: basket, Basket: s.room.Seats(basket),
		Commitment: st.Commitment}
}

// farPollMax is the longest a page waits between polls while its place cannot come up
// soon (with its fifth of jitter, 18 s).
const farPollMax = 15 * time.Second

// pollEvery is how long a waiting page waits before its next poll. A page polls at
// poll, unless its place cannot change for a while: in the pre-queue nothing happens
// until the opening, and in line a place is not admitted before Soonest while those ahead
// are admitted in turn, nor, by the rate measured, much before Wait. Then it polls at
// half that time (Wait less the last poll's spacing), up to three times poll, farPollMax
// and a quarter of the time the place is kept without a poll (the spacing of the
// write-backs that keep it), closing in on the moment. A crowd that joins the pre-queue
// half an hour early, or stands 50,000th in a line admitting 100 a second, sends a third
// of the polls. Within one poll of its measured turn a place polls at a quarter of poll
// (nearPoll): a place admitted holds a slot of the active limit from then on, and every
// second its page has not noticed is a second of the slot unused, which the pacer fills
// with others when the page's clicks all come at once (BENCHMARKS.md, "fifteenth").
// An admission that comes sooner than foreseen (places ahead leaving the line, a
// higher rate) is seen at most one spacing late, and the place is kept for four.
func pollEvery(poll time.Duration, st waitingroom.Status, now time.Time) time.Duration {
	var quiet time.Duration
	switch st.State {
	case waitingroom.Prequeue:
		quiet = st.Opens.Sub(now)
	case waitingroom.Waiting:
		quiet = st.Soonest
		if st.Measured && !st.Paused {
			if st.Wait <= poll {
				return poll / nearPoll
			}
			quiet = max(quiet, st.Wait-poll)
		}
	default:
		return poll
	}
	longest := max(poll, min(3*poll, farPollMax, st.Keep/4))
	return min(max(poll, quiet/2), longest)
}

// nearPoll divides the poll's spacing for a place within one poll of its turn.
const nearPoll = 4

// queueEnter trades an admitted place (its token posted in the form) for a pass cookie
// and opens registration, with a page load of its own.
func (s *Server) queueEnter(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	place, err := s.room.ParseToken(r.PostFormValue("t"))
	if err != nil || place.User != u.ID {
		s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("queue.bad_token"))
		return
	}
	pass, expires, err := s.room.Enter(r.Context(), place)
	if errors.Is(err, waitingroom.ErrNotAdmitted) {
		seeOther(w, r, "/queue")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: passCookie, Value: pass, Path: "/", Expires: expires,
		HttpOnly: true, Secure: s.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	seeOther(w, r, s.intentReturn(r))
}

// queueDone frees the student's slot for the next in line.
func (s *Server) queueDone(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r) // a student: requireStudent
	if windowID, queued := s.room.WindowFor(u.Year); queued {
		if err := s.room.Finish(r.Context(), windowID, u.ID); err != nil {
			s.serverError(w, r, fmt.Errorf("finish waiting-room place: %w", err))
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: passCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func passFrom(r *http.Request) string {
	if c, err := r.Cookie(passCookie); err == nil {
		return c.Value
	}
	return ""
}

// gate guards the registration requests: a student sends at most a few a second, and
// while their window's waiting room is open, only with a pass it gave them.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := s.currentUser(r)
		if !s.limits.allow(u.ID, s.now()) {
			answerResult(w, r, registration.RateLimited)
			w.Header().Set("Retry-After", "1")
			s.errorPage(w, r, http.StatusTooManyRequests, "error.bad_request", views.Msg("queue.too_fast"))
			return
		}
		if windowID, queued := s.room.WindowFor(u.Year); queued && s.room.Open(windowID) {
			place, err := s.room.CheckPass(passFrom(r), windowID, u.ID)
			if err != nil || !s.room.Admitted(place) {
				answerResult(w, r, registration.Queued)
				s.keepIntent(r)
				w.Header().Set("HX-Redirect", "/queue")
				s.errorPage(w, r, http.StatusForbidden, "error.forbidden", views.Msg("queue.wait_your_turn"))
				return
			}
			s.room.Seen(place)
		}
		next.ServeHTTP(w, r)
	})
}
