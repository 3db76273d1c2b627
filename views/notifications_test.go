package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/notify"
)

// Every kind of notification has its text and e-mail subject in both languages, and
// renders without a formatting fault.
func TestNotificationTextsComplete(t *testing.T) {
	a := notify.Args{Section: "CS101-01", Course: "Algorithms", Term: "2027-1", Phase: "registration",
		Opens: time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC), Closes: time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC)}
	for _, k := range notify.Kinds {
		for _, key := range []string{"notify." + string(k), "notify.subject." + string(k)} {
			if _, ok := messages[key]; !ok {
				t.Errorf("%s: no message %s", k, key)
			}
		}
		n := notify.Notification{Kind: k, Args: a}
		for _, l := range Locales {
			ctx := WithLocale(context.Background(), l)
			for _, s := range []string{NotificationText(ctx, n), NotificationSubject(ctx, n)} {
				if strings.Contains(s, "%!") || strings.Contains(s, "notify.") || strings.Contains(s, "phase.") {
					t.Errorf("%s in %s: %q", k, l, s)
				}
			}
			m := NotificationMail(ctx, n, string(l), "Kim")
			if strings.Contains(m.Subject+m.Body, "%!") || !strings.Contains(m.Body, "Kim") {
				t.Errorf("%s mail in %s: %q / %q", k, l, m.Subject, m.Body)
			}
		}
	}
	// Times are the school's, in both languages.
	ko := NotificationText(WithLocale(context.Background(), Korean), notify.Notification{Kind: notify.WindowMoved, Args: a})
	if !strings.Contains(ko, "2027-1 학기 수강신청 기간") || !strings.Contains(ko, "2027-02-15 09:00 KST") || !strings.Contains(ko, "2027-02-15 18:00 KST") {
		t.Errorf("the moved window in Korean: %q", ko)
	}
}
