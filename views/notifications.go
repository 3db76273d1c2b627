package views

import (
	"context"
	"strings"

	"github.com/schoolservice/school/notify"
)

// NotificationText is a notification's sentence in the context's language and time zone.
func NotificationText(ctx context.Context, n notify.Notification) string {
	a := n.Args
	if n.Kind == notify.WindowMoved {
		return Tf(ctx, "notify.window_moved", a.Term, T(ctx, "phase."+a.Phase), When(ctx, a.Opens), When(ctx, a.Closes))
	}
	return Tf(ctx, "notify."+string(n.Kind), a.Section, a.Course)
}

// NotificationSubject is the e-mail subject of a notification.
func NotificationSubject(ctx context.Context, n notify.Notification) string {
	a := n.Args
	if n.Kind == notify.WindowMoved {
		return Tf(ctx, "notify.subject.window_moved", a.Term, T(ctx, "phase."+a.Phase))
	}
	return Tf(ctx, "notify.subject."+string(n.Kind), a.Section)
}

// NotificationMail writes a notification as an e-mail in the student's language; a
// student who never chose one gets both, Korean first.
func NotificationMail(ctx context.Context, n notify.Notification, locale, name string) notify.Mail {
	one := func(l Locale) notify.Mail {
		c := WithLocale(ctx, l)
		body := Tf(c, "notify.mail.greeting", name) + "\n\n" + NotificationText(c, n) + "\n\n" + T(c, "notify.mail.footer") + "\n"
		return notify.Mail{Subject: Tf(c, "notify.mail.subject", NotificationSubject(c, n)), Body: body}
	}
	if l, ok := ParseLocale(locale); ok {
		return one(l)
	}
	ko, en := one(Korean), one(English)
	return notify.Mail{Subject: ko.Subject + " / " + en.Subject, Body: ko.Body + "\n" + strings.Repeat("-", 40) + "\n\n" + en.Body}
}
