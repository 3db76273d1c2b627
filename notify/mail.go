package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/schoolservice/school/db"
)

// Mail is a rendered e-mail: the subject and plain-text body in the student's language.
type Mail struct {
	Subject, Body string
}

// Render writes notification n as an e-mail in locale (the student's last choice in the
// app; empty when they never made one) to the student called name.
type Render func(n Notification, locale, name string) Mail

// SenderOptions are the outbox's timing; zero fields take the defaults.
type SenderOptions struct {
	// Poll is how often the outbox is read (default 5 s).
	Poll time.Duration
	// Backoff is the wait after a first failed attempt, doubled after each further one
	// up to MaxBackoff (defaults 30 s and 30 min).
	Backoff, MaxBackoff time.Duration
	// MaxAge: mail older than this is no longer sent (default 3 days): news of a window
	// that moved last week only confuses.
	MaxAge time.Duration
	// Lease is how long a claimed e-mail is kept from other senders (default 2 min);
	// one whose sender stopped midway is tried again after it.
	Lease time.Duration
	// Batch bounds the e-mails sent over one connection (default 20).
	Batch int
	Now   func() time.Time
}

// Sender sends the outbox's e-mails through SMTP, away from the requests that wrote them:
// a mail server that is slow or down delays mail, never a registration. Every replica may
// run one; they share the outbox without sending an e-mail twice (short of a sender that
// stops between sending and recording it, which sends it again after the lease).
type Sender struct {
	db      *sql.DB
	smtp    SMTP
	render  Render
	log     *slog.Logger
	o       SenderOptions
	results *prometheus.CounterVec
	pending prometheus.Gauge
}

// NewSender returns a sender through server cfg; Run sends.
func NewSender(sqldb *sql.DB, cfg SMTP, render Render, log *slog.Logger, reg prometheus.Registerer, o SenderOptions) *Sender {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Poll, 5*time.Second)
	def(&o.Backoff, 30*time.Second)
	def(&o.MaxBackoff, 30*time.Minute)
	def(&o.MaxAge, 72*time.Hour)
	def(&o.Lease, 2*time.Minute)
	if o.Batch <= 0 {
		o.Batch = 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	f := promauto.With(reg)
	return &Sender{db: sqldb, smtp: cfg, render: render, log: log, o: o,
		results: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "school", Name: "notify_mail_total",
			Help: "Notification e-mails by result: sent; failed (refused for good); retry (an attempt that failed, tried again later); skipped (the student has no address); expired (waited past the maximum age).",
		}, []string{"result"}),
		pending: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "school", Name: "notify_mail_pending",
			Help: "Notification e-mails waiting to be sent, as this replica last counted them.",
		}),
	}
}

// Run sends what is due every Poll until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	tick := time.NewTicker(s.o.Poll)
	defer tick.Stop()
	for {
		if err := s.expire(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "notification e-mail", slog.Any("error", err))
		}
		for {
			n, err := s.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "notification e-mail", slog.Any("error", err))
			}
			if err != nil || n < s.o.Batch {
				break // a full batch means more may be due at once
			}
		}
		if n, err := db.New(s.db).PendingMail(ctx); err == nil {
			s.pending.Set(float64(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// expire gives up the e-mails pending for longer than MaxAge: once a tick, not once a
// batch, since it reads every pending row.
func (s *Sender) expire(ctx context.Context) error {
	n, err := db.New(s.db).ExpireMail(ctx, s.o.Now().Add(-s.o.MaxAge))
	if err != nil {
		return fmt.Errorf("expire old mail: %w", err)
	}
	if n > 0 {
		s.results.WithLabelValues("expired").Add(float64(n))
	}
	return nil
}

// SendDue sends one batch of the e-mails due now and returns how many it claimed.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	now := s.o.Now()
	q := db.New(s.db)
	var ids []int64
	err := db.InTx(ctx, s.db, func(q *db.Queries) error {
		var err error
		if ids, err = q.ClaimMail(ctx, db.ClaimMailParams{MailNextAt: sql.NullTime{Time: now, Valid: true}, Limit: int32(s.o.Batch)}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return q.LeaseMail(ctx, db.LeaseMailParams{MailNextAt: sql.NullTime{Time: now.Add(s.o.Lease), Valid: true}, Ids: ids})
	})
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	rows, err := q.MailToSend(ctx, ids)
	if err != nil {
		return len(ids), fmt.Errorf("read claimed mail: %w", err)
	}
	var out []outgoing
	for _, r := range rows {
		if r.Email == "" {
			s.finish(ctx, q, r.ID, db.NotificationsMailStateSkipped, "skipped")
			continue
		}
		n := Notification{ID: r.ID, Kind: Kind(r.Kind), Created: r.CreatedAt}
		if err := json.Unmarshal(r.Args, &n.Args); err != nil {
			s.log.ErrorContext(ctx, "notification arguments", slog.Int64("notification", r.ID), slog.Any("error", err))
			s.finish(ctx, q, r.ID, db.NotificationsMailStateFailed, "failed")
			continue
		}
		out = append(out, outgoing{id: r.ID, attempts: int(r.MailAttempts), to: r.Email, name: r.DisplayName,
			mail: s.render(n, r.Locale.String, r.DisplayName)})
	}
	if len(out) == 0 {
		return len(ids), nil
	}
	errs := s.smtp.send(ctx, out)
	// What the server accepted is recorded even when ctx ends now (a shutdown in the
	// middle of a batch): unrecorded, the lease would run out and another replica would
	// send it again. Bounded, so a shutdown does not wait on a database that is gone.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var failed error
	for i, m := range out {
		switch err := errs[i]; {
		case err == nil:
			s.finish(ctx, q, m.id, db.NotificationsMailStateSent, "sent")
		case errors.As(err, new(refused)):
			// The server refused this e-mail for good (an unknown mailbox): sending it
			// again would be refused again.
			s.log.WarnContext(ctx, "notification e-mail refused", slog.Int64("notification", m.id), slog.Any("error", err))
			s.finish(ctx, q, m.id, db.NotificationsMailStateFailed, "failed")
		default:
			failed = err
			s.results.WithLabelValues("retry").Inc()
			next := now.Add(s.backoff(m.attempts))
			if err := q.RetryMail(ctx, db.RetryMailParams{MailNextAt: sql.NullTime{Time: next, Valid: true}, ID: m.id}); err != nil {
				s.log.WarnContext(ctx, "reschedule notification e-mail", slog.Int64("notification", m.id), slog.Any("error", err))
			}
		}
	}
	if failed != nil {
		return len(ids), fmt.Errorf("send through %s (tried again later): %w", s.smtp.Addr, failed)
	}
	return len(ids), nil
}

// recordTimeout bounds recording what became of a batch once it was sent.
const recordTimeout = 10 * time.Second

// finish records what became of an e-mail; when that write fails the lease ends and the
// e-mail is tried again, which is the safe side.
func (s *Sender) finish(ctx context.Context, q *db.Queries, id int64, state db.NotificationsMailState, result string) {
	if err := q.FinishMail(ctx, db.FinishMailParams{MailState: state, MailedAt: sql.NullTime{Time: s.o.Now(), Valid: true}, ID: id}); err != nil {
		s.log.WarnContext(ctx, "record notification e-mail", slog.Int64("notification", id), slog.Any("error", err))
		return
	}
	s.results.WithLabelValues(result).Inc()
}

// backoff is the wait after the attempts-th failed attempt, with a fifth of jitter so
// replicas that failed together do not retry together.
func (s *Sender) backoff(attempts int) time.Duration {
	d := s.o.Backoff
	for i := 1; i < attempts && d < s.o.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, s.o.MaxBackoff)
	return d + rand.N(d/5+1)
}
