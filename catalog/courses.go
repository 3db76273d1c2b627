package catalog

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"

	"github.com/schoolservice/school/db"
)

// Department is a department as staff write it and the audit log keeps it.
type Department struct {
	Code   string `json:"code"`
	Name   string `json:"name"`
	NameKo string `json:"name_ko,omitempty"` // the Korean name; Name is the English one
}

// CreateDepartment adds a department; its code must be free.
func (s *Service) CreateDepartment(ctx context.Context, by db.Actor, d Department) (int64, error) {
	var id int64
	err := db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		var err error
		id, err = q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: d.Code, Name: d.Name, NameKo: d.NameKo})
		if err != nil {
			return db.Change{}, taken(err, &CodeTakenError{Code: d.Code})
		}
		return db.Change{Action: "department.create", Entity: "department", EntityID: id, After: d}, nil
	})
	return id, err
}

// UpdateDepartment changes department id's code and name.
func (s *Service) UpdateDepartment(ctx context.Context, by db.Actor, id int64, d Department) error {
	return db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetDepartmentForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		before := Department{Code: old.Code, Name: old.Name, NameKo: old.NameKo}
		if before == d {
			return db.Change{}, nil
		}
		if err := q.UpdateDepartment(ctx, db.UpdateDepartmentParams{Code: d.Code, Name: d.Name, NameKo: d.NameKo, ID: id}); err != nil {
			return db.Change{}, taken(err, &CodeTakenError{Code: d.Code})
		}
		return db.Change{Action: "department.update", Entity: "department", EntityID: id, Before: before, After: d}, nil
	})
}

// DeleteDepartment deletes department id, which no course or person may belong to, and
// returns its code.
func (s *Service) DeleteDepartment(ctx context.Context, by db.Actor, id int64) (code string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		old, err := q.GetDepartmentForUpdate(ctx, id)
		if err != nil {
			return db.Change{}, err
		}
		code = old.Code
		deps, err := q.DepartmentDependents(ctx, db.DepartmentDependentsParams{ID: id, UserDepartmentID: sql.NullInt64{Int64: id, Valid: true}})
		if err != nil {
			return db.Change{}, err
		}
		if deps.Courses+deps.Users > 0 {
			return db.Change{}, &DepartmentInUseError{Courses: deps.Courses, Users: deps.Users}
		}
		if err := q.DeleteDepartment(ctx, id); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "department.delete", Entity: "department", EntityID: id, Before: Department{Code: old.Code, Name: old.Name, NameKo: old.NameKo}}, nil
	})
	return code, err
}

// Course is a course as staff write it and the audit log keeps it. Department is the
// code of the department DepartmentID names; the operations fill it in. Prerequisites
// are course codes, in any case and order.
type Course struct {
	DepartmentID  int64    `json:"-"`
	Department    string   `json:"department"`
	Code          string   `json:"code"`
	Title         string   `json:"title"`
	Credits       int      `json:"credits"`
	Description   string   `json:"description"`
	Prerequisites []string `json:"prerequisites"`
	// The Korean title (Title is the English one), 이수구분 (catalogcsv.CourseTypes or ""),
	// the year the course is meant for (0: any), 타과 수강 가능, and the syllabus link.
	TitleKo      string `json:"title_ko,omitempty"`
	CourseType   string `json:"course_type,omitempty"`
	ClassYear    int    `json:"class_year,omitempty"`
	OpenToOthers bool   `json:"open_to_other_departments"`
	SyllabusURL  string `json:"syllabus_url,omitempty"`
}

func (c Course) same(o Course) bool {
	return c.Department == o.Department && c.Code == o.Code && c.Title == o.Title && c.Credits == o.Credits &&
		c.Description == o.Description && slices.Equal(c.Prerequisites, o.Prerequisites) &&
		c.TitleKo == o.TitleKo && c.CourseType == o.CourseType && c.ClassYear == o.ClassYear &&
		c.OpenToOthers == o.OpenToOthers && c.SyllabusURL == o.SyllabusURL
}

// normalized is c with its prerequisites upper case, sorted, each once.
func (c Course) normalized() Course {
	var codes []string
	for _, p := range c.Prerequisites {
		codes = append(codes, strings.ToUpper(p))
	}
	slices.Sort(codes)
	c.Prerequisites = slices.Compact(codes)
	return c
}

// CreateCourse adds a course with its prerequisites, and returns its id.
func (s *Service) CreateCourse(ctx context.Context, by db.Actor, c Course) (int64, error) {
	c = c.normalized()
	var id int64
	err := db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		var err error
		if id, err = saveCourse(ctx, q, 0, &c); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "course.create", Entity: "course", EntityID: id, After: c}, nil
	})
	return id, err
}

// UpdateCourse changes course id and replaces its prerequisites.
func (s *Service) UpdateCourse(ctx context.Context, by db.Actor, id int64, c Course) error {
	c = c.normalized()
	return db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		before, err := lockCourse(ctx, q, id)
		if err != nil {
			return db.Change{}, err
		}
		if _, err := saveCourse(ctx, q, id, &c); err != nil {
			return db.Change{}, err
		}
		if before.same(c) {
			return db.Change{}, nil
		}
		return db.Change{Action: "course.update", Entity: "course", EntityID: id, Before: before, After: c}, nil
	})
}

// DeleteCourse deletes course id, which no section, course or transcript may refer to,
// and returns its code.
func (s *Service) DeleteCourse(ctx context.Context, by db.Actor, id int64) (code string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		before, err := lockCourse(ctx, q, id)
		if err != nil {
			return db.Change{}, err
		}
		code = before.Code
		deps, err := q.CourseDependents(ctx, db.CourseDependentsParams{ID: id})
		if err != nil {
			return db.Change{}, err
		}
		if deps.Sections+deps.RequiredBy+deps.Completed > 0 {
			return db.Change{}, &CourseInUseError{Sections: deps.Sections, RequiredBy: deps.RequiredBy, Completed: deps.Completed}
		}
		if err := q.DeleteCourse(ctx, id); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "course.delete", Entity: "course", EntityID: id, Before: before}, nil
	})
	return code, err
}

// lockCourse locks course id's row and reads it as the audit log keeps it.
func lockCourse(ctx context.Context, q *db.Queries, id int64) (Course, error) {
	if _, err := q.GetCourseForUpdate(ctx, id); err != nil {
		return Course{}, err
	}
	c, err := q.GetCourse(ctx, id)
	if err != nil {
		return Course{}, err
	}
	prereqs, err := q.PrerequisiteCodes(ctx, []int64{id})
	if err != nil {
		return Course{}, err
	}
	rec := Course{DepartmentID: c.DepartmentID, Department: c.DepartmentCode, Code: c.Code, Title: c.Title, Credits: int(c.Credits), Description: c.Description,
		TitleKo: c.TitleKo, CourseType: c.CourseType, ClassYear: int(c.ClassYear), OpenToOthers: c.OpenToOthers, SyllabusURL: c.SyllabusUrl}
	for _, p := range prereqs {
		rec.Prerequisites = append(rec.Prerequisites, p.Code)
	}
	return rec.normalized(), nil
}

// saveCourse writes course id (0: a new one) and its prerequisites, refusing an unknown
// department or prerequisite, a course of its own prerequisites, a prerequisite cycle and
// a code already taken. It fills in c.Department.
func saveCourse(ctx context.Context, q *db.Queries, id int64, c *Course) (int64, error) {
	if slices.Contains(c.Prerequisites, strings.ToUpper(c.Code)) {
		return 0, ErrSelfPrerequisite
	}
	d, err := q.GetDepartment(ctx, c.DepartmentID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNoDepartment
	}
	if err != nil {
		return 0, err
	}
	c.Department = d.Code
	prereqs, err := prerequisiteIDs(ctx, q, c.Prerequisites)
	if err != nil {
		return 0, err
	}
	if id == 0 {
		id, err = q.InsertCourse(ctx, db.InsertCourseParams{DepartmentID: c.DepartmentID, Code: c.Code, Title: c.Title,
			Credits: int8(c.Credits), Description: c.Description, TitleKo: c.TitleKo, CourseType: c.CourseType,
			ClassYear: int8(c.ClassYear), OpenToOthers: c.OpenToOthers, SyllabusUrl: c.SyllabusURL})
	} else {
		if slices.Contains(prereqs, id) {
			return 0, ErrSelfPrerequisite
		}
		err = q.UpdateCourse(ctx, db.UpdateCourseParams{DepartmentID: c.DepartmentID, Code: c.Code, Title: c.Title,
			Credits: int8(c.Credits), Description: c.Description, TitleKo: c.TitleKo, CourseType: c.CourseType,
			ClassYear: int8(c.ClassYear), OpenToOthers: c.OpenToOthers, SyllabusUrl: c.SyllabusURL, ID: id})
		if err == nil {
			err = q.DeletePrerequisites(ctx, id)
		}
		if err == nil {
			var cycle bool
			if cycle, err = prerequisiteCycle(ctx, q, id, prereqs); cycle {
				return 0, ErrPrerequisiteCycle
			}
		}
	}
	if err != nil {
		return 0, taken(err, &CodeTakenError{Code: c.Code})
	}
	for _, pid := range prereqs {
		if err := q.InsertPrerequisite(ctx, db.InsertPrerequisiteParams{CourseID: id, PrerequisiteID: pid}); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// prerequisiteIDs are the ids of the courses codes names, all of which must exist.
func prerequisiteIDs(ctx context.Context, q *db.Queries, codes []string) ([]int64, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	rows, err := q.CourseIDsByCodes(ctx, codes)
	if err != nil {
		return nil, err
	}
	var ids []int64
	var unknown []string
	for _, code := range codes {
		i := slices.IndexFunc(rows, func(row db.CourseIDsByCodesRow) bool { return strings.EqualFold(row.Code, code) })
		if i < 0 {
			unknown = append(unknown, code)
			continue
		}
		ids = append(ids, rows[i].ID)
	}
	if len(unknown) > 0 {
		return nil, &NoPrerequisiteError{Codes: unknown}
	}
	return ids, nil
}

// prerequisiteCycle reports whether course is reachable from prereqs through the
// prerequisites already stored: making them its prerequisites would close a loop no
// student could ever enter.
func prerequisiteCycle(ctx context.Context, q *db.Queries, course int64, prereqs []int64) (bool, error) {
	edges, err := q.AllPrerequisites(ctx)
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
