package main

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/web"
)

// dbFlags are the MySQL settings every command shares.
type dbFlags struct {
	DSN     string
	MaxOpen int
}

func (c *dbFlags) register(fs *flagSet) {
	fs.String(&c.DSN, "db-dsn", "", "MySQL DSN, user:password@tcp(host:port)/database")
	fs.Int(&c.MaxOpen, "db-max-open", 64, "most open MySQL connections per pool (serve has two: one for the students' registration transactions, one for the rest)")
}

func (c *dbFlags) validate(p *problems) {
	if c.DSN == "" {
		p.add("-db-dsn (SCHOOL_DB_DSN) is required; deploy/local/stack up writes one to .local/stack.env")
	}
	if c.MaxOpen < 1 || c.MaxOpen > 1000 {
		p.add("-db-max-open must be between 1 and 1000, not %d", c.MaxOpen)
	}
}

// ldapFlags say how the app reaches the directory.
type ldapFlags struct {
	URL, BaseDN, UserBaseDN, UserFilter string
	BindDN, BindPassword                string
	StartTLS, InsecureSkipVerify        bool
	CAFile                              string
	AdminGroup, StaffGroup, StudentGrp  string
	Attrs                               web.LDAPAttributes
	PoolSize                            int
	Timeout                             time.Duration
}

func (c *ldapFlags) register(fs *flagSet) {
	fs.String(&c.URL, "ldap-url", "", "directory URL, ldap://host:389 or ldaps://host:636")
	fs.String(&c.BaseDN, "ldap-base-dn", "", "directory suffix, e.g. dc=school,dc=example")
	fs.String(&c.UserBaseDN, "ldap-user-base-dn", "", "where accounts live (default ou=people,<base>)")
	fs.String(&c.UserFilter, "ldap-user-filter", "(&(objectClass=inetOrgPerson)(uid={username}))",
		"account search filter; {username} is replaced by the escaped username. Active Directory: (&(objectClass=user)(sAMAccountName={username}))")
	fs.String(&c.BindDN, "ldap-bind-dn", "", "service account that searches the directory")
	fs.String(&c.BindPassword, "ldap-bind-password", "", "service account password (prefer the environment variable)")
	fs.Bool(&c.StartTLS, "ldap-starttls", false, "upgrade ldap:// connections with StartTLS")
	fs.String(&c.CAFile, "ldap-ca-file", "", "PEM file of CAs to trust for LDAPS/StartTLS")
	fs.Bool(&c.InsecureSkipVerify, "ldap-insecure-skip-verify", false, "do not verify the directory's certificate (testing only)")
	fs.String(&c.AdminGroup, "ldap-admin-group", "", "group DN whose members are admins (default cn=admins,ou=groups,<base>)")
	fs.String(&c.StaffGroup, "ldap-staff-group", "", "group DN whose members are staff (default cn=staff,ou=groups,<base>)")
	fs.String(&c.StudentGrp, "ldap-student-group", "", "group DN whose members are students (default cn=students,ou=groups,<base>)")
	d := web.DefaultLDAPAttributes
	fs.String(&c.Attrs.Username, "ldap-attr-username", d.Username, "attribute holding the username (AD: sAMAccountName)")
	fs.String(&c.Attrs.DisplayName, "ldap-attr-name", d.DisplayName, "attribute holding the display name")
	fs.String(&c.Attrs.Email, "ldap-attr-email", d.Email, "attribute holding the e-mail address")
	fs.String(&c.Attrs.StudentNumber, "ldap-attr-student-number", d.StudentNumber, "attribute holding the student number")
	fs.String(&c.Attrs.Department, "ldap-attr-department", d.Department, "attribute holding the department code")
	fs.String(&c.Attrs.ClassYear, "ldap-attr-class-year", d.ClassYear, "attribute holding the year of study")
	fs.String(&c.Attrs.MemberOf, "ldap-attr-member-of", d.MemberOf, "attribute listing the account's groups")
	fs.Int(&c.PoolSize, "ldap-pool-size", 8, "pooled connections for searches, and again for user binds")
	fs.Duration(&c.Timeout, "ldap-timeout", 5*time.Second, "timeout of one directory operation")
}

func (c *ldapFlags) validate(p *problems) {
	if c.URL == "" {
		p.add("-ldap-url (SCHOOL_LDAP_URL) is required")
	} else if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		p.add("-ldap-url %q must look like ldap://host:389 or ldaps://host:636", c.URL)
	} else if u.Scheme == "ldaps" && c.StartTLS {
		p.add("-ldap-starttls is for ldap:// URLs; ldaps:// is TLS already")
	}
	for name, dn := range map[string]*string{"ldap-base-dn": &c.BaseDN, "ldap-bind-dn": &c.BindDN} {
		if *dn == "" {
			p.add("-%s (%s) is required", name, envName(name))
		} else if _, err := ldap.ParseDN(*dn); err != nil {
			p.add("-%s %q is not a DN: %v", name, *dn, err)
		}
	}
	if c.BaseDN != "" {
		def := func(v *string, rdn string) {
			if *v == "" {
				*v = rdn + "," + c.BaseDN
			}
		}
		def(&c.UserBaseDN, "ou=people")
		def(&c.AdminGroup, "cn=admins,ou=groups")
		def(&c.StaffGroup, "cn=staff,ou=groups")
		def(&c.StudentGrp, "cn=students,ou=groups")
	}
	if !strings.Contains(c.UserFilter, "{username}") {
		p.add("-ldap-user-filter %q must contain {username}", c.UserFilter)
	}
	if c.PoolSize < 1 || c.PoolSize > 256 {
		p.add("-ldap-pool-size must be between 1 and 256, not %d", c.PoolSize)
	}
}

func (c *ldapFlags) config() web.LDAPConfig {
	return web.LDAPConfig{
		URL: c.URL, StartTLS: c.StartTLS, CAFile: c.CAFile, InsecureSkipVerify: c.InsecureSkipVerify,
		BindDN: c.BindDN, BindPassword: c.BindPassword, UserBaseDN: c.UserBaseDN, UserFilter: c.UserFilter,
		AdminGroupDN: c.AdminGroup, StaffGroupDN: c.StaffGroup, StudentGroupDN: c.StudentGrp,
		Attributes: c.Attrs, PoolSize: c.PoolSize, Timeout: c.Timeout,
	}
}

// logFlags choose the log format and level.
type logFlags struct {
	Level, Format string
}

func (c *logFlags) register(fs *flagSet) {
	fs.String(&c.Level, "log-level", "info", "debug, info, warn or error")
	fs.String(&c.Format, "log-format", "json", "json or text")
}

func (c *logFlags) logger(w io.Writer, p *problems) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		p.add("-log-level %q: want debug, info, warn or error", c.Level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts))
	case "text":
		return slog.New(slog.NewTextHandler(w, opts))
	}
	p.add("-log-format %q: want json or text", c.Format)
	return slog.Default()
}

func parseOrigins(list string, p *problems) []string {
	var out []string
	for _, o := range strings.Split(list, ",") {
		if o = strings.TrimSpace(o); o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			p.add("trusted origin %q must look like https://school.example", o)
			continue
		}
		out = append(out, o)
	}
	return out
}

// parseProxies reads a list of CIDRs; a bare address stands for itself alone. An empty
// list is not nil: the app then trusts no proxy rather than its default.
func parseProxies(list string, p *problems) []netip.Prefix {
	out := []netip.Prefix{}
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if a, err := netip.ParseAddr(c); err == nil && a.Zone() == "" {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(c)
		if err != nil {
			p.add("trusted proxy %q must be a CIDR such as 10.0.0.0/24 or an address", c)
			continue
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// validateListeners checks the public and the operators' listen addresses: each a
// host:port (the host may be empty for every interface) with a port from 1 to 65535,
// and not the same socket, nor one that would overlap the other's.
func validateListeners(addr, opsAddr string, p *problems) {
	type listen struct{ host, port string }
	parse := func(flag, v string) (listen, bool) {
		host, port, err := net.SplitHostPort(v)
		if err == nil {
			if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
				err = fmt.Errorf("port %q is not a number from 1 to 65535", port)
			}
		}
		if err != nil {
			p.add("-%s (%s) %q must look like :8080 or 127.0.0.1:8080: %v", flag, envName(flag), v, err)
			return listen{}, false
		}
		return listen{host, port}, true
	}
	a, okA := parse("addr", addr)
	o, okO := parse("ops-addr", opsAddr)
	if !okA || !okO || a.port != o.port {
		return
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	if a.host == o.host || wildcard(a.host) || wildcard(o.host) {
		p.add("-ops-addr %q and -addr %q are the same listener: the operators' endpoints need a port of their own", opsAddr, addr)
	}
}

func describe(dsn string) string {
	if i := strings.LastIndex(dsn, "@"); i >= 0 {
		return "***" + dsn[i:]
	}
	return dsn
}
