package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/schoolservice/school/rehearsal"
)

// benchCmd runs the registration-day benchmarks against an app process of this binary,
// on a database and a directory subtree of the bench's own, and prints the figures.
func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school bench", getenv, stderr)
	cfg := rehearsal.DefaultBench()
	var (
		dsn, name         string
		suffix, adminDN   string
		adminPass, appLog string
		seed              int
		quiet             bool
		appProcs          int
		rushKey           string
		rush              [3]int // sections, capacity, picks
	)
	fs.String(&dsn, "db-dsn", "", "MySQL DSN, user:password@tcp(host:port)/database: the server the bench's own database is made on (the DSN's database is not touched)")
	fs.String(&name, "bench-name", "rushbench", "the bench's own database (on the -db-dsn server) and directory subtree (ou=NAME under -ldap-base-dn), replaced at every run")
	fs.String(&cfg.Dir.URL, "ldap-url", "", "directory URL")
	fs.String(&suffix, "ldap-base-dn", "", "directory suffix; the bench's subtree goes below it")
	fs.String(&cfg.Dir.BindDN, "ldap-bind-dn", "", "the app's service account (searches)")
	fs.String(&cfg.Dir.BindPassword, "ldap-bind-password", "", "its password (prefer the environment variable)")
	fs.String(&adminDN, "ldap-admin-dn", "", "DN allowed to write the directory")
	fs.String(&adminPass, "ldap-admin-password", "", "its password (prefer the environment variable)")
	fs.Int(&cfg.Dir.PoolSize, "ldap-pool-size", 8, "connections in each of the two directory pools, the app's and the raw loop's")
	fs.String(&cfg.Addr, "app-addr", "127.0.0.1:18300", "listen address of the app the bench starts")
	fs.String(&cfg.OpsAddr, "app-ops-addr", "127.0.0.1:18301", "its operators' listener (/readyz)")
	fs.Int(&appProcs, "app-procs", 0, appProcsUsage)
	fs.String(&appLog, "app-log", "", "file for the app's log (default: discarded)")
	fs.String(&cfg.StackDir, "stack-dir", "", "deploy/local/stack's folder, where mariadbd's and slapd's pid files are (for their CPU)")
	fs.Int(&cfg.Rush.Students, "rush-students", cfg.Rush.Students, "rush: students, all at once")
	fs.Int(&rush[0], "rush-sections", cfg.Rush.Sections, "rush: hot sections")
	fs.Int(&rush[1], "rush-capacity", cfg.Rush.Capacity, "rush: seats of each hot section")
	fs.Int(&rush[2], "rush-picks", cfg.Rush.Picks, "rush: hot sections each student clicks, one after the other")
	fs.String(&cfg.Rush.Quotas, "rush-quotas", "", "rush: seat quotas on every hot section, as the section form writes them (\"4/*=8; */CS=5\": 8 seats for the fourth year, 5 for CS majors, the rest open); empty: none")
	fs.String(&rushKey, "rush-key", cfg.Rush.Key, "rush: request_key of a double click's two requests: same (as the page's button sends), distinct or none")
	fs.Int(&cfg.Registrations, "registrations", cfg.Registrations, "POST /registrations with room (every answer enrolled), 3 a student; as many again at the floor")
	fs.Int(&cfg.Bare, "bare", cfg.Bare, "bare registration transactions, 6 a student")
	fs.Int(&cfg.Logins, "logins", cfg.Logins, "POST /login, each by another student; as many again at the floor")
	fs.Int(&cfg.LDAPLogins, "ldap-logins", cfg.LDAPLogins, "raw directory search+bind, over the same students")
	fs.Int(&cfg.Clients, "clients", cfg.Clients, "concurrent clients of the registration and login phases")
	fs.Int(&cfg.Rounds, "rounds", cfg.Rounds, "rounds the phases (bare, HTTP and the floor's; app, directory and the floor's) take turns over")
	fs.Int(&seed, "seed", 1, "random seed of the data and the rush's picks")
	fs.Bool(&quiet, "quiet", false, "no progress lines")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	for flag, v := range map[string]string{"db-dsn": dsn, "ldap-url": cfg.Dir.URL, "ldap-base-dn": suffix, "ldap-bind-dn": cfg.Dir.BindDN,
		"ldap-admin-dn": adminDN, "ldap-admin-password": adminPass} {
		if v == "" {
			p.add("-%s (%s) is required", flag, envName(flag))
		}
	}
	cfg.Rush.Sections, cfg.Rush.Capacity, cfg.Rush.Picks, cfg.Rush.Key = rush[0], rush[1], rush[2], rushKey
	cfg.Seed = uint64(seed)
	for _, problem := range cfg.Problems() {
		p.add("%s", problem)
	}
	exe, err := os.Executable()
	if err != nil {
		p.add("cannot find this binary to start the app: %v", err)
	}
	cfg.Command, cfg.Env = []string{exe, "serve"}, appEnv(os.Environ(), appProcs)
	if err := p.err(); err != nil {
		return err
	}
	if !quiet {
		cfg.Progress = stderr
	}
	if appLog != "" {
		f, err := os.Create(appLog)
		if err != nil {
			return fmt.Errorf("-app-log: %w", err)
		}
		defer f.Close()
		cfg.Log = f
	}
	if cfg.DSN, err = rehearsal.OwnDatabase(ctx, dsn, name); err != nil {
		return err
	}
	cfg.Dir.AdminDN, cfg.Dir.AdminPassword = adminDN, adminPass
	if cfg.Dir.BaseDN, err = rehearsal.OwnSubtree(cfg.Dir.URL, adminDN, adminPass, suffix, name); err != nil {
		return err
	}
	rep, err := rehearsal.RunBench(ctx, cfg)
	if rep != nil {
		rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("the check failed, or the app did not come through")
	}
	return nil
}
