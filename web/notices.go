package web

import (
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
)

// noticesShown bounds the students' list; homeNotices the home page's.
const (
	noticesShown = 100
	homeNotices  = 5
)

func (s *Server) noticesList(w http.ResponseWriter, r *http.Request) {
	ns, err := s.publishedNotices(r, noticesShown)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.NoticesPage(ns), nil)
}

// publishedNotices lists what students may read, pinned first, then newest.
func (s *Server) publishedNotices(r *http.Request, limit int) ([]views.NoticeView, error) {
	rows, err := s.q.PublishedNotices(r.Context(), int32(limit))
	if err != nil {
		return nil, fmt.Errorf("published notices: %w", err)
	}
	out := make([]views.NoticeView, 0, len(rows))
	for _, n := range rows {
		out = append(out, views.NoticeView{ID: n.ID, Title: n.Title, Pinned: n.Pinned, Published: n.PublishedAt.Time})
	}
	return out, nil
}

// noticePage shows a published notice; an unpublished one does not exist for anyone
// here, staff included (they preview it on the edit page).
func (s *Server) noticePage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "noticeID")
	if !ok {
		s.notFound(w, r)
		return
	}
	n, err := s.q.GetPublishedNotice(r.Context(), id)
	if isNoRows(err) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("notice %d: %w", id, err))
		return
	}
	s.render(w, r, http.StatusOK, views.NoticePage(noticeView(n)), nil)
}

func noticeView(n db.GetPublishedNoticeRow) views.NoticeView {
	return views.NoticeView{ID: n.ID, Title: n.Title, Body: n.Body, Pinned: n.Pinned, Published: n.PublishedAt.Time}
}
