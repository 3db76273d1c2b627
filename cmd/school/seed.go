package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/seed"
)

func seedCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school seed", getenv, stderr)
	var (
		dbc                dbFlags
		ldapURL, baseDN    string
		adminDN, adminPass string
		sizes              seed.Sizes
		randSeed           int
		replace            bool
		pw                 seed.Passwords
	)
	dbc.register(fs)
	fs.String(&ldapURL, "ldap-url", "", "directory URL")
	fs.String(&baseDN, "ldap-base-dn", "", "directory suffix; accounts go to ou=people, groups to ou=groups")
	fs.String(&adminDN, "ldap-admin-dn", "", "DN allowed to write the directory")
	fs.String(&adminPass, "ldap-admin-password", "", "its password (prefer the environment variable)")
	fs.Int(&sizes.Students, "students", 200, "students to create")
	fs.Int(&sizes.Sections, "sections", 120, "sections to create in the current term")
	fs.Int(&sizes.Staff, "staff", 5, "staff accounts to create, besides the one admin")
	fs.Int(&randSeed, "seed", 1, "random seed: the same seed builds the same school")
	fs.Bool(&replace, "replace", false, "wipe existing users, courses and sections first")
	fs.String(&pw.Student, "student-password", "demo-student", "password of every demo student (demo only)")
	fs.String(&pw.Staff, "staff-password", "demo-staff", "password of every demo staff account (demo only)")
	fs.String(&pw.Admin, "admin-password", "demo-admin", "password of the demo admin (demo only)")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	dbc.validate(&p)
	for name, v := range map[string]string{"ldap-url": ldapURL, "ldap-base-dn": baseDN, "ldap-admin-dn": adminDN, "ldap-admin-password": adminPass} {
		if v == "" {
			p.add("-%s (%s) is required", name, envName(name))
		}
	}
	if sizes.Students < 1 || sizes.Students > 200000 {
		p.add("-students must be between 1 and 200000")
	}
	if sizes.Sections < 1 || sizes.Sections > 50000 {
		p.add("-sections must be between 1 and 50000")
	}
	if sizes.Staff < 0 || sizes.Staff > 1000 {
		p.add("-staff must be between 0 and 1000")
	}
	if err := p.err(); err != nil {
		return err
	}

	start := time.Now()
	ds := seed.Generate(sizes, uint64(randSeed))
	sqldb, err := db.Open(ctx, dbc.DSN, db.PoolOptions{MaxOpen: 4})
	if err != nil {
		return err
	}
	defer sqldb.Close()
	if _, err := db.Migrate(ctx, sqldb); err != nil {
		return err
	}
	if err := seed.WriteMySQL(ctx, sqldb, ds, replace); err != nil {
		if errors.Is(err, seed.ErrNotEmpty) {
			return err
		}
		return fmt.Errorf("MySQL: %w", err)
	}
	mysqlDone := time.Since(start)
	dir := seed.Directory{BaseDN: baseDN, Dial: func() (*ldap.Conn, error) {
		conn, err := ldap.DialURL(ldapURL)
		if err != nil {
			return nil, fmt.Errorf("dial %s: %w", ldapURL, err)
		}
		if err := conn.Bind(adminDN, adminPass); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind as %s: %w", adminDN, err)
		}
		return conn, nil
	}}
	if err := dir.Write(ds, pw); err != nil {
		return fmt.Errorf("directory: %w", err)
	}
	total := time.Since(start)

	fmt.Fprintf(stdout, "Seeded %d departments, %d courses, %d sections of %s, %d students, %d staff and 1 admin in %.1fs (MySQL %.1fs, directory %.1fs).\n",
		len(ds.Departments), len(ds.Courses), len(ds.Sections), seed.Term.Name, sizes.Students, sizes.Staff,
		total.Seconds(), mysqlDone.Seconds(), (total - mysqlDone).Seconds())
	fmt.Fprintf(stdout, "Demo logins (demo-only passwords):\n  student  %s … stu%05d / %s\n  staff    staff01 / %s\n  admin    admin / %s\n",
		ds.People[0].Username, sizes.Students, pw.Student, pw.Staff, pw.Admin)
	return nil
}
