package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// Departments and courses: the catalog's staff side.

func departmentInput(f *adminForm) catalog.Department {
	return catalog.Department{Code: f.text("code", 16, true), Name: f.text("name", 200, true), NameKo: f.text("name_ko", 200, false)}
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
		page.Departments = append(page.Departments, views.DepartmentRow{ID: d.ID, Code: d.Code, Name: d.Name, NameKo: d.NameKo, Courses: int(d.Courses)})
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
	_, err := s.staffCatalog.CreateDepartment(r.Context(), s.actor(r), d)
	if s.changeFailed(w, r, f, err, show) {
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
		s.failed(w, r, err)
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
		f.Values = map[string]string{"code": d.Code, "name": d.Name, "name_ko": d.NameKo}
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
			s.failed(w, r, err)
			return
		}
		s.render(w, r, status, page, views.DepartmentForm(action, f.Form))
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	err := s.staffCatalog.UpdateDepartment(r.Context(), s.actor(r), id, d)
	if s.changeFailed(w, r, f, err, show) {
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
	code, err := s.staffCatalog.DeleteDepartment(r.Context(), s.actor(r), id)
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.departmentPage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/departments", code)
}

// courseInput validates a course form; the department and the prerequisites are checked
// against the database by the catalog.
func courseInput(f *adminForm) catalog.Course {
	c := catalog.Course{Code: f.text("code", 16, true), Title: f.text("title", 200, true),
		Credits: f.integer("credits", 0, 12), Description: f.text("description", 5000, false)}
	dept, err := strconv.ParseInt(f.V("department_id"), 10, 64)
	if err != nil || dept <= 0 {
		f.fail("department_id", "admin.courses.choose_department")
	}
	c.DepartmentID = dept
	courseDetailsInput(f, &c)
	c.Prerequisites = strings.FieldsFunc(f.text("prerequisites", 1000, false), func(r rune) bool {
		return r == ',' || r == ' ' || r == ';' || r == '\n' || r == '\r' || r == '\t'
	})
	return c
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
		page.Courses = append(page.Courses, views.CourseRow{ID: c.ID, Code: c.Code, Title: c.Title, TitleKo: c.TitleKo, CourseType: c.CourseType, Credits: int(c.Credits),
			Department: c.DepartmentCode, Prerequisites: strings.Join(prereqs[c.ID], ", "), Sections: int(c.Sections)})
	}
	page.Pages = (page.Total + coursesPerPage - 1) / coursesPerPage
	s.render(w, r, status, views.CoursesPage(page), views.CourseForm("/admin/courses", page.Form, page.Departments))
}

func (s *Server) createCourse(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	c := courseInput(f)
	show := func(status int) { s.renderCourses(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	_, err := s.staffCatalog.CreateCourse(r.Context(), s.actor(r), c)
	if s.changeFailed(w, r, f, err, show) {
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
		s.failed(w, r, err)
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
			"credits": strconv.Itoa(int(c.Credits)), "description": c.Description, "prerequisites": strings.Join(codes, ", "),
			"title_ko": c.TitleKo, "course_type": c.CourseType, "class_year": strconv.Itoa(int(c.ClassYear)),
			"open_to_others": checked(c.OpenToOthers), "syllabus_url": c.SyllabusUrl}
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
	c := courseInput(f)
	action := "/admin/courses/" + itoa(id)
	show := func(status int) {
		page, err := s.coursePage(r, id, f, views.Message{})
		if err != nil {
			s.failed(w, r, err)
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
	err := s.staffCatalog.UpdateCourse(r.Context(), s.actor(r), id, c)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, action, "admin.saved", c.Code)
}

func (s *Server) deleteCourse(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "courseID")
	if !ok {
		s.notFound(w, r)
		return
	}
	code, err := s.staffCatalog.DeleteCourse(r.Context(), s.actor(r), id)
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		page, _ := s.coursePage(r, id, newAdminForm(r), m)
		return page
	}, "/admin/courses", code)
}
