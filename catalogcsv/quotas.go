package catalogcsv

import (
	"strconv"
	"strings"
	"time"
)

// Quota is a seat quota of a section as files and the section form write it:
// "4/*=20" is 20 seats for the fourth year, "*/CS=10" 10 for the CS majors, "4/CS=5" 5
// for fourth-year CS majors. ClassYear 0 and Department "" mean any; not both.
type Quota struct {
	ClassYear  int
	Department string // upper case
	Seats      int
}

// String is the quota as it is written.
func (q Quota) String() string {
	year, dept := "*", "*"
	if q.ClassYear != 0 {
		year = strconv.Itoa(q.ClassYear)
	}
	if q.Department != "" {
		dept = q.Department
	}
	return year + "/" + dept + "=" + strconv.Itoa(q.Seats)
}

// FormatQuotas writes quotas as ParseQuotas reads them, "; " between them.
func FormatQuotas(qs []Quota) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = q.String()
	}
	return strings.Join(parts, "; ")
}

// QuotaReleaseLayout is how a file writes when the quotas end: with the zone's offset,
// so the moment does not depend on the importing server's zone ("2027-02-20T09:00+09:00").
const QuotaReleaseLayout = "2006-01-02T15:04Z07:00"

// ParseQuotas reads quotas separated by ";" or new lines, in the order a student's seat
// is chosen, and checks them against the section's capacity. On a problem it returns its
// code (the message is "import.problem." + code) and arguments.
func ParseQuotas(v string, capacity int) ([]Quota, string, []string) {
	var out []Quota
	seen := map[[2]string]bool{}
	sum := 0
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		who, seats, ok1 := strings.Cut(part, "=")
		year, dept, ok2 := strings.Cut(strings.TrimSpace(who), "/")
		year, dept = strings.TrimSpace(year), strings.ToUpper(strings.TrimSpace(dept))
		n, err := strconv.Atoi(strings.TrimSpace(seats))
		if !ok1 || !ok2 || err != nil || year == "" || dept == "" || len(dept) > 16 {
			return nil, "quota_syntax", []string{part}
		}
		q := Quota{Seats: n}
		if year != "*" {
			y, err := strconv.Atoi(year)
			if err != nil || y < 1 || y > 6 {
				return nil, "quota_year", []string{part}
			}
			q.ClassYear = y
		}
		if dept != "*" {
			q.Department = dept
		}
		switch {
		case q.ClassYear == 0 && q.Department == "":
			return nil, "quota_anyone", []string{part}
		case n < 1:
			return nil, "quota_seats", []string{part}
		case seen[[2]string{year, dept}]:
			return nil, "quota_duplicate", []string{part}
		}
		seen[[2]string{year, dept}] = true
		sum += n
		out = append(out, q)
	}
	if sum > capacity {
		return nil, "quota_over_capacity", []string{strconv.Itoa(sum), strconv.Itoa(capacity)}
	}
	return out, "", nil
}

// ParseQuotaRelease reads when the quotas end (zero for ""), in QuotaReleaseLayout or
// RFC 3339.
func ParseQuotaRelease(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, true
	}
	for _, layout := range []string{QuotaReleaseLayout, time.RFC3339} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseQuotas reads a row's quotas and their release time.
func parseQuotas(c rowCheck, quotas, release string, capacity int) ([]Quota, time.Time) {
	qs, code, args := ParseQuotas(quotas, capacity)
	if code != "" {
		c.add(code, args...)
		return nil, time.Time{}
	}
	t, ok := ParseQuotaRelease(release)
	switch {
	case !ok:
		c.add("quota_release", release)
	case !t.IsZero() && len(qs) == 0:
		c.add("quota_release_alone")
	}
	return qs, t
}
