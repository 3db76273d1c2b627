package hybrid

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/internal/testlog"
	"github.com/schoolservice/school/seed"
	"github.com/schoolservice/school/web/ldaptest"
)

// freshSchool seeds a throwaway database and directory subtree and returns the app's
// environment for them.
func freshSchool(t *testing.T, students, sections int) []string {
	t.Helper()
	sqldb, dsn := dbtest.New(t)
	dir := ldaptest.New(t)
	ds := seed.Generate(seed.Sizes{Students: students, Sections: sections, Staff: 1}, 7)
	if err := seed.WriteMySQL(context.Background(), sqldb, ds, false); err != nil {
		t.Fatal(err)
	}
	d := seed.Directory{BaseDN: dir.BaseDN, Workers: 4, Dial: func() (*ldap.Conn, error) {
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
	if err := d.Write(ds, seed.Passwords{Student: "demo-student", Staff: "demo-staff", Admin: "demo-admin"}); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "SCHOOL_DB_DSN="+dsn, "SCHOOL_LDAP_BASE_DN="+dir.BaseDN, "SCHOOL_LOG_LEVEL=warn")
}

// TestDrillSmall is the hybrid drill at CI size: 300 students through nginx against an
// on-prem tier of max_conns=8, a window 40 s after the start. It fails unless the spare
// takes load before EKS, EKS takes only what is past on-prem's limit, the autoscaler
// asks for capacity within one interval of the crossing, no student sees a 5xx, the
// invariants hold, everything returns to the floor and nothing is left running.
func TestDrillSmall(t *testing.T) {
	requireEnv(t)
	school, autoscaler := binaries(t)
	env := freshSchool(t, 300, 120)
	dir := filepath.Join(t.TempDir(), "run")
	var progress testlog.Buffer
	res, err := RunDrill(t.Context(), DrillOptions{
		Options: Options{Dir: dir, Repo: "../..", Base: 19800, School: school, Autoscaler: autoscaler, Env: env,
			DownSustain: 30 * time.Second},
		Students: 300, Lead: 40 * time.Second, Spread: 30 * time.Second, Seeded: true,
	}, &progress)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var report strings.Builder
	res.Report.WriteText(&report)
	if !res.OK() {
		t.Fatalf("the drill failed:\n%s", report.String())
	}
	tl := res.Report.Timeline
	names := map[string]bool{}
	for _, c := range tl.Checks {
		names[c.Name] = true
	}
	for _, want := range []string{"spare before EKS", "EKS only past on-prem's limit", "capacity asked within one interval", "0 5xx", "back to the floor", "down leaves nothing behind"} {
		if !names[want] {
			t.Errorf("check %q missing from the timeline", want)
		}
	}
	if !strings.Contains(report.String(), "Hybrid topology") || len(tl.Rows) == 0 {
		t.Errorf("the text report has no timeline:\n%s", report.String())
	}
	var html strings.Builder
	if err := res.Report.WriteHTML(&html); err != nil || !strings.Contains(html.String(), `class="timeline"`) {
		t.Errorf("the HTML report has no timeline (%v)", err)
	}
	t.Logf("%s", report.String())
}
