// Package catalogcsv reads the CSV files staff import: the catalog (courses and their
// sections) and transcripts (courses students have completed). It checks every row and
// reports each problem with its line number, first on the file alone (Parse…), then
// against what the database holds (Check…), so that nothing is written unless the whole
// file is right. It knows nothing of HTTP or SQL: package catalog reads the database for
// Check… and applies the file.
//
// A file is UTF-8 CSV (a byte-order mark is allowed, as spreadsheets write one) with a
// header row naming the columns, in any order; column names are case-insensitive.
package catalogcsv

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is the kind of file.
type Kind string

const (
	Catalog     Kind = "catalog"
	Transcripts Kind = "transcripts"
)

// Column is a column of a file's header.
type Column struct {
	Name     string
	Required bool
}

// CatalogColumns are the catalog file's columns. One row per section; a row with an empty
// section adds or updates only the course. The course columns repeat on every row of a
// course and must agree.
var CatalogColumns = []Column{
	{"department", true}, {"course_code", true}, {"title", true}, {"credits", true},
	{"term", true}, {"section", true}, {"capacity", true},
	{"instructor", false}, {"room", false}, {"meetings", false},
	{"quotas", false}, {"quota_release_at", false},
	{"title_ko", false}, {"course_type", false}, {"class_year", false}, {"open_to_other_departments", false},
	{"description", false}, {"syllabus_url", false},
}

// CourseDetailColumns are the optional course columns of a catalog file. A file without
// one leaves that fact of its courses as it is (a new course takes the default), so files
// written before the columns existed import as they always did.
var CourseDetailColumns = []string{"title_ko", "course_type", "class_year", "open_to_other_departments", "description", "syllabus_url"}

// TranscriptColumns are the transcript file's columns: one row per course a student
// completed.
var TranscriptColumns = []Column{
	{"student", true}, {"course_code", true}, {"term", true}, {"grade", false},
}

// Problem is one thing wrong with a file. Line is the file's line (the header is line 1),
// 0 for the file as a whole. Code names the problem; Args fill its message.
type Problem struct {
	Line int      `json:"line"`
	Code string   `json:"code"`
	Args []string `json:"args,omitempty"`
}

func problem(line int, code string, args ...string) Problem {
	return Problem{Line: line, Code: code, Args: args}
}

// Limits on a file.
const (
	MaxRows = 100000
	// MaxProblems is how many problems are listed; a file with more stops being read.
	MaxProblems = 500
)

// Meeting is one weekly meeting: weekday 1 (Monday) to 7, times in minutes after midnight.
type Meeting struct {
	Weekday, Start, End int
}

// SectionRow is a row of a catalog file.
type SectionRow struct {
	Line       int
	Department string
	CourseCode string
	Title      string
	Credits    int
	Term       string
	Section    string // "" for a row about the course only
	Capacity   int
	Instructor string
	Room       string
	Meetings   []Meeting
	// Quotas are the section's seat quotas (quotas.go), QuotaRelease when they end (zero:
	// never).
	Quotas       []Quota
	QuotaRelease time.Time
	CourseDetails
}

// CourseDetails are a course's facts beyond its code, title and credits.
type CourseDetails struct {
	TitleKo      string // the Korean title; Title is the English one
	CourseType   string // one of CourseTypes, or ""
	ClassYear    int    // the year the course is meant for, 0 for any
	OpenToOthers bool   // students of other departments may take it
	Description  string
	SyllabusURL  string
}

// TranscriptRow is a row of a transcript file.
type TranscriptRow struct {
	Line       int
	Student    string // username
	CourseCode string
	Term       string
	Grade      string
}

// CatalogFile is a parsed catalog file.
type CatalogFile struct {
	Rows []SectionRow
	// HasMeetings says the file has a meetings column: the sections' meetings are replaced
	// by the file's. Without the column, meetings are left as they are.
	HasMeetings bool
	// HasQuotas says the file has a quotas or quota_release_at column: the sections' seat
	// quotas are replaced by the file's (none where the cell is empty). Without either
	// column, quotas are left as they are.
	HasQuotas bool
	// Has names the CourseDetailColumns the file has; the others are left as they are.
	Has map[string]bool
}

// table is a file's rows as maps from column name to trimmed value.
type table struct {
	header  map[string]bool
	records []record
}

type record struct {
	line   int
	fields map[string]string
}

// read reads the header and the rows, checking the header against columns. Rows that
// cannot be read are left out, with their problems.
func read(data []byte, columns []Column) (table, []Problem) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return table{}, []Problem{problem(0, "not_utf8")}
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return table{}, []Problem{problem(0, "empty")}
	}
	if err != nil {
		return table{}, []Problem{parseProblem(err)}
	}
	var problems []Problem
	known := map[string]bool{}
	for _, c := range columns {
		known[c.Name] = true
	}
	t := table{header: map[string]bool{}}
	names := make([]string, len(header))
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		names[i] = name
		switch {
		case name == "":
			problems = append(problems, problem(1, "blank_column", strconv.Itoa(i+1)))
		case !known[name]:
			problems = append(problems, problem(1, "unknown_column", strings.TrimSpace(h), columnList(columns)))
		case t.header[name]:
			problems = append(problems, problem(1, "duplicate_column", name))
		}
		t.header[name] = true
	}
	for _, c := range columns {
		if c.Required && !t.header[c.Name] {
			problems = append(problems, problem(1, "missing_column", c.Name))
		}
	}
	if len(problems) > 0 {
		return t, problems
	}
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return t, append(problems, parseProblem(err))
		}
		line, _ := r.FieldPos(0)
		if blank(fields) {
			continue
		}
		if len(t.records) == MaxRows {
			return t, append(problems, problem(line, "too_many_rows", strconv.Itoa(MaxRows)))
		}
		if len(fields) != len(names) {
			problems = append(problems, problem(line, "field_count", strconv.Itoa(len(fields)), strconv.Itoa(len(names))))
			continue
		}
		rec := record{line: line, fields: make(map[string]string, len(names))}
		for i, f := range fields {
			rec.fields[names[i]] = strings.TrimSpace(f)
		}
		t.records = append(t.records, rec)
	}
	if len(t.records) == 0 && len(problems) == 0 {
		problems = append(problems, problem(0, "no_rows"))
	}
	return t, problems
}

func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func parseProblem(err error) Problem {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return problem(pe.Line, "csv_syntax")
	}
	return problem(0, "csv_syntax")
}

func columnList(columns []Column) string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// rowCheck collects the problems of one row.
type rowCheck struct {
	line     int
	fields   map[string]string
	problems *[]Problem
}

func (c rowCheck) add(code string, args ...string) {
	*c.problems = append(*c.problems, problem(c.line, code, args...))
}

// text returns a column's value, checking that it is present when required and not longer
// than max characters.
func (c rowCheck) text(column string, required bool, max int) string {
	v := c.fields[column]
	if required && v == "" {
		c.add("required", column)
	}
	if utf8.RuneCountInString(v) > max {
		c.add("too_long", column, strconv.Itoa(max))
	}
	return v
}

// number returns a column's whole-number value within [lo, hi].
func (c rowCheck) number(column string, lo, hi int) int {
	v := c.fields[column]
	if v == "" {
		c.add("required", column)
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		c.add("bad_number", column, v, strconv.Itoa(lo), strconv.Itoa(hi))
		return 0
	}
	return n
}

// full reports whether enough problems were found to stop.
func full(problems []Problem) bool { return len(problems) >= MaxProblems }

// Merge puts the problems of Parse… and Check… of one file in line order, at most
// MaxProblems of them.
func Merge(a, b []Problem) []Problem { return truncate(append(slices.Clip(a), b...)) }

// truncate sorts the problems by line and keeps at most MaxProblems.
func truncate(problems []Problem) []Problem {
	slices.SortStableFunc(problems, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	if len(problems) > MaxProblems {
		return problems[:MaxProblems]
	}
	return problems
}
