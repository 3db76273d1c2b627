package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// exportSectionEnrollments is the section's roster as CSV.
func (s *Server) exportSectionEnrollments(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	sec, err := s.q.ExportSection(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("section %d: %w", id, err))
		return
	}
	rows, err := s.q.ExportSectionEnrollments(r.Context(), id)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("enrollments of section %d: %w", id, err))
		return
	}
	table := [][]string{{"username", "student_number", "name", "email", "class_year", "source", "enrolled_at"}}
	for _, e := range rows {
		year := ""
		if e.ClassYear.Valid {
			year = strconv.Itoa(int(e.ClassYear.Int16))
		}
		table = append(table, []string{e.Username, e.StudentNumber.String, e.DisplayName, e.Email, year,
			string(e.Source), e.CreatedAt.In(views.ZoneFrom(r.Context())).Format(time.RFC3339)})
	}
	s.writeCSV(w, r, registration.SectionLabel(sec.CourseCode, sec.Number)+"_"+sec.TermCode+"_enrollments.csv", table)
}

// exportStudentEnrollments is every section a student holds, in every term, as CSV.
func (s *Server) exportStudentEnrollments(w http.ResponseWriter, r *http.Request) {
	username := chi.URLParam(r, "username")
	u, err := s.q.ExportStudent(r.Context(), username)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("user %q: %w", username, err))
		return
	}
	rows, err := s.q.ExportStudentEnrollments(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("enrollments of %q: %w", username, err))
		return
	}
	table := [][]string{{"term", "course_code", "section", "title", "credits", "instructor", "room", "source", "enrolled_at"}}
	for _, e := range rows {
		table = append(table, []string{e.TermCode, e.CourseCode, e.Number, e.Title, strconv.Itoa(int(e.Credits)),
			e.Instructor, e.Room, string(e.Source), e.CreatedAt.In(views.ZoneFrom(r.Context())).Format(time.RFC3339)})
	}
	s.writeCSV(w, r, u.Username+"_enrollments.csv", table)
}

// writeCSV sends table as a CSV download, times in the school's zone with its offset. Spreadsheets run a cell that starts with = + -
// or @ as a formula, so such a cell gets a leading apostrophe (CSV injection); tab and
// carriage return at the start are refused the same way.
func (s *Server) writeCSV(w http.ResponseWriter, r *http.Request, filename string, table [][]string) {
	var buf bytes.Buffer
	// Excel reads a CSV without a byte-order mark in the machine's legacy code page,
	// which turns Korean names into mojibake; with it, as UTF-8.
	buf.WriteString("\ufeff")
	cw := csv.NewWriter(&buf)
	for _, row := range table {
		for i, cell := range row {
			row[i] = defuseCell(cell)
		}
		if err := cw.Write(row); err != nil {
			s.serverError(w, r, fmt.Errorf("write %s: %w", filename, err))
			return
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		s.serverError(w, r, fmt.Errorf("write %s: %w", filename, err))
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename(filename)+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

func defuseCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// safeFilename keeps letters, digits, dot, dash and underscore: nothing that could end
// the header's quoted string or name a path.
func safeFilename(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, name)
}
