package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// mapEnv is a fake getenv: only the keys of m are set.
func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// validServeEnv is a configuration serve accepts; the servers it names need not exist.
func validServeEnv(dbPort int) map[string]string {
	return map[string]string{
		"SCHOOL_DB_DSN":             fmt.Sprintf("school:s3cret-dsn-pw@tcp(127.0.0.1:%d)/school", dbPort),
		"SCHOOL_LDAP_URL":           "ldap://127.0.0.1:1",
		"SCHOOL_LDAP_BASE_DN":       "dc=school,dc=example",
		"SCHOOL_LDAP_BIND_DN":       "cn=school-app,ou=services,dc=school,dc=example",
		"SCHOOL_LDAP_BIND_PASSWORD": "s3cret-bind-pw",
	}
}

// with returns a copy of base with the pairs k1, v1, k2, v2, … set.
func with(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestRunConfiguration(t *testing.T) {
	// A port nobody listens on: a configuration that passes validation fails at the
	// MySQL connection, which proves validation let it through.
	closedDB := freePort(t)
	valid := validServeEnv(closedDB)

	cases := []struct {
		name      string
		args      []string
		env       map[string]string
		code      int
		stderr    []string // each must appear in stderr
		notStderr []string // none may appear in stderr
		stdout    []string
		problems  int // when > 0, how many "  - " lines the error lists
	}{
		{
			name: "nothing set lists every problem at once",
			args: []string{"serve"},
			env:  map[string]string{},
			code: 1,
			stderr: []string{
				"school serve: invalid configuration:",
				"-db-dsn (SCHOOL_DB_DSN) is required",
				"-ldap-url (SCHOOL_LDAP_URL) is required",
				"-ldap-base-dn (SCHOOL_LDAP_BASE_DN) is required",
				"-ldap-bind-dn (SCHOOL_LDAP_BIND_DN) is required",
			},
			problems: 4,
		},
		{
			name: "serve is the default command",
			args: nil,
			env:  map[string]string{},
			code: 1,
			stderr: []string{
				"school serve: invalid configuration:",
				"-db-dsn (SCHOOL_DB_DSN) is required",
				"-ldap-url (SCHOOL_LDAP_URL) is required",
			},
			problems: 4,
		},
		{
			name:     "only the DSN missing",
			args:     []string{"serve"},
			env:      with(valid, "SCHOOL_DB_DSN", ""),
			code:     1,
			stderr:   []string{"-db-dsn (SCHOOL_DB_DSN) is required"},
			problems: 1,
		},
		{
			name:      "LDAP settings missing",
			args:      []string{"serve"},
			env:       map[string]string{"SCHOOL_DB_DSN": valid["SCHOOL_DB_DSN"]},
			code:      1,
			stderr:    []string{"SCHOOL_LDAP_URL", "SCHOOL_LDAP_BASE_DN", "SCHOOL_LDAP_BIND_DN"},
			notStderr: []string{"SCHOOL_DB_DSN", "s3cret"},
			problems:  3,
		},
		{
			name:      "max-open is not a number",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_DB_MAX_OPEN", "abc"),
			code:      1,
			stderr:    []string{`SCHOOL_DB_MAX_OPEN="abc" is not a whole number`},
			notStderr: []string{"connect to MySQL"},
		},
		{
			name:      "SMTP settings without the server",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_SMTP_FROM", "noreply@school.example"),
			code:      1,
			stderr:    []string{"-smtp-addr (SCHOOL_SMTP_ADDR) is required with the other -smtp- settings"},
			notStderr: []string{"connect to MySQL"},
			problems:  1,
		},
		{
			name:      "SMTP password file missing",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_SMTP_ADDR", "mail.school.example:587", "SCHOOL_SMTP_FROM", "School Service", "SCHOOL_SMTP_USERNAME", "app", "SCHOOL_SMTP_PASSWORD_FILE", "/nonexistent/smtp-password"),
			code:      1,
			stderr:    []string{"-smtp-password-file (SCHOOL_SMTP_PASSWORD_FILE)"},
			notStderr: []string{"connect to MySQL"},
			problems:  1,
		},
		{
			name:      "SMTP server with a sender that is no address",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_SMTP_ADDR", "mail.school.example:587", "SCHOOL_SMTP_FROM", "School Service"),
			code:      1,
			stderr:    []string{`from address "School Service"`},
			notStderr: []string{"connect to MySQL"},
			problems:  1,
		},
		{
			name: "every bad environment value at once",
			args: []string{"serve"},
			env: with(valid, "SCHOOL_DB_MAX_OPEN", "abc", "SCHOOL_LDAP_STARTTLS", "maybe",
				"SCHOOL_LDAP_TIMEOUT", "5", "SCHOOL_COOKIE_SECURE", "yes please"),
			code: 1,
			stderr: []string{
				`SCHOOL_DB_MAX_OPEN="abc" is not a whole number`,
				`SCHOOL_LDAP_STARTTLS="maybe" is not true or false`,
				`SCHOOL_LDAP_TIMEOUT="5" is not a duration`,
				`SCHOOL_COOKIE_SECURE="yes please" is not true or false`,
			},
		},
		{
			name:      "a read replica DSN that does not parse",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_DB_READ_DSN", "replica:pw@tcp(127.0.0.1:1"),
			code:      1,
			stderr:    []string{"-db-read-dsn (SCHOOL_DB_READ_DSN): parse MySQL DSN"},
			notStderr: []string{"connect to MySQL"},
			problems:  1,
		},
		{
			name:     "ldap url with the wrong scheme",
			args:     []string{"serve"},
			env:      with(valid, "SCHOOL_LDAP_URL", "http://x"),
			code:     1,
			stderr:   []string{`-ldap-url "http://x" must look like ldap://host:389 or ldaps://host:636`},
			problems: 1,
		},
		{
			name:     "ldap url without a host",
			args:     []string{"serve"},
			env:      with(valid, "SCHOOL_LDAP_URL", "ldap://"),
			code:     1,
			stderr:   []string{`-ldap-url "ldap://" must look like`},
			problems: 1,
		},
		{
			name:     "ldaps with starttls",
			args:     []string{"serve"},
			env:      with(valid, "SCHOOL_LDAP_URL", "ldaps://ldap.example:636", "SCHOOL_LDAP_STARTTLS", "true"),
			code:     1,
			stderr:   []string{"-ldap-starttls is for ldap:// URLs"},
			problems: 1,
		},
		{
			name: "DNs that are not DNs",
			args: []string{"serve"},
			env:  with(valid, "SCHOOL_LDAP_BASE_DN", "school.example", "SCHOOL_LDAP_BIND_DN", "admin"),
			code: 1,
			stderr: []string{
				`-ldap-base-dn "school.example" is not a DN`,
				`-ldap-bind-dn "admin" is not a DN`,
			},
			problems: 2,
		},
		{
			name: "numbers out of range, filter, log settings and origins together",
			args: []string{"serve"},
			env: with(valid, "SCHOOL_DB_MAX_OPEN", "0", "SCHOOL_LDAP_POOL_SIZE", "1000",
				"SCHOOL_LDAP_USER_FILTER", "(uid=bob)", "SCHOOL_LOG_LEVEL", "loud", "SCHOOL_LOG_FORMAT", "xml",
				"SCHOOL_TRUSTED_ORIGINS", "https://ok.example, school.example"),
			code: 1,
			stderr: []string{
				"-db-max-open must be between 1 and 1000, not 0",
				"-ldap-pool-size must be between 1 and 256, not 1000",
				`-ldap-user-filter "(uid=bob)" must contain {username}`,
				`-log-level "loud"`,
				`-log-format "xml"`,
				`trusted origin "school.example" must look like https://school.example`,
			},
			notStderr: []string{`"https://ok.example"`},
			problems:  6,
		},
		{
			name:     "fewer than no turns",
			args:     []string{"serve"},
			env:      with(valid, "SCHOOL_DB_TURNS", "-1"),
			code:     1,
			stderr:   []string{"-db-turns must be 0 (as many as -db-max-open) or more, not -1"},
			problems: 1,
		},
		{
			name:      "trusted proxies that are not CIDRs",
			args:      []string{"serve"},
			env:       with(valid, "SCHOOL_TRUSTED_PROXIES", "10.0.0.0/24, nginx.internal,10.0.0.300/8"),
			code:      1,
			stderr:    []string{`trusted proxy "nginx.internal" must be a CIDR`, `trusted proxy "10.0.0.300/8" must be a CIDR`},
			notStderr: []string{`"10.0.0.0/24"`},
			problems:  2,
		},
		{
			name: "listen addresses that are not host:port",
			args: []string{"serve", "-addr", "8080"},
			env:  with(valid, "SCHOOL_OPS_ADDR", "127.0.0.1:99999"),
			code: 1,
			stderr: []string{
				`-addr (SCHOOL_ADDR) "8080" must look like :8080 or 127.0.0.1:8080`,
				`-ops-addr (SCHOOL_OPS_ADDR) "127.0.0.1:99999" must look like :8080 or 127.0.0.1:8080`,
			},
			notStderr: []string{"connect to MySQL"},
			problems:  2,
		},
		{
			name:      "the ops listener on the public one",
			args:      []string{"serve", "-addr", "127.0.0.1:8080"},
			env:       with(valid, "SCHOOL_OPS_ADDR", ":8080"),
			code:      1,
			stderr:    []string{`-ops-addr ":8080" and -addr "127.0.0.1:8080" are the same listener`},
			notStderr: []string{"connect to MySQL"},
			problems:  1,
		},
		{
			name:      "the ops listener on another interface, same port",
			args:      []string{"serve", "-addr", "127.0.0.1:18080", "-ops-addr", "127.0.0.2:18080"},
			env:       valid,
			code:      1,
			stderr:    []string{"connect to MySQL at 127.0.0.1:"},
			notStderr: []string{"invalid configuration"},
		},
		{
			name:      "a flag fixes a bad environment value",
			args:      []string{"serve", "-ldap-url", "ldap://127.0.0.1:1"},
			env:       with(valid, "SCHOOL_LDAP_URL", "http://x"),
			code:      1,
			stderr:    []string{"connect to MySQL at 127.0.0.1:"},
			notStderr: []string{"invalid configuration", "http://x"},
		},
		{
			name:      "a flag overrides an unparsable environment value",
			args:      []string{"serve", "-db-max-open", "5"},
			env:       with(valid, "SCHOOL_DB_MAX_OPEN", "abc"),
			code:      1,
			stderr:    []string{"connect to MySQL at 127.0.0.1:"},
			notStderr: []string{"invalid configuration", "abc"},
		},
		{
			name:      "valid configuration gets as far as MySQL and hides the password",
			args:      []string{"serve"},
			env:       valid,
			code:      1,
			stderr:    []string{fmt.Sprintf("school serve: connect to MySQL at 127.0.0.1:%d", closedDB)},
			notStderr: []string{"invalid configuration", "s3cret"},
		},
		{
			name:   "unknown flag",
			args:   []string{"serve", "-nope"},
			env:    valid,
			code:   2,
			stderr: []string{"flag provided but not defined: -nope", "-db-dsn"},
		},
		{
			name:   "stray argument",
			args:   []string{"serve", "extra"},
			env:    valid,
			code:   1,
			stderr: []string{"school serve: unexpected arguments: extra"},
		},
		{
			name:   "unknown command",
			args:   []string{"servee"},
			env:    valid,
			code:   2,
			stderr: []string{`school: unknown command "servee" (want serve, migrate, seed, rehearse, bench, verify-shuffle, hybrid or basket-auto)`},
		},
		{
			name:   "help",
			args:   []string{"help"},
			env:    map[string]string{},
			code:   0,
			stdout: []string{"usage: school [serve|migrate|seed|rehearse|bench|verify-shuffle|hybrid|basket-auto]"},
		},
		{
			name:      "migrate needs only the database",
			args:      []string{"migrate"},
			env:       map[string]string{"SCHOOL_LDAP_URL": "http://x"},
			code:      1,
			stderr:    []string{"school migrate: invalid configuration:", "-db-dsn (SCHOOL_DB_DSN) is required"},
			notStderr: []string{"ldap"},
			problems:  1,
		},
		{
			name: "seed lists every missing setting",
			args: []string{"seed", "-students", "0", "-sections", "0", "-staff", "-1"},
			env:  map[string]string{},
			code: 1,
			stderr: []string{
				"school seed: invalid configuration:",
				"-db-dsn (SCHOOL_DB_DSN) is required",
				"-ldap-url (SCHOOL_LDAP_URL) is required",
				"-ldap-base-dn (SCHOOL_LDAP_BASE_DN) is required",
				"-ldap-admin-dn (SCHOOL_LDAP_ADMIN_DN) is required",
				"-ldap-admin-password (SCHOOL_LDAP_ADMIN_PASSWORD) is required",
				"-students must be between 1 and 200000",
				"-sections must be between 1 and 50000",
				"-staff must be between 0 and 1000",
			},
			problems: 8,
		},
		{
			name:   "seed sizes from the environment",
			args:   []string{"seed"},
			env:    map[string]string{"SCHOOL_STUDENTS": "many"},
			code:   1,
			stderr: []string{`SCHOOL_STUDENTS="many" is not a whole number`},
		},
		{
			name: "rehearse lists every problem at once",
			args: []string{"rehearse", "-fault", "mariadb@soon,flood", "-lead", "1s", "-want", "6", "-choices", "3", "-waitlist", "2"},
			env:  map[string]string{},
			code: 1,
			stderr: []string{
				"school rehearse: invalid configuration:",
				"-db-dsn (SCHOOL_DB_DSN) is required",
				`"soon" is not a duration`,
				`fault "flood": want mariadb, ldap, instance or db-writer`,
				"-lead must be at least 2s",
				"-choices at least -want",
				"-waitlist between 0 and 1",
			},
			problems: 6,
		},
		{
			name: "bench lists every problem at once, before it touches anything",
			args: []string{"bench", "-rush-key", "twice", "-rush-picks", "9", "-clients", "0"},
			env:  map[string]string{"SCHOOL_LDAP_URL": "ldap://127.0.0.1:1"},
			code: 1,
			stderr: []string{
				"school bench: invalid configuration:",
				"-db-dsn (SCHOOL_DB_DSN) is required",
				"-ldap-admin-password (SCHOOL_LDAP_ADMIN_PASSWORD) is required",
				`rush key "twice": want same, distinct or none`,
				"no more picks than sections",
				"at most 25 sections and 6 picks",
				"clients, rounds and the pool size must be positive",
			},
			problems: 9,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := run(ctx, tc.args, mapEnv(tc.env), &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", code, tc.code, stderr.String())
			}
			for _, want := range tc.stderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
				}
			}
			for _, bad := range tc.notStderr {
				if strings.Contains(stderr.String(), bad) {
					t.Errorf("stderr has %q:\n%s", bad, stderr.String())
				}
			}
			for _, want := range tc.stdout {
				if !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
				}
			}
			if tc.problems > 0 {
				if n := strings.Count(stderr.String(), "\n  - "); n != tc.problems {
					t.Errorf("%d problems listed, want %d:\n%s", n, tc.problems, stderr.String())
				}
			}
		})
	}
}

func TestFlagOverridesEnvironment(t *testing.T) {
	env := mapEnv(map[string]string{
		"SCHOOL_DB_DSN":        "env:pw@tcp(env:3306)/env",
		"SCHOOL_DB_MAX_OPEN":   "7",
		"SCHOOL_LDAP_URL":      "ldap://env:389",
		"SCHOOL_LDAP_TIMEOUT":  "3s",
		"SCHOOL_LDAP_STARTTLS": "true",
		"SCHOOL_LOG_LEVEL":     "",
	})
	fs := newFlagSet("test", env, io.Discard)
	var (
		dbc  dbFlags
		lc   ldapFlags
		logc logFlags
	)
	dbc.register(fs)
	lc.register(fs)
	logc.register(fs)
	var p problems
	if err := fs.parse([]string{"-db-dsn", "flag:pw@tcp(flag:3306)/flag", "-ldap-timeout", "9s", "-ldap-starttls=false"}, &p); err != nil || p.err() != nil {
		t.Fatal(err, p.err())
	}
	checks := []struct{ what, got, want string }{
		{"db-dsn (flag wins)", dbc.DSN, "flag:pw@tcp(flag:3306)/flag"},
		{"db-max-open (environment)", fmt.Sprint(dbc.MaxOpen), "7"},
		{"ldap-url (environment)", lc.URL, "ldap://env:389"},
		{"ldap-timeout (flag wins)", lc.Timeout.String(), "9s"},
		{"ldap-starttls (flag wins)", fmt.Sprint(lc.StartTLS), "false"},
		{"ldap-pool-size (default)", fmt.Sprint(lc.PoolSize), "8"},
		{"log-level (empty variable is unset)", logc.Level, "info"},
		{"ldap-attr-username (default)", lc.Attrs.Username, "uid"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestFlagUsageNamesEnvironment(t *testing.T) {
	var out bytes.Buffer
	fs := newFlagSet("test", mapEnv(nil), &out)
	var dbc dbFlags
	var lc ldapFlags
	dbc.register(fs)
	lc.register(fs)
	if err := fs.parse([]string{"-h"}, new(problems)); err != errUsage {
		t.Fatalf("parse -h: %v, want errUsage", err)
	}
	for _, want := range []string{"-db-dsn", "$SCHOOL_DB_DSN", "$SCHOOL_DB_MAX_OPEN", "$SCHOOL_LDAP_ATTR_STUDENT_NUMBER", "$SCHOOL_LDAP_INSECURE_SKIP_VERIFY"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("usage lacks %q:\n%s", want, out.String())
		}
	}
}

// TestFlagUsageHidesSecrets: the help shows where a setting comes from, never the
// passwords the environment holds.
func TestFlagUsageHidesSecrets(t *testing.T) {
	var out bytes.Buffer
	fs := newFlagSet("test", mapEnv(validServeEnv(3306)), &out)
	var dbc dbFlags
	var lc ldapFlags
	dbc.register(fs)
	lc.register(fs)
	if err := fs.parse([]string{"-h"}, new(problems)); err != errUsage {
		t.Fatalf("parse -h: %v, want errUsage", err)
	}
	for _, secret := range []string{"s3cret-dsn-pw", "s3cret-bind-pw"} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("the help prints %q:\n%s", secret, out.String())
		}
	}
	if !strings.Contains(out.String(), `"school:…@tcp(127.0.0.1:3306)/school"`) {
		t.Errorf("the help does not show the DSN without its password:\n%s", out.String())
	}
}

func TestEnvName(t *testing.T) {
	for flag, want := range map[string]string{
		"db-dsn":                   "SCHOOL_DB_DSN",
		"addr":                     "SCHOOL_ADDR",
		"ops-addr":                 "SCHOOL_OPS_ADDR",
		"ldap-attr-student-number": "SCHOOL_LDAP_ATTR_STUDENT_NUMBER",
	} {
		if got := envName(flag); got != want {
			t.Errorf("envName(%q) = %q, want %q", flag, got, want)
		}
	}
}

func TestLDAPDefaultsFromBaseDN(t *testing.T) {
	c := ldapFlags{
		URL: "ldap://127.0.0.1:389", BaseDN: "dc=school,dc=example", BindDN: "cn=app,dc=school,dc=example",
		UserFilter: "(uid={username})", PoolSize: 4, StaffGroup: "cn=teachers,ou=groups,dc=school,dc=example",
	}
	var p problems
	c.validate(&p)
	if err := p.err(); err != nil {
		t.Fatal(err)
	}
	cfg := c.config()
	for what, got := range map[string][2]string{
		"user base DN":  {cfg.UserBaseDN, "ou=people,dc=school,dc=example"},
		"admin group":   {cfg.AdminGroupDN, "cn=admins,ou=groups,dc=school,dc=example"},
		"staff group":   {cfg.StaffGroupDN, "cn=teachers,ou=groups,dc=school,dc=example"},
		"student group": {cfg.StudentGroupDN, "cn=students,ou=groups,dc=school,dc=example"},
	} {
		if got[0] != got[1] {
			t.Errorf("%s = %q, want %q", what, got[0], got[1])
		}
	}
}

func TestParseOrigins(t *testing.T) {
	cases := []struct {
		list     string
		want     []string
		problems int
	}{
		{"", nil, 0},
		{" , ,", nil, 0},
		{"https://school.example", []string{"https://school.example"}, 0},
		{"https://a.example, http://b.example:8080 ,", []string{"https://a.example", "http://b.example:8080"}, 0},
		{"school.example", nil, 1},
		{"https://school.example/login", nil, 1},
		{"https://", nil, 1},
		{"https://ok.example,ftp//bad,https://bad.example/x", []string{"https://ok.example"}, 2},
	}
	for _, tc := range cases {
		var p problems
		got := parseOrigins(tc.list, &p)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("parseOrigins(%q) = %q, want %q", tc.list, got, tc.want)
		}
		if len(p) != tc.problems {
			t.Errorf("parseOrigins(%q): problems %q, want %d", tc.list, p, tc.problems)
		}
	}
}

func TestParseProxies(t *testing.T) {
	cases := []struct {
		list     string
		want     string // the prefixes, space-separated
		problems int
	}{
		{"127.0.0.0/8,::1/128", "127.0.0.0/8 ::1/128", 0},
		{"", "", 0},
		{" 10.20.0.5 , 2001:db8::/48", "10.20.0.5/32 2001:db8::/48", 0},
		{"10.20.0.77/24", "10.20.0.0/24", 0},
		{"nginx,10.0.0.0/33,fe80::1%eth0,10.1.0.0/16", "10.1.0.0/16", 3},
	}
	for _, tc := range cases {
		var p problems
		got := parseProxies(tc.list, &p)
		var s []string
		for _, g := range got {
			s = append(s, g.String())
		}
		if strings.Join(s, " ") != tc.want || got == nil {
			t.Errorf("parseProxies(%q) = %v, want %q (never nil)", tc.list, got, tc.want)
		}
		if len(p) != tc.problems {
			t.Errorf("parseProxies(%q): problems %q, want %d", tc.list, p, tc.problems)
		}
	}
}

func TestDescribeMasksPassword(t *testing.T) {
	cases := []struct{ dsn, want string }{
		{"school:pw@tcp(127.0.0.1:3307)/school", "***@tcp(127.0.0.1:3307)/school"},
		{"school:p@ss@word@tcp(db:3306)/school?parseTime=true", "***@tcp(db:3306)/school?parseTime=true"},
		{"tcp(db:3306)/school", "tcp(db:3306)/school"},
		{"", ""},
	}
	for _, tc := range cases {
		got := describe(tc.dsn)
		if got != tc.want {
			t.Errorf("describe(%q) = %q, want %q", tc.dsn, got, tc.want)
		}
		if strings.Contains(got, "pw") || strings.Contains(got, "ss") {
			t.Errorf("describe(%q) = %q leaks the password", tc.dsn, got)
		}
	}
}
