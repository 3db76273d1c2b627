package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// QuotaDepartmentError: a quota names a department that does not exist.
type QuotaDepartmentError struct{ Code string }

func (e *QuotaDepartmentError) Error() string { return "quota for no department " + e.Code }

// QuotaTakenError: a quota cannot have fewer seats than the students holding its seats.
type QuotaTakenError struct {
	Quota    string // as written: "4/*=20"
	Enrolled int
}

func (e *QuotaTakenError) Error() string {
	return fmt.Sprintf("quota %s is below its %d students", e.Quota, e.Enrolled)
}

// setQuotas gives section id the quotas (in the order a seat is chosen) and their release
// time (zero: never), and then its capacity, through registration.Resize, which refuses
// a capacity below the seats taken and still reserved for the quotas. A quota of the same
// class year and department keeps its students; a quota removed gives its students open
// seats. The caller holds the locks of lockForQuotas (a section inserted in the same
// transaction is locked by its insert); depts maps department codes to ids. It returns
// the seats held for the waitlist, as Resize does.
func setQuotas(ctx context.Context, q *db.Queries, id int64, quotas []catalogcsv.Quota, release time.Time, capacity int, depts func(string) (int64, error)) (held int, err error) {
	old, err := q.SectionQuotas(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("quotas of section %d: %w", id, err)
	}
	type who struct {
		year int
		dept int64
	}
	existing := map[who]db.SectionQuotasRow{}
	for _, o := range old {
		existing[who{int(o.ClassYear.Int16), o.DepartmentID.Int64}] = o
	}
	kept := map[int64]bool{}
	var add []db.InsertSectionQuotaParams
	for i, nq := range quotas {
		w := who{year: nq.ClassYear}
		if nq.Department != "" {
			d, err := depts(nq.Department)
			if errors.Is(err, sql.ErrNoRows) {
				return 0, &QuotaDepartmentError{Code: nq.Department}
			}
			if err != nil {
				return 0, fmt.Errorf("department %s: %w", nq.Department, err)
			}
			w.dept = d
		}
		if o, ok := existing[w]; ok {
			kept[o.ID] = true
			if nq.Seats < int(o.Enrolled) {
				return 0, &QuotaTakenError{Quota: nq.String(), Enrolled: int(o.Enrolled)}
			}
			// Kept quotas keep their ids, so a new order is written to position.
			if nq.Seats != int(o.Capacity) || i != int(o.Position) {
				if err := q.SetSectionQuota(ctx, db.SetSectionQuotaParams{Capacity: int32(nq.Seats), Position: int32(i), ID: o.ID}); err != nil {
					return 0, fmt.Errorf("quota %s: %w", nq, err)
				}
			}
			continue
		}
		p := db.InsertSectionQuotaParams{SectionID: id, Capacity: int32(nq.Seats), Position: int32(i)}
		p.ClassYear = sql.NullInt16{Int16: int16(w.year), Valid: w.year != 0}
		p.DepartmentID = sql.NullInt64{Int64: w.dept, Valid: w.dept != 0}
		add = append(add, p)
	}
	// Removed first, so that a quota listed anew in another place does not collide.
	for _, o := range old {
		if !kept[o.ID] {
			if err := q.DeleteSectionQuota(ctx, o.ID); err != nil {
				return 0, fmt.Errorf("delete quota %d: %w", o.ID, err)
			}
		}
	}
	for _, p := range add {
		if err := q.InsertSectionQuota(ctx, p); err != nil {
			return 0, fmt.Errorf("add a quota to section %d: %w", id, err)
		}
	}
	if err := q.SetSectionReserve(ctx, db.SetSectionReserveParams{ReleaseAt: sql.NullTime{Time: release, Valid: !release.IsZero()}, ID: id}); err != nil {
		return 0, fmt.Errorf("reserve of section %d: %w", id, err)
	}
	return registration.Resize(ctx, q, id, capacity)
}

// lockForQuotas locks section id's quotas, then its row: the registrations' lock order
// (registration/quota.go), which every staff change to a section's seats keeps.
func lockForQuotas(ctx context.Context, q *db.Queries, id int64) error {
	if _, err := q.LockSectionQuotas(ctx, id); err != nil {
		return fmt.Errorf("lock the quotas of section %d: %w", id, err)
	}
	if _, err := q.LockSection(ctx, id); err != nil {
		return fmt.Errorf("lock section %d: %w", id, err)
	}
	return nil
}

// quotasOf reads section id's quotas as staff write them, and their release time.
func quotasOf(ctx context.Context, q *db.Queries, id int64) ([]catalogcsv.Quota, time.Time, error) {
	rows, err := q.SectionQuotas(ctx, id)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("quotas of section %d: %w", id, err)
	}
	out := make([]catalogcsv.Quota, len(rows))
	for i, r := range rows {
		out[i] = catalogcsv.Quota{ClassYear: int(r.ClassYear.Int16), Department: r.DepartmentCode, Seats: int(r.Capacity)}
	}
	release, err := q.SectionQuotaRelease(ctx, id)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("quota release of section %d: %w", id, err)
	}
	return out, release.Time, nil
}

// departmentByCode looks a department up by its code, for setQuotas.
func departmentByCode(ctx context.Context, q *db.Queries) func(string) (int64, error) {
	return func(code string) (int64, error) {
		d, err := q.DepartmentByCode(ctx, code)
		return d.ID, err
	}
}

// Quotas reads section id's quotas and their release time, for its form.
func (s *Service) Quotas(ctx context.Context, id int64) ([]catalogcsv.Quota, time.Time, error) {
	return quotasOf(ctx, db.New(s.db), id)
}

// importQuotas gives the chunk's sections the quotas of the file, and their capacity
// (setQuotas resizes). It returns the sections whose new capacity holds seats for their
// waitlist.
func importQuotas(ctx context.Context, q *db.Queries, k knownCatalog, chunk []catalogcsv.SectionRow, courseIDs []int64) (held []int64, err error) {
	secs, err := q.SectionsOfCourses(ctx, unique(courseIDs))
	if err != nil {
		return nil, fmt.Errorf("sections of the imported courses: %w", err)
	}
	type key struct {
		course, term int64
		number       string
	}
	ids := make(map[key]int64, len(secs))
	for _, sec := range secs {
		ids[key{sec.CourseID, sec.TermID, strings.ToUpper(sec.Number)}] = sec.ID
	}
	depts := func(code string) (int64, error) {
		if id, ok := k.departments[code]; ok {
			return id, nil
		}
		return 0, sql.ErrNoRows
	}
	for _, r := range chunk {
		if r.Section == "" {
			continue
		}
		id := ids[key{k.courses[r.CourseCode].ID, k.terms[r.Term], strings.ToUpper(r.Section)}]
		if err := lockForQuotas(ctx, q, id); err != nil {
			return nil, err
		}
		n, err := setQuotas(ctx, q, id, r.Quotas, r.QuotaRelease, r.Capacity, depts)
		var taken *QuotaTakenError
		switch {
		case errors.As(err, &taken):
			return nil, refusedError{[]catalogcsv.Problem{{Line: r.Line, Code: "quota_taken", Args: []string{taken.Quota, strconv.Itoa(taken.Enrolled)}}}}
		case errors.As(err, new(*registration.CapacityError)):
			return nil, refusedError{[]catalogcsv.Problem{{Line: r.Line, Code: "quota_capacity", Args: []string{r.Key().Label()}}}}
		case err != nil:
			return nil, fmt.Errorf("quotas of section %s: %w", r.Key().Label(), err)
		}
		if n > 0 {
			held = append(held, id)
		}
	}
	return held, nil
}
