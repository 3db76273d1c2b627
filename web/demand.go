package web

import (
	"net/http"

	"github.com/schoolservice/school/views"
)

// demand is the section's basket count for the viewer's row (장바구니 담은 인원 and
// 경쟁률), from this replica's memory: the counts refreshed every basketCountsEvery, and
// whether the window in force shows them (registration.Catalog.BasketCountsShown). Staff
// always see them; a student when the latest window for their year that has opened says
// so.
func (s *Server) demand(r *http.Request, sectionID int64) views.Demand {
	u, _ := s.currentUser(r)
	cat := s.reg.Catalog()
	if cat == nil {
		return views.Demand{}
	}
	if u.Role == RoleStudent && !cat.BasketCountsShown(cat.TermOf(sectionID), u.Year, s.now().UTC()) {
		return views.Demand{}
	}
	return views.Demand{Shown: true, Baskets: s.reg.BasketCount(sectionID)}
}
