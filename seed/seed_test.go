package seed_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/seed"
	"github.com/schoolservice/school/web"
	"github.com/schoolservice/school/web/ldaptest"
)

func TestGenerateIsDeterministic(t *testing.T) {
	sizes := seed.Sizes{Students: 120, Sections: 80, Staff: 4}
	a, b := seed.Generate(sizes, 42), seed.Generate(sizes, 42)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed built two different schools")
	}
	if c := seed.Generate(sizes, 43); reflect.DeepEqual(a, c) {
		t.Error("seeds 42 and 43 built the same school")
	}
}

func TestGenerateRespectsSizes(t *testing.T) {
	for _, sizes := range []seed.Sizes{
		{Students: 1, Sections: 1, Staff: 0},
		{Students: 30, Sections: 20, Staff: 2},
		{Students: 200, Sections: 120, Staff: 5},
		{Students: 2000, Sections: 1500, Staff: 40},
		// Over 100 courses per department and level: course codes must be renumbered.
		{Students: 50, Sections: 16000, Staff: 1},
	} {
		for _, s := range []uint64{1, 2, 7} {
			t.Run(fmt.Sprintf("%d-%d-%d/seed%d", sizes.Students, sizes.Sections, sizes.Staff, s), func(t *testing.T) {
				checkDataset(t, sizes, seed.Generate(sizes, s))
			})
		}
	}
}

// limiter reports at most a few violations of one kind, then a count.
type limiter struct {
	t     *testing.T
	count map[string]int
}

func (l *limiter) errorf(kind, format string, args ...any) {
	l.t.Helper()
	l.count[kind]++
	if l.count[kind] <= 3 {
		l.t.Errorf(kind+": "+format, args...)
	}
}

func (l *limiter) done() {
	for kind, n := range l.count {
		if n > 3 {
			l.t.Errorf("%s: %d violations in all", kind, n)
		}
	}
}

func checkDataset(t *testing.T, sizes seed.Sizes, ds seed.Dataset) {
	t.Helper()
	l := &limiter{t: t, count: map[string]int{}}
	defer l.done()

	if len(ds.Departments) == 0 {
		t.Fatal("no departments")
	}
	deptCodes := map[string]bool{}
	for _, d := range ds.Departments {
		if deptCodes[d.Code] {
			l.errorf("department code repeated", "%s", d.Code)
		}
		deptCodes[d.Code] = true
	}

	// Courses: unique codes that fit the column, every department has some, prerequisites
	// are lower-level courses of the same department.
	codes := map[string]bool{}
	perDept := make([]int, len(ds.Departments))
	for i, c := range ds.Courses {
		if codes[c.Code] {
			l.errorf("course code repeated", "%s", c.Code)
		}
		codes[c.Code] = true
		if len(c.Code) > 16 {
			l.errorf("course code too long for courses.code", "%q", c.Code)
		}
		if c.Dept < 0 || c.Dept >= len(ds.Departments) {
			l.errorf("course department out of range", "%s: %d", c.Code, c.Dept)
			continue
		}
		perDept[c.Dept]++
		if c.Level < 1 || c.Level > 4 {
			l.errorf("course level", "%s has level %d", c.Code, c.Level)
		}
		if c.Credits < 1 || c.Credits > 12 {
			l.errorf("course credits", "%s has %d credits", c.Code, c.Credits)
		}
		if c.Title == "" {
			l.errorf("course title", "%s has none", c.Code)
		}
		for _, p := range c.Prerequisites {
			if p < 0 || p >= len(ds.Courses) || p == i {
				l.errorf("prerequisite index", "%s requires course %d", c.Code, p)
				continue
			}
			pc := ds.Courses[p]
			if pc.Dept != c.Dept {
				l.errorf("prerequisite in another department", "%s requires %s", c.Code, pc.Code)
			}
			if pc.Level >= c.Level {
				l.errorf("prerequisite not of a lower level", "%s (level %d) requires %s (level %d)", c.Code, c.Level, pc.Code, pc.Level)
			}
		}
	}
	for d, n := range perDept {
		if n == 0 {
			l.errorf("department without courses", "%s", ds.Departments[d].Code)
		}
	}

	// Sections: as many as asked, unique numbers per course, meetings on weekdays within
	// 9:00 to 18:00.
	if len(ds.Sections) != sizes.Sections {
		t.Errorf("%d sections, want %d", len(ds.Sections), sizes.Sections)
	}
	sectionKeys := map[string]bool{}
	for _, s := range ds.Sections {
		if s.Course < 0 || s.Course >= len(ds.Courses) {
			l.errorf("section course out of range", "%d", s.Course)
			continue
		}
		name := ds.Courses[s.Course].Code + "-" + s.Number
		if sectionKeys[name] {
			l.errorf("section repeated", "%s", name)
		}
		sectionKeys[name] = true
		if s.Capacity < 1 {
			l.errorf("section capacity", "%s holds %d", name, s.Capacity)
		}
		if len(s.Meetings) == 0 {
			l.errorf("section without meetings", "%s", name)
		}
		for _, m := range s.Meetings {
			if m.Weekday < 1 || m.Weekday > 5 {
				l.errorf("meeting not on a weekday", "%s meets on day %d", name, m.Weekday)
			}
			if m.Start >= m.End {
				l.errorf("meeting ends before it starts", "%s: %s", name, meeting(m))
			}
			if m.Start < 9*60 || m.End > 18*60 {
				l.errorf("meeting outside 9:00-18:00", "%s (%d credits): %s", name, ds.Courses[s.Course].Credits, meeting(m))
			}
		}
	}

	// People: the students, the staff and one admin; unique usernames and student numbers.
	roles := map[string]int{}
	usernames := map[string]bool{}
	numbers := map[string]bool{}
	for _, p := range ds.People {
		roles[p.Role]++
		if usernames[p.Username] {
			l.errorf("username repeated", "%s", p.Username)
		}
		usernames[p.Username] = true
		if p.Username == "" || len(p.Username) > 64 {
			l.errorf("username", "%q", p.Username)
		}
		if p.Given == "" || p.Family == "" {
			l.errorf("name missing", "%s: %q %q", p.Username, p.Given, p.Family)
		}
		if p.Role != "student" {
			if p.StudentNumber != "" || p.ClassYear != 0 || len(p.Completed) > 0 {
				l.errorf("non-student with student data", "%+v", p)
			}
			continue
		}
		if p.StudentNumber == "" {
			l.errorf("student without a number", "%s", p.Username)
		} else if numbers[p.StudentNumber] {
			l.errorf("student number repeated", "%s", p.StudentNumber)
		}
		numbers[p.StudentNumber] = true
		if p.ClassYear < 1 || p.ClassYear > 4 {
			l.errorf("class year", "%s is in year %d", p.Username, p.ClassYear)
		}
		if p.Dept < 0 || p.Dept >= len(ds.Departments) {
			l.errorf("student department", "%s: %d", p.Username, p.Dept)
			continue
		}
		done := map[int]bool{}
		for _, ci := range p.Completed {
			if ci < 0 || ci >= len(ds.Courses) || done[ci] {
				l.errorf("completed course", "%s: course %d out of range or repeated", p.Username, ci)
				continue
			}
			done[ci] = true
			if c := ds.Courses[ci]; c.Dept != p.Dept || c.Level >= p.ClassYear {
				l.errorf("completed course", "year-%d %s student %s passed %s (level %d)", p.ClassYear,
					ds.Departments[p.Dept].Code, p.Username, c.Code, c.Level)
			}
		}
	}
	if roles["student"] != sizes.Students || roles["staff"] != sizes.Staff || roles["admin"] != 1 || len(ds.People) != sizes.Students+sizes.Staff+1 {
		t.Errorf("people by role %v (%d in all), want %d students, %d staff, 1 admin", roles, len(ds.People), sizes.Students, sizes.Staff)
	}
	if !usernames["admin"] {
		t.Error("no admin account")
	}
}

func meeting(m seed.Meeting) string {
	return fmt.Sprintf("day %d %02d:%02d-%02d:%02d", m.Weekday, m.Start/60, m.Start%60, m.End/60, m.End%60)
}

// TestWriteMySQLAndDirectory seeds a real MariaDB database and a real slapd subtree and
// signs the seeded accounts in through the app's authenticator.
func TestWriteMySQLAndDirectory(t *testing.T) {
	ctx := context.Background()
	sqldb, _ := dbtest.New(t)
	dir := ldaptest.New(t)

	sizes := seed.Sizes{Students: 30, Sections: 20, Staff: 2}
	ds := seed.Generate(sizes, 7)
	var meetings, completed, prerequisites int
	for _, s := range ds.Sections {
		meetings += len(s.Meetings)
	}
	for _, p := range ds.People {
		completed += len(p.Completed)
	}
	for _, c := range ds.Courses {
		prerequisites += len(c.Prerequisites)
	}
	if completed == 0 {
		t.Fatal("the dataset has no completed courses; pick a seed that has some")
	}

	if err := seed.WriteMySQL(ctx, sqldb, ds, false); err != nil {
		t.Fatalf("WriteMySQL into an empty database: %v", err)
	}
	wantRows := func(ds seed.Dataset, meetings, completed, prerequisites int) map[string]int {
		return map[string]int{
			"departments":          len(ds.Departments),
			"terms":                2,
			"courses":              len(ds.Courses),
			"course_prerequisites": prerequisites,
			"sections":             len(ds.Sections),
			"section_meetings":     meetings,
			"users":                len(ds.People),
			"completed_courses":    completed,
			"events":               len(seed.Events),
			"event_seats":          10*20 + 8*12,
			"notices":              len(seed.Notices),
		}
	}
	checkRows(t, sqldb, wantRows(ds, meetings, completed, prerequisites))

	// A student's row carries what the dataset says.
	stu := ds.People[0]
	var number string
	var year int
	var role, dept string
	err := sqldb.QueryRowContext(ctx, `SELECT u.student_number, u.class_year, u.role, d.code
		FROM users u JOIN departments d ON d.id = u.department_id WHERE u.username = ?`, stu.Username).Scan(&number, &year, &role, &dept)
	if err != nil {
		t.Fatal(err)
	}
	if number != stu.StudentNumber || year != stu.ClassYear || role != "student" || dept != ds.Departments[stu.Dept].Code {
		t.Errorf("%s row: number %q year %d role %q dept %q; want %q %d student %q",
			stu.Username, number, year, role, dept, stu.StudentNumber, stu.ClassYear, ds.Departments[stu.Dept].Code)
	}
	var current string
	if err := sqldb.QueryRowContext(ctx, "SELECT code FROM terms WHERE is_current").Scan(&current); err != nil || current != seed.Term.Code {
		t.Errorf("current term %q (%v), want %q", current, err, seed.Term.Code)
	}

	// A second seed without replace refuses and changes nothing.
	other := seed.Generate(seed.Sizes{Students: 10, Sections: 5, Staff: 1}, 8)
	if err := seed.WriteMySQL(ctx, sqldb, other, false); !errors.Is(err, seed.ErrNotEmpty) {
		t.Fatalf("WriteMySQL into a seeded database without replace: %v, want ErrNotEmpty", err)
	}
	checkRows(t, sqldb, wantRows(ds, meetings, completed, prerequisites))

	// With replace it wipes the old school and writes the new one.
	if err := seed.WriteMySQL(ctx, sqldb, other, true); err != nil {
		t.Fatalf("WriteMySQL with replace: %v", err)
	}
	var om, oc, op int
	for _, s := range other.Sections {
		om += len(s.Meetings)
	}
	for _, p := range other.People {
		oc += len(p.Completed)
	}
	for _, c := range other.Courses {
		op += len(c.Prerequisites)
	}
	checkRows(t, sqldb, wantRows(other, om, oc, op))

	// The directory: the first dataset's accounts, in the test's own subtree.
	directory := adminDirectory(dir)
	pw := seed.Passwords{Student: "stu-pass-1", Staff: "staff-pass-1", Admin: "admin-pass-1"}
	if err := directory.Write(ds, pw); err != nil {
		t.Fatalf("Directory.Write: %v", err)
	}
	admin := dir.Admin(t)
	if n := countEntries(t, admin, dir.PeopleDN()); n != len(ds.People) {
		t.Errorf("%d accounts under %s, want %d", n, dir.PeopleDN(), len(ds.People))
	}
	if n := groupSize(t, admin, dir.GroupDN("students")); n != sizes.Students {
		t.Errorf("students group has %d members, want %d", n, sizes.Students)
	}

	auth := dir.Authenticator(t)

	// A student of each class year.
	checked := map[int]bool{}
	for _, p := range ds.People {
		if p.Role != "student" || checked[p.ClassYear] {
			continue
		}
		checked[p.ClassYear] = true
		id, err := auth.Authenticate(ctx, p.Username, pw.Student)
		if err != nil {
			t.Errorf("sign in as %s: %v", p.Username, err)
			continue
		}
		if id.Role != web.RoleStudent || id.ClassYear != p.ClassYear || id.StudentNumber != p.StudentNumber ||
			id.Department != ds.Departments[p.Dept].Code || id.DisplayName != p.DisplayName() || id.Username != p.Username {
			t.Errorf("%s signs in as %+v; want student, year %d, number %s, department %s, name %q",
				p.Username, id, p.ClassYear, p.StudentNumber, ds.Departments[p.Dept].Code, p.DisplayName())
		}
	}
	if len(checked) != 4 {
		t.Errorf("students of years %v, want all four", checked)
	}
	for _, tc := range []struct{ username, password, role string }{
		{"staff01", pw.Staff, web.RoleStaff},
		{"staff02", pw.Staff, web.RoleStaff},
		{"admin", pw.Admin, web.RoleAdmin},
	} {
		id, err := auth.Authenticate(ctx, tc.username, tc.password)
		if err != nil {
			t.Errorf("sign in as %s: %v", tc.username, err)
			continue
		}
		if id.Role != tc.role || id.StudentNumber != "" || id.ClassYear != 0 {
			t.Errorf("%s signs in as %+v, want role %s and no student data", tc.username, id, tc.role)
		}
	}
	// Each role has its own password.
	for _, tc := range []struct{ username, password string }{
		{ds.People[0].Username, pw.Admin},
		{"admin", pw.Student},
		{"staff01", "wrong"},
	} {
		if _, err := auth.Authenticate(ctx, tc.username, tc.password); !errors.Is(err, web.ErrInvalidCredentials) {
			t.Errorf("sign in as %s with another role's password: %v, want ErrInvalidCredentials", tc.username, err)
		}
	}

	// Writing again replaces the accounts: the new passwords work, the old ones do not.
	pw2 := seed.Passwords{Student: "stu-pass-2", Staff: "staff-pass-2", Admin: "admin-pass-2"}
	if err := directory.Write(ds, pw2); err != nil {
		t.Fatalf("Directory.Write a second time: %v", err)
	}
	if n := countEntries(t, admin, dir.PeopleDN()); n != len(ds.People) {
		t.Errorf("after a second write: %d accounts, want %d", n, len(ds.People))
	}
	if id, err := auth.Authenticate(ctx, "admin", pw2.Admin); err != nil || id.Role != web.RoleAdmin {
		t.Errorf("admin with the new password: %+v, %v", id, err)
	}
	if _, err := auth.Authenticate(ctx, "admin", pw.Admin); !errors.Is(err, web.ErrInvalidCredentials) {
		t.Errorf("admin with the old password: %v, want ErrInvalidCredentials", err)
	}
}

// adminDirectory is seed.Directory on the test's subtree, writing as the directory's root.
func adminDirectory(dir ldaptest.Directory) seed.Directory {
	return seed.Directory{BaseDN: dir.BaseDN, Workers: 4, Dial: func() (*ldap.Conn, error) {
		conn, err := ldap.DialURL(dir.URL)
		if err != nil {
			return nil, err
		}
		if err := conn.Bind(dir.AdminDN, dir.AdminPassword); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}}
}

// TestDirectoryWriteChecksPasswordsFirst: a missing demo password is refused before
// anything is deleted, so the directory keeps the accounts it had.
func TestDirectoryWriteChecksPasswordsFirst(t *testing.T) {
	dir := ldaptest.New(t)
	directory := adminDirectory(dir)
	ds := seed.Generate(seed.Sizes{Students: 5, Sections: 3, Staff: 1}, 3)
	if err := directory.Write(ds, seed.Passwords{Student: "s", Staff: "t", Admin: "a"}); err != nil {
		t.Fatalf("Directory.Write: %v", err)
	}
	if err := directory.Write(ds, seed.Passwords{Student: "s", Staff: "t"}); err == nil {
		t.Fatal("Directory.Write without an admin password succeeded")
	}
	if n := countEntries(t, dir.Admin(t), dir.PeopleDN()); n != len(ds.People) {
		t.Errorf("a refused Directory.Write left %d of the %d accounts", n, len(ds.People))
	}
}

func checkRows(t *testing.T, sqldb *sql.DB, want map[string]int) {
	t.Helper()
	for table, n := range want {
		var got int
		if err := sqldb.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&got); err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		if got != n {
			t.Errorf("%s has %d rows, want %d", table, got, n)
		}
	}
}

func countEntries(t *testing.T, conn *ldap.Conn, base string) int {
	t.Helper()
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil), 500)
	if err != nil {
		t.Fatalf("list %s: %v", base, err)
	}
	return len(res.Entries)
}

func groupSize(t *testing.T, conn *ldap.Conn, dn string) int {
	t.Helper()
	res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=groupOfNames)", []string{"member"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read group %s: %v", dn, err)
	}
	return len(res.Entries[0].GetAttributeValues("member"))
}
