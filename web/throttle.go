package web

// Sign-in throttling, after OWASP's authentication guidance: failures are limited per
// client address and per account from one address, never per account alone, so a spray
// of wrong passwords from one place cannot lock a student out of their own account on
// their own device. Past its free failures a key is delayed, not locked: each further
// failure doubles the wait, up to a cap. A global failure budget bounds what a spray from
// many addresses costs the directory. The counts live in MySQL (login_throttle), so every
// replica sees the same ones.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// LoginThrottle limits failed sign-ins across all replicas. Every limit counts failures
// within Window from the key's first failure.
type LoginThrottle struct {
	Window time.Duration
	// PerAddress and PerAccountAddress are the failures one client address, and one account
	// from one address, may make in a window before each further failure blocks that key
	// for BaseDelay, doubled for every failure after it, never longer than MaxDelay.
	PerAddress, PerAccountAddress int
	BaseDelay, MaxDelay           time.Duration
	// GlobalBudget is the failures every address together may make in a window. Once it is
	// spent, an address that has failed in the window is refused until the budget's window
	// ends; an address that has not failed still gets in.
	GlobalBudget int
}

// DefaultLoginThrottle: 20 failures per address and 5 per account from one address in 15
// minutes, then waits of 1 s, 2 s, 4 s … up to 15 minutes; 5,000 failures from everywhere
// in 15 minutes, far above what a school's typos make on registration morning.
var DefaultLoginThrottle = LoginThrottle{
	Window:            15 * time.Minute,
	PerAddress:        20,
	PerAccountAddress: 5,
	BaseDelay:         time.Second,
	MaxDelay:          15 * time.Minute,
	GlobalBudget:      5000,
}

// maxDoublings is how often RecordLoginFailure doubles BaseDelay at most; it keeps the
// shift inside 64 bits.
const maxDoublings = 20

// withDefaults fills unset fields from DefaultLoginThrottle and checks the delays fit what
// RecordLoginFailure can compute.
func (t LoginThrottle) withDefaults() (LoginThrottle, error) {
	d := DefaultLoginThrottle
	setDuration := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setDuration(&t.Window, d.Window)
	setDuration(&t.BaseDelay, d.BaseDelay)
	setDuration(&t.MaxDelay, d.MaxDelay)
	setInt(&t.PerAddress, d.PerAddress)
	setInt(&t.PerAccountAddress, d.PerAccountAddress)
	setInt(&t.GlobalBudget, d.GlobalBudget)
	switch {
	case t.BaseDelay < time.Millisecond:
		return t, fmt.Errorf("web: login throttle base delay %v is below 1ms", t.BaseDelay)
	case t.MaxDelay < t.BaseDelay:
		return t, fmt.Errorf("web: login throttle max delay %v is below the base delay %v", t.MaxDelay, t.BaseDelay)
	case t.MaxDelay > 24*time.Hour || t.MaxDelay > t.BaseDelay<<maxDoublings:
		return t, fmt.Errorf("web: login throttle max delay %v is more than 24h or 2^%d base delays", t.MaxDelay, maxDoublings)
	}
	return t, nil
}

// DefaultTrustedProxies trusts X-Real-IP only from this host, where nginx runs in the
// one-machine stack.
var DefaultTrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// clientAddress is what throttling counts a request under: the peer's address or, when
// the peer is a trusted proxy, the X-Real-IP it set (nginx overwrites whatever a client
// sent). An IPv6 client counts by its /64, which one subscriber usually holds whole:
// counting single addresses would hand an attacker 2^64 fresh ones.
func (s *Server) clientAddress(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Not an IP peer (a Unix socket): such requests share one key.
		return "unknown"
	}
	// A zoned address matches no prefix.
	addr := peer.Addr().Unmap().WithZone("")
	if real := r.Header.Get("X-Real-IP"); real != "" {
		if !s.trustedProxy(addr) {
			// Logged once: behind a proxy missing from -trusted-proxies every student
			// would count as the proxy's address.
			s.untrustedProxy.Do(func() {
				s.log.Warn("X-Real-IP from a peer outside the trusted proxies is ignored; if it is the proxy in front of the app, add it to -trusted-proxies",
					slog.String("peer", addr.String()))
			})
		} else if a, err := netip.ParseAddr(strings.TrimSpace(real)); err == nil {
			addr = a
		}
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is6() {
		p, _ := addr.Prefix(64)
		return p.String()
	}
	return addr.String()
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.proxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// throttleKeys are the login_throttle keys one attempt counts under. The address comes
// before the account, and holds no space, so no two pairs make the same key.
type throttleKeys struct {
	global, address, account []byte
}

func newThrottleKeys(address, account string) throttleKeys {
	return throttleKeys{
		global:  []byte("g"),
		address: []byte("a " + address),
		account: []byte("u " + address + " " + account),
	}
}

// throttleCheck is what the keys' rows say about one attempt.
type throttleCheck struct {
	wait       time.Duration // refuse the attempt and say to wait this long
	global     bool          // the wait is the global budget's
	hadAccount bool
	delayed    []string // keys past their free failures
}

// checkThrottle reads every key of the attempt with one SELECT. It only reads: a refused
// attempt costs this query and nothing else.
func (s *Server) checkThrottle(ctx context.Context, keys throttleKeys, now time.Time) (throttleCheck, error) {
	rows, err := s.q.LoginThrottleRows(ctx, db.LoginThrottleRowsParams{GlobalKey: keys.global, AddressKey: keys.address, AccountKey: keys.account})
	if err != nil {
		return throttleCheck{}, fmt.Errorf("read login throttle: %w", err)
	}
	return s.judgeThrottle(rows, keys, now), nil
}

// throttleRows are the rows of the keys LoginFacts found, as LoginThrottleRows reads them.
func throttleRows(f db.LoginFactsRow, keys throttleKeys) []db.LoginThrottle {
	var rows []db.LoginThrottle
	add := func(k []byte, failures sql.NullInt32, window, blocked sql.NullTime) {
		if failures.Valid {
			rows = append(rows, db.LoginThrottle{K: k, Failures: failures.Int32, WindowStartedAt: window.Time, BlockedUntil: blocked})
		}
	}
	add(keys.global, f.GlobalFailures, f.GlobalWindowStartedAt, f.GlobalBlockedUntil)
	add(keys.address, f.AddressFailures, f.AddressWindowStartedAt, f.AddressBlockedUntil)
	add(keys.account, f.AccountFailures, f.AccountWindowStartedAt, f.AccountBlockedUntil)
	return rows
}

// judgeThrottle says what the keys' rows mean for an attempt now.
func (s *Server) judgeThrottle(rows []db.LoginThrottle, keys throttleKeys, now time.Time) throttleCheck {
	t := s.throttle
	windowStart := now.Add(-t.Window)
	var c throttleCheck
	var addressFailed bool
	var budgetEnds time.Time
	for _, row := range rows {
		current := row.WindowStartedAt.After(windowStart)
		if row.BlockedUntil.Valid && row.BlockedUntil.Time.After(now) {
			c.wait = max(c.wait, row.BlockedUntil.Time.Sub(now))
		}
		switch string(row.K) {
		case string(keys.global):
			if current && int(row.Failures) >= t.GlobalBudget {
				budgetEnds = row.WindowStartedAt.Add(t.Window)
			}
		case string(keys.address):
			addressFailed = current
			if current && int(row.Failures) >= t.PerAddress {
				c.delayed = append(c.delayed, string(row.K))
			}
		case string(keys.account):
			c.hadAccount = true
			if current && int(row.Failures) >= t.PerAccountAddress {
				c.delayed = append(c.delayed, string(row.K))
			}
		}
	}
	if addressFailed && budgetEnds.After(now) && budgetEnds.Sub(now) > c.wait {
		c.wait, c.global = budgetEnds.Sub(now), true
	}
	return c
}

// admission says whether an attempt may ask the directory.
type admission struct {
	wait       time.Duration // > 0: refused; wait this long
	refused    string        // the logins metric's result when refused
	hadAccount bool          // the account+address key has a row, to clear on success
	release    func()        // call, even after an error, once the attempt's failure is recorded
	// stored is the users row of the name typed, read with the keys (nil: none).
	stored *storedAccount
}

// admitLogin checks the attempt's keys, and reads the users row of the account name
// typed in the same round trip (LoginFacts). Past its free failures a key lets one
// attempt at a time through on this replica (see oneAtATime), read again once held: an
// attempt that ended since the first read may have recorded a new delay.
func (s *Server) admitLogin(ctx context.Context, keys throttleKeys, account string, now time.Time) (admission, error) {
	a := admission{release: func() {}}
	f, err := s.q.LoginFacts(ctx, db.LoginFactsParams{Username: account, GlobalKey: keys.global, AddressKey: keys.address, AccountKey: keys.account})
	if err != nil {
		return a, fmt.Errorf("read login throttle: %w", err)
	}
	if f.ID.Valid {
		a.stored = &storedAccount{id: f.ID.Int64, username: f.Username.String, studentNumber: f.StudentNumber.String,
			displayName: f.DisplayName.String, email: f.Email.String, role: string(f.Role.UsersRole),
			department: f.DepartmentCode.String, classYear: int(f.ClassYear.Int16)}
	}
	c := s.judgeThrottle(throttleRows(f, keys), keys, now)
	if len(c.delayed) > 0 && c.wait == 0 {
		release, ok := s.loginsInFlight.acquire(c.delayed)
		if !ok {
			a.wait, a.refused = s.throttle.BaseDelay, "throttled"
			return a, nil
		}
		a.release = release
		if c, err = s.checkThrottle(ctx, keys, now); err != nil {
			return a, err
		}
	}
	a.hadAccount = c.hadAccount
	switch {
	case c.global:
		a.wait, a.refused = c.wait, "throttled_global"
	case c.wait > 0:
		a.wait, a.refused = c.wait, "throttled"
	}
	return a, nil
}

// recordLoginFailure counts a wrong password under every key of the attempt.
func (s *Server) recordLoginFailure(ctx context.Context, keys throttleKeys, now time.Time) error {
	t := s.throttle
	arg := db.RecordLoginFailureParams{
		GlobalKey:   keys.global,
		AddressKey:  keys.address,
		AccountKey:  keys.account,
		Now:         now,
		WindowStart: now.Add(-t.Window),
		AddressFree: int64(t.PerAddress),
		AccountFree: int64(t.PerAccountAddress),
		BaseDelayUs: t.BaseDelay.Microseconds(),
		MaxDelayUs:  t.MaxDelay.Microseconds(),
	}
	// Counted even when the client has gone: a client that hangs up after sending would
	// otherwise have its guesses checked by the directory and never counted.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	// In a transaction only for InTx's deadlock retry: the prune may lock the same rows
	// in another order.
	err := db.InTx(ctx, s.db, func(q *db.Queries) error { return q.RecordLoginFailure(ctx, arg) })
	if err != nil {
		return fmt.Errorf("record login failure: %w", err)
	}
	return nil
}

// pruneBatch bounds how many rows one prune statement deletes, and so locks.
const pruneBatch = 1000

// pruneLoginThrottle deletes the keys whose window has ended and whose block has passed.
func (s *Server) pruneLoginThrottle(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	for {
		n, err := s.q.DeleteEndedLoginThrottle(ctx, db.DeleteEndedLoginThrottleParams{
			WindowStart: now.Add(-s.throttle.Window),
			Now:         sql.NullTime{Time: now, Valid: true},
			Limit:       pruneBatch,
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("prune login throttle: %w", err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}

// waitMessage says how long to wait before the next attempt, rounded up.
func waitMessage(wait time.Duration) views.Message {
	secs := int(math.Ceil(wait.Seconds()))
	switch {
	case secs <= 1:
		return views.Msg("login.err.throttled_second")
	case secs < 120:
		return views.Msg("login.err.throttled_seconds", secs)
	}
	return views.Msg("login.err.throttled_minutes", (secs+59)/60)
}

// oneAtATime lets one attempt at a time through, on this replica, for a key past its free
// failures. Without it, requests sent together would all pass the check before the first
// of their failures is recorded: a client would get as many guesses per delay as it opens
// connections. Keys still within their free failures never come here, so students sharing
// a campus address sign in side by side.
type oneAtATime struct {
	mu   sync.Mutex
	busy map[string]bool
}

// acquire takes every key or none; release gives them back.
func (o *oneAtATime) acquire(keys []string) (release func(), ok bool) {
	if len(keys) == 0 {
		return func() {}, true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, k := range keys {
		if o.busy[k] {
			return nil, false
		}
	}
	for _, k := range keys {
		o.busy[k] = true
	}
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, k := range keys {
			delete(o.busy, k)
		}
	}, true
}
