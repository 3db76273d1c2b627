package web

import (
	"net/url"
	"strconv"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// parseCourseFilters reads the catalog's 이수구분, 학년, 요일·교시 and 타과 수강 filters into
// f; like parseCatalogFilter, an invalid value is dropped and reported, and the search
// runs without it.
func parseCourseFilters(q url.Values, f *views.CatalogFilter) views.Message {
	var msg views.Message
	if v := q.Get("type"); v != "" {
		if t, ok := catalogcsv.ParseCourseType(v); ok {
			f.CourseType = t
		} else {
			msg = views.Msg("catalog.err.course_type")
		}
	}
	number := func(key string, hi int, bad string, into *int) {
		v := q.Get(key)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > hi {
			msg = views.Msg(bad)
			return
		}
		*into = n
	}
	number("year", 6, "catalog.err.class_year", &f.ClassYear)
	number("day", 7, "catalog.err.weekday", &f.Weekday)
	number("period", registration.Periods, "catalog.err.period", &f.Period)
	f.OpenToOthers = q.Get("others") != ""
	return msg
}
