package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

// countingDirectory is the real directory, counting the passwords it was asked to check.
type countingDirectory struct {
	web.Directory
	asked atomic.Int64
}

func (d *countingDirectory) Authenticate(ctx context.Context, username, password string) (web.Identity, error) {
	d.asked.Add(1)
	return d.Directory.Authenticate(ctx, username, password)
}

// throttleApp is a test app whose directory calls are counted and whose clock the test
// moves. Requests come from loopback, a trusted proxy by default, so X-Real-IP names the
// client.
type throttleApp struct {
	*testApp
	dir *countingDirectory
	clk *clock
}

func newThrottleApp(t *testing.T, configure ...func(*web.Options)) *throttleApp {
	t.Helper()
	a := &throttleApp{clk: &clock{t: time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)}}
	a.testApp = newTestApp(t, append([]func(*web.Options){insecureCookies, func(o *web.Options) {
		a.dir = &countingDirectory{Directory: o.Directory}
		o.Directory = a.dir
		o.Now = a.clk.now
	}}, configure...)...)
	return a
}

// attempt signs in as username from the client address addr and returns the status and
// the page's alert. It is safe from any goroutine.
func (a *throttleApp) attempt(username, password, addr string, header ...string) (status int, retryAfter, alert string, err error) {
	form := url.Values{"username": {username}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, a.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if addr != "" {
		req.Header.Set("X-Real-IP", addr)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	d, err := goquery.NewDocumentFromReader(res.Body)
	if err != nil {
		return 0, "", "", err
	}
	return res.StatusCode, res.Header.Get("Retry-After"), strings.TrimSpace(d.Find(`[data-testid="alert"]`).Text()), nil
}

// must is attempt for the test's own goroutine: it fails the test unless the status is
// want, and returns Retry-After and the alert.
func (a *throttleApp) must(t *testing.T, want int, username, password, addr string, header ...string) (retryAfter, alert string) {
	t.Helper()
	status, retryAfter, alert, err := a.attempt(username, password, addr, header...)
	if err != nil {
		t.Fatal(err)
	}
	if status != want {
		t.Fatalf("%s from %s: status %d, want %d (%s)", username, addr, status, want, alert)
	}
	return retryAfter, alert
}

// logins reads school_logins_total by result from the app's registry.
func (a *throttleApp) logins(t *testing.T) map[string]int {
	t.Helper()
	families, err := a.opts.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, f := range families {
		if f.GetName() != "school_logins_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" {
					out[l.GetValue()] = int(m.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}

// The acceptance test of issue 13: a spray of wrong passwords at many accounts from one
// address never keeps those students from signing in from their own devices. The clock
// moves a second per attempt, so the spray spans several windows and gets through to the
// directory as often as the limits let it.
func TestLoginSprayCannotLockStudentsOut(t *testing.T) {
	t.Parallel()
	const accounts, attempts = 500, 5000
	app := newThrottleApp(t)
	students := make([]ldaptest.User, accounts)
	for i := range students {
		students[i] = ldapUser(fmt.Sprintf("spray%03d", i), "students")
	}
	app.Dir.AddUsers(t, students...)

	const attacker = "203.0.113.66"
	statuses := map[int]int{}
	for i := range attempts {
		u := students[i%accounts]
		status, _, _, err := app.attempt(u.Username, fmt.Sprintf("guess-%d", i), attacker)
		if err != nil {
			t.Fatal(err)
		}
		statuses[status]++
		app.clk.add(time.Second)
	}
	sprayAsked := app.dir.asked.Load()
	t.Logf("figures: spray: %d attempts from one address over %d accounts in %v of fake time: %d reached the directory (401: %d), %d refused (429)",
		attempts, accounts, time.Duration(attempts)*time.Second, sprayAsked, statuses[http.StatusUnauthorized], statuses[http.StatusTooManyRequests])
	if statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != attempts || int(sprayAsked) != statuses[http.StatusUnauthorized] {
		t.Errorf("spray answers %v, directory asked %d times: want only 401s that reached it and 429s that did not", statuses, sprayAsked)
	}
	if statuses[http.StatusTooManyRequests] < attempts*9/10 {
		t.Errorf("only %d of %d spray attempts refused", statuses[http.StatusTooManyRequests], attempts)
	}

	// Every student at once, each from their own device.
	var wg sync.WaitGroup
	var mu sync.Mutex
	refused := map[string]string{}
	start := make(chan struct{})
	for i, u := range students {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, _, alert, err := app.attempt(u.Username, u.Password, fmt.Sprintf("198.51.%d.%d", 100+i/250, 1+i%250))
			if status != http.StatusSeeOther || err != nil {
				mu.Lock()
				refused[u.Username] = fmt.Sprintf("%d %s %v", status, alert, err)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("figures: then %d students signed in at once from their own addresses: %d succeeded, %d refused",
		accounts, accounts-len(refused), len(refused))
	if len(refused) > 0 {
		t.Errorf("%d students could not sign in after the spray, e.g. %v", len(refused), refused)
	}
	// And again at once from one shared address, as from a campus network: successes
	// are not failures, so nothing there is held back.
	refused = map[string]string{}
	start = make(chan struct{})
	for _, u := range students {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, _, alert, err := app.attempt(u.Username, u.Password, "198.51.100.254")
			if status != http.StatusSeeOther || err != nil {
				mu.Lock()
				refused[u.Username] = fmt.Sprintf("%d %s %v", status, alert, err)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	t.Logf("figures: and again at once from one shared address: %d succeeded, %d refused", accounts-len(refused), len(refused))
	if len(refused) > 0 {
		t.Errorf("%d students could not sign in from a shared address, e.g. %v", len(refused), refused)
	}
	m := app.logins(t)
	if m["ok"] != 2*accounts || m["invalid"] != statuses[http.StatusUnauthorized] || m["throttled"] != statuses[http.StatusTooManyRequests] {
		t.Errorf("school_logins_total %v does not match the answers", m)
	}
}

// Free failures for these tests: few, so the limits show after a handful of attempts.
func smallLimits(o *web.Options) {
	o.LoginThrottle = web.LoginThrottle{Window: 15 * time.Minute, PerAddress: 8, PerAccountAddress: 3,
		BaseDelay: time.Second, MaxDelay: 10 * time.Second, GlobalBudget: 1000}
}

func TestLoginThrottle(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		configure func(*web.Options)
		run       func(t *testing.T, app *throttleApp)
	}{
		{"address limit", smallLimits, func(t *testing.T, app *throttleApp) {
			// Invented usernames: the address counts failures whatever the account.
			for i := range 8 {
				app.must(t, http.StatusUnauthorized, fmt.Sprintf("nobody%d", i), "x-1", "192.0.2.1")
			}
			app.must(t, http.StatusUnauthorized, "nobody-else", "x-1", "192.0.2.1")
			retry, msg := app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "192.0.2.1")
			if retry != "1" || !strings.Contains(msg, "Try again in a second") {
				t.Errorf("Retry-After %q, message %q: want a second", retry, msg)
			}
			// Refused attempts are not counted and do not reach the directory.
			asked := app.dir.asked.Load()
			for range 5 {
				app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "192.0.2.1")
			}
			if n := app.dir.asked.Load(); n != asked {
				t.Errorf("refused attempts reached the directory %d times", n-asked)
			}
			if n := app.count(t, "SELECT failures FROM login_throttle WHERE k = 'a 192.0.2.1'"); n != 9 {
				t.Errorf("the address has %d failures, want 9: refused attempts are not failures", n)
			}
			// Another address, and this one after its delay, sign in.
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "192.0.2.2")
			app.clk.add(time.Second)
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "192.0.2.1")
			// A success does not clear the address's failures.
			app.must(t, http.StatusUnauthorized, "nobody-more", "x-1", "192.0.2.1")
			if retry, _ := app.must(t, http.StatusTooManyRequests, sam.Username, sam.Password, "192.0.2.1"); retry != "2" {
				t.Errorf("Retry-After %q after the address's next failure, want 2", retry)
			}
		}},
		{"account and address delay grows", func(o *web.Options) {
			smallLimits(o)
			o.LoginThrottle.PerAddress = 100 // only the account's limit shows here
		}, func(t *testing.T, app *throttleApp) {
			const home = "192.0.2.10"
			for range 3 {
				app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", home)
			}
			// Past the free failures each failure doubles the wait, up to the cap.
			for _, wait := range []int{1, 2, 4, 8, 10, 10} {
				app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", home)
				retry, msg := app.must(t, http.StatusTooManyRequests, "ALICE", alice.Password, home)
				if retry != strconv.Itoa(wait) {
					t.Errorf("Retry-After %q, want %d", retry, wait)
				}
				if wait > 1 && !strings.Contains(msg, fmt.Sprintf("Try again in %d seconds", wait)) {
					t.Errorf("message %q does not say %d seconds", msg, wait)
				}
				app.clk.add(time.Duration(wait) * time.Second)
			}
			// In Korean too.
			app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", home)
			if _, msg := app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, home, "Accept-Language", "ko"); !strings.Contains(msg, "10초 후에 다시 시도하세요") {
				t.Errorf("Korean message %q", msg)
			}
			// Meanwhile other accounts from this address, and alice elsewhere, are not held back.
			app.must(t, http.StatusSeeOther, sam.Username, sam.Password, home)
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "192.0.2.11")
			// Once the wait is over, the right password clears the account's failures here.
			app.clk.add(10 * time.Second)
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, home)
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle WHERE k = 'u 192.0.2.10 alice'"); n != 0 {
				t.Error("a sign-in left the account's failures from its address")
			}
			app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", home)
		}},
		{"past the free failures, attempts sent together go one at a time", smallLimits, func(t *testing.T, app *throttleApp) {
			for i := range 8 {
				app.must(t, http.StatusUnauthorized, fmt.Sprintf("nobody%d", i), "x-1", "192.0.2.40")
			}
			// The address is not blocked yet, but its next failure will be: of 50 attempts
			// sent at once, one may ask the directory; the rest see its delay or its turn.
			asked := app.dir.asked.Load()
			var wg sync.WaitGroup
			var mu sync.Mutex
			statuses := map[int]int{}
			start := make(chan struct{})
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					status, _, _, err := app.attempt(fmt.Sprintf("together%d", i), "x-1", "192.0.2.40")
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				}()
			}
			close(start)
			wg.Wait()
			if n := app.dir.asked.Load() - asked; n != 1 || statuses[http.StatusUnauthorized] != 1 || statuses[http.StatusTooManyRequests] != 49 {
				t.Errorf("the directory was asked %d times; answers %v; want once, one 401 and 49 429s", n, statuses)
			}
		}},
		{"a wait beyond two minutes is said in minutes", func(o *web.Options) {
			smallLimits(o)
			o.LoginThrottle.BaseDelay, o.LoginThrottle.MaxDelay = 3*time.Minute, 15*time.Minute
		}, func(t *testing.T, app *throttleApp) {
			for range 4 {
				app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", "192.0.2.20")
			}
			retry, msg := app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "192.0.2.20")
			if retry != "180" || !strings.Contains(msg, "Try again in 3 minutes") {
				t.Errorf("Retry-After %q, message %q", retry, msg)
			}
		}},
		{"global budget", func(o *web.Options) {
			smallLimits(o)
			o.LoginThrottle.GlobalBudget = 10
		}, func(t *testing.T, app *throttleApp) {
			for i := range 10 {
				app.must(t, http.StatusUnauthorized, alice.Username, "wrong-1", fmt.Sprintf("192.0.2.%d", 100+i))
				app.clk.add(time.Minute)
			}
			// Spent: addresses with failures in the window wait until the budget's window
			// ends (5 more minutes), whatever the password.
			retry, msg := app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "192.0.2.100")
			if retry != "300" || !strings.Contains(msg, "Try again in 5 minutes") {
				t.Errorf("Retry-After %q, message %q", retry, msg)
			}
			// An address without failures still gets in, and is asked about a wrong password
			// once.
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "192.0.2.200")
			app.must(t, http.StatusUnauthorized, sam.Username, "wrong-1", "192.0.2.201")
			app.must(t, http.StatusTooManyRequests, sam.Username, sam.Password, "192.0.2.201")
			if m := app.logins(t); m["throttled_global"] != 2 {
				t.Errorf("school_logins_total %v, want 2 throttled_global", m)
			}
			// A new window, a new budget.
			app.clk.add(5 * time.Minute)
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "192.0.2.100")
		}},
		{"X-Real-IP from an untrusted peer is ignored", func(o *web.Options) {
			smallLimits(o)
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, func(t *testing.T, app *throttleApp) {
			// Every attempt claims another address; all count as the peer's, 127.0.0.1.
			for i := range 9 {
				app.must(t, http.StatusUnauthorized, fmt.Sprintf("nobody%d", i), "x-1", fmt.Sprintf("192.0.2.%d", i))
			}
			app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "192.0.2.99")
			if n := app.count(t, "SELECT failures FROM login_throttle WHERE k = 'a 127.0.0.1'"); n != 9 {
				t.Errorf("127.0.0.1 has %d failures, want 9", n)
			}
			if n := strings.Count(app.logs.String(), "X-Real-IP from a peer outside the trusted proxies"); n != 1 {
				t.Errorf("the untrusted X-Real-IP was logged %d times, want once", n)
			}
		}},
		{"an empty trusted list trusts no proxy", func(o *web.Options) {
			smallLimits(o)
			o.TrustedProxies = []netip.Prefix{}
		}, func(t *testing.T, app *throttleApp) {
			app.must(t, http.StatusUnauthorized, "nobody", "x-1", "192.0.2.1")
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle WHERE k = 'a 127.0.0.1'"); n != 1 {
				t.Error("X-Real-IP was believed with no trusted proxy")
			}
		}},
		{"IPv6 counts by /64", smallLimits, func(t *testing.T, app *throttleApp) {
			for i := range 9 {
				app.must(t, http.StatusUnauthorized, fmt.Sprintf("nobody%d", i), "x-1", fmt.Sprintf("2001:db8:1:2:%x::%x", i*4099, i+1))
			}
			app.must(t, http.StatusTooManyRequests, alice.Username, alice.Password, "2001:db8:1:2:ffff:ffff:ffff:fffe")
			app.must(t, http.StatusSeeOther, alice.Username, alice.Password, "2001:db8:1:3::1")
			// An IPv4 client through an IPv6 socket is still its IPv4 address.
			app.must(t, http.StatusUnauthorized, "nobody", "x-1", "::ffff:192.0.2.50")
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle WHERE k IN ('a 2001:db8:1:2::/64', 'a 192.0.2.50')"); n != 2 {
				t.Errorf("%d of the expected address keys, want 2", n)
			}
		}},
		{"pruning", smallLimits, func(t *testing.T, app *throttleApp) {
			// Invented usernames from one address: the address limit bounds the rows.
			refused := 0
			for i := range 200 {
				status, _, _, err := app.attempt(fmt.Sprintf("invented%d", i), "x-1", "192.0.2.30")
				if err != nil {
					t.Fatal(err)
				}
				if status == http.StatusTooManyRequests {
					refused++
				}
			}
			// 9 account keys (8 free failures and the first delayed one), the address, the
			// global key.
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle"); refused != 191 || n != 11 {
				t.Errorf("%d refused, %d rows; want 191 and 11", refused, n)
			}
			ctx := context.Background()
			app.server.SweepOnce(ctx)
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle"); n != 11 {
				t.Errorf("the sweep deleted keys of the current window: %d left", n)
			}
			// Another address fails a few minutes later: its keys outlive the first ones.
			app.clk.add(5 * time.Minute)
			app.must(t, http.StatusUnauthorized, "invented-late", "x-1", "192.0.2.31")
			app.clk.add(10*time.Minute + time.Second)
			app.server.SweepOnce(ctx)
			var left []string
			rows, err := app.DB.Query("SELECT k FROM login_throttle ORDER BY k")
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var k string
				if err := rows.Scan(&k); err != nil {
					t.Fatal(err)
				}
				left = append(left, k)
			}
			if strings.Join(left, ",") != "a 192.0.2.31,u 192.0.2.31 invented-late" {
				t.Errorf("after the first window ended, left %q", left)
			}
			app.clk.add(5 * time.Minute)
			app.server.SweepOnce(ctx)
			if n := app.count(t, "SELECT COUNT(*) FROM login_throttle"); n != 0 {
				t.Errorf("%d keys left after every window ended", n)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, newThrottleApp(t, tc.configure))
		})
	}
}
