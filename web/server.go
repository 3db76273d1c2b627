// Package web is the HTTP side of School Service: routes, middleware, handlers, sessions
// and the directory login. Handlers parse and validate, read through the sqlc queries,
// make changes through the domain packages (registration, catalog, events, waitingroom,
// notices), turn their refusals into messages in one place (refusals.go), and render
// templ views.
package web

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
	"github.com/schoolservice/school/internal/ctxsync"
	"github.com/schoolservice/school/notices"
	"github.com/schoolservice/school/notify"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/waitingroom"
)

// Directory checks a username and password and says who the account is; Lookup says it
// again later, without the password.
type Directory interface {
	Authenticate(ctx context.Context, username, password string) (Identity, error)
	Lookup(ctx context.Context, username string) (Identity, error)
	Ping(ctx context.Context) error
}

// Options are the server's dependencies and settings.
type Options struct {
	DB *sql.DB
	// ReadDB, when set, is a read replica that serves the public catalog (the section
	// listing and its departments). Everything else, a student's own standing in those
	// rows included, is read from DB, so a student always sees their own writes.
	ReadDB *sql.DB
	// TxDB, when set, is a pool of the same database opened with db.PoolOptions.TxOnly:
	// the students' registration transactions, and their joins to the waiting room and
	// finishes there, run on it, each a round trip or more shorter.
	TxDB *sql.DB
	// Turns is how many requests may use the database at once; the others wait, first
	// come, first served (newTurns). 0: as many as DB's pool holds.
	Turns     int
	Directory Directory
	Logger    *slog.Logger
	// Registry receives the app's metrics and is what the ops listener's /metrics serves.
	Registry *prometheus.Registry
	// InsecureCookies drops the Secure flag from cookies. Browsers accept Secure cookies on
	// http://localhost, so only a deployment served over plain HTTP elsewhere needs it.
	InsecureCookies bool
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	// TrustedOrigins may send unsafe requests besides the app's own origin, for example
	// the public name nginx serves when it differs from the Host the app sees.
	TrustedOrigins []string
	// TrustedProxies are the peers whose X-Real-IP header names the client, for sign-in
	// throttling; nil trusts DefaultTrustedProxies, an empty list none.
	TrustedProxies []netip.Prefix
	// LoginThrottle limits failed sign-ins; unset fields take DefaultLoginThrottle's.
	LoginThrottle LoginThrottle
	// RequestLimit caps each student's registration requests, and apart from those their
	// seat reservations (per replica).
	RequestLimit RequestLimit
	// QueuePoll is how often a waiting page polls, give or take a fifth (default 5 s).
	QueuePoll time.Duration
	// ShuffleSecret derives the waiting room's pre-queue shuffle seeds: the same on every
	// replica, never in the database (waitingroom.Options).
	ShuffleSecret []byte
	// TimeZone is the school's: every time a page shows or a form reads is on its clock
	// (default views.DefaultTimeZone). Stored moments stay UTC.
	TimeZone *time.Location
	// Profiling serves Go's profiles on the ops listener (OpsHandler).
	Profiling bool
	Now       func() time.Time
	// Mail, when set, is the SMTP server notification e-mails go through; MailOptions
	// times their outbox. Without it notifications stay in the app.
	Mail        *notify.SMTP
	MailOptions notify.SenderOptions
}

// RequestLimit is a token bucket: Burst requests at once, PerSecond after that.
type RequestLimit struct {
	Burst, PerSecond float64
}

// DefaultRequestLimit allows more than any person clicks, less than a macro hammering.
var DefaultRequestLimit = RequestLimit{Burst: 10, PerSecond: 3}

// Server holds what handlers share.
type Server struct {
	db       *sql.DB
	q        *db.Queries
	catalogQ *db.Queries // the read replica's, or q
	dir      Directory
	log      *slog.Logger
	sessions *scs.SessionManager
	reg      *registration.Service
	room     *waitingroom.Room
	limits   *rateLimiter
	poll     time.Duration
	stats    *dashboardStats
	// lastLogins writes sign-in times in batches.
	lastLogins *lastLogins
	bgctx      context.Context    // the background work's, ended by stop
	stop       context.CancelFunc // ends the background work
	bg         sync.WaitGroup
	metrics    *metrics
	registry   *prometheus.Registry
	ready      readiness
	throttle   LoginThrottle
	proxies    []netip.Prefix // whose X-Real-IP is believed
	idle       time.Duration
	checks     accountChecks
	origins    []string
	zone       *time.Location
	// pollContexts are what a poll's answer renders with, one per language (its words
	// and the school's zone), made once rather than at every poll of the morning. The
	// render reads nothing else of the request, whose end answerPoll checks first.
	pollContexts map[views.Locale]context.Context
	profiling    bool
	now          func() time.Time
	turns        *ctxsync.Turns

	events *events.Service
	// staffCatalog makes the staff's changes to the catalog.
	staffCatalog *catalog.Service
	notices      *notices.Service
	// seatLimits caps reserve and cancel clicks per student, apart from registration's.
	seatLimits *rateLimiter

	// untrustedProxy logs the first X-Real-IP from an untrusted peer.
	untrustedProxy sync.Once
	// loginsInFlight holds the throttle keys past their free failures whose attempt is
	// with the directory now.
	loginsInFlight oneAtATime
}

// New builds the server. Close stops its background work.
func New(o Options) (*Server, error) {
	if o.DB == nil || o.Directory == nil || o.Logger == nil || o.Registry == nil {
		return nil, errors.New("web: DB, Directory, Logger and Registry are required")
	}
	if o.SessionLifetime <= 0 {
		o.SessionLifetime = 12 * time.Hour
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 2 * time.Hour
	}
	throttle, err := o.LoginThrottle.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.TrustedProxies == nil {
		o.TrustedProxies = DefaultTrustedProxies
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TimeZone == nil {
		o.TimeZone = views.ZoneFrom(context.Background())
	}
	if o.QueuePoll <= 0 {
		o.QueuePoll = 5 * time.Second
	}
	if o.RequestLimit.Burst < 1 || o.RequestLimit.PerSecond <= 0 {
		o.RequestLimit = DefaultRequestLimit
	}
	sm := scs.New()
	prepared := db.NewPrepared(o.DB).Queries() // the session's statements and the sign-in's
	sm.Store = sessionStore{q: prepared}
	sm.Codec = sessionCodec{}
	sm.Lifetime = o.SessionLifetime
	// No scs IdleTimeout: it rewrites the session on every request. idleSessions keeps
	// the same rule with a write at most every few minutes.
	sm.Cookie.Name = "school_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.Secure = !o.InsecureCookies
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"

	s := &Server{
		db:        o.DB,
		q:         prepared,
		catalogQ:  db.New(o.DB),
		dir:       o.Directory,
		log:       o.Logger,
		sessions:  sm,
		reg:       registration.New(o.DB, o.Logger, o.Registry),
		limits:    newRateLimiter(o.RequestLimit.Burst, o.RequestLimit.PerSecond),
		poll:      o.QueuePoll,
		registry:  o.Registry,
		metrics:   newMetrics(o.Registry, o.DB),
		throttle:  throttle,
		proxies:   o.TrustedProxies,
		idle:      o.SessionIdle,
		origins:   o.TrustedOrigins,
		zone:      o.TimeZone,
		profiling: o.Profiling,
		now:       o.Now,

		events:     events.New(o.DB, o.Now),
		seatLimits: newRateLimiter(o.RequestLimit.Burst, o.RequestLimit.PerSecond),

		loginsInFlight: oneAtATime{busy: map[string]bool{}},
		turns:          newTurns(cmp.Or(o.Turns, o.DB.Stats().MaxOpenConnections)),
	}
	s.pollContexts = make(map[views.Locale]context.Context, len(views.Locales))
	for _, l := range views.Locales {
		s.pollContexts[l] = views.WithZone(views.WithLocale(context.Background(), l), o.TimeZone)
	}
	if o.TxDB != nil {
		s.reg.TransactOn(o.TxDB)
	}
	// Windows open and close on the app's clock, the one the header's server clock shows.
	s.reg.SetClock(o.Now)
	if s.turns != nil {
		s.reg.SetQueue(s.turns.Delay)
		watchTurns(o.Registry, s.turns)
	}
	s.staffCatalog = catalog.New(o.DB, s.reg, o.Logger)
	s.notices = notices.New(o.DB, o.Now)
	if o.ReadDB != nil {
		s.catalogQ = db.New(o.ReadDB)
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, errSessionData) {
			// A session this release cannot read is no session: its cookie goes, and the
			// student signs in again rather than meet an error at every request.
			http.SetCookie(w, &http.Cookie{Name: sm.Cookie.Name, Path: sm.Cookie.Path, MaxAge: -1,
				HttpOnly: true, Secure: sm.Cookie.Secure, SameSite: sm.Cookie.SameSite})
			s.toLogin(w, r)
			return
		}
		s.serverError(w, r, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	room, err := waitingroom.New(ctx, o.DB, waitingroom.Options{Logger: o.Logger, Registry: o.Registry, Pace: s.reg.Pace, Now: o.Now,
		ShuffleSecret: o.ShuffleSecret, TxDB: o.TxDB})
	if err != nil {
		cancel()
		return nil, err
	}
	// Know the open waiting rooms before the first request: a replica that started with
	// an empty cache would let everyone past the gate until its first refresh.
	if err := room.Refresh(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("waiting room: %w", err)
	}
	s.room = room
	// Load the registration catalog before the first request, which would otherwise wait
	// for it.
	if err := s.reg.RefreshCatalog(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("registration catalog: %w", err)
	}
	if err := s.reg.RefreshBasketCounts(ctx); err != nil {
		cancel()
		return nil, fmt.Errorf("basket counts: %w", err)
	}
	s.bgctx, s.stop = ctx, cancel
	s.stats = newDashboardStats(o.DB, o.Logger, o.Now)
	s.lastLogins = newLastLogins(s.q, o.Logger, o.Now)
	s.bg.Add(7)
	go func() { defer s.bg.Done(); s.lastLogins.run(ctx, lastLoginEvery) }()
	go func() { defer s.bg.Done(); s.room.Run(ctx, 250*time.Millisecond) }()
	go func() { defer s.bg.Done(); s.sweep(ctx, 10*time.Minute) }()
	// Seats a drop held for the waitlist are handed on at once; this catches the ones a
	// stopped replica left behind.
	go func() { defer s.bg.Done(); s.reg.Run(ctx, 5*time.Second) }()
	// Another replica's staff change reaches this one's catalog within a second (requests
	// check the version themselves; the poll loads the change before they ask).
	go func() { defer s.bg.Done(); s.reg.WatchCatalog(ctx, catalogPoll) }()
	go func() { defer s.bg.Done(); s.reg.WatchBasketCounts(ctx, basketCountsEvery) }()
	// Flushes its last counts when ctx ends: Close comes after the last request.
	go func() { defer s.bg.Done(); s.stats.run(ctx, statsFlushEvery) }()
	if o.Mail != nil {
		sender := notify.NewSender(o.DB, *o.Mail, s.mailRenderer(), o.Logger, o.Registry, o.MailOptions)
		s.bg.Add(1)
		go func() { defer s.bg.Done(); sender.Run(ctx) }()
	}
	return s, nil
}

// catalogPoll is how often each replica reads the registration catalog's version.
const catalogPoll = time.Second

// basketCountsEvery is how often each replica recounts the baskets it shows: a count on
// a page is at most this old. A recount reads every basket of the term (100,000 baskets:
// tens of milliseconds of the database's time), so not more often.
const basketCountsEvery = 5 * time.Second

// Close stops the server's background work.
func (s *Server) Close() {
	s.stop()
	s.bg.Wait()
}
