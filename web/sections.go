package web

import (
	"crypto/rand"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// sectionData is a section as the queries return it.
type sectionData struct {
	Section db.Section
	Course  db.Course
	Dept    string
}

// sectionViews turns sections into rows for the viewer: with meeting times, and for a
// student with where they stand and buttons that carry a fresh request key.
func (s *Server) sectionViews(r *http.Request, data []sectionData) ([]views.SectionRow, error) {
	if len(data) == 0 {
		return nil, nil
	}
	ctx := r.Context()
	ids := make([]int64, len(data))
	for i, d := range data {
		ids[i] = d.Section.ID
	}
	ms, err := s.q.MeetingsForSections(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("meetings of %d sections: %w", len(ids), err)
	}
	meetings := meetingViews(ms)
	u, _ := s.currentUser(r)
	student := u.Role == RoleStudent
	enrolled, basket := map[int64]bool{}, map[int64]bool{}
	waiting := map[int64]int{}
	if student {
		standings, err := s.q.StandingsAmong(ctx, db.StandingsAmongParams{UserID: u.ID, Ids: ids})
		if err != nil {
			return nil, fmt.Errorf("standings among sections: %w", err)
		}
		for _, st := range standings {
			switch st.Kind {
			case "enrolled":
				enrolled[st.SectionID] = true
			case "waiting":
				waiting[st.SectionID] = int(st.Position)
			case "basket":
				basket[st.SectionID] = true
			}
		}
	}
	out := make([]views.SectionRow, len(data))
	for i, d := range data {
		sec, c := d.Section, d.Course
		row := views.SectionRow{
			ID:         sec.ID,
			CourseCode: c.Code,
			Title:      c.Title,
			Number:     sec.Number,
			Credits:    int(c.Credits),
			Department: d.Dept,
			Instructor: sec.Instructor,
			Room:       sec.Room,
			Meetings:   meetings[sec.ID],
			Capacity:   int(sec.Capacity),
			SeatsLeft:  max(0, int(sec.Capacity-sec.Enrolled-sec.Held)),
			Actions:    student,
		}
		if student {
			row.RequestKey = rand.Text()
			row.InBasket = basket[sec.ID]
			switch {
			case enrolled[sec.ID]:
				row.Standing = views.Registered
			case waiting[sec.ID] > 0:
				row.Standing, row.Position = views.OnWaitlist, waiting[sec.ID]
			}
		}
		out[i] = row
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
	data := make([]sectionData, len(rows))
	for i, row := range rows {
		data[i] = sectionData{row.Section, row.Course, row.DepartmentCode}
	}
	return s.sectionViews(r, data)
}

// credits is the signed-in student's credit status; nil for anyone else.
func (s *Server) credits(r *http.Request) (*views.Credits, error) {
	u, ok := s.currentUser(r)
	if !ok || u.Role != RoleStudent {
		return nil, nil
	}
	c, err := s.q.StudentCredits(r.Context(), u.ID)
	if err != nil {
		return nil, fmt.Errorf("credits of student %d: %w", u.ID, err)
	}
	return &views.Credits{Used: int(c.Used), Limit: int(c.CreditLimit)}, nil
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
