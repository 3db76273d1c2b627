package seed

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// Passwords are the demo accounts' passwords, one per role.
type Passwords struct {
	Student, Staff, Admin string
}

// Directory writes accounts and groups under BaseDN: people in ou=people, groups in
// ou=groups, as deploy/local/stack lays it out.
type Directory struct {
	Dial    func() (*ldap.Conn, error) // returns a connection bound with write rights
	BaseDN  string
	Workers int
}

func (d Directory) people() string { return "ou=people," + d.BaseDN }
func (d Directory) groups() string { return "ou=groups," + d.BaseDN }

// Write replaces every account and group with those of ds.
func (d Directory) Write(ds Dataset, pw Passwords) error {
	if d.Workers < 1 {
		d.Workers = 8
	}
	hashes := map[string]string{}
	for role, p := range map[string]string{"student": pw.Student, "staff": pw.Staff, "admin": pw.Admin} {
		if p == "" {
			return fmt.Errorf("no demo password for %s accounts", role)
		}
		hashes[role] = ssha(p)
	}
	// Groups go first, so no group is left naming a deleted account.
	if err := d.clear(d.groups()); err != nil {
		return err
	}
	if err := d.clear(d.people()); err != nil {
		return err
	}
	err := d.parallel(len(ds.People), func(conn *ldap.Conn, i int) error {
		p := ds.People[i]
		req := ldap.NewAddRequest(d.dn(p.Username), nil)
		classes := []string{"inetOrgPerson"}
		if p.StudentNumber != "" {
			classes = append(classes, "schoolPerson")
			req.Attribute("schoolStudentNumber", []string{p.StudentNumber})
			req.Attribute("schoolClassYear", []string{strconv.Itoa(p.ClassYear)})
		}
		req.Attribute("objectClass", classes)
		req.Attribute("uid", []string{p.Username})
		req.Attribute("cn", []string{p.DisplayName()})
		req.Attribute("sn", []string{p.Family})
		req.Attribute("givenName", []string{p.Given})
		req.Attribute("displayName", []string{p.DisplayName()})
		req.Attribute("mail", []string{p.Username + "@school.example"})
		if p.Dept >= 0 {
			req.Attribute("departmentNumber", []string{ds.Departments[p.Dept].Code})
		}
		req.Attribute("userPassword", []string{hashes[p.Role]})
		if err := conn.Add(req); err != nil {
			return fmt.Errorf("add %s: %w", p.Username, err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	members := map[string][]string{}
	for _, p := range ds.People {
		switch p.Role {
		case "student":
			members["students"] = append(members["students"], d.dn(p.Username))
		case "admin":
			members["admins"] = append(members["admins"], d.dn(p.Username))
			members["staff"] = append(members["staff"], d.dn(p.Username))
		default:
			members["staff"] = append(members["staff"], d.dn(p.Username))
		}
	}
	conn, err := d.Dial()
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, g := range []string{"students", "staff", "admins"} {
		if len(members[g]) == 0 {
			continue
		}
		req := ldap.NewAddRequest("cn="+g+","+d.groups(), nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{g})
		req.Attribute("member", members[g])
		if err := conn.Add(req); err != nil {
			return fmt.Errorf("add group %s: %w", g, err)
		}
	}
	return nil
}

func (d Directory) dn(username string) string {
	return "uid=" + ldap.EscapeDN(username) + "," + d.people()
}

// clear deletes every entry directly under base.
func (d Directory) clear(base string) error {
	conn, err := d.Dial()
	if err != nil {
		return err
	}
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil), 1000)
	conn.Close()
	if err != nil {
		return fmt.Errorf("list %s: %w", base, err)
	}
	return d.parallel(len(res.Entries), func(conn *ldap.Conn, i int) error {
		err := conn.Del(ldap.NewDelRequest(res.Entries[i].DN, nil))
		if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return fmt.Errorf("delete %s: %w", res.Entries[i].DN, err)
		}
		return nil
	})
}

// parallel runs fn for 0..n-1 on d.Workers connections and returns the first error.
func (d Directory) parallel(n int, fn func(*ldap.Conn, int) error) error {
	next := make(chan int)
	errs := make(chan error, d.Workers)
	var wg sync.WaitGroup
	for range min(d.Workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := d.Dial()
			if err != nil {
				errs <- err
				for range next {
				}
				return
			}
			defer conn.Close()
			for i := range next {
				if err := fn(conn, i); err != nil {
					errs <- err
					for range next {
					}
					return
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// ssha hashes a password the way slapd's {SSHA} scheme checks it.
func ssha(password string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(password))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
