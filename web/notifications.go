package web

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/notify"
	"github.com/schoolservice/school/views"
)

// notificationsShown bounds a student's list: the newest ones are the ones that matter.
const notificationsShown = 100

func (s *Server) notificationsPage(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r)
	ns, unread, err := s.notifications(r.Context(), u.ID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, views.NotificationsPage(ns, unread), views.NotificationList(ns, unread))
}

// markNotificationRead marks one of the student's own notifications read; another
// student's, or one already read, is left as it is.
func (s *Server) markNotificationRead(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "notificationID")
	if !ok {
		s.notFound(w, r)
		return
	}
	u, _ := s.currentUser(r)
	if _, err := s.q.MarkNotificationRead(r.Context(), db.MarkNotificationReadParams{ReadAt: sql.NullTime{Time: s.now(), Valid: true}, ID: id, UserID: u.ID}); err != nil {
		s.serverError(w, r, fmt.Errorf("mark notification %d read: %w", id, err))
		return
	}
	s.afterMarkRead(w, r, u.ID)
}

func (s *Server) markAllNotificationsRead(w http.ResponseWriter, r *http.Request) {
	u, _ := s.currentUser(r)
	if _, err := s.q.MarkAllNotificationsRead(r.Context(), db.MarkAllNotificationsReadParams{ReadAt: sql.NullTime{Time: s.now(), Valid: true}, UserID: u.ID}); err != nil {
		s.serverError(w, r, fmt.Errorf("mark notifications of %d read: %w", u.ID, err))
		return
	}
	s.afterMarkRead(w, r, u.ID)
}

// afterMarkRead answers HTMX with the list and the header's count, a plain form with the
// page again (POST, then redirect, then GET).
func (s *Server) afterMarkRead(w http.ResponseWriter, r *http.Request, userID int64) {
	if !wantsFragment(r) {
		http.Redirect(w, r, "/notifications", http.StatusSeeOther)
		return
	}
	ns, unread, err := s.notifications(r.Context(), userID)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, nil, views.NotificationList(ns, unread))
}

func (s *Server) notifications(ctx context.Context, userID int64) ([]notify.Notification, int, error) {
	ns, err := notify.List(ctx, s.q, userID, notificationsShown)
	if err != nil {
		return nil, 0, err
	}
	// A list shorter than the bound is all of them: the count is in it. Only a student
	// with more than the list shows needs the count read.
	if len(ns) < notificationsShown {
		unread := 0
		for _, n := range ns {
			if !n.Read {
				unread++
			}
		}
		return ns, unread, nil
	}
	unread, err := s.q.UnreadNotifications(ctx, userID)
	if err != nil {
		return nil, 0, fmt.Errorf("unread notifications of %d: %w", userID, err)
	}
	return ns, int(unread), nil
}

// mailRenderer writes notification e-mails with the school's clock.
func (s *Server) mailRenderer() notify.Render {
	ctx := views.WithZone(context.Background(), s.zone)
	return func(n notify.Notification, locale, name string) notify.Mail {
		return views.NotificationMail(ctx, n, locale, name)
	}
}
