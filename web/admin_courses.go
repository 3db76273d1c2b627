package web

import (
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// Departments and courses: the catalog's staff side.

type departmentRecord struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func departmentInput(f *adminForm) departmentRecord {
	return departmentRecord{Code: f.text("code", 16, true), Name: f.text("name", 200, true)}
}

func (s *Server) adminDepartments(w http.ResponseWriter, r *http.Request) {
	s.renderDepartments(w, r, http.StatusOK, newAdminForm(r))
}

func (s *Server) renderDepartments(w http.ResponseWriter, r *http.Request, status int, f *adminForm) {
	rows, err := s.q.AdminListDepartments(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list departments: %w", err))
		return
	}
	page := views.DepartmentsAdmin{Form: f.Form, Flash: s.flash(r)}
	for _, d := range rows {
		page.Departments = append(page.Departments, views.DepartmentRow{ID: d.ID, Code: d.Code, Name: d.Name, Courses: int(d.Courses)})
	}
	s.render(w, r, status, views.DepartmentsPage(page), views.DepartmentForm("/admin/departments", f.Form))
}

func (s *Server) createDepartment(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	d := departmentInput(f)
	show := func(status int) { s.renderDepartments(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.audited(r, func(q *db.Queries) (change, error) {
		id, err := q.InsertDepartment(r.Context(), db.InsertDepartmentParams{Code: d.Code, Name: d.Name})
		return change{Action: "department.create", Entity: "department", EntityID: id, After: d}, err
	})
	if s.changeFailed(w, r, f, err, "code", "admin.err.code_taken", show) {
		return
	}
	s.saved(w, r, "/admin/departments", "admin.saved", d.Code)
}

func (s *Server) adminDepartment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "deptID")
	if !ok {
		s.notFound(w, r)
		return
	}
	page, err := s.departmentPage(r, id, newAdminForm(r), views.Message{})
	if err != nil {
		s.changeFailed(w, r, newAdminForm(r), err, "", "", nil)
		return
	}
	s.render(w, r, http.StatusOK, page, nil)
}

// departmentPage is department id's edit page; the form shows the stored values unless
// f was posted.
func (s *Server) departmentPage(r *http.Request, id int64, f *adminForm, refused views.Message) (templ.Component, error) {
	d, err := s.q.GetDepartment(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if len(f.Values) == 0 {
		f.Values = map[string]string{"code": d.Code, "name": d.Name}
	}
	return views.DepartmentPage(views.DepartmentEdit{ID: id, Code: d.Code, Form: f.Form, Flash: s.flash(r), DeleteRefused: refused}), nil
}

func (s *Server) updateDepartment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "deptID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	d := departmentInput(f)
	action := "/admin/departments/" + itoa(id)
	show := func(status int) {
		page, err := s.departmentPage(r, id, f, views.Message{})
		if err != nil {
			s.changeFailed(w, r, f, err, "", "", nil)
			return
		}
		s.render(w, r, status, page, views.DepartmentForm(action, f.Form))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.audited(r, func(q *db.Queries) (change, error) {
		old, err := q.GetDepartmentForUpdate(r.Context(), id)
		if err != nil {
			return change{}, err
		}
		before := departmentRecord{Code: old.Code, Name: old.Name}
		if before == d {
			return change{}, nil
		}
		err = q.UpdateDepartment(r.Context(), db.UpdateDepartmentParams{Code: d.Code, Name: d.Name, ID: id})
		return change{Action: "department.update", Entity: "department", EntityID: id, Before: before, After: d}, err
	})
	if s.changeFailed(w, r, f, err, "code", "admin.err.code_taken", show) {
		return
	}
	s.saved(w, r, action, "admin.saved", d.Code)
}

func (s *Server) deleteDepartment(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "deptID")
	if !ok {
		s.notFound(w, r)
		return
	}
	var code string
	err := s.audited(r, func(q *db.Queries) (change, error) {
		old, err := q.GetDepartmentForUpdate(r.Context(), id)
		if err != nil {
			return change{}, err
		}
		code = old.Code
		deps, err := q.DepartmentDependents(r.Context(), db.DepartmentDependentsParams{ID: id, UserDepartmentID: sql.NullInt64{Int64: id, Valid: true}})
		if err != nil {
			return change{}, err
		}
		if deps.Courses+deps.Users > 0 {
			return change{}, refuse(http.StatusConflict, "", "admin.departments.in_use", deps.Courses, deps.Users)
		}
		if err := q.DeleteDepartment(r.Context(), id); err != nil {
			return change{}, err
		}
		return change{Action: "department.delete", Entity: "department", EntityID: id, Before: departmentRecord{Code: old.Code, Name: old.Name}}, nil
	})
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.departmentPage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/departments", code)
}

// courseRecord is a course as the audit log keeps it.
type courseRecord struct {
	Department    string   `json:"department"`
	Code          string   `json:"code"`
	Title         string   `json:"title"`
	Credits       int      `json:"credits"`
	Description   string   `json:"description"`
	Prerequisites []string `json:"prerequisites"`
}

// courseInput validates a course form; the department and the prerequisites are checked
// against the database by saveCourse.
func courseInput(f *adminForm) (courseRecord, int64) {
	c := courseRecord{Code: f.text("code", 16, true), Title: f.text("title", 200, true),
		Credits: f.integer("credits", 0, 12), Description: f.text("description", 5000, false)}
	dept, err := strconv.ParseInt(f.V("department_id"), 10, 64)
	if err != nil || dept <= 0 {
		f.fail("department_id", "admin.courses.choose_department")
	}
	seen := map[string]bool{}
	for _, code := range strings.FieldsFunc(strings.ToUpper(f.text("prerequisites", 1000, false)), func(r rune) bool {
		return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t'
	}) {
		if !seen[code] {
			seen[code] = true
			c.Prerequisites = append(c.Prerequisites, code)
		}
	}
	slices.Sort(c.Prerequisites)
	if slices.Contains(c.Prerequisites, strings.ToUpper(c.Code)) {
		f.fail("prerequisites", "admin.courses.self_prerequisite")
	}
	return c, dept
}

// saveCourse writes course id (0: a new one) and its prerequisites inside the audited
// transaction, refusing an unknown department or prerequisite and a prerequisite cycle.
func saveCourse(r *http.Request, q *db.Queries, id, dept int64, c *courseRecord) (int64, error) {
	ctx := r.Context()
	d, err := q.GetDepartment(ctx, dept)
	if isNoRows(err) {
		return 0, refuse(http.StatusBadRequest, "department_id", "admin.courses.choose_department")
	}
	if err != nil {
		return 0, err
	}
	c.Department = d.Code
	var prereqs []int64
	if len(c.Prerequisites) > 0 {
		rows, err := q.CourseIDsByCodes(ctx, c.Prerequisites)
		if err != nil {
			return 0, err
		}
		var unknown []string
		for _, code := range c.Prerequisites {
			i := slices.IndexFunc(rows, func(row db.CourseIDsByCodesRow) bool { return strings.EqualFold(row.Code, code) })
			if i < 0 {
				unknown = append(unknown, code)
				continue
			}
			prereqs = append(prereqs, rows[i].ID)
		}
		if len(unknown) > 0 {
			return 0, refuse(http.StatusBadRequest, "prerequisites", "admin.courses.unknown_prerequisite", strings.Join(unknown, ", "))
		}
	}
	p := db.UpdateCourseParams{DepartmentID: dept, Code: c.Code, Title: c.Title, Credits: int8(c.Credits), Description: c.Description, ID: id}
	if id == 0 {
		id, err = q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: dept, Code: c.Code, Title: c.Title, Credits: p.Credits, Description: c.Description})
	} else {
		if slices.Contains(prereqs, id) {
			return 0, refuse(http.StatusBadRequest, "prerequisites", "admin.courses.self_prerequisite")
		}
		err = q.UpdateCourse(ctx, p)
		if err == nil {
			err = q.DeletePrerequisites(ctx, id)
		}
		if err == nil {
			var cycle bool
			cycle, err = prerequisiteCycle(r, q, id, prereqs)
			if cycle {
				return 0, refuse(http.StatusBadRequest, "prerequisites", "admin.courses.prerequisite_cycle")
			}
		}
	}
	for _, pid := range prereqs {
		if err != nil {
			break
		}
		err = q.InsertPrerequisite(ctx, db.InsertPrerequisiteParams{CourseID: id, PrerequisiteID: pid})
	}
	return id, err
}

// prerequisiteCycle reports whether course is reachable from prereqs through the
// prerequisites already stored: making them its prerequisites would close a loop no
// student could ever enter.
func prerequisiteCycle(r *http.Request, q *db.Queries, course int64, prereqs []int64) (bool, error) {
	edges, err := q.AllPrerequisites(r.Context())
	if err != nil {
		return false, err
	}
	next := map[int64][]int64{}
	for _, e := range edges {
		next[e.CourseID] = append(next[e.CourseID], e.PrerequisiteID)
	}
	seen := map[int64]bool{}
	todo := slices.Clone(prereqs)
	for len(todo) > 0 {
		c := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if c == course {
			return true, nil
		}
		if !seen[c] {
			seen[c] = true
			todo = append(todo, next[c]...)
		}
	}
	return false, nil
}

const coursesPerPage = 50

func (s *Server) adminCourses(w http.ResponseWriter, r *http.Request) {
	s.renderCourses(w, r, http.StatusOK, newAdminForm(r))
}

func (s *Server) renderCourses(w http.ResponseWriter, r *http.Request, status int, f *adminForm) {
	ctx := r.Context()
	query := r.URL.Query()
	page := views.CoursesAdmin{Keyword: strings.TrimSpace(query.Get("q")), Department: query.Get("dept"), Page: 1, Form: f.Form, Flash: s.flash(r)}
	if n, err := strconv.Atoi(query.Get("page")); err == nil && n > 1 && n < 100000 {
		page.Page = n
	}
	if len(page.Keyword) > 100 {
		page.Keyword = page.Keyword[:100]
	}
	depts, err := s.q.ListDepartments(ctx)
	if err != nil {
		s.serverError(w, r, fmt.Errorf("departments: %w", err))
		return
	}
	var deptID int64
	for _, d := range depts {
		page.Departments = append(page.Departments, views.Option{Value: itoa(d.ID), Label: d.Code + " · " + d.Name})
		if d.Code == page.Department || itoa(d.ID) == page.Department {
			deptID, page.Department = d.ID, itoa(d.ID)
		}
	}
	rows, err := s.q.AdminListCourses(ctx, db.AdminListCoursesParams{DepartmentID: deptID, Pattern: "%" + escapeLike(page.Keyword) + "%",
		Limit: coursesPerPage, Offset: int32((page.Page - 1) * coursesPerPage)})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list courses: %w", err))
		return
	}
	ids := make([]int64, len(rows))
	for i, c := range rows {
		ids[i] = c.ID
		page.Total = int(c.Total)
	}
	prereqs := map[int64][]string{}
	if len(ids) > 0 {
		ps, err := s.q.PrerequisiteCodes(ctx, ids)
		if err != nil {
			s.serverError(w, r, fmt.Errorf("prerequisites: %w", err))
			return
		}
		for _, p := range ps {
			prereqs[p.CourseID] = append(prereqs[p.CourseID], p.Code)
		}
	}
	for _, c := range rows {
		page.Courses = append(page.Courses, views.CourseRow{ID: c.ID, Code: c.Code, Title: c.Title, Credits: int(c.Credits),
			Department: c.DepartmentCode, Prerequisites: strings.Join(prereqs[c.ID], ", "), Sections: int(c.Sections)})
	}
	page.Pages = (page.Total + coursesPerPage - 1) / coursesPerPage
	s.render(w, r, status, views.CoursesPage(page), views.CourseForm("/admin/courses", page.Form, page.Departments))
}

func (s *Server) createCourse(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	c, dept := courseInput(f)
	show := func(status int) { s.renderCourses(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.audited(r, func(q *db.Queries) (change, error) {
		id, err := saveCourse(r, q, 0, dept, &c)
		return change{Action: "course.create", Entity: "course", EntityID: id, After: c}, err
	})
	if s.changeFailed(w, r, f, err, "code", "admin.err.code_taken", show) {
		return
	}
	s.saved(w, r, "/admin/courses", "admin.saved", c.Code)
}

func (s *Server) adminCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "courseID")
	if !ok {
		s.notFound(w, r)
		return
	}
	page, err := s.coursePage(r, id, newAdminForm(r), views.Message{})
	if err != nil {
		s.changeFailed(w, r, newAdminForm(r), err, "", "", nil)
		return
	}
	s.render(w, r, http.StatusOK, page, nil)
}

// coursePage is course id's edit page; the form shows the stored values unless f was
// posted.
func (s *Server) coursePage(r *http.Request, id int64, f *adminForm, refused views.Message) (templ.Component, error) {
	ctx := r.Context()
	c, err := s.q.GetCourse(ctx, id)
	if err != nil {
		return nil, err
	}
	prereqs, err := s.q.PrerequisiteCodes(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	depts, err := s.q.ListDepartments(ctx)
	if err != nil {
		return nil, err
	}
	if len(f.Values) == 0 {
		codes := make([]string, len(prereqs))
		for i, p := range prereqs {
			codes[i] = p.Code
		}
		f.Values = map[string]string{"department_id": itoa(c.DepartmentID), "code": c.Code, "title": c.Title,
			"credits": strconv.Itoa(int(c.Credits)), "description": c.Description, "prerequisites": strings.Join(codes, ", ")}
	}
	page := views.CourseEdit{ID: id, Code: c.Code, Form: f.Form, Flash: s.flash(r), DeleteRefused: refused}
	for _, d := range depts {
		page.Departments = append(page.Departments, views.Option{Value: itoa(d.ID), Label: d.Code + " · " + d.Name})
	}
	return views.CoursePage(page), nil
}

func (s *Server) updateCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "courseID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	c, dept := courseInput(f)
	action := "/admin/courses/" + itoa(id)
	show := func(status int) {
		page, err := s.coursePage(r, id, f, views.Message{})
		if err != nil {
			s.changeFailed(w, r, f, err, "", "", nil)
			return
		}
		depts, _ := s.q.ListDepartments(r.Context())
		opts := make([]views.Option, len(depts))
		for i, d := range depts {
			opts[i] = views.Option{Value: itoa(d.ID), Label: d.Code + " · " + d.Name}
		}
		s.render(w, r, status, page, views.CourseForm(action, f.Form, opts))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.audited(r, func(q *db.Queries) (change, error) {
		before, err := courseRecordOf(r, q, id, true)
		if err != nil {
			return change{}, err
		}
		if _, err := saveCourse(r, q, id, dept, &c); err != nil {
			return change{}, err
		}
		if slices.Equal(before.Prerequisites, c.Prerequisites) && before.Department == c.Department && before.Code == c.Code &&
			before.Title == c.Title && before.Credits == c.Credits && before.Description == c.Description {
			return change{}, nil
		}
		return change{Action: "course.update", Entity: "course", EntityID: id, Before: before, After: c}, nil
	})
	if s.changeFailed(w, r, f, err, "code", "admin.err.code_taken", show) {
		return
	}
	s.saved(w, r, action, "admin.saved", c.Code)
}

// courseRecordOf reads course id as the audit log keeps it, locking its row when lock.
func courseRecordOf(r *http.Request, q *db.Queries, id int64, lock bool) (courseRecord, error) {
	ctx := r.Context()
	if lock {
		if _, err := q.GetCourseForUpdate(ctx, id); err != nil {
			return courseRecord{}, err
		}
	}
	c, err := q.GetCourse(ctx, id)
	if err != nil {
		return courseRecord{}, err
	}
	prereqs, err := q.PrerequisiteCodes(ctx, []int64{id})
	if err != nil {
		return courseRecord{}, err
	}
	rec := courseRecord{Department: c.DepartmentCode, Code: c.Code, Title: c.Title, Credits: int(c.Credits), Description: c.Description}
	for _, p := range prereqs {
		rec.Prerequisites = append(rec.Prerequisites, strings.ToUpper(p.Code))
	}
	slices.Sort(rec.Prerequisites)
	return rec, nil
}

func (s *Server) deleteCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "courseID")
	if !ok {
		s.notFound(w, r)
		return
	}
	var code string
	err := s.audited(r, func(q *db.Queries) (change, error) {
		before, err := courseRecordOf(r, q, id, true)
		if err != nil {
			return change{}, err
		}
		code = before.Code
		deps, err := q.CourseDependents(r.Context(), db.CourseDependentsParams{ID: id})
		if err != nil {
			return change{}, err
		}
		if deps.Sections+deps.RequiredBy+deps.Completed > 0 {
			return change{}, refuse(http.StatusConflict, "", "admin.courses.in_use", deps.Sections, deps.RequiredBy, deps.Completed)
		}
		if err := q.DeleteCourse(r.Context(), id); err != nil {
			return change{}, err
		}
		return change{Action: "course.delete", Entity: "course", EntityID: id, Before: before}, nil
	})
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.coursePage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/courses", code)
}
