package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schoolservice/school/db"
)

// Seat quotas (학년별 / 전공자 정원): a section may keep part of its capacity for a class
// year, a major (the student's department) or both; the rest is the open remainder.
//
//   - Which seat: a student takes a seat of the first of the section's quotas (in the
//     order staff listed them) that fits them and had room at the request's first read;
//     should that one have filled meanwhile, the next such quota, and so on; else an open
//     seat. So a student is told full only when every seat they may use was taken. In the
//     common case a section with quotas costs one more conditional UPDATE than one
//     without (TakeQuotaSeat, then the section's TakeReservedSeat), and one without
//     quotas costs nothing more.
//   - No oversell: the quota's counter has its own conditional UPDATE, and the section's
//     counter counts every seat as before. sections.reserved is the quotas' seats nobody
//     has taken; an open seat needs enrolled + held + reserved < capacity (TakeSeat), so
//     an open seat never eats a quota's. The lock order is the student, the quota, the
//     section: a drop gives the quota seat back before it locks the section, and staff
//     lock a section's quotas before the section.
//   - Drop: the enrollment records its quota (enrollments.quota_id), and the seat goes
//     back to that quota's counter and to the reserve.
//   - Waitlist: seats held for the waitlist are open seats. A freed quota seat goes back
//     to its quota, not to the waitlist: a waiting student who fits the quota registers
//     for it as anyone would (the section is not full to them). Promotion takes held
//     seats only, so it never touches a quota.
//   - The cheap full answer counts, for the student, the open seats plus the free seats
//     of every quota that fits them: it says full only when none of those was free at
//     the read. For a student who fits no quota, the reserved seats are not free.
//   - Release: from sections.quota_release_at on, by the database's clock in the very
//     statements that read and take seats (a read-time rule: no job runs at that time),
//     reserved no longer counts, every free seat is open and new seats are open seats.
//     A quota seat dropped after the release is held for the waitlist like any seat.
//
// The quotas themselves (who, how many, the release time) are static during a window and
// live in the catalog snapshot; their counters are read live.

// quota is a section's seat quota as the catalog knows it.
type quota struct {
	id        int64
	classYear int    // 0: any year
	deptID    int64  // 0: any major
	dept      string // the department's code; "" for any
	capacity  int
}

// fits reports whether the quota is for a student of the class year and department (0
// when the account has none).
func (q quota) fits(classYear int, deptID int64) bool {
	return (q.classYear == 0 || classYear != 0 && q.classYear == classYear) &&
		(q.deptID == 0 || deptID != 0 && q.deptID == deptID)
}

// Quota is one seat quota of a section with the seats left in it, for a page.
type Quota struct {
	ClassYear  int    // 0: any year
	Department string // "": any major
	Capacity   int
	SeatsLeft  int
}

// seats are a section's live counters as one read found them. reserved is 0, and taken
// nil, once the quotas are released.
type seats struct {
	capacity, enrolled, held, reserved int
	taken                              map[int64]int // quota id → its enrolled
}

// parseTaken reads "id:enrolled,…" (RegistrationGlance's quota_enrolled); nil for "".
func parseTaken(s string) map[int64]int {
	if s == "" {
		return nil
	}
	m := map[int64]int{}
	for f := range strings.SplitSeq(s, ",") {
		id, n, ok := strings.Cut(f, ":")
		i, err1 := strconv.ParseInt(id, 10, 64)
		k, err2 := strconv.Atoi(n)
		if ok && err1 == nil && err2 == nil {
			m[i] = k
		}
	}
	return m
}

// open is the seats anyone may take.
func (s seats) open() int { return max(0, s.capacity-s.enrolled-s.held-s.reserved) }

// free is what is left in quota q, never more than the section has.
func (s seats) free(q quota) int {
	n, ok := s.taken[q.id]
	if !ok {
		return 0 // released, or a quota the counters do not know (deleted meanwhile)
	}
	return max(0, min(q.capacity-n, s.capacity-s.enrolled-s.held))
}

// choose is the quotas the student's seat is to come from, in the order they are tried
// (none: an open seat), and the seats the student may use: the open ones and those of
// every quota that fits them.
func (sec *catalogSection) choose(classYear int, deptID int64, live seats) ([]*quota, int) {
	var picks []*quota
	left := live.open()
	for i := range sec.quotas {
		q := &sec.quotas[i]
		if !q.fits(classYear, deptID) {
			continue
		}
		if f := live.free(*q); f > 0 {
			left += f
			picks = append(picks, q)
		}
	}
	return picks, min(left, max(0, live.capacity-live.enrolled-live.held))
}

// QuotasFor lists the section's quotas that fit a student of the class year and
// department, with the seats left in each as the counters (quota id → enrolled, read
// while the quotas hold) say; none once released (taken nil). It also returns the seats
// the student may use in all, with open the section's open seats.
func (c *Catalog) QuotasFor(sectionID int64, classYear int, deptID int64, capacity, enrolled, held, reserved int, taken map[int64]int) ([]Quota, int) {
	live := seats{capacity: capacity, enrolled: enrolled, held: held, reserved: reserved, taken: taken}
	sec := c.sections[sectionID]
	if sec == nil {
		return nil, live.open()
	}
	var out []Quota
	if taken != nil {
		for _, q := range sec.quotas {
			if q.fits(classYear, deptID) {
				out = append(out, Quota{ClassYear: q.classYear, Department: q.dept, Capacity: q.capacity, SeatsLeft: live.free(q)})
			}
		}
	}
	_, left := sec.choose(classYear, deptID, live)
	return out, left
}

// QuotaRelease is when the section's quotas end (zero: never, or no quotas).
func (c *Catalog) QuotaRelease(sectionID int64) time.Time {
	if sec := c.sections[sectionID]; sec != nil && len(sec.quotas) > 0 {
		return sec.release
	}
	return time.Time{}
}

// errFull: no seat the request may take was free at the conditional UPDATE.
var errFull = errors.New("full")

// takeSeat takes a seat in the section, of the first of quotas with room when there are
// any, else an open one, and returns the quota the seat came from (invalid for an open
// seat), or errFull.
func takeSeat(ctx context.Context, q *db.Queries, sectionID int64, quotas []*quota) (sql.NullInt64, error) {
	for _, qt := range quotas {
		var id sql.NullInt64
		switch n, err := q.TakeQuotaSeat(ctx, qt.id); {
		case err != nil:
			return id, fmt.Errorf("take quota seat: %w", err)
		case n == 1:
			n, err := q.TakeReservedSeat(ctx, sectionID)
			if err != nil {
				return id, fmt.Errorf("take reserved seat: %w", err)
			}
			if n == 1 {
				return sql.NullInt64{Int64: qt.id, Valid: true}, nil
			}
			// The quotas were released since the first read and open seats took the
			// section's last: the quota's seat goes back, and the section's own count
			// decides below (full, as for anyone).
			if _, err := q.GiveBackQuotaSeat(ctx, qt.id); err != nil {
				return id, fmt.Errorf("give back quota seat: %w", err)
			}
		}
		// Filled since the first read: the next quota, then an open seat, if any.
	}
	n, err := q.TakeSeat(ctx, sectionID)
	if err != nil {
		return sql.NullInt64{}, fmt.Errorf("take seat: %w", err)
	}
	if n == 0 {
		return sql.NullInt64{}, errFull
	}
	return sql.NullInt64{}, nil
}

// insertEnrollment inserts the enrollment, with the quota its seat came from.
func insertEnrollment(ctx context.Context, q *db.Queries, p db.InsertEnrollmentParams, quotaID sql.NullInt64) error {
	var err error
	if quotaID.Valid {
		err = q.InsertQuotaEnrollment(ctx, db.InsertQuotaEnrollmentParams{UserID: p.UserID, SectionID: p.SectionID,
			CourseID: p.CourseID, TermID: p.TermID, Source: p.Source, QuotaID: quotaID})
	} else {
		err = q.InsertEnrollment(ctx, p)
	}
	if err != nil {
		return fmt.Errorf("insert enrollment: %w", err)
	}
	return nil
}

// HasQuotas reports whether the section has seat quotas (released or not).
func (c *Catalog) HasQuotas(sectionID int64) bool {
	sec := c.sections[sectionID]
	return sec != nil && len(sec.quotas) > 0
}
