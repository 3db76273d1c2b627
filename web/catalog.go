package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

const catalogPageSize = 25

// catalog lists the current term's sections with live filters. Bad filter values are
// reported on the page and left out of the search rather than failing it. What the
// sections are comes from the registration catalog in memory (as fresh as the catalog
// version read at the start of the request); seats are read live for the page's rows.
func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page := views.Catalog{}
	status := http.StatusOK
	f, msg := parseCatalogFilter(r)
	if msg.Key != "" {
		page.Error, status = msg, http.StatusBadRequest
	}

	// The term, the departments and the sections come from one copy of the catalog, at
	// least as new as its version now: one read, and staff changes show at once.
	cat, err := s.reg.FreshCatalog(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	term, ok := cat.CurrentTerm()
	if !ok {
		page.Error = views.Msg("catalog.no_term")
		s.render(w, r, http.StatusOK, views.CatalogPage(page), views.CatalogFragment(page))
		return
	}
	page.Term = views.Name(ctx, term.Name, term.NameKo)
	if u, _ := s.currentUser(r); u.Role == RoleStudent {
		page.Quick = quickForm(r)
	}

	known := false
	for _, d := range cat.Departments() {
		page.Departments = append(page.Departments, views.Option{Value: d.Code, Label: d.Code + " · " + views.Name(ctx, d.Name, d.NameKo)})
		known = known || d.Code == f.Department
	}
	if f.Department != "" && !known {
		page.Error, status = views.Msg("catalog.err.dept"), http.StatusBadRequest
		f.Department = ""
	}

	search := registration.Search{TermID: term.ID, Keyword: f.Keyword, Department: f.Department, Credits: f.Credits,
		CourseType: f.CourseType, ClassYear: f.ClassYear, Weekday: f.Weekday, Period: f.Period, OpenToOthers: f.OpenToOthers}
	if f.OpenOnly {
		open, err := s.catalogQ.OpenSectionIDs(ctx, term.ID)
		if err != nil {
			s.serverError(w, r, fmt.Errorf("open sections: %w", err))
			return
		}
		search.Only = make(map[int64]bool, len(open))
		for _, id := range open {
			search.Only[id] = true
		}
	}
	found, total := cat.Search(search, (f.Page-1)*catalogPageSize, catalogPageSize)
	if len(found) == 0 && f.Page > 1 {
		// Past the last page (an old link, a typed URL): show the first.
		f.Page = 1
		page.Error, status = views.Msg("catalog.err.page"), http.StatusOK
		found, total = cat.Search(search, 0, catalogPageSize)
	}
	page.Filter = f
	page.Total = total
	page.Pages = (page.Total + catalogPageSize - 1) / catalogPageSize
	if page.Rows, err = s.listingViews(r, found); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, status, views.CatalogPage(page), views.CatalogFragment(page))
}

// parseCatalogFilter reads the query; an invalid value is dropped and reported.
func parseCatalogFilter(r *http.Request) (views.CatalogFilter, views.Message) {
	q := r.URL.Query()
	f := views.CatalogFilter{
		Keyword:    strings.TrimSpace(q.Get("q")),
		Department: strings.ToUpper(strings.TrimSpace(q.Get("dept"))),
		OpenOnly:   q.Get("open") != "",
		Page:       1,
	}
	var msg views.Message
	if utf8.RuneCountInString(f.Keyword) > 100 || !utf8.ValidString(f.Keyword) {
		f.Keyword, msg = "", views.Msg("catalog.err.keyword")
	}
	if len(f.Department) > 16 {
		f.Department, msg = "", views.Msg("catalog.err.dept")
	}
	if v := q.Get("credits"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 6 {
			msg = views.Msg("catalog.err.credits")
		} else {
			f.Credits = n
		}
	}
	if msg2 := parseCourseFilters(q, &f); msg2.Key != "" {
		msg = msg2
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			msg = views.Msg("catalog.err.page")
		} else {
			f.Page = n
		}
	}
	return f, msg
}

// escapeLike makes s match itself literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
