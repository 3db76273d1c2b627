package web

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// listedSection is a section as the catalog queries return it: what it is, and its seats
// left.
type listedSection struct {
	registration.Section
	seatsLeft int
	// quotas are the section's seat quotas that fit the viewing student, with their seats
	// left; release is when they end (quotas.go).
	quotas  []registration.Quota
	release time.Time
}

func listed(sec db.Section, c db.Course, dept string) listedSection {
	return listedSection{
		Section: registration.Section{ID: sec.ID, CourseCode: c.Code, Number: sec.Number, Credits: int(c.Credits), Title: c.Title,
			Department: dept, Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity),
			TitleKo: c.TitleKo, CourseType: c.CourseType, ClassYear: int(c.ClassYear), OpenToOthers: c.OpenToOthers},
		seatsLeft: int(sec.Capacity - sec.Enrolled - sec.Held - reservedNow(sec)),
	}
}

// reservedNow is the seats the section keeps for its quotas, none once they are released:
// not free to a student no quota fits, which is all this listing can tell.
func reservedNow(sec db.Section) int32 {
	if sec.QuotaReleaseAt.Valid && !time.Now().Before(sec.QuotaReleaseAt.Time) {
		return 0
	}
	return sec.Reserved
}

// standing is where the viewing student stands with one section.
type standing struct {
	registered bool
	position   int // on the waitlist, 1 for first; 0 when not waiting
	inBasket   bool
}

// sectionRow is the one way a section becomes a row, for the catalog, the basket, the
// registrations page and the registration answer alike: a student's row shows where they
// stand and has buttons carrying a fresh request key; anyone else's has neither. It reads
// nothing, so the registration answer builds its row from what its transaction read.
func sectionRow(sec registration.Section, seatsLeft int, meetings []views.Meeting, student bool, st standing) views.SectionRow {
	row := views.SectionRow{Section: sec, Meetings: meetings, SeatsLeft: max(0, seatsLeft), Actions: student}
	if !student {
		return row
	}
	row.RequestKey, row.InBasket = rand.Text(), st.inBasket
	switch {
	case st.registered:
		row.Standing = views.Registered
	case st.position > 0:
		row.Standing, row.Position = views.OnWaitlist, st.position
	}
	return row
}

// sectionViews turns listed sections into rows for the viewer, with their meeting times
// and, for a student, where they stand: two queries, however many sections.
func (s *Server) sectionViews(r *http.Request, secs []listedSection) ([]views.SectionRow, error) {
	if len(secs) == 0 {
		return nil, nil
	}
	ctx := r.Context()
	ids := make([]int64, len(secs))
	for i, sec := range secs {
		ids[i] = sec.ID
	}
	ms, err := s.q.MeetingsForSections(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("meetings of %d sections: %w", len(ids), err)
	}
	return s.rows(r, secs, ids, meetingViews(ms))
}

// listingViews turns the catalog's listings into rows for the viewer: their seats read
// live, and for a student, where they stand. A section deleted since the catalog was
// loaded has no seats to read and is left out.
func (s *Server) listingViews(r *http.Request, found []registration.Listing) ([]views.SectionRow, error) {
	if len(found) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(found))
	for i, l := range found {
		ids[i] = l.ID
	}
	seats, err := s.catalogQ.SectionSeats(r.Context(), ids)
	if err != nil {
		return nil, fmt.Errorf("seats of %d sections: %w", len(ids), err)
	}
	live := make(map[int64]db.SectionSeatsRow, len(seats))
	for _, st := range seats {
		live[st.ID] = st
	}
	quotas, err := s.quotaSeats(r, ids)
	if err != nil {
		return nil, err
	}
	secs := make([]listedSection, 0, len(found))
	meetings := make(map[int64][]views.Meeting, len(found))
	for _, l := range found {
		st, ok := live[l.ID]
		if !ok {
			continue
		}
		sec := l.Section
		sec.Capacity = int(st.Capacity)
		ls := listedSection{Section: sec, seatsLeft: int(st.Capacity - st.Enrolled - st.Held - int32(st.Reserved))}
		quotas.apply(&ls, int(st.Capacity), int(st.Enrolled), int(st.Held), int(st.Reserved))
		secs = append(secs, ls)
		for _, m := range l.Meetings {
			meetings[l.ID] = append(meetings[l.ID], views.Meeting(m))
		}
	}
	return s.rows(r, secs, ids, meetings)
}

// rows builds the rows of secs with their meetings and, for a student, where they stand
// among ids (one query).
func (s *Server) rows(r *http.Request, secs []listedSection, ids []int64, meetings map[int64][]views.Meeting) ([]views.SectionRow, error) {
	ctx := r.Context()
	u, _ := s.currentUser(r)
	student := u.Role == RoleStudent
	mine := map[int64]standing{}
	if student {
		standings, err := s.q.StandingsAmong(ctx, db.StandingsAmongParams{UserID: u.ID, Ids: ids})
		if err != nil {
			return nil, fmt.Errorf("standings among sections: %w", err)
		}
		for _, x := range standings {
			st := mine[x.SectionID]
			switch x.Kind {
			case "enrolled":
				st.registered = true
			case "waiting":
				st.position = int(x.Position)
			case "basket":
				st.inBasket = true
			}
			mine[x.SectionID] = st
		}
	}
	out := make([]views.SectionRow, len(secs))
	for i, sec := range secs {
		out[i] = sectionRow(sec.Section, sec.seatsLeft, meetings[sec.ID], student, mine[sec.ID])
		out[i].Quotas, out[i].QuotaRelease = sec.quotas, sec.release
		out[i].Demand = s.demand(r, sec.ID)
	}
	return out, nil
}

// sectionsByID loads the sections for the viewer, in course order.
func (s *Server) sectionsByID(r *http.Request, ids []int64) ([]views.SectionRow, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.q.SectionsByID(r.Context(), ids)
	if err != nil {
		return nil, fmt.Errorf("sections %v: %w", ids, err)
	}
	// Seats as the catalog shows them to this student: with the quotas that fit them.
	quotas, err := s.quotaSeats(r, ids)
	if err != nil {
		return nil, err
	}
	secs := make([]listedSection, len(rows))
	for i, row := range rows {
		secs[i] = listed(row.Section, row.Course, row.DepartmentCode)
		sec := row.Section
		quotas.apply(&secs[i], int(sec.Capacity), int(sec.Enrolled), int(sec.Held), int(reservedNow(sec)))
	}
	return s.sectionViews(r, secs)
}

// credits is the signed-in student's credit status; nil for anyone else.
func (s *Server) credits(r *http.Request) (*views.Credits, error) {
	c, _, err := s.header(r)
	return c, err
}

// header is a student's own figures in the page header, in one statement: credits and
// unread notifications (nil and 0 for anyone else).
func (s *Server) header(r *http.Request) (*views.Credits, int, error) {
	u, ok := s.currentUser(r)
	if !ok || u.Role != RoleStudent {
		return nil, 0, nil
	}
	c, err := s.q.StudentCredits(r.Context(), u.ID)
	if err != nil {
		return nil, 0, fmt.Errorf("credits of student %d: %w", u.ID, err)
	}
	return &views.Credits{Used: int(c.Used), Limit: int(c.CreditLimit)}, int(c.Unread), nil
}

// meetingViews groups meeting rows by section.
func meetingViews(ms []db.MeetingsForSectionsRow) map[int64][]views.Meeting {
	out := map[int64][]views.Meeting{}
	for _, m := range ms {
		out[m.SectionID] = append(out[m.SectionID], views.Meeting{
			Weekday: int(m.Weekday), StartMinute: int(m.StartMinute), EndMinute: int(m.EndMinute),
		})
	}
	return out
}
