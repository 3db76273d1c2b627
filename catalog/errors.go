package catalog

import (
	"errors"
	"fmt"
	"strings"
)

// The catalog's refusals: each says which rule a change would break. Nothing was written.
var (
	ErrNoTerm            = errors.New("no such term")
	ErrNoDepartment      = errors.New("no such department")
	ErrSelfPrerequisite  = errors.New("a course cannot be its own prerequisite")
	ErrPrerequisiteCycle = errors.New("the prerequisites would make a loop")
)

// NoCourseError: a section names a course that does not exist.
type NoCourseError struct{ Code string }

func (e *NoCourseError) Error() string { return "no course " + e.Code }

// NoPrerequisiteError: prerequisites name courses that do not exist.
type NoPrerequisiteError struct{ Codes []string }

func (e *NoPrerequisiteError) Error() string { return "no course " + strings.Join(e.Codes, ", ") }

// CodeTakenError: another department, course or term has the code.
type CodeTakenError struct{ Code string }

func (e *CodeTakenError) Error() string { return "code " + e.Code + " is taken" }

// NumberTakenError: the course already has a section of that number in the term.
type NumberTakenError struct{ Number string }

func (e *NumberTakenError) Error() string { return "section number " + e.Number + " is taken" }

// What a delete leaves alone: an entity others still refer to. The counts say how many
// of each.

// DepartmentInUseError: the department has courses, or people belong to it.
type DepartmentInUseError struct{ Courses, Users int64 }

func (e *DepartmentInUseError) Error() string {
	return fmt.Sprintf("department in use: %d courses, %d people", e.Courses, e.Users)
}

// CourseInUseError: the course has sections, other courses require it, or students
// completed it.
type CourseInUseError struct{ Sections, RequiredBy, Completed int64 }

func (e *CourseInUseError) Error() string {
	return fmt.Sprintf("course in use: %d sections, required by %d courses, completed by %d students", e.Sections, e.RequiredBy, e.Completed)
}

// TermInUseError: the term has sections or registration windows (or enrollments, which
// only sections hold).
type TermInUseError struct{ Sections, Windows int64 }

func (e *TermInUseError) Error() string {
	return fmt.Sprintf("term in use: %d sections, %d registration windows", e.Sections, e.Windows)
}

// SectionInUseError: students hold or wait for seats in the section.
type SectionInUseError struct{ Enrollments, Waiting int64 }

func (e *SectionInUseError) Error() string {
	return fmt.Sprintf("section in use: %d registered, %d waiting", e.Enrollments, e.Waiting)
}

// WindowInUseError: students have places in the window's waiting room.
type WindowInUseError struct{ Tickets int64 }

func (e *WindowInUseError) Error() string {
	return fmt.Sprintf("registration window in use: %d waiting-room places", e.Tickets)
}
