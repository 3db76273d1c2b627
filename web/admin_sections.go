package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	"github.com/schoolservice/school/catalog"
	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

// sectionInput validates the fields of a section form that staff may change.
func sectionInput(f *adminForm) catalog.Section {
	sec := catalog.Section{Number: f.text("number", 8, true), Instructor: f.text("instructor", 200, false),
		Room: f.text("room", 64, false), Capacity: f.integer("capacity", 0, 100000)}
	for _, m := range meetingsInput(f, "meetings") {
		sec.Meetings = append(sec.Meetings, catalog.Meeting{Weekday: m.Weekday, Start: m.StartMinute, End: m.EndMinute})
	}
	sec.Quotas, sec.QuotaRelease = quotasInput(f, sec.Capacity)
	return sec
}

// quotasInput reads the section's seat quotas ("4/*=20; */CS=10", one set of rules with
// the catalog CSV's quotas column) and, when given, when they end.
func quotasInput(f *adminForm, capacity int) ([]catalogcsv.Quota, time.Time) {
	raw := f.text("quotas", 1000, false)
	qs, code, args := catalogcsv.ParseQuotas(raw, capacity)
	if code != "" && f.E("capacity").Key == "" {
		a := make([]any, len(args))
		for i, v := range args {
			a[i] = v
		}
		f.fail("quotas", "import.problem."+code, a...)
	}
	var release time.Time
	if f.V("quota_release_at") != "" {
		release = f.datetime("quota_release_at")
		if len(qs) == 0 && f.ok() {
			f.fail("quota_release_at", "admin.sections.release_without_quotas")
		}
	}
	return qs, release
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
		page.Sections = append(page.Sections, views.AdminSectionRow{ID: sec.ID, Label: registration.SectionLabel(sec.CourseCode, sec.Number), Title: sec.Title,
			Instructor: sec.Instructor, Room: sec.Room, Capacity: int(sec.Capacity), Enrolled: int(sec.Enrolled), Held: int(sec.Held), Waiting: int(sec.Waiting)})
	}
	page.Pages = (page.Total + sectionsPerPage - 1) / sectionsPerPage
	s.render(w, r, status, views.SectionsPage(page), views.NewSectionForm(page.Form, terms))
}

func (s *Server) createSection(w http.ResponseWriter, r *http.Request) {
	f := newAdminForm(r)
	sec := sectionInput(f)
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
	id, label, err := s.staffCatalog.CreateSection(r.Context(), s.actor(r), course, termID, sec)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, "/admin/sections/"+itoa(id), "admin.saved", label)
}

// sectionDetail gathers a section's page: the section, its form, roster and waitlist.
func (s *Server) sectionDetail(r *http.Request, id int64, f *adminForm) (views.SectionDetail, error) {
	ctx := r.Context()
	sec, err := s.q.GetAdminSection(ctx, id)
	if err != nil {
		return views.SectionDetail{}, err
	}
	if len(f.Values) == 0 || f.V("capacity") == "" {
		ms, err := s.q.MeetingsForSections(ctx, []int64{id})
		if err != nil {
			return views.SectionDetail{}, fmt.Errorf("meetings of section %d: %w", id, err)
		}
		lines := make([]string, len(ms))
		for i, m := range ms {
			lines[i] = catalog.Meeting{Weekday: int(m.Weekday), Start: int(m.StartMinute), End: int(m.EndMinute)}.String()
		}
		f.Values["number"], f.Values["instructor"], f.Values["room"] = sec.Number, sec.Instructor, sec.Room
		f.Values["capacity"], f.Values["meetings"] = strconv.Itoa(int(sec.Capacity)), strings.Join(lines, "\n")
		qs, release, err := s.staffCatalog.Quotas(ctx, id)
		if err != nil {
			return views.SectionDetail{}, err
		}
		f.Values["quotas"] = catalogcsv.FormatQuotas(qs)
		if !release.IsZero() {
			f.Values["quota_release_at"] = views.LocalInput(ctx, release)
		}
	}
	d := views.SectionDetail{ID: id, Label: registration.SectionLabel(sec.CourseCode, sec.Number), Title: sec.Title, Term: sec.TermCode + " · " + sec.TermName,
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
		s.failed(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.SectionPage(d), nil)
}

// showSection answers with the section's page (or, over HTMX, fragment) after a refused
// or finished action; edit is the section form as posted, people the enroll form.
func (s *Server) showSection(w http.ResponseWriter, r *http.Request, id int64, status int, edit, people *adminForm, result views.Message, refused bool, fragment func(views.SectionDetail) templ.Component) {
	d, err := s.sectionDetail(r, id, edit)
	if err != nil {
		s.failed(w, r, err)
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
	sec := sectionInput(f)
	show := func(status int) {
		s.showSection(w, r, id, status, f, nil, views.Message{}, false, func(d views.SectionDetail) templ.Component { return views.SectionForm(d) })
	}
	if !f.ok() {
		show(http.StatusBadRequest)
		return
	}
	label, err := s.staffCatalog.UpdateSection(r.Context(), s.actor(r), id, sec)
	if s.changeFailed(w, r, f, err, show) {
		return
	}
	s.saved(w, r, "/admin/sections/"+itoa(id), "admin.saved", label)
}

func (s *Server) deleteSection(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "sectionID")
	if !ok {
		s.notFound(w, r)
		return
	}
	label, err := s.staffCatalog.DeleteSection(r.Context(), s.actor(r), id)
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
	label := out.Section.Label()
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
	label := out.Section.Label()
	switch {
	case err == nil && out.Result == registration.Dropped:
		show(http.StatusOK, views.Msg("admin.sections.dropped", u.Username, label), false)
	case err == nil && out.Result == registration.NotFound && out.Section.CourseCode == "":
		s.notFound(w, r)
	default:
		show(http.StatusConflict, views.Msg("admin.sections.not_enrolled", u.Username, label), true)
	}
}
