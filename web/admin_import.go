package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// A CSV import is two steps (see catalog.PrepareImport and catalog.RunImport): the
// upload is checked in full and kept, and its preview shows what it will do or every
// problem with its line; the confirmation runs it in the background on whichever replica
// it lands on, and its page follows the progress any replica reports.

// maxImportBytes bounds an uploaded file (import_jobs.content is a MEDIUMBLOB).
const maxImportBytes = 8 << 20

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
	check, err := s.staffCatalog.PrepareImport(r.Context(), s.actor(r), kind, name, data)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	preview := views.ImportPreview{Kind: string(kind), FileName: name, Problems: problemViews(check.Problems),
		Summary: summaryMessage(kind, check.Summary), JobID: check.JobID}
	if len(check.Problems) > 0 {
		preview.More = len(check.Problems) >= catalogcsv.MaxProblems
		s.renderImportPage(w, r, http.StatusUnprocessableEntity, &preview, views.Message{})
		return
	}
	s.renderImportPage(w, r, http.StatusOK, &preview, views.Message{})
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

// importRun starts a previewed import, once, whichever replica the confirmation lands on.
func (s *Server) importRun(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "jobID")
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
		by := s.actor(r)
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.staffCatalog.RunImport(s.bgctx, id, by)
			s.catalogChanged(s.bgctx)
		}()
	}
	s.renderImportJob(w, r, id)
}

func (s *Server) importJob(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "jobID")
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
