package catalogcsv

import (
	"slices"
	"testing"
	"time"
)

func TestParseQuotas(t *testing.T) {
	for _, c := range []struct {
		in       string
		capacity int
		want     string // FormatQuotas, or the problem's code
	}{
		{"", 30, ""},
		{"4/*=20; */cs=10", 30, "4/*=20; */CS=10"},
		{" 4 / CS = 5 \n 3/*=5\r\n", 10, "4/CS=5; 3/*=5"},
		{"4/*=20; */CS=11", 30, "quota_over_capacity"},
		{"*/*=1", 30, "quota_anyone"},
		{"7/*=1", 30, "quota_year"},
		{"4/*=0", 30, "quota_seats"},
		{"4/*=1; 4/*=2", 30, "quota_duplicate"},
		{"4=20", 30, "quota_syntax"},
		{"4/*=x", 30, "quota_syntax"},
	} {
		qs, code, _ := ParseQuotas(c.in, c.capacity)
		got := FormatQuotas(qs)
		if code != "" {
			got = code
		}
		if got != c.want {
			t.Errorf("ParseQuotas(%q, %d) = %q, want %q", c.in, c.capacity, got, c.want)
		}
	}
}

func TestCatalogQuotaColumns(t *testing.T) {
	const header = "department,course_code,title,credits,term,section,capacity,quotas,quota_release_at\n"
	f, ps := ParseCatalog([]byte(header +
		"CS,CS101,Intro,3,2027-1,01,30,4/*=10; */MATH=5,2027-02-20T09:00+09:00\n" +
		"CS,CS101,Intro,3,2027-1,02,30,,\n"))
	if len(ps) > 0 || !f.HasQuotas || len(f.Rows) != 2 {
		t.Fatalf("rows %+v, problems %v", f.Rows, ps)
	}
	r := f.Rows[0]
	if FormatQuotas(r.Quotas) != "4/*=10; */MATH=5" || !r.QuotaRelease.Equal(time.Date(2027, 2, 20, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("row 2: quotas %v, release %v", r.Quotas, r.QuotaRelease)
	}
	if len(f.Rows[1].Quotas) != 0 || !f.Rows[1].QuotaRelease.IsZero() {
		t.Errorf("row 3 has quotas %v", f.Rows[1].Quotas)
	}
	_, ps = ParseCatalog([]byte(header +
		"CS,CS101,Intro,3,2027-1,01,30,4/*=31,\n" +
		"CS,CS102,Intro,3,2027-1,01,30,4/*=3,tomorrow\n" +
		"CS,CS103,Intro,3,2027-1,01,30,,2027-02-20T09:00+09:00\n" +
		"CS,CS104,Intro,3,,,,4/*=3,\n"))
	if got := codes(ps); !slices.Equal(got, []string{"2:quota_over_capacity", "3:quota_release", "4:quota_release_alone", "5:no_section"}) {
		t.Errorf("problems %v", got)
	}
	f, _ = ParseCatalog([]byte(header + "CS,CS101,Intro,3,2027-1,01,30,*/ART=3,\n"))
	_, ps = CheckCatalog(f, Existing{Departments: map[string]bool{"CS": true}, Terms: map[string]bool{"2027-1": true}})
	if got := codes(ps); !slices.Equal(got, []string{"2:quota_department"}) {
		t.Errorf("check problems %v", got)
	}
}
