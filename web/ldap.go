package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// Roles a directory account can map to.
const (
	RoleStudent = "student"
	RoleStaff   = "staff"
	RoleAdmin   = "admin"
)

var (
	// ErrInvalidCredentials covers unknown users, ambiguous matches and wrong passwords
	// alike, so a caller cannot tell which.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrNoRole is a valid directory account that belongs to none of the school's groups.
	ErrNoRole = errors.New("account is in no group that may use the service")
	// ErrNoAccount is a username the directory no longer has (or has more than once).
	ErrNoAccount = errors.New("no such directory account")
)

// LDAPConfig says how to reach the directory and read accounts from it. The filter
// template and attribute names make it work with OpenLDAP (uid) and Active Directory
// (sAMAccountName) alike.
type LDAPConfig struct {
	URL                string // ldap://host:389 or ldaps://host:636
	StartTLS           bool
	CAFile             string // PEM bundle to trust instead of the system roots
	InsecureSkipVerify bool
	BindDN             string // service account the searches run as
	BindPassword       string
	UserBaseDN         string
	UserFilter         string // "{username}" is replaced by the escaped username
	AdminGroupDN       string
	StaffGroupDN       string
	StudentGroupDN     string
	Attributes         LDAPAttributes
	PoolSize           int
	Timeout            time.Duration
}

// LDAPAttributes names the entry attributes an Identity is read from.
type LDAPAttributes struct {
	Username, DisplayName, Email, StudentNumber, Department, ClassYear, MemberOf string
}

// DefaultLDAPAttributes fit an OpenLDAP directory with the school schema in
// deploy/local/ldap.
var DefaultLDAPAttributes = LDAPAttributes{
	Username:      "uid",
	DisplayName:   "displayName",
	Email:         "mail",
	StudentNumber: "schoolStudentNumber",
	Department:    "departmentNumber",
	ClassYear:     "schoolClassYear",
	MemberOf:      "memberOf",
}

// Identity is what the directory says about an account that just proved its password.
type Identity struct {
	Username      string
	DN            string
	DisplayName   string
	Email         string
	StudentNumber string
	Department    string
	ClassYear     int
	Role          string
}

// Authenticator checks passwords against the directory: a search as the service account
// with an escaped filter, then a bind as the user. Searches and user binds use separate
// pools, because a bind changes the identity of the connection it runs on.
type Authenticator struct {
	cfg     LDAPConfig
	tls     *tls.Config
	search  *ldapPool
	binds   *ldapPool
	attrSet []string
}

// NewAuthenticator checks cfg; it does not dial until first use, so the app can start
// while the directory is briefly down (readiness reports it).
func NewAuthenticator(cfg LDAPConfig) (*Authenticator, error) {
	if cfg.URL == "" || cfg.UserBaseDN == "" || cfg.BindDN == "" {
		return nil, errors.New("LDAP URL, user base DN and bind DN are required")
	}
	if !strings.Contains(cfg.UserFilter, "{username}") {
		return nil, fmt.Errorf("LDAP user filter %q must contain {username}", cfg.UserFilter)
	}
	if _, err := ldap.CompileFilter(strings.ReplaceAll(cfg.UserFilter, "{username}", "x")); err != nil {
		return nil, fmt.Errorf("LDAP user filter %q: %w", cfg.UserFilter, err)
	}
	if cfg.Attributes == (LDAPAttributes{}) {
		cfg.Attributes = DefaultLDAPAttributes
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = 8
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	a := &Authenticator{cfg: cfg}
	if strings.HasPrefix(cfg.URL, "ldaps://") || cfg.StartTLS {
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("LDAP URL %q: %w", cfg.URL, err)
		}
		// StartTLS verifies the certificate against this name; ldaps:// would set it itself.
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify, ServerName: u.Hostname()}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("LDAP CA file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("LDAP CA file %s holds no PEM certificate", cfg.CAFile)
			}
		}
		a.tls = tc
	}
	at := cfg.Attributes
	a.attrSet = []string{at.Username, at.DisplayName, "cn", at.Email, at.StudentNumber, at.Department, at.ClassYear, at.MemberOf}
	a.search = newLDAPPool(cfg.PoolSize, func() (*ldap.Conn, error) {
		conn, err := a.dial()
		if err != nil {
			return nil, err
		}
		if err := conn.Bind(cfg.BindDN, cfg.BindPassword); err != nil {
			conn.Close()
			return nil, fmt.Errorf("LDAP bind as service account: %w", err)
		}
		return conn, nil
	})
	a.binds = newLDAPPool(cfg.PoolSize, a.dial)
	return a, nil
}

func (a *Authenticator) dial() (*ldap.Conn, error) {
	opts := []ldap.DialOpt{ldap.DialWithDialer(&net.Dialer{Timeout: a.cfg.Timeout})}
	if a.tls != nil {
		opts = append(opts, ldap.DialWithTLSConfig(a.tls))
	}
	conn, err := ldap.DialURL(a.cfg.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("dial LDAP: %w", err)
	}
	conn.SetTimeout(a.cfg.Timeout)
	if a.cfg.StartTLS {
		if err := conn.StartTLS(a.tls); err != nil {
			conn.Close()
			return nil, fmt.Errorf("LDAP StartTLS: %w", err)
		}
	}
	return conn, nil
}

// Authenticate returns the account's identity when password is right. Wrong password,
// unknown or ambiguous user are all ErrInvalidCredentials; the directory being
// unreachable is any other error.
func (a *Authenticator) Authenticate(ctx context.Context, username, password string) (Identity, error) {
	// An empty password would be an unauthenticated bind, which many servers accept.
	if username == "" || password == "" {
		return Identity{}, ErrInvalidCredentials
	}
	entry, err := a.find(ctx, username)
	if err != nil {
		return Identity{}, err
	}
	conn, err := a.binds.get(ctx)
	if err != nil {
		return Identity{}, err
	}
	err = conn.Bind(entry.DN, password)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		// The connection stays usable after a failed bind.
		a.binds.put(conn, nil)
		return Identity{}, ErrInvalidCredentials
	}
	a.binds.put(conn, err)
	if err != nil {
		return Identity{}, fmt.Errorf("LDAP bind as %s: %w", entry.DN, err)
	}
	return a.identity(entry)
}

// Lookup says what the directory holds about an account now, by a search as the service
// account and no bind: how a signed-in account is checked again. An account that is gone
// is ErrNoAccount, one in none of the groups ErrNoRole; the directory being unreachable
// is any other error.
func (a *Authenticator) Lookup(ctx context.Context, username string) (Identity, error) {
	if username == "" {
		return Identity{}, ErrNoAccount
	}
	entry, err := a.find(ctx, username)
	if errors.Is(err, ErrInvalidCredentials) {
		return Identity{}, ErrNoAccount
	}
	if err != nil {
		return Identity{}, err
	}
	return a.identity(entry)
}

func (a *Authenticator) find(ctx context.Context, username string) (*ldap.Entry, error) {
	filter := strings.ReplaceAll(a.cfg.UserFilter, "{username}", ldap.EscapeFilter(username))
	req := ldap.NewSearchRequest(a.cfg.UserBaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, int(a.cfg.Timeout/time.Second), false, filter, a.attrSet, nil)
	conn, err := a.search.get(ctx)
	if err != nil {
		return nil, err
	}
	res, err := conn.Search(req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		a.search.put(conn, nil)
		return nil, ErrInvalidCredentials
	}
	a.search.put(conn, err)
	if err != nil {
		return nil, fmt.Errorf("LDAP search for %q: %w", username, err)
	}
	if len(res.Entries) != 1 {
		return nil, ErrInvalidCredentials
	}
	return res.Entries[0], nil
}

func (a *Authenticator) identity(e *ldap.Entry) (Identity, error) {
	at := a.cfg.Attributes
	id := Identity{
		Username:      e.GetAttributeValue(at.Username),
		DN:            e.DN,
		DisplayName:   e.GetAttributeValue(at.DisplayName),
		Email:         e.GetAttributeValue(at.Email),
		StudentNumber: e.GetAttributeValue(at.StudentNumber),
		Department:    e.GetAttributeValue(at.Department),
	}
	if id.DisplayName == "" {
		id.DisplayName = e.GetAttributeValue("cn")
	}
	if v := e.GetAttributeValue(at.ClassYear); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 6 {
			id.ClassYear = n
		}
	}
	id.Role = a.role(e.GetAttributeValues(at.MemberOf))
	if id.Role == "" {
		return Identity{}, ErrNoRole
	}
	return id, nil
}

// role maps group membership to the most powerful role the account holds.
func (a *Authenticator) role(groups []string) string {
	in := func(dn string) bool {
		if dn == "" {
			return false
		}
		want, err := ldap.ParseDN(dn)
		if err != nil {
			return false
		}
		for _, g := range groups {
			if have, err := ldap.ParseDN(g); err == nil && want.EqualFold(have) {
				return true
			}
		}
		return false
	}
	switch {
	case in(a.cfg.AdminGroupDN):
		return RoleAdmin
	case in(a.cfg.StaffGroupDN):
		return RoleStaff
	case in(a.cfg.StudentGroupDN):
		return RoleStudent
	}
	return ""
}

// Ping checks the directory answers a search as the service account.
func (a *Authenticator) Ping(ctx context.Context) error {
	conn, err := a.search.get(ctx)
	if err != nil {
		return err
	}
	req := ldap.NewSearchRequest(a.cfg.UserBaseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		1, int(a.cfg.Timeout/time.Second), false, "(objectClass=*)", []string{"1.1"}, nil)
	_, err = conn.Search(req)
	a.search.put(conn, err)
	return err
}

// Close closes every pooled connection.
func (a *Authenticator) Close() {
	a.search.close()
	a.binds.close()
}

// ldapPool bounds the connections to the directory and keeps them open between logins:
// dialing per login costs half the throughput and piles up sockets in TIME_WAIT.
type ldapPool struct {
	slots chan struct{}
	idle  chan *ldap.Conn
	dial  func() (*ldap.Conn, error)
}

func newLDAPPool(size int, dial func() (*ldap.Conn, error)) *ldapPool {
	return &ldapPool{slots: make(chan struct{}, size), idle: make(chan *ldap.Conn, size), dial: dial}
}

func (p *ldapPool) get(ctx context.Context) (*ldap.Conn, error) {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for an LDAP connection: %w", ctx.Err())
	}
	for {
		select {
		case c := <-p.idle:
			if c.IsClosing() {
				c.Close()
				continue
			}
			return c, nil
		default:
		}
		c, err := p.dial()
		if err != nil {
			<-p.slots
			return nil, err
		}
		return c, nil
	}
}

// put returns c to the pool, or closes it when the operation on it failed in a way that
// may have left it broken.
func (p *ldapPool) put(c *ldap.Conn, opErr error) {
	defer func() { <-p.slots }()
	if opErr != nil && !isLDAPResult(opErr) {
		c.Close()
		return
	}
	select {
	case p.idle <- c:
	default:
		c.Close()
	}
}

// isLDAPResult reports whether err is an answer from the server (the connection is fine)
// rather than a network or protocol failure.
func isLDAPResult(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork && le.ResultCode < 200
}

func (p *ldapPool) close() {
	for {
		select {
		case c := <-p.idle:
			c.Close()
		default:
			return
		}
	}
}
