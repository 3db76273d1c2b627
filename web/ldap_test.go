package web_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

func newAuthenticator(t *testing.T, dir ldaptest.Directory, configure ...func(*web.LDAPConfig)) *web.Authenticator {
	return dir.Authenticator(t, append([]func(*web.LDAPConfig){func(c *web.LDAPConfig) { c.PoolSize = 2 }}, configure...)...)
}

func TestAuthenticatorIdentity(t *testing.T) {
	t.Parallel()
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice, ada)
	a := newAuthenticator(t, dir)
	id, err := a.Authenticate(context.Background(), "alice", alice.Password)
	if err != nil {
		t.Fatal(err)
	}
	want := web.Identity{Username: "alice", DN: dir.UserDN("alice"), DisplayName: "Alice Kim", Email: "alice@school.example",
		StudentNumber: "202600001", Department: "CS", ClassYear: 2, Role: web.RoleStudent}
	if id != want {
		t.Errorf("identity\n got %+v\nwant %+v", id, want)
	}
	// Staff and admins: the most powerful group wins.
	if id, err := a.Authenticate(context.Background(), "ada", ada.Password); err != nil || id.Role != web.RoleAdmin {
		t.Errorf("ada: role %q (%v), want admin", id.Role, err)
	}
}

// Lookup reads an account without its password, and tells a gone account and one in no
// group from a directory that does not answer.
func TestAuthenticatorLookup(t *testing.T) {
	t.Parallel()
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice, nobody)
	a := newAuthenticator(t, dir)
	ctx := context.Background()
	id, err := a.Lookup(ctx, "ALICE")
	if err != nil || id.Username != "alice" || id.Role != web.RoleStudent || id.ClassYear != 2 || id.DisplayName != "Alice Kim" {
		t.Errorf("alice: %+v (%v)", id, err)
	}
	for username, want := range map[string]error{"mallory": web.ErrNoAccount, "al*": web.ErrNoAccount, "": web.ErrNoAccount, "nobody": web.ErrNoRole} {
		if _, err := a.Lookup(ctx, username); !errors.Is(err, want) {
			t.Errorf("%q: %v, want %v", username, err, want)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	down := newAuthenticator(t, dir, func(c *web.LDAPConfig) { c.URL = "ldap://" + addr })
	if _, err := down.Lookup(ctx, "alice"); err == nil || errors.Is(err, web.ErrNoAccount) || errors.Is(err, web.ErrNoRole) {
		t.Errorf("directory down: %v, want a connection error", err)
	}
}

// Failed binds leave pooled connections usable, and the pool serves many logins at once.
func TestAuthenticatorPoolUnderLoad(t *testing.T) {
	t.Parallel()
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice, sam)
	a := newAuthenticator(t, dir)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, pw := alice, alice.Password
			if i%2 == 1 {
				pw = "wrong"
			}
			if i%3 == 0 {
				user, pw = sam, sam.Password
			}
			_, err := a.Authenticate(ctx, user.Username, pw)
			if pw == "wrong" && !errors.Is(err, web.ErrInvalidCredentials) || pw != "wrong" && err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("unexpected result: %v", err)
	}
}

func TestAuthenticatorAmbiguousMatchRefused(t *testing.T) {
	t.Parallel()
	dir := ldaptest.New(t)
	// bob's cn is carol's username: a filter on uid or cn matches two entries for "carol".
	dir.AddUsers(t,
		ldaptest.User{Username: "bob", Password: "bob-pass-1", Name: "carol", Groups: []string{"students"}},
		ldaptest.User{Username: "carol", Password: "carol-pass-1", Name: "Carol", Groups: []string{"students"}})
	a := newAuthenticator(t, dir, func(c *web.LDAPConfig) {
		c.UserFilter = "(&(objectClass=inetOrgPerson)(|(uid={username})(cn={username})))"
	})
	if _, err := a.Authenticate(context.Background(), "carol", "carol-pass-1"); !errors.Is(err, web.ErrInvalidCredentials) {
		t.Errorf("ambiguous account: %v, want ErrInvalidCredentials", err)
	}
	if _, err := a.Authenticate(context.Background(), "bob", "bob-pass-1"); err != nil {
		t.Errorf("bob: %v", err)
	}
}

// The filter template is what makes other directories work, e.g. signing in by e-mail.
func TestAuthenticatorConfigurableFilter(t *testing.T) {
	t.Parallel()
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice)
	a := newAuthenticator(t, dir, func(c *web.LDAPConfig) {
		c.UserFilter = "(&(objectClass=inetOrgPerson)(mail={username}))"
	})
	id, err := a.Authenticate(context.Background(), "alice@school.example", alice.Password)
	if err != nil || id.Username != "alice" {
		t.Errorf("login by mail: %+v %v", id, err)
	}
	if _, err := web.NewAuthenticator(web.LDAPConfig{URL: dir.URL, BindDN: dir.BindDN, UserBaseDN: dir.PeopleDN(), UserFilter: "(uid=alice)"}); err == nil {
		t.Error("a filter without {username} was accepted")
	}
}

func TestDirectoryDown(t *testing.T) {
	t.Parallel()
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := ldaptest.New(t)
	a := newAuthenticator(t, dir, func(c *web.LDAPConfig) { c.URL = "ldap://" + addr })
	if _, err := a.Authenticate(context.Background(), "alice", "x"); err == nil || errors.Is(err, web.ErrInvalidCredentials) {
		t.Errorf("directory down: %v, want a connection error", err)
	}
	if err := a.Ping(context.Background()); err == nil {
		t.Error("Ping succeeded with the directory down")
	}

	app := newTestApp(t, insecureCookies, func(o *web.Options) { o.Directory = a })
	res, body := app.post(t, app.client(t), "/login", url.Values{"username": {"alice"}, "password": {alice.Password}})
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(testid(t, body, "alert"), "not available right now") {
		t.Errorf("login with the directory down: %d %q", res.StatusCode, testid(t, body, "alert"))
	}
	if res, _ := app.ops(t, "/readyz"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the directory down: %d", res.StatusCode)
	}
}

// The stack's slapd speaks StartTLS and LDAPS with a certificate from its own CA.
func TestAuthenticatorTLS(t *testing.T) {
	t.Parallel()
	ldapsURL, caFile := os.Getenv("SCHOOL_STACK_LDAPS_URL"), os.Getenv("SCHOOL_STACK_LDAP_CA_FILE")
	if ldapsURL == "" || caFile == "" {
		t.Fatal("SCHOOL_STACK_LDAPS_URL and SCHOOL_STACK_LDAP_CA_FILE are not set: run the tests with `make test`")
	}
	dir := ldaptest.New(t)
	dir.AddUsers(t, alice)
	cases := []struct {
		name   string
		config func(*web.LDAPConfig)
		ok     bool
	}{
		{"StartTLS with the CA", func(c *web.LDAPConfig) { c.StartTLS, c.CAFile = true, caFile }, true},
		{"LDAPS with the CA", func(c *web.LDAPConfig) { c.URL, c.CAFile = ldapsURL, caFile }, true},
		{"StartTLS with an unknown CA", func(c *web.LDAPConfig) { c.StartTLS = true }, false},
		{"LDAPS with an unknown CA", func(c *web.LDAPConfig) { c.URL = ldapsURL }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := newAuthenticator(t, dir, tc.config)
			id, err := a.Authenticate(context.Background(), "alice", alice.Password)
			switch {
			case tc.ok && (err != nil || id.Username != "alice"):
				t.Errorf("login over TLS: %+v %v", id, err)
			case !tc.ok && (err == nil || errors.Is(err, web.ErrInvalidCredentials)):
				t.Errorf("an untrusted certificate gave %v, want a certificate error", err)
			case !tc.ok && !strings.Contains(err.Error(), "certificate"):
				t.Errorf("error %q does not say it is about the certificate", err)
			}
		})
	}
}
