package rehearsal

import (
	"context"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/web"
)

// logins runs POST /login, the raw search+bind loop and the floor's POST /login in turns
// (app, loop, floor; loop, floor, app; …). Within its phase every sign-in is another
// student's; the loop goes over the same students again where it makes more sign-ins
// than there are of them.
func (b *bench) logins(ctx context.Context, floor *floorServer) (app, raw, atFloor *Phase, err error) {
	cfg := b.cfg
	loop, err := newLDAPLoop(cfg.Dir)
	if err != nil {
		return nil, nil, nil, err
	}
	defer loop.close()
	floor.ldap.Store(loop)
	app, raw, atFloor = newPhase("login", cfg.Clients), newPhase("ldap", cfg.Clients), newPhase("login_floor", cfg.Clients)
	names := b.data.logins
	signIns := func(c *benchClient, ph *Phase, round int) {
		from, to := roundOf(cfg.Logins, cfg.Rounds, round)
		outs := make([]outcome, to-from)
		elapsed, cpu := b.timed(func() {
			work(cfg.Clients, from, to, func(i int) {
				_, r := c.signIn(ctx, names[i%len(names)])
				o := outcome{took: r.took, result: "signed_in"}
				if r.err != nil {
					o.result, o.fault = "", loginFault(r)
				}
				outs[i-from] = o
			})
		})
		ph.add(elapsed, cpu, outs)
	}
	rawRound := func(round int) {
		from, to := roundOf(cfg.LDAPLogins, cfg.Rounds, round)
		outs := make([]outcome, to-from)
		elapsed, cpu := b.timed(func() {
			work(cfg.Clients, from, to, func(i int) {
				start := time.Now()
				err := loop.signIn(names[i%len(names)], benchPassword)
				o := outcome{took: time.Since(start), result: "signed_in"}
				if err != nil {
					o.result, o.fault = "", "ldap: "+err.Error()
				}
				outs[i-from] = o
			})
		})
		raw.add(elapsed, cpu, outs)
	}
	for round := range cfg.Rounds {
		phases := []func(){
			func() { signIns(b.web, app, round) },
			func() { rawRound(round) },
			func() { signIns(floor.client, atFloor, round) },
		}
		for k := range phases {
			phases[(round+k)%len(phases)]()
		}
	}
	return app, raw, atFloor, nil
}

func loginFault(r reply) string {
	if r.status == 0 {
		return "no answer: " + transportKind(r.err)
	}
	return fmt.Sprintf("%d", r.status)
}

// ldapLoop is the directory's ceiling for sign-ins: what web.Authenticator does against
// slapd and nothing else. A search as the service account on one pool (the app's filter,
// size limit and attributes), then a bind as the user on another pool, each of PoolSize
// persistent connections.
type ldapLoop struct {
	dir           BenchDirectory
	search, binds chan *ldap.Conn
	attrs         []string
}

func newLDAPLoop(d BenchDirectory) (*ldapLoop, error) {
	a := web.DefaultLDAPAttributes
	l := &ldapLoop{dir: d, search: make(chan *ldap.Conn, d.PoolSize), binds: make(chan *ldap.Conn, d.PoolSize),
		attrs: []string{a.Username, a.DisplayName, "cn", a.Email, a.StudentNumber, a.Department, a.ClassYear, a.MemberOf}}
	for range d.PoolSize {
		s, err := ldap.DialURL(d.URL)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("dial %s: %w", d.URL, err)
		}
		l.search <- s
		if err := s.Bind(d.BindDN, d.BindPassword); err != nil {
			l.close()
			return nil, fmt.Errorf("bind as %s: %w", d.BindDN, err)
		}
		u, err := ldap.DialURL(d.URL)
		if err != nil {
			l.close()
			return nil, fmt.Errorf("dial %s: %w", d.URL, err)
		}
		l.binds <- u
	}
	return l, nil
}

// signIn finds the account and checks its password.
func (l *ldapLoop) signIn(username, password string) error {
	// The app's default filter (school serve -ldap-user-filter).
	filter := "(&(objectClass=inetOrgPerson)(uid=" + ldap.EscapeFilter(username) + "))"
	req := ldap.NewSearchRequest("ou=people,"+l.dir.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, 5, false, filter, l.attrs, nil)
	s := <-l.search
	res, err := s.Search(req)
	l.search <- s
	if err != nil {
		return err
	}
	if len(res.Entries) != 1 {
		return fmt.Errorf("%d entries for %s", len(res.Entries), username)
	}
	u := <-l.binds
	err = u.Bind(res.Entries[0].DN, password)
	l.binds <- u
	return err
}

func (l *ldapLoop) close() {
	for _, pool := range []chan *ldap.Conn{l.search, l.binds} {
		for len(pool) > 0 {
			(<-pool).Close()
		}
	}
}
