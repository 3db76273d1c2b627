package seed

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
)

// ErrNotEmpty means the database already has users and replacing them was not asked for.
var ErrNotEmpty = errors.New("the database already holds users; pass -replace to wipe it and seed anew")

// Term is the one the demo registers for.
var Term = struct {
	Code, Name     string
	Starts, Ends   time.Time
	PreviousCode   string
	PreviousName   string
	PreviousStarts time.Time
	PreviousEnds   time.Time
}{
	"2027-1", "Spring 2027", time.Date(2027, 3, 2, 0, 0, 0, 0, time.UTC), time.Date(2027, 6, 20, 0, 0, 0, 0, time.UTC),
	"2026-2", "Fall 2026", time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC),
}

// WriteMySQL stores ds in one transaction: a failed seed leaves the database as it was.
func WriteMySQL(ctx context.Context, sqldb *sql.DB, ds Dataset, replace bool) error {
	now := time.Now().UTC()
	return db.InTx(ctx, sqldb, func(q *db.Queries) error {
		n, err := q.CountUsers(ctx)
		if err != nil {
			return err
		}
		if n > 0 && !replace {
			return ErrNotEmpty
		}
		if err := clearEventsAndNotices(ctx, q); err != nil {
			return fmt.Errorf("clear: %w", err)
		}
		for _, del := range []func(context.Context) error{
			q.DeleteAllRegistrationRequests, q.DeleteAllBasketItems, q.DeleteAllWaitlistEntries, q.DeleteAllEnrollments,
			q.DeleteAllRegistrationWindows, q.DeleteAllCompletedCourses, q.DeleteAllMeetings, q.DeleteAllSections, q.DeleteAllPrerequisites,
			q.DeleteAllCourses, q.DeleteAllTerms, q.DeleteAllSessions, q.DeleteAllLoginThrottle,
			q.DeleteAllUsers, q.DeleteAllDepartments,
		} {
			if err := del(ctx); err != nil {
				return fmt.Errorf("clear: %w", err)
			}
		}

		deptIDs := make([]int64, len(ds.Departments))
		for i, d := range ds.Departments {
			if deptIDs[i], err = q.InsertDepartment(ctx, db.InsertDepartmentParams{Code: d.Code, Name: d.Name, NameKo: DepartmentNameKo(d.Code)}); err != nil {
				return fmt.Errorf("department %s: %w", d.Code, err)
			}
		}
		if _, err := q.InsertTerm(ctx, db.InsertTermParams{Code: Term.PreviousCode, Name: Term.PreviousName, NameKo: TermNamesKo[Term.PreviousCode],
			StartsOn: Term.PreviousStarts, EndsOn: Term.PreviousEnds}); err != nil {
			return fmt.Errorf("term %s: %w", Term.PreviousCode, err)
		}
		termID, err := q.InsertTerm(ctx, db.InsertTermParams{Code: Term.Code, Name: Term.Name, NameKo: TermNamesKo[Term.Code],
			StartsOn: Term.Starts, EndsOn: Term.Ends, IsCurrent: true})
		if err != nil {
			return fmt.Errorf("term %s: %w", Term.Code, err)
		}

		// Registration is open for every year from now for 30 days, so the demo can register.
		if _, err := q.InsertRegistrationWindow(ctx, db.InsertRegistrationWindowParams{TermID: termID,
			Phase: db.RegistrationWindowsPhaseRegistration, OpensAt: now.Add(-time.Hour), ClosesAt: now.AddDate(0, 0, 30)}); err != nil {
			return fmt.Errorf("registration window: %w", err)
		}

		courseIDs := make([]int64, len(ds.Courses))
		for i, c := range ds.Courses {
			if courseIDs[i], err = q.InsertCourse(ctx, db.InsertCourseParams{
				DepartmentID: deptIDs[c.Dept], Code: c.Code, Title: c.Title, Credits: int8(c.Credits),
				Description: c.Description, TitleKo: c.TitleKo, CourseType: c.Type, ClassYear: int8(c.Year),
				OpenToOthers: c.OpenToOthers, SyllabusUrl: c.SyllabusURL,
			}); err != nil {
				return fmt.Errorf("course %s: %w", c.Code, err)
			}
			for _, p := range c.Prerequisites {
				if err := q.InsertPrerequisite(ctx, db.InsertPrerequisiteParams{CourseID: courseIDs[i], PrerequisiteID: courseIDs[p]}); err != nil {
					return fmt.Errorf("prerequisite of %s: %w", c.Code, err)
				}
			}
		}

		var rows [][]any
		for _, s := range ds.Sections {
			rows = append(rows, []any{courseIDs[s.Course], termID, s.Number, s.Instructor, s.Room, s.Capacity})
		}
		if err := q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity"}, rows); err != nil {
			return err
		}
		sectionIDs, err := q.ListTermSectionIDs(ctx, termID)
		if err != nil {
			return err
		}
		byKey := map[string]int64{}
		for _, s := range sectionIDs {
			byKey[fmt.Sprint(s.CourseID, "/", s.Number)] = s.ID
		}
		rows = rows[:0]
		for _, s := range ds.Sections {
			id := byKey[fmt.Sprint(courseIDs[s.Course], "/", s.Number)]
			for _, m := range s.Meetings {
				rows = append(rows, []any{id, m.Weekday, m.Start, m.End})
			}
		}
		if err := q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, rows); err != nil {
			return err
		}

		rows = rows[:0]
		for _, p := range ds.People {
			var dept, number, year any
			if p.Dept >= 0 {
				dept = deptIDs[p.Dept]
			}
			if p.StudentNumber != "" {
				number, year = p.StudentNumber, p.ClassYear
			}
			rows = append(rows, []any{p.Username, number, p.DisplayName(), p.Username + "@school.example", p.Role, dept, year, 18})
		}
		if err := q.BulkInsert(ctx, "users", []string{"username", "student_number", "display_name", "email", "role", "department_id", "class_year", "credit_limit"}, rows); err != nil {
			return err
		}
		users, err := q.ListUserIDs(ctx)
		if err != nil {
			return err
		}
		userIDs := make(map[string]int64, len(users))
		for _, u := range users {
			userIDs[u.Username] = u.ID
		}
		rows = rows[:0]
		for _, p := range ds.People {
			for _, ci := range p.Completed {
				rows = append(rows, []any{userIDs[p.Username], courseIDs[ci], Term.PreviousCode, "B+"})
			}
		}
		if err := q.BulkInsert(ctx, "completed_courses", []string{"user_id", "course_id", "term_code", "grade"}, rows); err != nil {
			return err
		}
		if err := writeEventsAndNotices(ctx, q, now); err != nil {
			return err
		}
		// Running replicas reload the catalog they register against.
		return q.BumpCatalogVersion(ctx)
	})
}
