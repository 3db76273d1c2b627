package notify_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/db/dbtest"
	"github.com/schoolservice/school/notify"
	"github.com/schoolservice/school/registration"
	"github.com/schoolservice/school/views"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testLease is how long a claimed e-mail is kept from other senders in these tests.
const testLease = 2 * time.Minute

// clock is a settable time, so the tests step past a backoff instead of waiting it out.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// outbox is a database and a sender through server.
type outbox struct {
	t      *testing.T
	db     *sql.DB
	q      *db.Queries
	clock  *clock
	reg    *prometheus.Registry
	sender *notify.Sender
}

func newOutbox(t *testing.T, server *smtpd) *outbox {
	t.Helper()
	sqldb, _ := dbtest.New(t)
	o := &outbox{t: t, db: sqldb, q: db.New(sqldb), clock: &clock{now: time.Now()}, reg: prometheus.NewRegistry()}
	ctx := views.WithZone(context.Background(), nil)
	render := func(n notify.Notification, locale, name string) notify.Mail {
		return views.NotificationMail(ctx, n, locale, name)
	}
	o.sender = notify.NewSender(sqldb, notify.SMTP{Addr: server.addr, From: "School Service <noreply@school.example>", Timeout: 10 * time.Second},
		render, quiet, o.reg, notify.SenderOptions{Now: o.clock.Now, Backoff: time.Minute, Lease: testLease})
	return o
}

// user adds a student with an e-mail address (none when empty) and a language (none
// when empty).
func (o *outbox) user(name, email, locale string) int64 {
	o.t.Helper()
	res, err := o.db.Exec("INSERT INTO users (username, display_name, email, role, class_year, locale) VALUES (?, ?, ?, 'student', 2, NULLIF(?, ''))",
		name, "Student "+name, email, locale)
	if err != nil {
		o.t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

// promoted tells each student of a waitlist seat in CS101-01, as a promotion does.
func (o *outbox) promoted(ids ...int64) {
	o.t.Helper()
	for _, id := range ids {
		if err := notify.Add(context.Background(), o.q, id, notify.Promoted, notify.Args{Section: "CS101-01", Course: "Algorithms"}); err != nil {
			o.t.Fatal(err)
		}
	}
}

func (o *outbox) state(id int64) (state string, attempts int) {
	o.t.Helper()
	if err := o.db.QueryRow("SELECT mail_state, mail_attempts FROM notifications WHERE user_id = ?", id).Scan(&state, &attempts); err != nil {
		o.t.Fatal(err)
	}
	return state, attempts
}

// sent is the sender's count of e-mails with the result.
func (o *outbox) sent(result string) float64 {
	o.t.Helper()
	mfs, err := o.reg.Gather()
	if err != nil {
		o.t.Fatal(err)
	}
	v := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "school_notify_mail_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == result {
				v = m.GetCounter().GetValue()
			}
		}
	}
	return v
}

// Each student's e-mail reaches their address with the subject and text in their
// language (both languages for one who never chose); a student without an address is
// skipped; nothing is sent twice.
func TestMailDeliveredInTheStudentsLanguage(t *testing.T) {
	server := newSMTPD(t)
	server.start()
	o := newOutbox(t, server)
	ctx := context.Background()
	kim := o.user("kim", "kim@school.example", "ko")
	lee := o.user("lee", "lee@school.example", "en")
	park := o.user("park", "park@school.example", "")
	choi := o.user("choi", "", "ko")
	o.promoted(kim, lee, park, choi)
	if n, err := o.sender.SendDue(ctx); err != nil || n != 4 {
		t.Fatalf("send: %d claimed (%v)", n, err)
	}
	got := map[string]received{}
	for _, m := range server.messages() {
		got[m.To] = m
	}
	if len(got) != 3 {
		t.Fatalf("the server received %d messages, want 3: %+v", len(got), got)
	}
	want := []struct {
		to, subject string
		body        []string
		not         []string
	}{
		{"kim@school.example", "[학사 서비스] CS101-01 대기 순번 수강신청 완료",
			[]string{"Student kim 님", "대기하던 CS101-01 Algorithms 과목에 자리가 나서 수강신청되었습니다."}, []string{"registered"}},
		{"lee@school.example", "[School Service] You got a seat in CS101-01",
			[]string{"Dear Student lee,", "A seat in CS101-01 Algorithms came free and is yours"}, []string{"수강신청"}},
		{"park@school.example", "[학사 서비스] CS101-01 대기 순번 수강신청 완료 / [School Service] You got a seat in CS101-01",
			[]string{"대기하던 CS101-01 Algorithms 과목에", "A seat in CS101-01 Algorithms came free"}, nil},
	}
	for _, w := range want {
		m, ok := got[w.to]
		if !ok {
			t.Errorf("nothing reached %s", w.to)
			continue
		}
		if m.Subject != w.subject {
			t.Errorf("%s: subject %q, want %q", w.to, m.Subject, w.subject)
		}
		for _, s := range w.body {
			if !strings.Contains(m.Body, s) {
				t.Errorf("%s: body lacks %q:\n%s", w.to, s, m.Body)
			}
		}
		for _, s := range w.not {
			if strings.Contains(m.Body, s) {
				t.Errorf("%s: body has %q, of the other language:\n%s", w.to, s, m.Body)
			}
		}
		if !strings.HasPrefix(m.MessageID, "<notification-") || !strings.HasSuffix(m.MessageID, "@school.example>") {
			t.Errorf("%s: Message-ID %q", w.to, m.MessageID)
		}
	}
	for id, want := range map[int64]string{kim: "sent", lee: "sent", park: "sent", choi: "skipped"} {
		if state, _ := o.state(id); state != want {
			t.Errorf("user %d: mail %s, want %s", id, state, want)
		}
	}
	if n, err := o.sender.SendDue(ctx); err != nil || n != 0 || len(server.messages()) != 3 {
		t.Errorf("a second round claimed %d (%v), the server has %d messages", n, err, len(server.messages()))
	}
	if o.sent("sent") != 3 || o.sent("skipped") != 1 {
		t.Errorf("metrics: sent %v, skipped %v", o.sent("sent"), o.sent("skipped"))
	}
}

// TestRefusedRecipientFailsOnlyItsMail: a mailbox the server refuses for good (550 to
// RCPT) fails that e-mail, once and for good; the others of the same batch are sent.
func TestRefusedRecipientFailsOnlyItsMail(t *testing.T) {
	server := newSMTPD(t)
	server.withHandler("Refusing")
	server.start()
	o := newOutbox(t, server)
	ctx := context.Background()
	kim := o.user("kim", "kim@school.example", "ko")
	gone := o.user("gone", "refused@school.example", "en")
	lee := o.user("lee", "lee@school.example", "en")
	o.promoted(kim, gone, lee)
	if n, err := o.sender.SendDue(ctx); err != nil || n != 3 {
		t.Fatalf("send: %d claimed (%v)", n, err)
	}
	var to []string
	for _, m := range server.messages() {
		to = append(to, m.To)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"kim@school.example", "lee@school.example"}) {
		t.Errorf("the server received mail for %v, want kim and lee", to)
	}
	for id, want := range map[int64]string{kim: "sent", gone: "failed", lee: "sent"} {
		if state, _ := o.state(id); state != want {
			t.Errorf("user %d: mail %s, want %s", id, state, want)
		}
	}
	// Refused for good: not tried again, however long one waits.
	o.clock.add(24 * time.Hour)
	if n, err := o.sender.SendDue(ctx); err != nil || n != 0 || len(server.messages()) != 2 {
		t.Errorf("a later round claimed %d (%v); the server has %d messages", n, err, len(server.messages()))
	}
	if o.sent("sent") != 2 || o.sent("failed") != 1 || o.sent("retry") != 0 {
		t.Errorf("metrics: sent %v, failed %v, retry %v; want 2, 1, 0", o.sent("sent"), o.sent("failed"), o.sent("retry"))
	}
}

// TestMailRecordedWhenStoppedAfterSending: a sender stopped (its context cancelled) once
// the server has accepted an e-mail still records it sent; otherwise its lease runs out
// and another replica sends it again.
func TestMailRecordedWhenStoppedAfterSending(t *testing.T) {
	server := newSMTPD(t)
	server.start()
	o := newOutbox(t, server)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	// The sender reads its clock to stamp what it records: the moment the server holds
	// the e-mail, the sender is stopped, as a shutdown would.
	sender := notify.NewSender(o.db, notify.SMTP{Addr: server.addr, From: "School Service <noreply@school.example>", Timeout: 10 * time.Second},
		func(n notify.Notification, locale, name string) notify.Mail {
			return views.NotificationMail(views.WithZone(context.Background(), nil), n, locale, name)
		}, quiet, prometheus.NewRegistry(), notify.SenderOptions{Backoff: time.Minute, Lease: testLease, Now: func() time.Time {
			if len(server.messages()) > 0 {
				stop()
			}
			return o.clock.Now()
		}})
	kim := o.user("kim", "kim@school.example", "en")
	if err := notify.Add(context.Background(), o.q, kim, notify.Promoted, notify.Args{Section: "CS101-01", Course: "Algorithms"}); err != nil {
		t.Fatal(err)
	}
	sender.SendDue(ctx)
	if ctx.Err() == nil || len(server.messages()) != 1 {
		t.Fatalf("the sender was not stopped after the server took the e-mail (%v, %d messages)", ctx.Err(), len(server.messages()))
	}
	if state, _ := o.state(kim); state != "sent" {
		t.Errorf("an e-mail the server accepted is %s after the sender stopped, want sent (else it is sent again)", state)
	}
}

// TestMailServerLostMidBatch: a server that dies in the middle of a batch keeps what it
// accepted before; those e-mails are sent, and not sent again; the one it died on and
// the ones after it wait, and go out once it is back.
func TestMailServerLostMidBatch(t *testing.T) {
	server := newSMTPD(t)
	server.withHandler("Crashing")
	server.start()
	o := newOutbox(t, server)
	ctx := context.Background()
	first := o.user("first", "first@school.example", "en")
	crash := o.user("crash", "crash@school.example", "en")
	last := o.user("last", "last@school.example", "en")
	o.promoted(first, crash, last)
	if _, err := o.sender.SendDue(ctx); err == nil {
		t.Fatal("a batch through a server that died in it reported no error")
	}
	if ms := server.messages(); len(ms) != 1 || ms[0].To != "first@school.example" {
		t.Fatalf("before it died the server saved %+v, want first's only", ms)
	}
	for id, want := range map[int64]string{first: "sent", crash: "pending", last: "pending"} {
		if state, _ := o.state(id); state != want {
			t.Errorf("user %d: mail %s after the server died, want %s", id, state, want)
		}
	}

	server.stop()
	server.withHandler("")
	server.start()
	o.clock.add(time.Hour)
	if n, err := o.sender.SendDue(ctx); err != nil || n != 2 {
		t.Fatalf("with the server back: %d claimed (%v), want the two that waited", n, err)
	}
	var to []string
	for _, m := range server.messages() {
		to = append(to, m.To)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"crash@school.example", "first@school.example", "last@school.example"}) {
		t.Errorf("the server holds mail for %v, want each of the three once", to)
	}
}

// With the mail server down a registration goes through and its notification waits;
// when the server is back, the e-mail is sent, once its backoff has passed.
func TestMailWaitsOutAnSMTPOutage(t *testing.T) {
	server := newSMTPD(t)
	server.start()
	server.stop() // the outage: the port the app knows answers no more
	o := newOutbox(t, server)
	ctx := context.Background()
	svc, section, a, b := registrationWorld(t, o)

	// Registration, a drop and the promotion it causes, with the mail server down.
	req := func(student int64) registration.Request {
		return registration.Request{StudentID: student, SectionID: section}
	}
	if out, err := svc.Register(ctx, req(a)); err != nil || out.Result != registration.Enrolled {
		t.Fatalf("a registers while SMTP is down: %+v (%v)", out, err)
	}
	if out, err := svc.JoinWaitlist(ctx, req(b)); err != nil || out.Result != registration.Waitlisted {
		t.Fatalf("b waits: %+v (%v)", out, err)
	}
	// The sender tries meanwhile, and fails.
	runCtx, stopRun := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); o.sender.Run(runCtx) }()
	if out, err := svc.Drop(ctx, req(a)); err != nil || out.Result != registration.Dropped {
		t.Fatalf("a drops while SMTP is down: %+v (%v)", out, err)
	}
	var held int
	if err := o.db.QueryRow("SELECT COUNT(*) FROM enrollments WHERE user_id = ? AND section_id = ?", b, section).Scan(&held); err != nil || held != 1 {
		t.Fatalf("b was not promoted while SMTP is down (%v)", err)
	}
	stopRun()
	<-ran

	// Stopping Run may have cut a batch it had claimed before its send: that e-mail is
	// leased, and comes due again when the lease ends. Step past it, so the attempt below
	// is certain to be made (and fail), whatever Run got to.
	o.clock.add(testLease + time.Second)
	if n, err := o.sender.SendDue(ctx); err == nil && n > 0 {
		t.Fatalf("sent %d with the server down", n)
	}
	if state, attempts := o.state(b); state != "pending" || attempts < 1 {
		t.Fatalf("after a failed attempt: %s after %d attempts, want pending", state, attempts)
	}
	if o.sent("retry") < 1 {
		t.Errorf("no failed attempt counted")
	}

	server.start()
	if n, err := o.sender.SendDue(ctx); err != nil || n != 0 || len(server.messages()) != 0 {
		t.Fatalf("sent before the backoff passed: %d (%v)", n, err)
	}
	o.clock.add(time.Hour)
	if n, err := o.sender.SendDue(ctx); err != nil || n != 1 {
		t.Fatalf("after the outage: %d claimed (%v)", n, err)
	}
	ms := server.messages()
	if len(ms) != 1 || ms[0].To != "b@school.example" || ms[0].Subject != "[학사 서비스] CS300-01 대기 순번 수강신청 완료" ||
		!strings.Contains(ms[0].Body, "대기하던 CS300-01 Data Structures 과목에 자리가 나서") {
		t.Fatalf("after the outage the server has %+v", ms)
	}
	if state, _ := o.state(b); state != "sent" {
		t.Errorf("b's mail is %s", state)
	}
	var own int
	if err := o.db.QueryRow("SELECT COUNT(*) FROM notifications WHERE user_id = ?", a).Scan(&own); err != nil || own != 0 {
		t.Errorf("a has %d notifications for their own requests (%v)", own, err)
	}
}

// registrationWorld is a term with its registration window open at the outbox's clock, a
// section of one seat, and two students with addresses, b preferring Korean.
func registrationWorld(t *testing.T, o *outbox) (svc *registration.Service, section, a, b int64) {
	t.Helper()
	now := o.clock.Now()
	exec := func(query string, args ...any) int64 {
		t.Helper()
		res, err := o.db.Exec(query, args...)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		id, _ := res.LastInsertId()
		return id
	}
	dept := exec("INSERT INTO departments (code, name) VALUES ('CS', 'Computer Science')")
	term := exec("INSERT INTO terms (code, name, is_current, starts_on, ends_on) VALUES ('2027-1', 'Spring 2027', TRUE, ?, ?)",
		now.AddDate(0, 1, 0), now.AddDate(0, 5, 0))
	exec("INSERT INTO registration_windows (term_id, phase, opens_at, closes_at) VALUES (?, 'registration', ?, ?)", term, now.Add(-time.Hour), now.Add(24*time.Hour))
	course := exec("INSERT INTO courses (department_id, code, title, credits, description) VALUES (?, 'CS300', 'Data Structures', 3, '')", dept)
	section = exec("INSERT INTO sections (course_id, term_id, number, capacity) VALUES (?, ?, '01', 1)", course, term)
	exec("INSERT INTO section_meetings (section_id, weekday, start_minute, end_minute) VALUES (?, 1, 540, 600)", section)
	a, b = o.user("a", "a@school.example", "en"), o.user("b", "b@school.example", "ko")
	svc = registration.New(o.db, quiet, prometheus.NewRegistry())
	svc.SetClock(o.clock.Now)
	return svc, section, a, b
}
