package db

import (
	"context"
	"fmt"
	"strings"
)

// BulkInsert inserts rows into table in multi-row statements of up to 500 rows. It is for
// loading data in bulk (the seed, imports), where one statement per row would cost a
// round trip each; table and columns come from the code, values are always parameters.
func (q *Queries) BulkInsert(ctx context.Context, table string, columns []string, rows [][]any) error {
	return q.bulk(ctx, table, columns, rows, "")
}

// BulkAdd is BulkInsert for counters: a row whose key is already in table adds its values
// of the add columns to the stored ones instead. Callers that may collide with each other
// should sort rows by key, so that their statements lock the rows in the same order.
func (q *Queries) BulkAdd(ctx context.Context, table string, columns, add []string, rows [][]any) error {
	sets := make([]string, len(add))
	for i, c := range add {
		sets[i] = c + " = " + c + " + VALUES(" + c + ")"
	}
	return q.bulk(ctx, table, columns, rows, " ON DUPLICATE KEY UPDATE "+strings.Join(sets, ", "))
}

// BulkUpsert is BulkInsert where a row whose key is already in table replaces the stored
// values of the update columns.
func (q *Queries) BulkUpsert(ctx context.Context, table string, columns, update []string, rows [][]any) error {
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = c + " = VALUES(" + c + ")"
	}
	return q.bulk(ctx, table, columns, rows, " ON DUPLICATE KEY UPDATE "+strings.Join(sets, ", "))
}

func (q *Queries) bulk(ctx context.Context, table string, columns []string, rows [][]any, suffix string) error {
	const chunk = 500
	placeholder := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		args := make([]any, 0, len(part)*len(columns))
		for _, row := range part {
			if len(row) != len(columns) {
				return fmt.Errorf("bulk insert into %s: row has %d values for %d columns", table, len(row), len(columns))
			}
			args = append(args, row...)
		}
		query := head + strings.TrimSuffix(strings.Repeat(placeholder+",", len(part)), ",") + suffix
		if _, err := q.db.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("bulk insert into %s: %w", table, err)
		}
	}
	return nil
}

// The typed bulk writes of the catalog import: the table and column names stay here, with
// the rest of the SQL.

// InsertCourses is InsertCourse for many rows.
func (q *Queries) InsertCourses(ctx context.Context, rows []InsertCourseParams) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.DepartmentID, r.Code, r.Title, r.Credits, r.Description, r.TitleKo, r.CourseType, r.ClassYear, r.OpenToOthers, r.SyllabusUrl}
	}
	return q.BulkInsert(ctx, "courses", []string{"department_id", "code", "title", "credits", "description",
		"title_ko", "course_type", "class_year", "open_to_others", "syllabus_url"}, values)
}

// InsertSections is InsertSection for many rows.
func (q *Queries) InsertSections(ctx context.Context, rows []InsertSectionParams) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.CourseID, r.TermID, r.Number, r.Instructor, r.Room, r.Capacity}
	}
	return q.BulkInsert(ctx, "sections", []string{"course_id", "term_id", "number", "instructor", "room", "capacity"}, values)
}

// InsertSectionMeetings is InsertSectionMeeting for many rows.
func (q *Queries) InsertSectionMeetings(ctx context.Context, rows []InsertSectionMeetingParams) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.SectionID, r.Weekday, r.StartMinute, r.EndMinute}
	}
	return q.BulkInsert(ctx, "section_meetings", []string{"section_id", "weekday", "start_minute", "end_minute"}, values)
}

// RecordCompletedCourses records the rows; a course already recorded for the student
// takes the row's term and grade.
func (q *Queries) RecordCompletedCourses(ctx context.Context, rows []CompletedCourse) error {
	values := make([][]any, len(rows))
	for i, r := range rows {
		values[i] = []any{r.UserID, r.CourseID, r.TermCode, r.Grade}
	}
	return q.BulkUpsert(ctx, "completed_courses", []string{"user_id", "course_id", "term_code", "grade"}, []string{"term_code", "grade"}, values)
}
