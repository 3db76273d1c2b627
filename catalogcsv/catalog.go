package catalogcsv

import (
	"strconv"
	"strings"
)

// SectionKey names a section the way a file does; codes are upper case.
type SectionKey struct {
	Course, Term, Number string
}

// Key returns the row's section key.
func (r SectionRow) Key() SectionKey {
	return SectionKey{r.CourseCode, r.Term, strings.ToUpper(r.Section)}
}

// Label is the section as staff write it: "CS101-01 (2027-1)".
func (k SectionKey) Label() string { return k.Course + "-" + k.Number + " (" + k.Term + ")" }

// Taken is what an existing section's capacity must leave room for.
type Taken struct {
	Enrolled, Held int
}

// Existing is what the database holds that a file is checked against. Codes are upper
// case.
type Existing struct {
	Departments map[string]bool
	Terms       map[string]bool
	Courses     map[string]bool
	Sections    map[SectionKey]Taken
	Students    map[string]bool // usernames in lower case
}

// ParseCatalog reads a catalog file and checks each row on its own and against the
// file's other rows.
func ParseCatalog(data []byte) (CatalogFile, []Problem) {
	t, problems := read(data, CatalogColumns)
	f := CatalogFile{HasMeetings: t.header["meetings"], HasQuotas: t.header["quotas"] || t.header["quota_release_at"], Has: map[string]bool{}}
	for _, col := range CourseDetailColumns {
		f.Has[col] = t.header[col]
	}
	type course struct {
		line              int
		department, title string
		credits           int
		details           CourseDetails
	}
	courses := map[string]course{}
	sections := map[SectionKey]int{}
	for _, rec := range t.records {
		if full(problems) {
			break
		}
		c := rowCheck{line: rec.line, fields: rec.fields, problems: &problems}
		before := len(problems)
		row := SectionRow{
			Line:       rec.line,
			Department: strings.ToUpper(c.text("department", true, 16)),
			CourseCode: strings.ToUpper(c.text("course_code", true, 16)),
			Title:      c.text("title", true, 200),
			Credits:    c.number("credits", 0, 12),
			Section:    c.text("section", false, 8),
			Instructor: c.text("instructor", false, 200),
			Room:       c.text("room", false, 64),
		}
		row.CourseDetails = courseDetails(c)
		if row.Section != "" {
			row.Term = strings.ToUpper(c.text("term", true, 16))
			row.Capacity = c.number("capacity", 0, 100000)
			row.Meetings = parseMeetings(c, rec.fields["meetings"])
			row.Quotas, row.QuotaRelease = parseQuotas(c, rec.fields["quotas"], rec.fields["quota_release_at"], row.Capacity)
		} else {
			for _, col := range []string{"term", "capacity", "instructor", "room", "meetings", "quotas", "quota_release_at"} {
				if rec.fields[col] != "" {
					c.add("no_section", col)
					break
				}
			}
		}
		if len(problems) > before {
			continue
		}
		if prev, ok := courses[row.CourseCode]; ok {
			switch {
			case prev.department != row.Department:
				c.add("course_differs", row.CourseCode, "department", strconv.Itoa(prev.line))
			case prev.title != row.Title:
				c.add("course_differs", row.CourseCode, "title", strconv.Itoa(prev.line))
			case prev.credits != row.Credits:
				c.add("course_differs", row.CourseCode, "credits", strconv.Itoa(prev.line))
			case prev.details != row.CourseDetails:
				c.add("course_differs", row.CourseCode, differingDetail(prev.details, row.CourseDetails), strconv.Itoa(prev.line))
			}
		} else {
			courses[row.CourseCode] = course{rec.line, row.Department, row.Title, row.Credits, row.CourseDetails}
		}
		if row.Section != "" {
			if prev, ok := sections[row.Key()]; ok {
				c.add("duplicate_section", row.Key().Label(), strconv.Itoa(prev))
			} else {
				sections[row.Key()] = rec.line
			}
		}
		if len(problems) == before {
			f.Rows = append(f.Rows, row)
		}
	}
	return f, truncate(problems)
}

// courseDetails reads a row's optional course columns; an empty or absent one is the
// default (no type, any year, open to other departments).
func courseDetails(c rowCheck) CourseDetails {
	d := CourseDetails{
		TitleKo:      c.text("title_ko", false, 200),
		Description:  c.text("description", false, 5000),
		OpenToOthers: true,
	}
	if v := c.fields["course_type"]; v != "" {
		t, ok := ParseCourseType(v)
		if !ok {
			c.add("bad_course_type", v)
		}
		d.CourseType = t
	}
	if v := c.fields["class_year"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 6 {
			c.add("bad_number", "class_year", v, "0", "6")
		}
		d.ClassYear = n
	}
	if v := c.fields["open_to_other_departments"]; v != "" {
		open, ok := ParseYesNo(v)
		if !ok {
			c.add("bad_flag", "open_to_other_departments", v)
		}
		d.OpenToOthers = open
	}
	if v := c.fields["syllabus_url"]; v != "" {
		u, ok := CheckSyllabusURL(v)
		if !ok {
			c.add("bad_url", "syllabus_url", v)
		}
		d.SyllabusURL = u
	}
	return d
}

// differingDetail names the first column in which a and b differ.
func differingDetail(a, b CourseDetails) string {
	switch {
	case a.TitleKo != b.TitleKo:
		return "title_ko"
	case a.CourseType != b.CourseType:
		return "course_type"
	case a.ClassYear != b.ClassYear:
		return "class_year"
	case a.OpenToOthers != b.OpenToOthers:
		return "open_to_other_departments"
	case a.Description != b.Description:
		return "description"
	}
	return "syllabus_url"
}

// weekdays are the names a meeting may start with, in English and Korean.
var weekdays = map[string]int{
	"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
	"월": 1, "화": 2, "수": 3, "목": 4, "금": 5, "토": 6, "일": 7,
}

// parseMeetings reads "Mon 09:00-10:15; Wed 09:00-10:15".
func parseMeetings(c rowCheck, v string) []Meeting {
	var out []Meeting
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		m, ok := parseMeeting(part)
		if !ok {
			c.add("bad_meeting", part)
			continue
		}
		out = append(out, m)
	}
	for i, a := range out {
		for _, b := range out[i+1:] {
			if a.Weekday == b.Weekday && a.Start < b.End && b.Start < a.End {
				c.add("meetings_overlap", v)
				return out
			}
		}
	}
	return out
}

func parseMeeting(s string) (Meeting, bool) {
	day, times, ok := strings.Cut(s, " ")
	if !ok {
		return Meeting{}, false
	}
	wd, ok := weekdays[strings.ToLower(day)]
	if !ok {
		return Meeting{}, false
	}
	times = strings.ReplaceAll(strings.TrimSpace(times), "–", "-")
	from, to, ok := strings.Cut(times, "-")
	if !ok {
		return Meeting{}, false
	}
	start, ok1 := clock(from)
	end, ok2 := clock(to)
	if !ok1 || !ok2 || start >= end {
		return Meeting{}, false
	}
	return Meeting{Weekday: wd, Start: start, End: end}, true
}

// clock reads "09:05" as minutes after midnight; "24:00" is the end of the day.
func clock(s string) (int, bool) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok || len(m) != 2 || len(h) < 1 || len(h) > 2 {
		return 0, false
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh*60+mm > 24*60 {
		return 0, false
	}
	return hh*60 + mm, true
}

// CatalogSummary says what importing a catalog file will do.
type CatalogSummary struct {
	Rows            int `json:"rows"`
	NewCourses      int `json:"new_courses"`
	UpdatedCourses  int `json:"updated_courses"`
	NewSections     int `json:"new_sections"`
	UpdatedSections int `json:"updated_sections"`
}

// CheckCatalog checks a parsed catalog file against the database: departments and terms
// must exist, and a section's new capacity must hold the students it already has.
func CheckCatalog(f CatalogFile, e Existing) (CatalogSummary, []Problem) {
	var problems []Problem
	s := CatalogSummary{Rows: len(f.Rows)}
	seen := map[string]bool{}
	for _, r := range f.Rows {
		if full(problems) {
			break
		}
		if !e.Departments[r.Department] {
			problems = append(problems, problem(r.Line, "unknown_department", r.Department))
		}
		if !seen[r.CourseCode] {
			seen[r.CourseCode] = true
			if e.Courses[r.CourseCode] {
				s.UpdatedCourses++
			} else {
				s.NewCourses++
			}
		}
		if r.Section == "" {
			continue
		}
		if !e.Terms[r.Term] {
			problems = append(problems, problem(r.Line, "unknown_term", r.Term))
			continue
		}
		for _, q := range r.Quotas {
			if q.Department != "" && !e.Departments[q.Department] {
				problems = append(problems, problem(r.Line, "quota_department", q.Department))
				break
			}
		}
		taken, ok := e.Sections[r.Key()]
		if !ok {
			s.NewSections++
			continue
		}
		s.UpdatedSections++
		if r.Capacity < taken.Enrolled+taken.Held {
			problems = append(problems, problem(r.Line, "capacity_below_enrolled", r.Key().Label(),
				strconv.Itoa(taken.Enrolled), strconv.Itoa(taken.Held), strconv.Itoa(r.Capacity)))
		}
	}
	return s, truncate(problems)
}
