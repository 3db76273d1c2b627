package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/events"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// refusal is a change the rules did not allow, as staff are told it: nothing was
// written; the message goes on field, or on the whole form when field is empty.
type refusal struct {
	status int
	field  string
	msg    views.Message
}

// refusalOf is the one place where the domain packages' refusals of staff changes
// become what staff are told: a status, the form field it is about, and a message in
// English and Korean (views/messages.go). False for an error that is not a refusal.
func refusalOf(err error) (refusal, bool) {
	var (
		noCourse     *catalog.NoCourseError
		noPrereq     *catalog.NoPrerequisiteError
		codeTaken    *catalog.CodeTakenError
		numberTaken  *catalog.NumberTakenError
		deptInUse    *catalog.DepartmentInUseError
		courseInUse  *catalog.CourseInUseError
		termInUse    *catalog.TermInUseError
		sectionInUse *catalog.SectionInUseError
		windowInUse  *catalog.WindowInUseError
		capacity     *registration.CapacityError
		quotaDept    *catalog.QuotaDepartmentError
		quotaTaken   *catalog.QuotaTakenError
		seatHeld     *events.HeldError
	)
	refuse := func(status int, field, key string, args ...any) (refusal, bool) {
		return refusal{status: status, field: field, msg: views.Msg(key, args...)}, true
	}
	const bad, conflict = http.StatusBadRequest, http.StatusConflict
	switch {
	case errors.Is(err, catalog.ErrNoTerm):
		return refuse(bad, "term_id", "admin.sections.choose_term")
	case errors.Is(err, catalog.ErrNoDepartment):
		return refuse(bad, "department_id", "admin.courses.choose_department")
	case errors.As(err, &noCourse):
		return refuse(bad, "course", "admin.sections.no_course", noCourse.Code)
	case errors.As(err, &noPrereq):
		return refuse(bad, "prerequisites", "admin.courses.unknown_prerequisite", strings.Join(noPrereq.Codes, ", "))
	case errors.Is(err, catalog.ErrSelfPrerequisite):
		return refuse(bad, "prerequisites", "admin.courses.self_prerequisite")
	case errors.Is(err, catalog.ErrPrerequisiteCycle):
		return refuse(bad, "prerequisites", "admin.courses.prerequisite_cycle")
	case errors.As(err, &codeTaken):
		return refuse(conflict, "code", "admin.err.code_taken", codeTaken.Code)
	case errors.As(err, &numberTaken):
		return refuse(conflict, "number", "admin.sections.number_taken", numberTaken.Number)
	case errors.As(err, &capacity) && capacity.Reserved > 0:
		return refuse(conflict, "capacity", "admin.sections.capacity_below_reserved", capacity.Enrolled, capacity.Held, capacity.Reserved)
	case errors.As(err, &quotaDept):
		return refuse(bad, "quotas", "import.problem.quota_department", quotaDept.Code)
	case errors.As(err, &quotaTaken):
		return refuse(conflict, "quotas", "import.problem.quota_taken", quotaTaken.Quota, strconv.Itoa(quotaTaken.Enrolled))
	case errors.As(err, &capacity) && capacity.Held > 0:
		return refuse(conflict, "capacity", "admin.sections.capacity_below_held", capacity.Enrolled, capacity.Held)
	case errors.As(err, &capacity):
		return refuse(conflict, "capacity", "admin.sections.capacity_below", capacity.Enrolled)
	case errors.As(err, &deptInUse):
		return refuse(conflict, "", "admin.departments.in_use", deptInUse.Courses, deptInUse.Users)
	case errors.As(err, &courseInUse):
		return refuse(conflict, "", "admin.courses.in_use", courseInUse.Sections, courseInUse.RequiredBy, courseInUse.Completed)
	case errors.As(err, &termInUse):
		return refuse(conflict, "", "admin.terms.in_use", termInUse.Sections, termInUse.Windows)
	case errors.As(err, &sectionInUse):
		return refuse(conflict, "", "admin.sections.in_use", sectionInUse.Enrollments, sectionInUse.Waiting)
	case errors.As(err, &windowInUse):
		return refuse(conflict, "", "admin.windows.in_use", windowInUse.Tickets)
	case errors.As(err, &seatHeld):
		return refuse(conflict, "", "admin.events.err_held", seatHeld.Seat.String())
	case errors.Is(err, events.ErrShrinkHeld):
		return refuse(conflict, "", "admin.events.err_shrink")
	case db.IsCheckFailed(err):
		// The schema's own last line behind the forms' validation and the rules.
		return refuse(conflict, "", "admin.err.check")
	}
	return refusal{}, false
}

// failed answers an error that is not a refusal: a missing row is a 404, anything else a
// server error.
func (s *Server) failed(w http.ResponseWriter, r *http.Request, err error) {
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	s.serverError(w, r, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, err))
}

// changeFailed answers a change that did not go through and reports whether it did: a
// refusal shows the form again with its message; anything else is failed's.
func (s *Server) changeFailed(w http.ResponseWriter, r *http.Request, f *adminForm, err error, show func(status int)) bool {
	if err == nil {
		return false
	}
	if rf, ok := refusalOf(err); ok {
		f.fail(rf.field, rf.msg.Key, rf.msg.Args...)
		show(rf.status)
		return true
	}
	s.failed(w, r, err)
	return true
}

// deleteAnswer answers a delete: refused in place (the delete form over HTMX, the whole
// page otherwise), or done, back to the list.
func (s *Server) deleteAnswer(w http.ResponseWriter, r *http.Request, err error, page func(views.Message) templ.Component, listPath, name string) {
	if err == nil {
		s.saved(w, r, listPath, "admin.deleted", name)
		return
	}
	if rf, ok := refusalOf(err); ok {
		s.render(w, r, rf.status, page(rf.msg), views.DeleteForm(r.URL.Path, rf.msg))
		return
	}
	s.failed(w, r, err)
}
