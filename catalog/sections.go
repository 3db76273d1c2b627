package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// Meeting is a weekly meeting of a section: Weekday 1 (Monday) to 7, Start and End in
// minutes after midnight.
type Meeting struct {
	Weekday, Start, End int
}

// String is the meeting as forms and the audit log write it, in English whatever the
// page's language, so the text reads back the same: "Mon 09:00-10:15".
func (m Meeting) String() string {
	days := []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	day := fmt.Sprint(m.Weekday) // a weekday the schema's CHECK would refuse still prints
	if m.Weekday >= 1 && m.Weekday < len(days) {
		day = days[m.Weekday]
	}
	return fmt.Sprintf("%s %02d:%02d-%02d:%02d", day, m.Start/60, m.Start%60, m.End/60, m.End%60)
}

// Section is what staff write about a section of a course in a term.
type Section struct {
	Number, Instructor, Room string
	Capacity                 int
	Meetings                 []Meeting
	// Quotas split the capacity (registration/quota.go), in the order a seat is chosen;
	// QuotaRelease is when they end (zero: never).
	Quotas       []catalogcsv.Quota
	QuotaRelease time.Time
}

// sectionRecord is a section as the audit log keeps it.
type sectionRecord struct {
	Course     string   `json:"course"`
	Term       string   `json:"term"`
	Number     string   `json:"number"`
	Instructor string   `json:"instructor"`
	Room       string   `json:"room"`
	Capacity   int      `json:"capacity"`
	Meetings   []string `json:"meetings"`
	Quotas     string   `json:"quotas,omitempty"`
	Release    string   `json:"quota_release_at,omitempty"`
}

func (s Section) record(course, term string) sectionRecord {
	rec := sectionRecord{Course: course, Term: term, Number: s.Number, Instructor: s.Instructor, Room: s.Room, Capacity: s.Capacity,
		Quotas: catalogcsv.FormatQuotas(s.Quotas)}
	if !s.QuotaRelease.IsZero() {
		rec.Release = s.QuotaRelease.UTC().Format(time.RFC3339)
	}
	for _, m := range s.Meetings {
		rec.Meetings = append(rec.Meetings, m.String())
	}
	return rec
}

func (a sectionRecord) equal(b sectionRecord) bool {
	return a.Course == b.Course && a.Term == b.Term && a.Number == b.Number && a.Instructor == b.Instructor &&
		a.Room == b.Room && a.Capacity == b.Capacity && slices.Equal(a.Meetings, b.Meetings) &&
		a.Quotas == b.Quotas && a.Release == b.Release
}

// label names the section as staff write it: "CS101-01".
func (a sectionRecord) label() string { return registration.SectionLabel(a.Course, a.Number) }

// CreateSection adds a section of course code in term termID, and returns its id and
// label. The course and the term must exist, and the number must be free in both.
func (s *Service) CreateSection(ctx context.Context, by db.Actor, course string, termID int64, sec Section) (id int64, label string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		c, err := q.CourseByCode(ctx, course)
		if errors.Is(err, sql.ErrNoRows) {
			return db.Change{}, &NoCourseError{Code: course}
		}
		if err != nil {
			return db.Change{}, err
		}
		t, err := q.GetTerm(ctx, termID)
		if errors.Is(err, sql.ErrNoRows) {
			return db.Change{}, ErrNoTerm
		}
		if err != nil {
			return db.Change{}, err
		}
		rec := sec.record(c.Code, t.Code)
		label = rec.label()
		id, err = q.InsertSection(ctx, db.InsertSectionParams{CourseID: c.ID, TermID: termID, Number: sec.Number,
			Instructor: sec.Instructor, Room: sec.Room, Capacity: int32(sec.Capacity)})
		if err != nil {
			return db.Change{}, taken(err, &NumberTakenError{Number: sec.Number})
		}
		if err := replaceMeetings(ctx, q, id, sec.Meetings); err != nil {
			return db.Change{}, err
		}
		if len(sec.Quotas) > 0 || !sec.QuotaRelease.IsZero() {
			if _, err := setQuotas(ctx, q, id, sec.Quotas, sec.QuotaRelease, sec.Capacity, departmentByCode(ctx, q)); err != nil {
				return db.Change{}, err
			}
		}
		return db.Change{Action: "section.create", Entity: "section", EntityID: id, After: rec}, nil
	})
	return id, label, err
}

// UpdateSection changes section id and returns its label. Its capacity follows
// registration.Resize: never below the seats taken (a *registration.CapacityError), and
// new seats go to the students waiting, who are promoted once the change is kept.
func (s *Service) UpdateSection(ctx context.Context, by db.Actor, id int64, sec Section) (label string, err error) {
	var held int
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		held = 0
		// The row stays locked to the commit: the record read is the one changed.
		if err := lockForQuotas(ctx, q, id); err != nil {
			return db.Change{}, err
		}
		before, err := sectionRecordOf(ctx, q, id)
		if err != nil {
			return db.Change{}, err
		}
		after := sec.record(before.Course, before.Term)
		label = after.label()
		if before.equal(after) {
			return db.Change{}, nil
		}
		if before.Quotas != after.Quotas || before.Release != after.Release {
			held, err = setQuotas(ctx, q, id, sec.Quotas, sec.QuotaRelease, sec.Capacity, departmentByCode(ctx, q))
		} else {
			held, err = registration.Resize(ctx, q, id, sec.Capacity)
		}
		if err != nil {
			return db.Change{}, err
		}
		err = q.UpdateSection(ctx, db.UpdateSectionParams{Number: sec.Number, Instructor: sec.Instructor, Room: sec.Room, ID: id})
		if err != nil {
			return db.Change{}, taken(err, &NumberTakenError{Number: sec.Number})
		}
		if !slices.Equal(before.Meetings, after.Meetings) {
			if err := replaceMeetings(ctx, q, id, sec.Meetings); err != nil {
				return db.Change{}, err
			}
		}
		return db.Change{Action: "section.update", Entity: "section", EntityID: id, Before: before, After: after}, nil
	})
	if err == nil && held > 0 {
		s.reg.PromoteNow(ctx, id)
	}
	return label, err
}

// DeleteSection deletes section id, which no student may hold or wait for, with its
// waitlist history, and returns its label.
func (s *Service) DeleteSection(ctx context.Context, by db.Actor, id int64) (label string, err error) {
	err = db.AuditedCatalog(ctx, s.db, by, func(q *db.Queries) (db.Change, error) {
		if err := lockForQuotas(ctx, q, id); err != nil {
			return db.Change{}, err
		}
		before, err := sectionRecordOf(ctx, q, id)
		if err != nil {
			return db.Change{}, err
		}
		label = before.label()
		deps, err := q.SectionDependents(ctx, db.SectionDependentsParams{ID: id})
		if err != nil {
			return db.Change{}, err
		}
		if deps.Enrollments+deps.Waiting > 0 {
			return db.Change{}, &SectionInUseError{Enrollments: deps.Enrollments, Waiting: deps.Waiting}
		}
		if err := q.DeleteSectionWaitlistHistory(ctx, id); err != nil {
			return db.Change{}, err
		}
		if err := q.DeleteSection(ctx, id); err != nil {
			return db.Change{}, err
		}
		return db.Change{Action: "section.delete", Entity: "section", EntityID: id, Before: before}, nil
	})
	return label, err
}

// replaceMeetings writes the section's meetings afresh.
func replaceMeetings(ctx context.Context, q *db.Queries, id int64, meetings []Meeting) error {
	if err := q.DeleteSectionMeetings(ctx, id); err != nil {
		return err
	}
	rows := make([]db.InsertSectionMeetingParams, len(meetings))
	for i, m := range meetings {
		rows[i] = db.InsertSectionMeetingParams{SectionID: id, Weekday: int8(m.Weekday), StartMinute: int16(m.Start), EndMinute: int16(m.End)}
	}
	return q.InsertSectionMeetings(ctx, rows) // one statement for them all
}

// sectionRecordOf reads section id as the audit log keeps it.
func sectionRecordOf(ctx context.Context, q *db.Queries, id int64) (sectionRecord, error) {
	sec, err := q.GetAdminSection(ctx, id)
	if err != nil {
		return sectionRecord{}, err
	}
	ms, err := q.MeetingsForSections(ctx, []int64{id})
	if err != nil {
		return sectionRecord{}, err
	}
	s := Section{Number: sec.Number, Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity)}
	if s.Quotas, s.QuotaRelease, err = quotasOf(ctx, q, id); err != nil {
		return sectionRecord{}, err
	}
	for _, m := range ms {
		s.Meetings = append(s.Meetings, Meeting{Weekday: int(m.Weekday), Start: int(m.StartMinute), End: int(m.EndMinute)})
	}
	return s.record(sec.CourseCode, sec.TermCode), nil
}
