package web

import (
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/schoolservice/school/notices"
	"github.com/schoolservice/school/views"
)

func (s *Server) adminNotices(w http.ResponseWriter, r *http.Request) {
	s.renderAdminNotices(w, r, http.StatusOK, views.Message{}, false)
}

func (s *Server) renderAdminNotices(w http.ResponseWriter, r *http.Request, status int, m views.Message, refused bool) {
	rows, err := s.q.ListNotices(r.Context())
	if err != nil {
		s.serverError(w, r, fmt.Errorf("notices: %w", err))
		return
	}
	page := views.AdminNotices{Message: m, Refused: refused}
	for _, n := range rows {
		page.Notices = append(page.Notices, views.AdminNotice{ID: n.ID, Title: n.Title, Pinned: n.Pinned,
			Published: n.PublishedAt.Valid, Updated: n.UpdatedAt})
	}
	s.render(w, r, status, views.AdminNoticesPage(page), nil)
}

func (s *Server) newNoticeForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, views.NoticeFormPage(views.NoticeForm{}), nil)
}

func (s *Server) editNoticeForm(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "noticeID")
	if !ok {
		s.notFound(w, r)
		return
	}
	n, err := s.q.GetNotice(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("notice %d: %w", id, err))
		return
	}
	f := views.NoticeForm{ID: n.ID, Title: n.Title, Body: n.Body, Pinned: n.Pinned, Published: n.PublishedAt.Valid}
	if r.URL.Query().Get("saved") != "" {
		f.Message = views.Msg("admin.notices.saved", n.Title)
	}
	s.render(w, r, http.StatusOK, views.NoticeFormPage(f), nil)
}

// noticeForm reads and checks the form; a message is returned when it is refused.
func noticeForm(r *http.Request) (views.NoticeForm, views.Message) {
	f := views.NoticeForm{
		Title:  strings.TrimSpace(r.PostFormValue("title")),
		Body:   strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("body"), "\r\n", "\n")),
		Pinned: r.PostFormValue("pinned") != "",
	}
	switch {
	case f.Title == "" || utf8.RuneCountInString(f.Title) > 200:
		return f, views.Msg("admin.notices.err_title")
	case f.Body == "" || utf8.RuneCountInString(f.Body) > 20000:
		return f, views.Msg("admin.notices.err_body")
	}
	return f, views.Message{}
}

func (s *Server) createNotice(w http.ResponseWriter, r *http.Request) {
	f, bad := noticeForm(r)
	if bad.Key != "" {
		f.Message, f.Refused = bad, true
		s.render(w, r, http.StatusBadRequest, views.NoticeFormPage(f), nil)
		return
	}
	id, err := s.notices.Create(r.Context(), s.actor(r), notices.Notice{Title: f.Title, Body: f.Body, Pinned: f.Pinned})
	if err != nil {
		s.serverError(w, r, fmt.Errorf("create notice: %w", err))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/notices/%d?saved=1", id), http.StatusSeeOther)
}

func (s *Server) updateNotice(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "noticeID")
	if !ok {
		s.notFound(w, r)
		return
	}
	f, bad := noticeForm(r)
	f.ID = id
	if bad.Key != "" {
		f.Message, f.Refused = bad, true
		s.render(w, r, http.StatusBadRequest, views.NoticeFormPage(f), nil)
		return
	}
	err := s.notices.Update(r.Context(), s.actor(r), id, notices.Notice{Title: f.Title, Body: f.Body, Pinned: f.Pinned})
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("update notice %d: %w", id, err))
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/admin/notices/%d?saved=1", id), http.StatusSeeOther)
}

// noticeToggle publishes, unpublishes, pins or unpins a notice. Doing what is already
// done changes nothing and records nothing.
func (s *Server) noticeToggle(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "noticeID")
	if !ok {
		s.notFound(w, r)
		return
	}
	action := chi.URLParam(r, "action")
	title, err := s.notices.Switch(r.Context(), s.actor(r), id, notices.Toggle(action))
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("%s notice %d: %w", action, id, err))
		return
	}
	s.renderAdminNotices(w, r, http.StatusOK, views.Msg(noticeDone[action], title), false)
}

// noticeDone says what each toggle did.
var noticeDone = map[string]string{
	"publish": "admin.notices.did_publish", "unpublish": "admin.notices.did_unpublish",
	"pin": "admin.notices.did_pin", "unpin": "admin.notices.did_unpin",
}
