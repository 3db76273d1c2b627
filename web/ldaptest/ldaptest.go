// Package ldaptest gives each test its own subtree of the real test directory (slapd from
// deploy/local/stack): ou=people and ou=groups under a fresh ou, removed when the test
// ends.
package ldaptest

import (
	"crypto/rand"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/web"
)

// Directory is one test's part of the directory.
type Directory struct {
	URL           string
	BaseDN        string // the test's own ou
	BindDN        string // the app's service account
	BindPassword  string
	AdminDN       string
	AdminPassword string
}

// User is an account to create.
type User struct {
	Username, Password, Name, StudentNumber, Department string
	ClassYear                                           int
	Groups                                              []string // "students", "staff", "admins"
}

func env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run the tests with `make test`, which starts slapd", name)
	}
	return v
}

// New creates ou=<random>,<suffix> with ou=people and ou=groups below it.
func New(t testing.TB) Directory {
	t.Helper()
	d := Directory{
		URL:           env(t, "SCHOOL_LDAP_URL"),
		BindDN:        env(t, "SCHOOL_LDAP_BIND_DN"),
		BindPassword:  env(t, "SCHOOL_LDAP_BIND_PASSWORD"),
		AdminDN:       env(t, "SCHOOL_LDAP_ADMIN_DN"),
		AdminPassword: env(t, "SCHOOL_LDAP_ADMIN_PASSWORD"),
	}
	ou := "t" + rand.Text()[:12]
	d.BaseDN = "ou=" + ou + "," + env(t, "SCHOOL_LDAP_BASE_DN")
	conn := d.Admin(t)
	for _, dn := range []string{d.BaseDN, "ou=people," + d.BaseDN, "ou=groups," + d.BaseDN} {
		req := ldap.NewAddRequest(dn, nil)
		req.Attribute("objectClass", []string{"organizationalUnit"})
		rdn, _ := ldap.ParseDN(dn)
		req.Attribute("ou", []string{rdn.RDNs[0].Attributes[0].Value})
		if err := conn.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	t.Cleanup(func() { d.removeAll(t) })
	return d
}

// Admin returns a connection bound as the directory's root, closed when the test ends.
func (d Directory) Admin(t testing.TB) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatalf("slapd is not reachable at %s (start it with deploy/local/stack up): %v", d.URL, err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Fatalf("bind as %s: %v", d.AdminDN, err)
	}
	return conn
}

// PeopleDN and GroupDN name where accounts and groups live.
func (d Directory) PeopleDN() string           { return "ou=people," + d.BaseDN }
func (d Directory) GroupDN(name string) string { return "cn=" + name + ",ou=groups," + d.BaseDN }
func (d Directory) UserDN(username string) string {
	return "uid=" + ldap.EscapeDN(username) + "," + d.PeopleDN()
}

// AddUsers creates the accounts, then their groups.
func (d Directory) AddUsers(t testing.TB, users ...User) {
	t.Helper()
	conn := d.Admin(t)
	members := map[string][]string{}
	for _, u := range users {
		req := ldap.NewAddRequest(d.UserDN(u.Username), nil)
		classes := []string{"inetOrgPerson"}
		if u.StudentNumber != "" || u.ClassYear > 0 {
			classes = append(classes, "schoolPerson")
		}
		req.Attribute("objectClass", classes)
		req.Attribute("uid", []string{u.Username})
		name := u.Name
		if name == "" {
			name = u.Username
		}
		req.Attribute("cn", []string{name})
		req.Attribute("sn", []string{name})
		req.Attribute("displayName", []string{name})
		req.Attribute("mail", []string{u.Username + "@school.example"})
		req.Attribute("userPassword", []string{u.Password})
		if u.StudentNumber != "" {
			req.Attribute("schoolStudentNumber", []string{u.StudentNumber})
		}
		if u.ClassYear > 0 {
			req.Attribute("schoolClassYear", []string{strconv.Itoa(u.ClassYear)})
		}
		if u.Department != "" {
			req.Attribute("departmentNumber", []string{u.Department})
		}
		if err := conn.Add(req); err != nil {
			t.Fatalf("add user %s: %v", u.Username, err)
		}
		for _, g := range u.Groups {
			members[g] = append(members[g], d.UserDN(u.Username))
		}
	}
	for g, dns := range members {
		d.join(t, conn, g, dns)
	}
}

// join adds members to group g, creating it when it does not exist yet.
func (d Directory) join(t testing.TB, conn *ldap.Conn, g string, dns []string) {
	t.Helper()
	modify := ldap.NewModifyRequest(d.GroupDN(g), nil)
	modify.Add("member", dns)
	err := conn.Modify(modify)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		req := ldap.NewAddRequest(d.GroupDN(g), nil)
		req.Attribute("objectClass", []string{"groupOfNames"})
		req.Attribute("cn", []string{g})
		req.Attribute("member", dns)
		err = conn.Add(req)
	}
	if err != nil {
		t.Fatalf("group %s: %v", g, err)
	}
}

// SetGroups makes the account a member of exactly groups: it leaves the others (a group
// left empty is deleted, as groupOfNames needs a member) and joins these.
func (d Directory) SetGroups(t testing.TB, username string, groups ...string) {
	t.Helper()
	conn := d.Admin(t)
	dn := d.UserDN(username)
	res, err := conn.Search(ldap.NewSearchRequest("ou=groups,"+d.BaseDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
		0, 0, false, "(member="+ldap.EscapeFilter(dn)+")", []string{"cn", "member"}, nil))
	if err != nil {
		t.Fatalf("groups of %s: %v", username, err)
	}
	keep := map[string]bool{}
	for _, e := range res.Entries {
		g := e.GetAttributeValue("cn")
		if slices.Contains(groups, g) {
			keep[g] = true
			continue
		}
		if len(e.GetAttributeValues("member")) == 1 {
			err = conn.Del(ldap.NewDelRequest(e.DN, nil))
		} else {
			modify := ldap.NewModifyRequest(e.DN, nil)
			modify.Delete("member", []string{dn})
			err = conn.Modify(modify)
		}
		if err != nil {
			t.Fatalf("take %s out of %s: %v", username, g, err)
		}
	}
	for _, g := range groups {
		if !keep[g] {
			d.join(t, conn, g, []string{dn})
		}
	}
}

// SetAttribute replaces an attribute of the account's entry, for example displayName or
// schoolClassYear.
func (d Directory) SetAttribute(t testing.TB, username, attribute string, values ...string) {
	t.Helper()
	modify := ldap.NewModifyRequest(d.UserDN(username), nil)
	modify.Replace(attribute, values)
	if err := d.Admin(t).Modify(modify); err != nil {
		t.Fatalf("set %s of %s: %v", attribute, username, err)
	}
}

// RemoveUser takes the account out of its groups and deletes its entry.
func (d Directory) RemoveUser(t testing.TB, username string) {
	t.Helper()
	d.SetGroups(t, username)
	if err := d.Admin(t).Del(ldap.NewDelRequest(d.UserDN(username), nil)); err != nil {
		t.Fatalf("delete %s: %v", username, err)
	}
}

// removeAll deletes the test's subtree, deepest entries first.
func (d Directory) removeAll(t testing.TB) {
	conn, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Errorf("clean up %s: %v", d.BaseDN, err)
		return
	}
	defer conn.Close()
	if err := conn.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Errorf("clean up %s: %v", d.BaseDN, err)
		return
	}
	for _, base := range []string{"ou=groups," + d.BaseDN, "ou=people," + d.BaseDN} {
		res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{"1.1"}, nil), 500)
		if err != nil {
			t.Errorf("clean up %s: %v", base, err)
			return
		}
		for _, e := range res.Entries {
			if err := conn.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
				t.Errorf("delete %s: %v", e.DN, err)
			}
		}
	}
	for _, dn := range []string{"ou=groups," + d.BaseDN, "ou=people," + d.BaseDN, d.BaseDN} {
		if err := conn.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Errorf("delete %s: %v", dn, err)
		}
	}
}

// Authenticator returns the app's authenticator set up for this subtree, with the stack's
// default filter and groups; configure may change the settings. It is closed when the test
// ends.
func (d Directory) Authenticator(t testing.TB, configure ...func(*web.LDAPConfig)) *web.Authenticator {
	t.Helper()
	cfg := web.LDAPConfig{
		URL:            d.URL,
		BindDN:         d.BindDN,
		BindPassword:   d.BindPassword,
		UserBaseDN:     d.PeopleDN(),
		UserFilter:     "(&(objectClass=inetOrgPerson)(uid={username}))",
		AdminGroupDN:   d.GroupDN("admins"),
		StaffGroupDN:   d.GroupDN("staff"),
		StudentGroupDN: d.GroupDN("students"),
		PoolSize:       4,
	}
	for _, c := range configure {
		c(&cfg)
	}
	a, err := web.NewAuthenticator(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}
