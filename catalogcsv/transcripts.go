package catalogcsv

import (
	"strconv"
	"strings"
)

// ParseTranscripts reads a transcript file and checks each row on its own and against
// the file's other rows: a student completes a course once.
func ParseTranscripts(data []byte) ([]TranscriptRow, []Problem) {
	t, problems := read(data, TranscriptColumns)
	var rows []TranscriptRow
	seen := map[[2]string]int{}
	for _, rec := range t.records {
		if full(problems) {
			break
		}
		c := rowCheck{line: rec.line, fields: rec.fields, problems: &problems}
		before := len(problems)
		row := TranscriptRow{
			Line:       rec.line,
			Student:    c.text("student", true, 64),
			CourseCode: strings.ToUpper(c.text("course_code", true, 16)),
			Term:       c.text("term", true, 16),
			Grade:      c.text("grade", false, 4),
		}
		if len(problems) > before {
			continue
		}
		key := [2]string{strings.ToLower(row.Student), row.CourseCode}
		if prev, ok := seen[key]; ok {
			c.add("duplicate_completion", row.Student, row.CourseCode, strconv.Itoa(prev))
			continue
		}
		seen[key] = rec.line
		rows = append(rows, row)
	}
	return rows, truncate(problems)
}

// TranscriptSummary says what importing a transcript file will do.
type TranscriptSummary struct {
	Rows     int `json:"rows"`
	Students int `json:"students"`
}

// CheckTranscripts checks transcript rows against the database: the student and the
// course must exist. Students are matched by username, case-insensitively.
func CheckTranscripts(rows []TranscriptRow, e Existing) (TranscriptSummary, []Problem) {
	var problems []Problem
	students := map[string]bool{}
	for _, r := range rows {
		if full(problems) {
			break
		}
		if !e.Students[strings.ToLower(r.Student)] {
			problems = append(problems, problem(r.Line, "unknown_student", r.Student))
		}
		if !e.Courses[r.CourseCode] {
			problems = append(problems, problem(r.Line, "unknown_course", r.CourseCode))
		}
		students[strings.ToLower(r.Student)] = true
	}
	return TranscriptSummary{Rows: len(rows), Students: len(students)}, truncate(problems)
}
