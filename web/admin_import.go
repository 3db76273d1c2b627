package web

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/go-sql-driver/mysql"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// A CSV import is two steps. The upload is checked in full (every row, against the
// database too) and, only when nothing is wrong, kept in import_jobs with what it will
// do; the preview shows that, or every problem with its line. Nothing else is written.
// The confirmation runs the import in the background on whichever replica it lands on,
// as one transaction (checked again inside it), and reports progress in the job's row,
// outside that transaction, so that any replica can show it.

// maxImportBytes bounds an uploaded file (import_jobs.content is a MEDIUMBLOB).
const maxImportBytes = 8 << 20

// importChunk is how many rows go into one statement, and how often progress is shown.
const importChunk = 500

// stalledAfter is how long a running import may go without progress before the page
// says it was interrupted (its replica stopped; the transaction was rolled back).
const stalledAfter = 2 * time.Minute

func (s *Server) importPage(w http.ResponseWriter, r *http.Request) {
	s.renderImportPage(w, r, http.StatusOK, nil, views.Message{})
}

func (s *Server) renderImportPage(w http.ResponseWriter, r *http.Request, status int, p *views.ImportPreview, m views.Message) {
	jobs, err := s.q.RecentImportJobs(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("recent imports: %w", err))
		return
	}
	page := views.ImportPage{Preview: p, Message: m, Catalog: columnsView(catalogcsv.CatalogColumns),
		Transcripts: columnsView(catalogcsv.TranscriptColumns)}
	for _, j := range jobs {
		page.Jobs = append(page.Jobs, views.ImportJobLine{ID: j.ID, Kind: string(j.Kind), State: jobState(j.State, j.UpdatedAt, s.now()),
			FileName: j.FileName, Total: int(j.Total), Done: int(j.Done), CreatedAt: j.CreatedAt})
	}
	var fragment templ.Component
	if p != nil {
		fragment = views.ImportPreviewBox(*p)
	} else if m.Key != "" {
		fragment = views.ImportPreviewBox(views.ImportPreview{Message: m})
	}
	s.render(w, r, status, views.ImportPageView(page), fragment)
}

func columnsView(cols []catalogcsv.Column) []views.ImportColumn {
	out := make([]views.ImportColumn, len(cols))
	for i, c := range cols {
		out[i] = views.ImportColumn{Name: c.Name, Required: c.Required}
	}
	return out
}

// importPreview checks an uploaded file and keeps it for the confirmation when it is
// right.
func (s *Server) importPreview(w http.ResponseWriter, r *http.Request) {
	// checkInput has read the upload within its limit and removes its files afterwards.
	if err := r.ParseMultipartForm(uploadMemory); err != nil {
		s.renderImportPage(w, r, http.StatusBadRequest, nil, views.Msg("import.err.no_file"))
		return
	}
	kind := catalogcsv.Kind(r.PostFormValue("kind"))
	if kind != catalogcsv.Catalog && kind != catalogcsv.Transcripts {
		s.renderImportPage(w, r, http.StatusBadRequest, nil, views.Msg("import.err.kind"))
		return
	}
	file, header, err := r.FormFile("file")
	if err != nil {
		s.renderImportPage(w, r, http.StatusBadRequest, nil, views.Msg("import.err.no_file"))
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxImportBytes+1))
	if err != nil {
		s.serverError(w, r, fmt.Errorf("read upload: %w", err))
		return
	}
	if len(data) > maxImportBytes {
		s.renderImportPage(w, r, http.StatusRequestEntityTooLarge, nil, views.Msg("import.err.too_big", maxImportBytes>>20))
		return
	}
	name := filepath.Base(header.Filename)
	if len(name) > 255 {
		name = name[:255]
	}
	check, err := s.checkImport(r.Context(), s.q, kind, data)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	preview := views.ImportPreview{Kind: string(kind), FileName: name, Problems: problemViews(check.problems),
		Summary: summaryMessage(kind, check.summary)}
	if len(check.problems) > 0 {
		preview.More = len(check.problems) >= catalogcsv.MaxProblems
		s.renderImportPage(w, r, http.StatusUnprocessableEntity, &preview, views.Message{})
		return
	}
	summary, err := json.Marshal(check.summary)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	actor, _ := s.currentUser(r)
	id, err := s.q.CreateImportJob(r.Context(), db.CreateImportJobParams{Kind: db.ImportJobsKind(kind), FileName: name,
		Content: data, Total: int32(check.rows), Summary: summary, CreatedBy: nullID(actor.ID)})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("keep import file: %w", err))
		return
	}
	preview.JobID = id
	s.renderImportPage(w, r, http.StatusOK, &preview, views.Message{})
}

// importCheck is what checking a file found.
type importCheck struct {
	rows        int
	problems    []catalogcsv.Problem
	summary     any // catalogcsv.CatalogSummary or TranscriptSummary
	catalog     catalogcsv.CatalogFile
	transcripts []catalogcsv.TranscriptRow
	known       knownCatalog
}

// knownCatalog is what the database holds that an import refers to, with ids.
type knownCatalog struct {
	existing    catalogcsv.Existing
	departments map[string]int64
	terms       map[string]int64
	courses     map[string]db.ImportCoursesRow
	sections    map[catalogcsv.SectionKey]db.ImportSectionsRow
	students    map[string]int64 // by lower-case username
}

// checkImport parses data and checks it against the database through q (inside the
// import's transaction, when it runs). The rows that parse are checked against the
// database too, so the preview lists every problem at once.
func (s *Server) checkImport(ctx context.Context, q *db.Queries, kind catalogcsv.Kind, data []byte) (importCheck, error) {
	var c importCheck
	if kind == catalogcsv.Transcripts {
		var parsed []catalogcsv.Problem
		c.transcripts, parsed = catalogcsv.ParseTranscripts(data)
		c.rows = len(c.transcripts)
		var usernames, codes []string
		for _, row := range c.transcripts {
			usernames = append(usernames, row.Student)
			codes = append(codes, row.CourseCode)
		}
		var err error
		if c.known, err = loadKnown(ctx, q, nil, codes, usernames); err != nil {
			return c, err
		}
		c.summary, c.problems = catalogcsv.CheckTranscripts(c.transcripts, c.known.existing)
		c.problems = catalogcsv.Merge(parsed, c.problems)
		return c, nil
	}
	var parsed []catalogcsv.Problem
	c.catalog, parsed = catalogcsv.ParseCatalog(data)
	c.rows = len(c.catalog.Rows)
	var terms, codes []string
	for _, row := range c.catalog.Rows {
		codes = append(codes, row.CourseCode)
		if row.Term != "" {
			terms = append(terms, row.Term)
		}
	}
	var err error
	if c.known, err = loadKnown(ctx, q, terms, codes, nil); err != nil {
		return c, err
	}
	c.summary, c.problems = catalogcsv.CheckCatalog(c.catalog, c.known.existing)
	c.problems = catalogcsv.Merge(parsed, c.problems)
	return c, nil
}

func loadKnown(ctx context.Context, q *db.Queries, terms, codes, usernames []string) (knownCatalog, error) {
	k := knownCatalog{
		existing: catalogcsv.Existing{Departments: map[string]bool{}, Terms: map[string]bool{}, Courses: map[string]bool{},
			Sections: map[catalogcsv.SectionKey]catalogcsv.Taken{}, Students: map[string]bool{}},
		departments: map[string]int64{}, terms: map[string]int64{}, courses: map[string]db.ImportCoursesRow{},
		sections: map[catalogcsv.SectionKey]db.ImportSectionsRow{}, students: map[string]int64{},
	}
	depts, err := q.ImportDepartments(ctx)
	if err != nil {
		return k, fmt.Errorf("departments: %w", err)
	}
	for _, d := range depts {
		k.departments[strings.ToUpper(d.Code)] = d.ID
		k.existing.Departments[strings.ToUpper(d.Code)] = true
	}
	ts, err := q.ImportTerms(ctx)
	if err != nil {
		return k, fmt.Errorf("terms: %w", err)
	}
	for _, t := range ts {
		k.terms[strings.ToUpper(t.Code)] = t.ID
		k.existing.Terms[strings.ToUpper(t.Code)] = true
	}
	if len(codes) > 0 {
		courses, err := q.ImportCourses(ctx, unique(codes))
		if err != nil {
			return k, fmt.Errorf("courses: %w", err)
		}
		for _, c := range courses {
			k.courses[strings.ToUpper(c.Code)] = c
			k.existing.Courses[strings.ToUpper(c.Code)] = true
		}
	}
	if len(terms) > 0 {
		secs, err := q.ImportSections(ctx, unique(terms))
		if err != nil {
			return k, fmt.Errorf("sections: %w", err)
		}
		for _, sec := range secs {
			key := catalogcsv.SectionKey{Course: strings.ToUpper(sec.CourseCode), Term: strings.ToUpper(sec.TermCode), Number: strings.ToUpper(sec.Number)}
			k.sections[key] = sec
			k.existing.Sections[key] = catalogcsv.Taken{Enrolled: int(sec.Enrolled), Held: int(sec.Held)}
		}
	}
	if len(usernames) > 0 {
		students, err := q.ImportStudents(ctx, unique(usernames))
		if err != nil {
			return k, fmt.Errorf("students: %w", err)
		}
		for _, st := range students {
			k.students[strings.ToLower(st.Username)] = st.ID
			k.existing.Students[strings.ToLower(st.Username)] = true
		}
	}
	return k, nil
}

func unique[T comparable](vs []T) []T {
	seen := make(map[T]bool, len(vs))
	out := vs[:0:0]
	for _, v := range vs {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

func problemViews(ps []catalogcsv.Problem) []views.ImportProblem {
	out := make([]views.ImportProblem, len(ps))
	for i, p := range ps {
		args := make([]any, len(p.Args))
		for j, a := range p.Args {
			args[j] = a
		}
		out[i] = views.ImportProblem{Line: p.Line, Text: views.Msg("import.problem."+p.Code, args...)}
	}
	return out
}

func summaryMessage(kind catalogcsv.Kind, summary any) views.Message {
	switch sm := summary.(type) {
	case catalogcsv.CatalogSummary:
		return views.Msg("import.summary.catalog", sm.Rows, sm.NewCourses, sm.UpdatedCourses, sm.NewSections, sm.UpdatedSections)
	case catalogcsv.TranscriptSummary:
		return views.Msg("import.summary.transcripts", sm.Rows, sm.Students)
	}
	return views.Message{}
}

// decodeSummary reads a job's stored summary back.
func decodeSummary(kind db.ImportJobsKind, raw json.RawMessage) views.Message {
	if kind == db.ImportJobsKindTranscripts {
		var sm catalogcsv.TranscriptSummary
		if json.Unmarshal(raw, &sm) != nil {
			return views.Message{}
		}
		return summaryMessage(catalogcsv.Transcripts, sm)
	}
	var sm catalogcsv.CatalogSummary
	if json.Unmarshal(raw, &sm) != nil {
		return views.Message{}
	}
	return summaryMessage(catalogcsv.Catalog, sm)
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// importRun starts a previewed import, once, whichever replica the confirmation lands on.
func (s *Server) importRun(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(chi.URLParam(r, "jobID"))
	if !ok {
		s.notFound(w, r)
		return
	}
	n, err := s.q.StartImportJob(r.Context(), id)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("start import %d: %w", id, err))
		return
	}
	if n == 1 {
		actor, _ := s.currentUser(r)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.runImport(s.bgctx, id, actor)
		}()
	}
	s.renderImportJob(w, r, id)
}

func (s *Server) importJob(w http.ResponseWriter, r *http.Request) {
	id, ok := parseID(chi.URLParam(r, "jobID"))
	if !ok {
		s.notFound(w, r)
		return
	}
	s.renderImportJob(w, r, id)
}

func (s *Server) renderImportJob(w http.ResponseWriter, r *http.Request, id int64) {
	j, err := s.q.GetImportJob(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("import %d: %w", id, err))
		return
	}
	v := views.ImportJob{ID: j.ID, Kind: string(j.Kind), State: jobState(j.State, j.UpdatedAt, s.now()), FileName: j.FileName,
		Total: int(j.Total), Done: int(j.Done), Summary: decodeSummary(j.Kind, j.Summary)}
	if len(j.Problems) > 0 {
		var ps []catalogcsv.Problem
		if err := json.Unmarshal(j.Problems, &ps); err != nil {
			s.serverError(w, r, fmt.Errorf("problems of import %d: %w", id, err))
			return
		}
		v.Problems = problemViews(ps)
	}
	s.render(w, r, http.StatusOK, views.ImportJobPage(v), views.ImportProgress(v))
}

// jobState is the job's state as staff see it: a running job without progress for a
// while was interrupted (its replica stopped, and its transaction with it).
func jobState(state db.ImportJobsState, updated, now time.Time) string {
	if state == db.ImportJobsStateRunning && now.Sub(updated) > stalledAfter {
		return "interrupted"
	}
	return string(state)
}

// errRefused carries the problems found when the import ran.
type errRefused struct{ problems []catalogcsv.Problem }

func (e errRefused) Error() string { return fmt.Sprintf("%d problems", len(e.problems)) }

// runImport runs a confirmed job to its end, as one transaction, and records the outcome.
func (s *Server) runImport(ctx context.Context, id int64, actor sessionUser) {
	log := s.log.With(slog.Int64("import", id))
	job, err := s.q.GetImportJob(ctx, id)
	if err != nil {
		log.Error("load import", slog.Any("error", err))
		return
	}
	done, summary := 0, job.Summary // a refused import keeps what its preview said
	var problems []catalogcsv.Problem
	outcome, err := s.applyImport(ctx, job, actor, &done)
	var refused errRefused
	switch {
	case errors.As(err, &refused):
		problems = refused.problems
	case err != nil:
		log.Error("import failed", slog.Any("error", err))
		problems = []catalogcsv.Problem{{Code: "internal"}}
	default:
		if summary, err = json.Marshal(outcome); err != nil {
			log.Error("import summary", slog.Any("error", err))
			summary = job.Summary
		}
	}
	state, pj := db.ImportJobsStateDone, json.RawMessage("[]")
	if problems != nil {
		state, done = db.ImportJobsStateFailed, 0
		if pj, err = json.Marshal(problems); err != nil {
			pj = json.RawMessage("[]")
		}
	}
	// The outcome is recorded even while the server stops.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.q.FinishImportJob(fctx, db.FinishImportJobParams{State: state, Done: int32(done), Summary: summary, Problems: pj, ID: id}); err != nil {
		log.Error("record the end of an import", slog.Any("error", err))
	}
}

// applyImport applies the job's file in one transaction, checking it again first, and
// returns the summary of what it did. done follows the rows applied.
func (s *Server) applyImport(ctx context.Context, job db.GetImportJobRow, actor sessionUser, done *int) (any, error) {
	id := job.ID
	data, err := s.q.ImportJobContent(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load import file %d: %w", id, err)
	}
	kind := catalogcsv.Kind(job.Kind)
	var summary any
	err = db.InTx(ctx, s.db, func(q *db.Queries) error {
		*done = 0
		check, err := s.checkImport(ctx, q, kind, data)
		if err != nil {
			return err
		}
		if len(check.problems) > 0 {
			return errRefused{check.problems}
		}
		progress := func(n int) {
			*done += n
			// Outside the transaction, so that every replica sees it now.
			if err := s.q.ImportJobProgress(ctx, db.ImportJobProgressParams{Done: int32(*done), ID: id}); err != nil {
				s.log.Warn("import progress", slog.Int64("import", id), slog.Any("error", err))
			}
		}
		if kind == catalogcsv.Transcripts {
			err = applyTranscripts(ctx, q, check, progress)
		} else {
			err = applyCatalog(ctx, q, check, progress)
		}
		if err != nil {
			return err
		}
		summary = check.summary
		if err := writeAudit(ctx, q, actor, change{Action: "import." + string(kind), Entity: "import_job", EntityID: id,
			After: map[string]any{"file": job.FileName, "summary": check.summary}}); err != nil {
			return err
		}
		if kind == catalogcsv.Transcripts {
			return nil // completed courses are read live, never from the catalog
		}
		return q.BumpCatalogVersion(ctx)
	})
	if err == nil && kind != catalogcsv.Transcripts {
		s.catalogChanged(ctx)
	}
	return summary, err
}

// applyCatalog adds and updates courses and sections, importChunk rows at a time.
func applyCatalog(ctx context.Context, q *db.Queries, c importCheck, progress func(int)) error {
	k := c.known
	updatedCourse := map[string]bool{}
	rows := c.catalog.Rows
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		var newCourses [][]any
		var newCodes []string
		for _, r := range chunk {
			dept := k.departments[r.Department]
			old, exists := k.courses[r.CourseCode]
			switch {
			case !exists && !updatedCourse[r.CourseCode]:
				newCourses = append(newCourses, []any{dept, r.CourseCode, r.Title, r.Credits, ""})
				newCodes = append(newCodes, r.CourseCode)
			case exists && !updatedCourse[r.CourseCode] && (old.DepartmentID != dept || old.Title != r.Title || int(old.Credits) != r.Credits):
				if err := q.UpdateImportedCourse(ctx, db.UpdateImportedCourseParams{DepartmentID: dept, Title: r.Title, Credits: int8(r.Credits), ID: old.ID}); err != nil {
					return fmt.Errorf("update course %s: %w", r.CourseCode, err)
				}
			}
			updatedCourse[r.CourseCode] = true
		}
		if err := q.BulkInsert(ctx, "courses", []string{"department_id", "code", "title", "credits", "description"}, newCourses); err != nil {
			return err
		}
		if len(newCodes) > 0 {
			made, err := q.ImportCourses(ctx, newCodes)
			if err != nil {
				return fmt.Errorf("new courses: %w", err)
			}
			for _, m := range made {
				k.courses[strings.ToUpper(m.Code)] = m
			}
		}

		var newSections [][]any
		var courseIDs, oldIDs []int64
		for _, r := range chunk {
			if r.Section == "" {
				continue
			}
			courseIDs = append(courseIDs, k.courses[r.CourseCode].ID)
			old, exists := k.sections[r.Key()]
			if !exists {
				newSections = append(newSections, []any{k.courses[r.CourseCode].ID, k.terms[r.Term], r.Section, r.Instructor, r.Room, r.Capacity})
				continue
			}
			oldIDs = append(oldIDs, old.ID)
			if old.Instructor == r.Instructor && old.Room == r.Room && int(old.Capacity) == r.Capacity {
				continue
			}
			err := q.UpdateImportedSection(ctx, db.UpdateImportedSectionParams{Instructor: r.Instructor, Room: r.Room, Capacity: int32(r.Capacity), ID: old.ID})
			if isCheckViolation(err) {
				// A student registered since the check: the capacity no longer holds them.
				return errRefused{[]catalogcsv.Problem{{Line: r.Line, Code: "capacity_taken", Args: []string{r.Key().Label()}}}}
			}
			if err != nil {
				return fmt.Errorf("update section %s: %w", r.Key().Label(), err)
			}
		}
		if err := q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity"}, newSections); err != nil {
			return err
		}
		if c.catalog.HasMeetings && len(courseIDs) > 0 {
			if err := importMeetings(ctx, q, k, chunk, courseIDs, oldIDs); err != nil {
				return err
			}
		}
		progress(len(chunk))
	}
	return nil
}

// importMeetings gives the chunk's sections the meetings of the file.
func importMeetings(ctx context.Context, q *db.Queries, k knownCatalog, chunk []catalogcsv.SectionRow, courseIDs, oldIDs []int64) error {
	if len(oldIDs) > 0 {
		if err := q.DeleteMeetingsOfSections(ctx, oldIDs); err != nil {
			return fmt.Errorf("old meetings: %w", err)
		}
	}
	secs, err := q.SectionsOfCourses(ctx, unique(courseIDs))
	if err != nil {
		return fmt.Errorf("sections of the imported courses: %w", err)
	}
	type key struct {
		course, term int64
		number       string
	}
	ids := make(map[key]int64, len(secs))
	for _, sec := range secs {
		ids[key{sec.CourseID, sec.TermID, strings.ToUpper(sec.Number)}] = sec.ID
	}
	var meetings [][]any
	for _, r := range chunk {
		if r.Section == "" {
			continue
		}
		id := ids[key{k.courses[r.CourseCode].ID, k.terms[r.Term], strings.ToUpper(r.Section)}]
		for _, m := range r.Meetings {
			meetings = append(meetings, []any{id, m.Weekday, m.Start, m.End})
		}
	}
	return q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, meetings)
}

// applyTranscripts records the completed courses; a course already recorded for the
// student takes the file's term and grade.
func applyTranscripts(ctx context.Context, q *db.Queries, c importCheck, progress func(int)) error {
	rows := c.transcripts
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		values := make([][]any, len(chunk))
		for i, r := range chunk {
			values[i] = []any{c.known.students[strings.ToLower(r.Student)], c.known.courses[r.CourseCode].ID, r.Term, r.Grade}
		}
		if err := q.BulkUpsert(ctx, "completed_courses", []string{"user_id", "course_id", "term_code", "grade"}, []string{"term_code", "grade"}, values); err != nil {
			return err
		}
		progress(len(chunk))
	}
	return nil
}

// isCheckViolation reports whether err is a CHECK constraint refusal (MariaDB 4025,
// MySQL 3819).
func isCheckViolation(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 4025 || me.Number == 3819)
}
