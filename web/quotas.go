package web

import (
	"fmt"
	"net/http"

	"github.com/schoolservice/school/registration"
)

// listedQuotas is what a catalog page needs to show the seats left per quota that fits
// the viewing student (registration/quota.go): the quotas' live counters by section
// (nil for a section whose quotas are released), and who the student is.
type listedQuotas struct {
	cat   *registration.Catalog
	taken map[int64]map[int64]int // section → quota → enrolled
	year  int
	dept  int64
}

// quotaSeats reads the counters of the quotas of the listed sections: one query, and
// only when one of them has quotas; a page without quota sections reads nothing more.
func (s *Server) quotaSeats(r *http.Request, sections []int64) (listedQuotas, error) {
	out := listedQuotas{cat: s.reg.Catalog()}
	if out.cat == nil {
		return out, nil
	}
	var ids []int64
	for _, id := range sections {
		if out.cat.HasQuotas(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	ctx := r.Context()
	rows, err := s.catalogQ.QuotaSeats(ctx, ids)
	if err != nil {
		return out, fmt.Errorf("quota seats of %d sections: %w", len(ids), err)
	}
	out.taken = map[int64]map[int64]int{}
	for _, q := range rows {
		if out.taken[q.SectionID] == nil {
			out.taken[q.SectionID] = map[int64]int{}
		}
		out.taken[q.SectionID][q.ID] = int(q.Enrolled)
	}
	if u, _ := s.currentUser(r); u.Role == RoleStudent {
		out.year = u.Year
		dept, err := s.q.StudentDepartment(ctx, u.ID)
		if err != nil && !isNoRows(err) {
			return out, fmt.Errorf("department of student %d: %w", u.ID, err)
		}
		out.dept = dept.Int64
	}
	return out, nil
}

// apply gives a listed section of a quota the seats left to the viewing student: those of
// the quotas that fit them and the open ones, from the section's counters.
func (q listedQuotas) apply(ls *listedSection, capacity, enrolled, held, reserved int) {
	if q.cat == nil || !q.cat.HasQuotas(ls.ID) {
		return
	}
	ls.quotas, ls.seatsLeft = q.cat.QuotasFor(ls.ID, q.year, q.dept, capacity, enrolled, held, reserved, q.taken[ls.ID])
	ls.release = q.cat.QuotaRelease(ls.ID)
}
