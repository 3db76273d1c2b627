package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

const catalogPageSize = 25

// catalog lists the current term's sections with live filters. Bad filter values are
// reported on the page and left out of the search rather than failing it.
func (s *Server) catalog(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	page := views.Catalog{}
	status := http.StatusOK
	f, msg := parseCatalogFilter(r)
	if msg.Key != "" {
		page.Error, status = msg, http.StatusBadRequest
	}

	term, err := s.currentTerm(r)
	if errors.Is(err, errNoCurrentTerm) {
		page.Error = views.Msg("catalog.no_term")
		s.render(w, r, http.StatusOK, views.CatalogPage(page), views.CatalogFragment(page))
		return
	} else if err != nil {
		s.serverError(w, r, err)
		return
	}
	page.Term = term.Name

	depts, err := s.catalogQ.ListDepartments(ctx)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list departments: %w", err))
		return
	}
	var deptID int64
	for _, d := range depts {
		page.Departments = append(page.Departments, views.Option{Value: d.Code, Label: d.Code + " · " + d.Name})
		if d.Code == f.Department {
			deptID = d.ID
		}
	}
	if f.Department != "" && deptID == 0 {
		page.Error, status = views.Msg("catalog.err.dept"), http.StatusBadRequest
		f.Department = ""
	}

	params := db.SearchSectionsParams{
		TermID:         term.ID,
		KeywordPattern: "%" + escapeLike(f.Keyword) + "%",
		DepartmentID:   deptID,
		Credits:        int8(f.Credits),
		Limit:          catalogPageSize,
		Offset:         int32((f.Page - 1) * catalogPageSize),
	}
	if f.OpenOnly {
		params.MinSeatsLeft = 1
	}
	rows, err := s.catalogQ.SearchSections(ctx, params)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("search sections: %w", err))
		return
	}
	if len(rows) == 0 && f.Page > 1 {
		// Past the last page (an old link, a typed URL): show the first.
		f.Page, params.Offset = 1, 0
		page.Error, status = views.Msg("catalog.err.page"), http.StatusOK
		if rows, err = s.catalogQ.SearchSections(ctx, params); err != nil {
			s.serverError(w, r, fmt.Errorf("search sections: %w", err))
			return
		}
	}
	page.Filter = f
	if len(rows) > 0 {
		page.Total = int(rows[0].Total)
		page.Pages = (page.Total + catalogPageSize - 1) / catalogPageSize
	}
	secs := make([]listedSection, len(rows))
	for i, row := range rows {
		secs[i] = listed(row.Section, row.Course, row.DepartmentCode)
	}
	if page.Rows, err = s.sectionViews(r, secs); err != nil {
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
