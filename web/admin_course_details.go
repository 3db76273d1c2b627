package web

import (
	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/catalogcsv"
)

// courseDetailsInput reads the course form's Korean title, 이수구분, 대상학년, 타과 수강 and
// syllabus link into c, with the checks the CSV import makes.
func courseDetailsInput(f *adminForm, c *catalog.Course) {
	c.TitleKo = f.text("title_ko", 200, false)
	t, ok := catalogcsv.ParseCourseType(f.V("course_type"))
	if !ok {
		f.fail("course_type", "admin.courses.err.course_type")
	}
	c.CourseType = t
	if f.V("class_year") != "" {
		c.ClassYear = f.integer("class_year", 0, 6)
	}
	c.OpenToOthers = f.V("open_to_others") != ""
	if u := f.text("syllabus_url", catalogcsv.MaxSyllabusURL, false); u != "" {
		if c.SyllabusURL, ok = catalogcsv.CheckSyllabusURL(u); !ok {
			f.fail("syllabus_url", "admin.courses.err.syllabus_url")
		}
	}
}

// checked is a checkbox's value in a form's values: "1" when on.
func checked(on bool) string {
	if on {
		return "1"
	}
	return ""
}
