package rehearsal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// instance is one app replica the students are spread across. A replica that refuses a
// connection is left alone for a moment, as a load balancer would.
type instance struct {
	url       string
	conns     *conns       // its connections; nil for a URL other than http://, sent through client.http
	downUntil atomic.Int64 // unix nanoseconds
}

// client is what every simulated browser shares: the connection pool and the replicas.
type client struct {
	http      *http.Client
	instances []*instance
	rec       *recorder
	password  string
	think     time.Duration
	giveUp    time.Duration
	// impatient is the share of requests abandoned after abandonAfter.
	impatient    float64
	abandonAfter time.Duration
}

func (c *client) pick(home int) int {
	now := time.Now().UnixNano()
	for k := range c.instances {
		i := (home + k) % len(c.instances)
		if c.instances[i].downUntil.Load() <= now {
			return i
		}
	}
	return home % len(c.instances)
}

// answer is a registration request the student got an answer to.
type answer struct {
	Section int64
	Key     string
	Step    Step
	Result  string
}

// student is one simulated browser: its own cookies, its plan and what it was told.
type student struct {
	c        *client
	username string
	home     int
	arrival  time.Duration
	plan     plan
	want     int
	rng      *mrand.Rand
	cookies  map[string]string

	loggedIn, admitted, finished bool
	failed                       string // why the student stopped early
	answers                      []answer
	unanswered                   []answer // sent, never answered: the check looks the key up
	wait                         time.Duration
	timetableSeen, timetableOK   bool
	timetableMissing             []int64 // sections told enrolled that the timetable did not show
}

type response struct {
	status   int
	header   http.Header
	body     []byte
	instance int
}

func (r response) location() string { return r.header.Get("Location") }

var errTransport = errors.New("no answer")

// send makes one request as the browser would: its cookies, and for a form post the
// Origin and Sec-Fetch-Site headers a browser sends (the app refuses cross-origin posts).
// A failure to get any answer is recorded and returned as errTransport.
func (s *student) send(ctx context.Context, step Step, method, path string, form url.Values, hx bool) (response, error) {
	i := s.c.pick(s.home)
	inst := s.c.instances[i]
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	// An impatient student gives up on this request soon and reloads (the caller sends it
	// again), as people do when a page hangs on registration morning.
	reqCtx := ctx
	if s.c.impatient > 0 && s.rng.Float64() < s.c.impatient {
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, s.c.abandonAfter)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, method, inst.url+path, body)
	if err != nil {
		return response{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", inst.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	if hx {
		req.Header.Set("HX-Request", "true")
	}
	for name, v := range s.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: v})
	}
	start := time.Now()
	resp, b, err := s.c.roundTrip(reqCtx, inst, req)
	took := time.Since(start)
	ev := event{At: start.Sub(s.c.rec.start), Step: step, Took: took, Instance: i}
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		ev.Error = transportKind(err)
		if reqCtx.Err() != nil {
			ev.Error = "abandoned"
		}
		if ev.Error == "connection_refused" {
			inst.downUntil.Store(time.Now().Add(2 * time.Second).UnixNano())
		}
		s.c.rec.add(ev)
		return response{}, fmt.Errorf("%s %s: %w: %v", method, path, errTransport, err)
	}
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(s.cookies, ck.Name)
		} else {
			s.cookies[ck.Name] = ck.Value
		}
	}
	ev.Status = resp.StatusCode
	ev.Result = resp.Header.Get(resultHeader)
	switch {
	case resp.StatusCode >= 500 && resp.Header.Get("Retry-After") == "":
		ev.Error = "http_" + strconv.Itoa(resp.StatusCode) + "_no_retry_after"
	case resp.StatusCode >= 500:
		ev.Error = "http_" + strconv.Itoa(resp.StatusCode)
	case resp.StatusCode == http.StatusTooManyRequests:
		ev.Error = "rate_limited"
	}
	s.c.rec.add(ev)
	return response{status: resp.StatusCode, header: resp.Header, body: b, instance: i}, nil
}

// roundTrip sends req to inst and reads its whole answer.
func (c *client) roundTrip(ctx context.Context, inst *instance, req *http.Request) (*http.Response, []byte, error) {
	const limit = 4 << 20
	if inst.conns != nil {
		return inst.conns.do(ctx, req, limit)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	return resp, b, err
}

const resultHeader = "X-Registration-Result"

func transportKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection_refused"
	case strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "EOF"):
		return "connection_reset"
	}
	return "connection_error"
}

// note records a failure that is not one request's (a wrong answer, a give-up).
func (s *student) note(step Step, kind string) {
	s.c.rec.add(event{At: time.Since(s.c.rec.start), Step: step, Error: kind})
}

// pause sleeps d, give or take half, or until ctx ends.
func (s *student) pause(ctx context.Context, d time.Duration) bool {
	d = time.Duration((0.5 + s.rng.Float64()) * float64(d))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is the pause before the n-th retry: 0.5 s doubling to 5 s.
func backoff(n int) time.Duration {
	return min(5*time.Second, 500*time.Millisecond<<min(n, 4))
}

// run is the student's morning.
func (s *student) run(ctx context.Context) {
	t := time.NewTimer(time.Until(s.c.rec.start.Add(s.arrival)))
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	if !s.login(ctx) {
		return
	}
	s.loggedIn = true
	s.c.rec.loggedIn.Add(1)
	if !s.queue(ctx) {
		return
	}
	s.admitted = true
	s.c.rec.admitted.Add(1)
	s.registerAll(ctx)
	if ctx.Err() != nil {
		return
	}
	s.timetable(ctx)
	s.done(ctx)
	if ctx.Err() != nil {
		return
	}
	s.finished = true
	s.c.rec.finished.Add(1)
}

// login signs in, retrying while the app or the directory is unavailable.
func (s *student) login(ctx context.Context) bool {
	form := url.Values{"username": {s.username}, "password": {s.c.password}}
	for n := 0; ; n++ {
		r, err := s.send(ctx, StepLogin, http.MethodPost, "/login", form, false)
		switch {
		case ctx.Err() != nil:
			return false
		case err == nil && r.status == http.StatusSeeOther:
			if s.cookies["school_session"] == "" {
				s.failed = "login_no_session"
				s.note(StepLogin, s.failed)
				return false
			}
			return true
		case err == nil && (r.status == http.StatusUnauthorized || r.status == http.StatusForbidden || r.status == http.StatusBadRequest):
			s.failed = "login_refused_" + strconv.Itoa(r.status)
			s.note(StepLogin, s.failed)
			return false
		}
		// Anything else (the directory or the database unavailable: 503, 500; no answer)
		// is already counted; the student tries again in a moment.
		if !s.pause(ctx, backoff(n)) {
			return false
		}
	}
}

var (
	joinRe  = regexp.MustCompile(`<form [^>]*action="/queue"[^>]*data-testid="queue-join"`)
	enterRe = regexp.MustCompile(`<form [^>]*action="/queue/enter"[^>]*>\s*<input type="hidden" name="t" value="([^"]*)"`)
	delayRe = regexp.MustCompile(`delay:(\d+)ms`)
)

// queuePage is what a waiting page (or its poll answer) says.
type queuePage struct {
	state      int // waitingroom.State: 0 joining, 1 pre-queue, 2 waiting, 3 admitted, 4 lost
	pollURL    string
	delay      time.Duration
	enterToken string // the admitted place's token, which the form that enters posts
}

// parseQueue reads the waiting page's status element. Polls are most of the requests of
// a morning, so this reads the one tag rather than parsing the document.
func parseQueue(body []byte) (queuePage, bool) {
	tag, _ := tagWith(body, 0, "section", `data-testid="queue-status"`)
	if tag == nil {
		return queuePage{}, false
	}
	p := queuePage{delay: 5 * time.Second, state: -1}
	if v, ok := attrOf(tag, "hx-get"); ok {
		p.pollURL = html.UnescapeString(v)
	}
	if v, ok := attrOf(tag, "data-state"); ok {
		p.state, _ = strconv.Atoi(v)
	}
	if v, ok := attrOf(tag, "hx-trigger"); ok {
		if d := delayRe.FindStringSubmatch(v); d != nil {
			ms, _ := strconv.Atoi(d[1])
			p.delay = time.Duration(ms) * time.Millisecond
		}
	}
	if p.state == 3 {
		if m := enterRe.FindSubmatch(body); m != nil {
			p.enterToken = html.UnescapeString(string(m[1]))
		}
	}
	return p, p.pollURL != "" && p.state >= 0
}

// queue waits in the waiting room as the page does: open it, take a place (the page's
// join form, which it posts as it loads, when the student has none), poll at the pace
// each answer sets, and enter when an answer says the place is admitted. A page that
// errs is reloaded.
func (s *student) queue(ctx context.Context) bool {
	joined := time.Now()
	defer func() { s.wait = time.Since(joined) }()
	s.c.rec.waiting.Add(1)
	defer s.c.rec.waiting.Add(-1)
	for n := 0; ; n++ {
		if ctx.Err() != nil {
			return false
		}
		r, err := s.send(ctx, StepQueue, http.MethodGet, "/queue", nil, false)
		if err == nil && r.status == http.StatusOK && joinRe.Match(r.body) {
			r, err = s.send(ctx, StepJoin, http.MethodPost, "/queue", url.Values{}, true)
			if err == nil && r.status == http.StatusOK && r.header.Get("HX-Redirect") == "/courses" {
				// No waiting room for this student any more (or a pass already).
				return s.catalog(ctx, joined)
			}
		}
		if err != nil || r.status >= 500 {
			s.pause(ctx, backoff(n))
			continue
		}
		if r.status == http.StatusSeeOther || r.status == http.StatusUnauthorized {
			if r.status == http.StatusUnauthorized || strings.HasPrefix(r.location(), "/login") {
				delete(s.cookies, "school_session")
				if !s.login(ctx) {
					return false
				}
				continue
			}
			// No waiting room for this student (or a pass already): straight in.
			return s.catalog(ctx, joined)
		}
		p, ok := parseQueue(r.body)
		if r.status != http.StatusOK || !ok {
			s.note(StepQueue, "bad_answer")
			s.pause(ctx, backoff(n))
			continue
		}
		if entered, again := s.poll(ctx, p); entered {
			return s.catalog(ctx, joined)
		} else if !again {
			return false
		}
	}
}

// poll follows one waiting page until it sends the student on (true), or the page must
// be reloaded (false, true), or the run ends (false, false).
func (s *student) poll(ctx context.Context, p queuePage) (bool, bool) {
	for {
		switch p.state {
		case 3:
			if p.enterToken != "" {
				return s.enter(ctx, p.enterToken), true
			}
		case 4:
			return false, true
		}
		t := time.NewTimer(p.delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false, false
		case <-t.C:
		}
		r, err := s.send(ctx, StepPoll, http.MethodGet, p.pollURL, nil, true)
		if err != nil || r.status != http.StatusOK {
			return false, true // htmx stops polling on an error; the student reloads
		}
		next, ok := parseQueue(r.body)
		if !ok {
			s.note(StepPoll, "bad_answer")
			return false, true
		}
		p = next
	}
}

// enter trades the admitted place for a pass as the admitted page's form does when it
// loads (an HTMX post, answered with HX-Redirect); false sends the student back to /queue.
func (s *student) enter(ctx context.Context, token string) bool {
	r, err := s.send(ctx, StepEnter, http.MethodPost, "/queue/enter", url.Values{"t": {token}}, true)
	if err != nil || r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("HX-Redirect"), "/courses") {
		return false
	}
	if s.cookies["school_pass"] == "" {
		s.note(StepEnter, "no_pass")
		return false
	}
	return true
}

// catalog loads the page registration opens on, once, as the browser does after entering.
func (s *student) catalog(ctx context.Context, joined time.Time) bool {
	s.c.rec.add(event{At: joined.Sub(s.c.rec.start), Step: StepWait, Took: time.Since(joined)})
	for n := 0; n < 5; n++ {
		r, err := s.send(ctx, StepCatalog, http.MethodGet, "/courses", nil, false)
		if ctx.Err() != nil {
			return false
		}
		if err == nil && r.status == http.StatusOK {
			return true
		}
		s.pause(ctx, backoff(n))
	}
	return true // the catalog is not needed to register
}

// registerAll clicks through the basket: register each choice until the student holds
// what they want; on full, join the waitlist if they would, and go on to the next choice.
func (s *student) registerAll(ctx context.Context) {
	enrolled := 0
	for i, sec := range s.plan.Choices {
		if enrolled >= s.want || ctx.Err() != nil {
			return
		}
		if !s.pause(ctx, s.c.think) {
			return
		}
		res := s.click(ctx, StepRegister, "/registrations", sec)
		for tries := 0; res == "window_closed" && tries < 20; tries++ {
			// Let in before the opening (a replica that did not know the room yet): back
			// to the waiting room, as a student would who was told to wait.
			if !s.pause(ctx, backoff(tries)) || !s.queue(ctx) {
				return
			}
			res = s.click(ctx, StepRegister, "/registrations", sec)
		}
		switch res {
		case "enrolled":
			enrolled++
		case "full":
			if !s.plan.Waitlist[i] || !s.pause(ctx, s.c.think) {
				continue
			}
			if s.click(ctx, StepWaitlist, "/waitlist", sec) == "enrolled" {
				enrolled++
			}
		}
	}
}

// click sends one registration request and insists on an answer: a request that got no
// answer (the connection broke, the server failed) is sent again with the same key, so
// it acts at most once and the answer is the first one.
func (s *student) click(ctx context.Context, step Step, path string, sec int64) string {
	key := rand.Text()
	form := url.Values{"section_id": {strconv.FormatInt(sec, 10)}, "request_key": {key}}
	deadline := time.Now().Add(s.c.giveUp)
	for n := 0; ; n++ {
		r, err := s.send(ctx, step, http.MethodPost, path, form, true)
		if ctx.Err() != nil {
			s.unanswered = append(s.unanswered, answer{Section: sec, Key: key, Step: step})
			return ""
		}
		if err == nil {
			res := r.header.Get(resultHeader)
			switch {
			case r.status == http.StatusTooManyRequests:
				n = 0 // not a failure: wait as asked and send again
			case r.status == http.StatusForbidden && res == "queued":
				// The pass ended or never held: back to the waiting room, same request.
				s.note(step, "queued_again")
				if !s.queue(ctx) {
					s.unanswered = append(s.unanswered, answer{Section: sec, Key: key, Step: step})
					return ""
				}
				continue
			case r.status == http.StatusUnauthorized:
				s.note(step, "session_lost")
				delete(s.cookies, "school_session")
				if !s.login(ctx) {
					s.unanswered = append(s.unanswered, answer{Section: sec, Key: key, Step: step})
					return ""
				}
				continue
			case r.status >= 500:
			case res != "":
				if !answerShows(r.body, sec, res) {
					s.note(step, "bad_answer")
				}
				s.answers = append(s.answers, answer{Section: sec, Key: key, Step: step, Result: res})
				return res
			default:
				s.note(step, "bad_answer")
				return ""
			}
		}
		if time.Now().After(deadline) {
			s.note(step, "gave_up")
			s.unanswered = append(s.unanswered, answer{Section: sec, Key: key, Step: step})
			return ""
		}
		if !s.pause(ctx, backoff(n)) {
			s.unanswered = append(s.unanswered, answer{Section: sec, Key: key, Step: step})
			return ""
		}
	}
}

// answerShows reports whether the answer fragment is the section's row and agrees with
// the result header: registered or waitlisted rows show their standing, a refusal shows
// its reason.
func answerShows(body []byte, sec int64, res string) bool {
	row := sectionRow(body, sec)
	if row == nil {
		return false
	}
	switch res {
	case "enrolled", "waitlisted":
		return bytes.Count(row, []byte(`data-testid="standing"`)) == 1
	}
	return bytes.Count(row, []byte(`data-testid="row-result"`)) == 1
}

// timetable opens the timetable and checks it shows every section the student was told
// they hold (read-your-writes).
func (s *student) timetable(ctx context.Context) {
	for n := 0; n < 10; n++ {
		r, err := s.send(ctx, StepTimetable, http.MethodGet, "/timetable", nil, false)
		if ctx.Err() != nil {
			return
		}
		if err != nil || r.status != http.StatusOK {
			s.pause(ctx, backoff(n))
			continue
		}
		s.timetableSeen = true
		shown := map[string]bool{}
		for _, id := range testIDs(r.body, "li", "timetable-section") {
			shown[id] = true
		}
		s.timetableOK = true
		for _, a := range s.answers {
			if a.Result == "enrolled" && !shown[strconv.FormatInt(a.Section, 10)] {
				s.timetableOK = false
				s.timetableMissing = append(s.timetableMissing, a.Section)
			}
		}
		if !s.timetableOK {
			s.note(StepTimetable, "timetable_mismatch")
		}
		return
	}
}

// done frees the student's slot in the waiting room for the next in line.
func (s *student) done(ctx context.Context) {
	for n := 0; n < 5; n++ {
		r, err := s.send(ctx, StepDone, http.MethodPost, "/queue/done", url.Values{}, false)
		if ctx.Err() != nil || err == nil && r.status == http.StatusSeeOther {
			return
		}
		s.pause(ctx, backoff(n))
	}
}
