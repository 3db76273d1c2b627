package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// A CSV import is two steps. PrepareImport checks an upload in full (every row, against
// the database too) and, only when nothing is wrong, keeps it in import_jobs with what
// it will do; nothing else is written. RunImport, after staff confirm, applies the file
// as one transaction, checked again inside it, and reports progress in the job's row,
// outside that transaction, so that every replica can show it.

// importChunk is how many rows go into one statement, and how often progress is shown.
const importChunk = 500

// Check is what checking a file found: Problems, or else what importing it will do.
type Check struct {
	Rows     int
	Problems []catalogcsv.Problem
	Summary  any // catalogcsv.CatalogSummary or catalogcsv.TranscriptSummary
	// JobID is the job PrepareImport kept the file in; 0 when it has problems.
	JobID int64

	catalog     catalogcsv.CatalogFile
	transcripts []catalogcsv.TranscriptRow
	known       knownCatalog
}

// PrepareImport checks data, a file of kind named name, and keeps it for RunImport when
// it has no problems.
func (s *Service) PrepareImport(ctx context.Context, by db.Actor, kind catalogcsv.Kind, name string, data []byte) (Check, error) {
	q := db.New(s.db)
	c, err := checkImport(ctx, q, kind, data)
	if err != nil || len(c.Problems) > 0 {
		return c, err
	}
	summary, err := json.Marshal(c.Summary)
	if err != nil {
		return c, err
	}
	c.JobID, err = q.CreateImportJob(ctx, db.CreateImportJobParams{Kind: db.ImportJobsKind(kind), FileName: name,
		Content: data, Total: int32(c.Rows), Summary: summary, CreatedBy: sql.NullInt64{Int64: by.ID, Valid: by.ID != 0}})
	if err != nil {
		return c, fmt.Errorf("keep import file: %w", err)
	}
	return c, nil
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
func checkImport(ctx context.Context, q *db.Queries, kind catalogcsv.Kind, data []byte) (Check, error) {
	var c Check
	if kind == catalogcsv.Transcripts {
		var parsed []catalogcsv.Problem
		c.transcripts, parsed = catalogcsv.ParseTranscripts(data)
		c.Rows = len(c.transcripts)
		var usernames, codes []string
		for _, row := range c.transcripts {
			usernames = append(usernames, row.Student)
			codes = append(codes, row.CourseCode)
		}
		var err error
		if c.known, err = loadKnown(ctx, q, nil, codes, usernames); err != nil {
			return c, err
		}
		c.Summary, c.Problems = catalogcsv.CheckTranscripts(c.transcripts, c.known.existing)
		c.Problems = catalogcsv.Merge(parsed, c.Problems)
		return c, nil
	}
	var parsed []catalogcsv.Problem
	c.catalog, parsed = catalogcsv.ParseCatalog(data)
	c.Rows = len(c.catalog.Rows)
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
	c.Summary, c.Problems = catalogcsv.CheckCatalog(c.catalog, c.known.existing)
	c.Problems = catalogcsv.Merge(parsed, c.Problems)
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

// refusedError carries the problems found when the import ran.
type refusedError struct{ problems []catalogcsv.Problem }

func (e refusedError) Error() string { return fmt.Sprintf("%d problems", len(e.problems)) }

// RunImport runs a confirmed job (one StartImportJob claimed) to its end, as one
// transaction, and records the outcome in the job's row; by is who confirmed it.
func (s *Service) RunImport(ctx context.Context, jobID int64, by db.Actor) {
	log := s.log.With(slog.Int64("import", jobID))
	q := db.New(s.db)
	job, err := q.GetImportJob(ctx, jobID)
	if err != nil {
		log.Error("load import", slog.Any("error", err))
		return
	}
	done, summary := 0, job.Summary // a refused import keeps what its preview said
	var problems []catalogcsv.Problem
	outcome, err := s.applyImport(ctx, job, by, &done)
	var refused refusedError
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
	if err := q.FinishImportJob(fctx, db.FinishImportJobParams{State: state, Done: int32(done), Summary: summary, Problems: pj, ID: jobID}); err != nil {
		log.Error("record the end of an import", slog.Any("error", err))
	}
}

// applyImport applies the job's file in one transaction, checking it again first, and
// returns the summary of what it did. done follows the rows applied.
func (s *Service) applyImport(ctx context.Context, job db.GetImportJobRow, by db.Actor, done *int) (any, error) {
	id := job.ID
	outside := db.New(s.db)
	data, err := outside.ImportJobContent(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("load import file %d: %w", id, err)
	}
	kind := catalogcsv.Kind(job.Kind)
	var summary any
	var resized []int64
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		*done, resized = 0, nil
		check, err := checkImport(ctx, q, kind, data)
		if err != nil {
			return db.Change{}, err
		}
		if len(check.Problems) > 0 {
			return db.Change{}, refusedError{check.Problems}
		}
		progress := func(n int) {
			*done += n
			// Outside the transaction, so that every replica sees it now.
			if err := outside.ImportJobProgress(ctx, db.ImportJobProgressParams{Done: int32(*done), ID: id}); err != nil {
				s.log.Warn("import progress", slog.Int64("import", id), slog.Any("error", err))
			}
		}
		if kind == catalogcsv.Transcripts {
			err = applyTranscripts(ctx, q, check, progress)
		} else {
			resized, err = applyCatalog(ctx, q, check, progress)
		}
		if err != nil {
			return db.Change{}, err
		}
		summary = check.Summary
		return db.Change{Action: "import." + string(kind), Entity: "import_job", EntityID: id,
			After: map[string]any{"file": job.FileName, "summary": check.Summary}}, nil
	})
	if err == nil {
		for _, sec := range resized {
			s.reg.PromoteNow(ctx, sec)
		}
	}
	return summary, err
}

// applyCatalog adds and updates courses and sections, importChunk rows at a time. It
// returns the sections whose new capacity holds seats for their waitlist.
func applyCatalog(ctx context.Context, q *db.Queries, c Check, progress func(int)) (held []int64, err error) {
	k := c.known
	updatedCourse := map[string]bool{}
	rows := c.catalog.Rows
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		var newCourses []db.InsertCourseParams
		var newCodes []string
		for _, r := range chunk {
			dept := k.departments[r.Department]
			old, exists := k.courses[r.CourseCode]
			switch {
			case !exists && !updatedCourse[r.CourseCode]:
				d := r.CourseDetails
				newCourses = append(newCourses, db.InsertCourseParams{DepartmentID: dept, Code: r.CourseCode, Title: r.Title, Credits: int8(r.Credits),
					Description: d.Description, TitleKo: d.TitleKo, CourseType: d.CourseType, ClassYear: int8(d.ClassYear),
					OpenToOthers: d.OpenToOthers, SyllabusUrl: d.SyllabusURL})
				newCodes = append(newCodes, r.CourseCode)
			case exists && !updatedCourse[r.CourseCode]:
				want := importedCourse(old, dept, r, c.catalog.Has)
				if want == (db.UpdateImportedCourseParams{DepartmentID: old.DepartmentID, Title: old.Title, Credits: old.Credits, TitleKo: old.TitleKo,
					CourseType: old.CourseType, ClassYear: old.ClassYear, OpenToOthers: old.OpenToOthers, Description: old.Description,
					SyllabusUrl: old.SyllabusUrl, ID: old.ID}) {
					break
				}
				if err := q.UpdateImportedCourse(ctx, want); err != nil {
					return nil, fmt.Errorf("update course %s: %w", r.CourseCode, err)
				}
			}
			updatedCourse[r.CourseCode] = true
		}
		if err := q.InsertCourses(ctx, newCourses); err != nil {
			return nil, err
		}
		if len(newCodes) > 0 {
			made, err := q.ImportCourses(ctx, newCodes)
			if err != nil {
				return nil, fmt.Errorf("new courses: %w", err)
			}
			for _, m := range made {
				k.courses[strings.ToUpper(m.Code)] = m
			}
		}

		var newSections []db.InsertSectionParams
		var courseIDs, oldIDs []int64
		for _, r := range chunk {
			if r.Section == "" {
				continue
			}
			courseIDs = append(courseIDs, k.courses[r.CourseCode].ID)
			old, exists := k.sections[r.Key()]
			if !exists {
				newSections = append(newSections, db.InsertSectionParams{CourseID: k.courses[r.CourseCode].ID, TermID: k.terms[r.Term],
					Number: r.Section, Instructor: r.Instructor, Room: r.Room, Capacity: int32(r.Capacity)})
				continue
			}
			oldIDs = append(oldIDs, old.ID)
			if old.Instructor != r.Instructor || old.Room != r.Room {
				err := q.UpdateImportedSection(ctx, db.UpdateImportedSectionParams{Instructor: r.Instructor, Room: r.Room, ID: old.ID})
				if err != nil {
					return nil, fmt.Errorf("update section %s: %w", r.Key().Label(), err)
				}
			}
			if int(old.Capacity) != r.Capacity && !c.catalog.HasQuotas { // else importQuotas resizes
				n, err := registration.Resize(ctx, q, old.ID, r.Capacity)
				if errors.As(err, new(*registration.CapacityError)) {
					// A student registered since the check: the capacity no longer holds them.
					return nil, refusedError{[]catalogcsv.Problem{{Line: r.Line, Code: "capacity_taken", Args: []string{r.Key().Label()}}}}
				}
				if err != nil {
					return nil, fmt.Errorf("resize section %s: %w", r.Key().Label(), err)
				}
				if n > 0 {
					held = append(held, old.ID)
				}
			}
		}
		if err := q.InsertSections(ctx, newSections); err != nil {
			return nil, err
		}
		if c.catalog.HasMeetings && len(courseIDs) > 0 {
			if err := importMeetings(ctx, q, k, chunk, courseIDs, oldIDs); err != nil {
				return nil, err
			}
		}
		if c.catalog.HasQuotas && len(courseIDs) > 0 {
			more, err := importQuotas(ctx, q, k, chunk, courseIDs)
			if err != nil {
				return nil, err
			}
			held = append(held, more...)
		}
		progress(len(chunk))
	}
	return held, nil
}

// importedCourse is course old as row r of a file with the columns has leaves it: a
// course detail whose column the file lacks keeps its stored value.
func importedCourse(old db.ImportCoursesRow, dept int64, r catalogcsv.SectionRow, has map[string]bool) db.UpdateImportedCourseParams {
	p := db.UpdateImportedCourseParams{DepartmentID: dept, Title: r.Title, Credits: int8(r.Credits), TitleKo: old.TitleKo,
		CourseType: old.CourseType, ClassYear: old.ClassYear, OpenToOthers: old.OpenToOthers, Description: old.Description,
		SyllabusUrl: old.SyllabusUrl, ID: old.ID}
	d := r.CourseDetails
	if has["title_ko"] {
		p.TitleKo = d.TitleKo
	}
	if has["course_type"] {
		p.CourseType = d.CourseType
	}
	if has["class_year"] {
		p.ClassYear = int8(d.ClassYear)
	}
	if has["open_to_other_departments"] {
		p.OpenToOthers = d.OpenToOthers
	}
	if has["description"] {
		p.Description = d.Description
	}
	if has["syllabus_url"] {
		p.SyllabusUrl = d.SyllabusURL
	}
	return p
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
	var meetings []db.InsertSectionMeetingParams
	for _, r := range chunk {
		if r.Section == "" {
			continue
		}
		id := ids[key{k.courses[r.CourseCode].ID, k.terms[r.Term], strings.ToUpper(r.Section)}]
		for _, m := range r.Meetings {
			meetings = append(meetings, db.InsertSectionMeetingParams{SectionID: id, Weekday: int8(m.Weekday), StartMinute: int16(m.Start), EndMinute: int16(m.End)})
		}
	}
	return q.InsertSectionMeetings(ctx, meetings)
}

// applyTranscripts records the completed courses; a course already recorded for the
// student takes the file's term and grade.
func applyTranscripts(ctx context.Context, q *db.Queries, c Check, progress func(int)) error {
	rows := c.transcripts
	for start := 0; start < len(rows); start += importChunk {
		chunk := rows[start:min(start+importChunk, len(rows))]
		values := make([]db.CompletedCourse, len(chunk))
		for i, r := range chunk {
			values[i] = db.CompletedCourse{UserID: c.known.students[strings.ToLower(r.Student)], CourseID: c.known.courses[r.CourseCode].ID,
				TermCode: r.Term, Grade: r.Grade}
		}
		if err := q.RecordCompletedCourses(ctx, values); err != nil {
			return err
		}
		progress(len(chunk))
	}
	return nil
}
