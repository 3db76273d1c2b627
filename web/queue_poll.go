package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/views"
)

// pollPath is where waiting pages poll.
const pollPath = "/queue/status"

// pollFirst answers waiting pages' polls before the router: on registration day they are
// most of the requests, each a few hundred bytes from memory, and the router's layers
// (request id, request state, the checks of bodies and cross-origin posts, chi's route
// context, each copying the request) cost several times what the answer does. It does
// what those layers do for a poll: the same headers, the language and time zone, the
// query's checks, the request histogram under the route's own label. Whatever is not a
// well-formed poll with a genuine token (another method, a query the page does not send,
// a forged token, a client already gone) goes on to the router, whose queueStatus
// answers it the usual way, errors included.
func (s *Server) pollFirst(router *chi.Mux) http.Handler {
	return &pollRouter{Mux: router, s: s,
		// Resolved at the first poll, not before: a replica that never answers one shows
		// no series for it.
		observe: sync.OnceValue(func() prometheus.Observer {
			return s.metrics.requests.WithLabelValues(pollPath, http.MethodGet, "200")
		})}
}

// pollRouter is the router with polls answered ahead of it; it is still the router's
// chi.Routes, so walking the routes sees every one.
type pollRouter struct {
	*chi.Mux
	s       *Server
	observe func() prometheus.Observer
}

func (p *pollRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.URL.Path != pollPath {
		p.Mux.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	defer func() {
		if v := recover(); v != nil {
			p.s.recovered(w, r, v)
		}
	}()
	if !p.s.answerPoll(w, r) {
		p.Mux.ServeHTTP(w, r)
		return
	}
	p.observe().Observe(time.Since(start).Seconds())
}

// pollBuffers hold rendered poll answers until written.
var pollBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Header values every poll answer shares (each of capacity one: see securityHeaderValues).
var (
	noStoreValue = []string{"no-store"}
	htmlValue    = []string{contentTypeHTML}
)

// answerPoll answers a poll the way the router's layers and queueStatus would, and
// reports whether it did; it writes nothing when it did not.
func (s *Server) answerPoll(w http.ResponseWriter, r *http.Request) bool {
	token, basket, ok := pollQuery(r.URL.RawQuery)
	if !ok {
		return false
	}
	place, err := s.room.ParseToken(token)
	if err != nil || r.Context().Err() != nil {
		return false
	}
	ctx := s.pollContexts[requestLocale(r)]
	buf := pollBuffers.Get().(*bytes.Buffer)
	defer pollBuffers.Put(buf)
	buf.Reset()
	if err := views.QueueStatus(s.queueView(place, token, basket)).Render(ctx, buf); err != nil {
		return false
	}
	// Eight headers, the most a header map holds before it grows (and net/http copies it
	// once more). Not render's Vary: no cache keeps a no-store answer, so there is
	// nothing for it to tell apart.
	h := w.Header()
	setSecurityHeaders(h)
	h["Cache-Control"] = noStoreValue
	h["Content-Type"] = htmlValue
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return true
}

// pollQuery reads the query a waiting page polls with: "t=TOKEN", then "&b=IDS" when
// the page shows a basket (views.Queue.pollURL). Anything else, or a value checkInput
// would refuse, is not ok.
func pollQuery(raw string) (token string, basket []int64, ok bool) {
	var b string
	i := 0
	for part := range strings.SplitSeq(raw, "&") {
		k, v, _ := strings.Cut(part, "=")
		switch {
		case i == 0 && k == "t" && !strings.ContainsAny(v, "%+;"):
			token = v
		case i == 1 && k == "b" && !strings.ContainsAny(v, "+;"):
			var err error
			if b, err = url.QueryUnescape(v); err != nil {
				return "", nil, false
			}
		default:
			return "", nil, false
		}
		i++
	}
	if token == "" || !readable(token) || !readable(b) {
		return "", nil, false
	}
	return token, basketParam(b), true
}
