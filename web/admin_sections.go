package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// sectionRecord is a section as the audit log keeps it.
type sectionRecord struct {
	Course     string   `json:"course"`
	Term       string   `json:"term"`
	Number     string   `json:"number"`
	Instructor string   `json:"instructor"`
	Room       string   `json:"room"`
	Capacity   int      `json:"capacity"`
	Meetings   []string `json:"meetings"`
}

func (a sectionRecord) equal(b sectionRecord) bool {
	return a.Course == b.Course && a.Term == b.Term && a.Number == b.Number && a.Instructor == b.Instructor &&
		a.Room == b.Room && a.Capacity == b.Capacity && slices.Equal(a.Meetings, b.Meetings)
}

// sectionInput validates the fields of a section form that staff may change.
func sectionInput(f *adminForm) (sectionRecord, []views.Meeting) {
	rec := sectionRecord{Number: f.text("number", 8, true), Instructor: f.text("instructor", 200, false),
		Room: f.text("room", 64, false), Capacity: f.integer("capacity", 0, 100000)}
	meetings := meetingsInput(f, "meetings")
	for _, m := range meetings {
		rec.Meetings = append(rec.Meetings, meetingText(m))
	}
	return rec, meetings
}

// weekdays are the names a meeting line may start with, in English and Korean.
var weekdays = map[string]int{"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7,
	"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5, "saturday": 6, "sunday": 7,
	"월": 1, "화": 2, "수": 3, "목": 4, "금": 5, "토": 6, "일": 7}

// meetingsInput reads weekly meetings written one per line (or separated by ";"), as
// "Mon 09:00-10:15": a day, a start and an end on the same day, none overlapping.
func meetingsInput(f *adminForm, name string) []views.Meeting {
	raw := f.text(name, 1000, false)
	var out []views.Meeting
	for _, line := range strings.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == ';' || r == '\r' }) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m, ok := parseMeeting(line)
		if !ok {
			f.fail(name, "admin.sections.bad_meeting", line)
			return nil
		}
		if m.StartMinute >= m.EndMinute {
			f.fail(name, "admin.sections.meeting_order", line)
			return nil
		}
		if views.Overlaps(out, []views.Meeting{m}) {
			f.fail(name, "admin.sections.meetings_overlap", line)
			return nil
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b views.Meeting) int {
		if a.Weekday != b.Weekday {
			return a.Weekday - b.Weekday
		}
		return a.StartMinute - b.StartMinute
	})
	return out
}

func parseMeeting(line string) (views.Meeting, bool) {
	fields := strings.Fields(strings.NewReplacer("–", " ", "-", " ", "~", " ").Replace(line))
	if len(fields) != 3 {
		return views.Meeting{}, false
	}
	day, ok := weekdays[strings.ToLower(fields[0])]
	if n, err := strconv.Atoi(fields[0]); err == nil && n >= 1 && n <= 7 {
		day, ok = n, true
	}
	start, okStart := parseClock(fields[1])
	end, okEnd := parseClock(fields[2])
	return views.Meeting{Weekday: day, StartMinute: start, EndMinute: end}, ok && okStart && okEnd
}

// parseClock reads "9:05" or "09:05" as minutes after midnight; "24:00" ends a day.
func parseClock(s string) (int, bool) {
	h, m, ok := strings.Cut(s, ":")
	hours, err1 := strconv.Atoi(h)
	minutes, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hours < 0 || minutes < 0 || minutes > 59 || hours*60+minutes > 24*60 {
		return 0, false
	}
	return hours*60 + minutes, true
}

// meetingText is a meeting as forms and the audit log write it, in English whatever the
// page's language, so the text reads back the same.
func meetingText(m views.Meeting) string {
	days := []string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	return fmt.Sprintf("%s %02d:%02d-%02d:%02d", days[m.Weekday], m.StartMinute/60, m.StartMinute%60, m.EndMinute/60, m.EndMinute%60)
}

// replaceMeetings writes the section's meetings afresh.
func replaceMeetings(r *http.Request, q *db.Queries, id int64, meetings []views.Meeting) error {
	if err := q.DeleteSectionMeetings(r.Context(), id); err != nil {
		return err
	}
	for _, m := range meetings {
		if err := q.InsertSectionMeeting(r.Context(), db.InsertSectionMeetingParams{SectionID: id, Weekday: int8(m.Weekday),
			StartMinute: int16(m.StartMinute), EndMinute: int16(m.EndMinute)}); err != nil {
			return err
		}
	}
	return nil
}

// sectionRecordOf reads section id as the audit log keeps it.
func sectionRecordOf(r *http.Request, q *db.Queries, id int64) (sectionRecord, db.GetAdminSectionRow, error) {
	sec, err := q.GetAdminSection(r.Context(), id)
	if err != nil {
		return sectionRecord{}, sec, err
	}
	ms, err := q.MeetingsForSections(r.Context(), []int64{id})
	if err != nil {
		return sectionRecord{}, sec, err
	}
	rec := sectionRecord{Course: sec.CourseCode, Term: sec.TermCode, Number: sec.Number, Instructor: sec.Instructor,
		Room: sec.Room, Capacity: int(sec.Capacity)}
	for _, m := range meetingViews(ms)[id] {
		rec.Meetings = append(rec.Meetings, meetingText(m))
	}
	return rec, sec, nil
}

const sectionsPerPage = 50

// termOptions lists the terms for a select, and picks the one chosen (by id), else the
// current one, else the newest.
func (s *Server) termOptions(r *http.Request, chosen string) ([]views.Option, int64, error) {
	terms, err := s.q.AdminListTerms(r.Context())
	if err != nil {
		return nil, 0, fmt.Errorf("terms: %w", err)
	}
	var opts []views.Option
	var pick int64
	for _, t := range terms {
		opts = append(opts, views.Option{Value: itoa(t.ID), Label: t.Code + " · " + t.Name})
		if itoa(t.ID) == chosen || pick == 0 && t.IsCurrent {
			pick = t.ID
		}
	}
	if pick == 0 && len(terms) > 0 {
		pick = terms[0].ID
	}
	return opts, pick, nil
}

func (s *Server) adminSections(w http.ResponseWriter, r *http.Request) {
	s.renderSections(w, r, http.StatusOK, newAdminForm(r))
}

func (s *Server) renderSections(w http.ResponseWriter, r *http.Request, status int, f *adminForm) {
	query := r.URL.Query()
	chosen := query.Get("term")
	if v := f.V("term_id"); v != "" {
		chosen = v
	}
	terms, termID, err := s.termOptions(r, chosen)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	page := views.SectionsAdmin{Terms: terms, Term: itoa(termID), Keyword: strings.TrimSpace(query.Get("q")), Page: 1, Form: f.Form, Flash: s.flash(r)}
	if n, err := strconv.Atoi(query.Get("page")); err == nil && n > 1 && n < 100000 {
		page.Page = n
	}
	if len(page.Keyword) > 100 {
		page.Keyword = page.Keyword[:100]
	}
	if page.Form.V("term_id") == "" {
		page.Form.Values["term_id"] = page.Term
	}
	rows, err := s.q.AdminListSections(r.Context(), db.AdminListSectionsParams{TermID: termID, Pattern: "%" + escapeLike(page.Keyword) + "%",
		Limit: sectionsPerPage, Offset: int32((page.Page - 1) * sectionsPerPage)})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("list sections: %w", err))
		return
	}
	for _, sec := range rows {
		page.Total = int(sec.Total)
		page.Sections = append(page.Sections, views.AdminSectionRow{ID: sec.ID, Label: sec.CourseCode + "-" + sec.Number, Title: sec.Title,
			Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity), Enrolled: int(sec.Enrolled), Held: int(sec.Held), Waiting: int(sec.Waiting)})
	}
	page.Pages = (page.Total + sectionsPerPage - 1) / sectionsPerPage
	s.render(w, r, status, views.SectionsPage(page), views.NewSectionForm(page.Form, terms))
}

func (s *Server) createSection(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	rec, meetings := sectionInput(f)
	course := strings.ToUpper(f.text("course", 16, true))
	termID, err := strconv.ParseInt(f.V("term_id"), 10, 64)
	if err != nil {
		f.fail("term_id", "admin.sections.choose_term")
	}
	show := func(status int) { s.renderSections(w, r, status, f) }
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	var id int64
	err = s.audited(r, func(q *db.Queries) (change, error) {
		c, err := q.CourseByCode(r.Context(), course)
		if isNoRows(err) {
			return change{}, refuse(http.StatusBadRequest, "course", "admin.sections.no_course", course)
		}
		if err != nil {
			return change{}, err
		}
		t, err := q.GetTerm(r.Context(), termID)
		if isNoRows(err) {
			return change{}, refuse(http.StatusBadRequest, "term_id", "admin.sections.choose_term")
		}
		if err != nil {
			return change{}, err
		}
		rec.Course, rec.Term = c.Code, t.Code
		id, err = q.InsertSection(r.Context(), db.InsertSectionParams{CourseID: c.ID, TermID: termID, Number: rec.Number,
			Instructor: rec.Instructor, Room: rec.Room, Capacity: int32(rec.Capacity)})
		if err != nil {
			return change{}, err
		}
		if err := replaceMeetings(r, q, id, meetings); err != nil {
			return change{}, err
		}
		return change{Action: "section.create", Entity: "section", EntityID: id, After: rec}, nil
	})
	if s.changeFailed(w, r, f, err, "number", "admin.sections.number_taken", show) {
		return
	}
	s.saved(w, r, "/admin/sections/"+itoa(id), "admin.saved", course+"-"+rec.Number)
}

// sectionDetail gathers a section's page: the section, its form, roster and waitlist.
func (s *Server) sectionDetail(r *http.Request, id int64, f *adminForm) (views.SectionDetail, error) {
	ctx := r.Context()
	rec, sec, err := sectionRecordOf(r, s.q, id)
	if err != nil {
		return views.SectionDetail{}, err
	}
	if len(f.Values) == 0 || f.V("capacity") == "" {
		f.Values["number"], f.Values["instructor"], f.Values["room"] = sec.Number, sec.Instructor, sec.Room
		f.Values["capacity"], f.Values["meetings"] = strconv.Itoa(int(sec.Capacity)), strings.Join(rec.Meetings, "\n")
	}
	d := views.SectionDetail{ID: id, Label: sec.CourseCode + "-" + sec.Number, Title: sec.Title, Term: sec.TermCode + " · " + sec.TermName,
		Capacity: int(sec.Capacity), Enrolled: int(sec.Enrolled), Held: int(sec.Held), Form: f.Form, Flash: s.flash(r)}
	roster, err := s.q.SectionRoster(ctx, id)
	if err != nil {
		return d, fmt.Errorf("roster of section %d: %w", id, err)
	}
	for _, e := range roster {
		d.Roster = append(d.Roster, views.RosterRow{Username: e.Username, Name: e.DisplayName, StudentNumber: e.StudentNumber,
			Source: string(e.Source), Since: e.CreatedAt})
	}
	waitlist, err := s.q.SectionWaitlist(ctx, id)
	if err != nil {
		return d, fmt.Errorf("waitlist of section %d: %w", id, err)
	}
	for _, e := range waitlist {
		row := views.WaitlistRow{Username: e.Username, Name: e.DisplayName, Since: e.JoinedAt, Reason: e.Reason}
		if e.Status == db.WaitlistEntriesStatusWaiting {
			d.Waiting++
			row.Position = d.Waiting
		}
		d.Waitlist = append(d.Waitlist, row)
	}
	return d, nil
}

func (s *Server) adminSection(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.sectionDetail(r, id, newAdminForm(r))
	if err != nil {
		s.changeFailed(w, r, newAdminForm(r), err, "", "", nil)
		return
	}
	s.render(w, r, http.StatusOK, views.SectionPage(d), nil)
}

// showSection answers with the section's page (or, over HTMX, fragment) after a refused
// or finished action; edit is the section form as posted, people the enroll form.
func (s *Server) showSection(w http.ResponseWriter, r *http.Request, id int64, status int, edit, people *adminForm, result views.Message, refused bool, fragment func(views.SectionDetail) templ.Component) {
	d, err := s.sectionDetail(r, id, edit)
	if err != nil {
		s.changeFailed(w, r, edit, err, "", "", nil)
		return
	}
	if people != nil {
		d.People = people.Form
	}
	d.Result, d.Refused = result, refused
	s.render(w, r, status, views.SectionPage(d), fragment(d))
}

func (s *Server) updateSection(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	rec, meetings := sectionInput(f)
	show := func(status int) {
		s.showSection(w, r, id, status, f, nil, views.Message{}, false, func(d views.SectionDetail) templ.Component { return views.SectionForm(d) })
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	var held int
	err := s.audited(r, func(q *db.Queries) (change, error) {
		ctx := r.Context()
		held = 0
		// The section row stays locked to the commit: the record read is the one changed.
		if _, err := q.LockSection(ctx, id); err != nil {
			return change{}, err
		}
		before, _, err := sectionRecordOf(r, q, id)
		if err != nil {
			return change{}, err
		}
		rec.Course, rec.Term = before.Course, before.Term
		if before.equal(rec) {
			return change{}, nil
		}
		var capacity *registration.CapacityError
		held, err = registration.Resize(ctx, q, id, rec.Capacity)
		switch {
		case errors.As(err, &capacity) && capacity.Held > 0:
			return change{}, refuse(http.StatusConflict, "capacity", "admin.sections.capacity_below_held", capacity.Enrolled, capacity.Held)
		case errors.As(err, &capacity):
			return change{}, refuse(http.StatusConflict, "capacity", "admin.sections.capacity_below", capacity.Enrolled)
		case err != nil:
			return change{}, err
		}
		if err := q.UpdateSection(ctx, db.UpdateSectionParams{Number: rec.Number, Instructor: rec.Instructor, Room: rec.Room, ID: id}); err != nil {
			return change{}, err
		}
		if !slices.Equal(before.Meetings, rec.Meetings) {
			if err := replaceMeetings(r, q, id, meetings); err != nil {
				return change{}, err
			}
		}
		return change{Action: "section.update", Entity: "section", EntityID: id, Before: before, After: rec}, nil
	})
	if db.IsCheckFailed(err) {
		f.fail("capacity", "admin.sections.capacity_check")
	}
	if s.changeFailed(w, r, f, err, "number", "admin.sections.number_taken", show) {
		return
	}
	if held > 0 {
		s.reg.PromoteNow(r.Context(), id)
	}
	s.saved(w, r, "/admin/sections/"+itoa(id), "admin.saved", rec.Course+"-"+rec.Number)
}

func (s *Server) deleteSection(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	var label string
	err := s.audited(r, func(q *db.Queries) (change, error) {
		if _, err := q.LockSection(r.Context(), id); err != nil {
			return change{}, err
		}
		before, _, err := sectionRecordOf(r, q, id)
		if err != nil {
			return change{}, err
		}
		label = before.Course + "-" + before.Number
		deps, err := q.SectionDependents(r.Context(), db.SectionDependentsParams{ID: id})
		if err != nil {
			return change{}, err
		}
		if deps.Enrollments+deps.Waiting > 0 {
			return change{}, refuse(http.StatusConflict, "", "admin.sections.in_use", deps.Enrollments, deps.Waiting)
		}
		if err := q.DeleteSectionWaitlistHistory(r.Context(), id); err != nil {
			return change{}, err
		}
		if err := q.DeleteSection(r.Context(), id); err != nil {
			return change{}, err
		}
		return change{Action: "section.delete", Entity: "section", EntityID: id, Before: before}, nil
	})
	s.deleteAnswer(w, r, err, func(m views.Message) templ.Component {
		d, _ := s.sectionDetail(r, id, newAdminForm(r))
		d.DeleteRefused = m
		return views.SectionPage(d)
	}, "/admin/sections", label)
}

// rosterInput reads the student and the reason every roster change needs.
func (s *Server) rosterInput(r *http.Request, f *adminForm) (db.UserByUsernameRow, bool) {
	username := f.text("username", maxUsernameLen, true)
	f.text("reason", 500, true)
	if f.E("username").Key != "" {
		return db.UserByUsernameRow{}, false
	}
	u, err := s.q.UserByUsername(r.Context(), strings.ToLower(username))
	switch {
	case isNoRows(err):
		f.fail("username", "admin.sections.no_student", username)
	case err != nil:
		f.fail("", "error.server.text")
	case u.Role != db.UsersRoleStudent:
		f.fail("username", "admin.sections.not_student", username)
	}
	return u, f.ok()
}

// staffEnroll registers a student in the section on staff's word: see registration's
// StaffEnrollIn for the rules staff override and those they do not.
func (s *Server) staffEnroll(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	show := func(status int, result views.Message, refused bool) {
		s.showSection(w, r, id, status, newAdminForm(r), f, result, refused, func(d views.SectionDetail) templ.Component { return views.SectionPeople(d) })
	}
	u, ok := s.rosterInput(r, f)
	if !ok {
		show(http.StatusBadRequest, views.Message{}, true)
		return
	}
	out, waived, err := s.reg.StaffEnroll(r.Context(), registration.StaffChange{By: s.actor(r), StudentID: u.ID, Student: u.Username,
		SectionID: id, Reason: f.V("reason")})
	if errors.Is(err, registration.ErrNotStudent) {
		f.fail("username", "admin.sections.not_student", u.Username)
		show(http.StatusBadRequest, views.Message{}, true)
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	label := out.Section.CourseCode + "-" + out.Section.Number
	switch out.Result {
	case registration.Enrolled:
		msg := views.Msg("admin.sections.enrolled_msg", u.Username, label)
		if len(waived) > 0 {
			keys := make([]string, len(waived))
			for i, w := range waived {
				keys[i] = string(w)
			}
			msg = views.Msg("admin.sections.enrolled_waived."+strings.Join(keys, "."), u.Username, label)
		}
		f.Values = map[string]string{}
		show(http.StatusOK, msg, false)
	case registration.NotFound:
		s.notFound(w, r)
	case registration.Full:
		show(http.StatusConflict, views.Msg("admin.sections.full", label), true)
	case registration.Duplicate:
		show(http.StatusConflict, views.Msg("admin.sections.duplicate", u.Username, out.Other), true)
	case registration.TimeConflict:
		show(http.StatusConflict, views.Msg("admin.sections.time_conflict", label, u.Username, out.Other), true)
	default:
		show(http.StatusConflict, views.Msg("result."+string(out.Result), label), true)
	}
}

// staffDrop takes a student out of the section on staff's word, in or out of a window;
// the seat goes to the waitlist first, as after any drop.
func (s *Server) staffDrop(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f := newAdminForm(r)
	show := func(status int, result views.Message, refused bool) {
		s.showSection(w, r, id, status, newAdminForm(r), nil, result, refused, func(d views.SectionDetail) templ.Component { return views.SectionPeople(d) })
	}
	u, ok := s.rosterInput(r, f)
	if !ok {
		msg := f.Error
		for _, field := range []string{"username", "reason"} {
			if msg.Key == "" {
				msg = f.E(field)
			}
		}
		if f.E("reason").Key != "" {
			msg = views.Msg("admin.sections.reason_required")
		}
		show(http.StatusBadRequest, msg, true)
		return
	}
	out, err := s.reg.StaffDrop(r.Context(), registration.StaffChange{By: s.actor(r), StudentID: u.ID, Student: u.Username,
		SectionID: id, Reason: f.V("reason")})
	if err != nil && !errors.Is(err, registration.ErrNotStudent) {
		s.serverError(w, r, err)
		return
	}
	label := out.Section.CourseCode + "-" + out.Section.Number
	switch {
	case err == nil && out.Result == registration.Dropped:
		show(http.StatusOK, views.Msg("admin.sections.dropped", u.Username, label), false)
	case err == nil && out.Result == registration.NotFound && out.Section.CourseCode == "":
		s.notFound(w, r)
	default:
		show(http.StatusConflict, views.Msg("admin.sections.not_enrolled", u.Username, label), true)
	}
}
