package rehearsal

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/schoolservice/school/db"
)

type registrationRun struct {
	bare, http *Phase
	students   []*student // what each was told (bare: committed), for the check
	badAnswers int
}

// registrations runs the bare transaction and HTTP registration in turns (bare, http;
// http, bare; …) so a change in the machine's other load weighs on both alike. Every
// registration is for a section with room that the student may take: every answer must
// be enrolled.
func (b *bench) registrations(ctx context.Context) (*registrationRun, error) {
	cfg := b.cfg
	sessions, err := b.signInAll(ctx, b.data.http)
	if err != nil {
		return nil, err
	}
	if err := b.warm(ctx, sessions, cfg.Clients); err != nil {
		return nil, err
	}
	if err := b.warmDB(ctx); err != nil {
		return nil, err
	}
	run := &registrationRun{bare: newPhase("bare", cfg.Clients), http: newPhase("http", cfg.Clients)}
	httpStudents := make([]*student, len(b.data.http))
	for i, name := range b.data.http {
		httpStudents[i] = &student{username: name}
	}
	bareStudents := make([]*student, len(b.data.bare))
	for i, name := range b.data.bare {
		bareStudents[i] = &student{username: name}
	}
	for round := range cfg.Rounds {
		bare := func() error { return b.bareRound(ctx, run, bareStudents, round) }
		web := func() error { return b.httpRound(ctx, run, httpStudents, sessions, round) }
		first, second := bare, web
		if round%2 == 1 {
			first, second = web, bare
		}
		if err := first(); err != nil {
			return nil, err
		}
		if err := second(); err != nil {
			return nil, err
		}
	}
	run.students = append(httpStudents, bareStudents...)
	return run, nil
}

func roundOf(n, rounds, round int) (from, to int) {
	return n * round / rounds, n * (round + 1) / rounds
}

var enrolledOnly = map[string]int{"enrolled": http.StatusOK}

// httpRound sends its share of POST /registrations, each with a fresh request_key as the
// page's button carries.
func (b *bench) httpRound(ctx context.Context, run *registrationRun, students []*student, sessions []string, round int) error {
	from, to := roundOf(b.cfg.Registrations, b.cfg.Rounds, round)
	replies := make([]reply, to-from)
	sections := make([]int64, to-from)
	keys := make([]string, to-from)
	for i := range replies {
		_, s := spread(from+i, len(students), httpPerStudent)
		sections[i], keys[i] = b.data.room[s].id, rand.Text()
	}
	elapsed, cpu := b.timed(func() {
		work(b.cfg.Clients, from, to, func(i int) {
			who, _ := spread(i, len(students), httpPerStudent)
			form := url.Values{"section_id": {strconv.FormatInt(sections[i-from], 10)}, "request_key": {keys[i-from]}}
			replies[i-from] = b.web.send(ctx, http.MethodPost, "/registrations", form, sessions[who], true)
		})
	})
	outs := make([]outcome, len(replies))
	for i, r := range replies {
		outs[i] = classify(r, enrolledOnly)
		who, _ := spread(from+i, len(students), httpPerStudent)
		s := students[who]
		if r.err != nil {
			s.unanswered = append(s.unanswered, answer{Section: sections[i], Key: keys[i], Step: StepRegister})
			continue
		}
		if r.result != "" {
			s.answers = append(s.answers, answer{Section: sections[i], Key: keys[i], Step: StepRegister, Result: r.result})
			if !answerShows(r.body, sections[i], r.result) {
				run.badAnswers++
			}
		}
	}
	run.http.add(elapsed, cpu, outs)
	return nil
}

// bareRound runs its share of bare registration transactions: the app's own statements
// for the student's lock, the seat and the enrollment (db.LockStudent, db.TakeSeat,
// db.InsertEnrollment), in db.InTx as the app runs them, on a pool configured as the
// app's (db.Open), and nothing else: no rules, no request key, no HTTP.
func (b *bench) bareRound(ctx context.Context, run *registrationRun, students []*student, round int) error {
	from, to := roundOf(b.cfg.Bare, b.cfg.Rounds, round)
	outs := make([]outcome, to-from)
	elapsed, cpu := b.timed(func() {
		work(b.cfg.Clients, from, to, func(i int) {
			who, s := spread(i, len(students), barePerStudent)
			uid, sec := b.data.ids[students[who].username], b.data.room[s]
			start := time.Now()
			result := ""
			err := db.InTx(ctx, b.db, func(q *db.Queries) error {
				if _, err := q.LockStudent(ctx, uid); err != nil {
					return err
				}
				n, err := q.TakeSeat(ctx, sec.id)
				if err != nil {
					return err
				}
				if n == 0 {
					result = "full"
					return nil
				}
				result = "enrolled"
				return q.InsertEnrollment(ctx, db.InsertEnrollmentParams{UserID: uid, SectionID: sec.id, CourseID: sec.course,
					TermID: b.data.term, Source: db.EnrollmentsSourceRegister})
			})
			o := outcome{took: time.Since(start), result: result}
			switch {
			case err != nil:
				o.result, o.fault = "", "error: "+err.Error()
			case result != "enrolled":
				o.fault = result
			}
			outs[i-from] = o
		})
	})
	for i, o := range outs {
		if o.result == "enrolled" && o.fault == "" {
			who, s := spread(from+i, len(students), barePerStudent)
			students[who].answers = append(students[who].answers, answer{Section: b.data.room[s].id, Step: StepRegister, Result: "enrolled"})
		}
	}
	run.bare.add(elapsed, cpu, outs)
	return nil
}

// warmDB opens every connection of the bench's pool, so no bare round pays for dialling.
func (b *bench) warmDB(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, b.cfg.Clients)
	conns := make(chan func() error, b.cfg.Clients)
	for i := range b.cfg.Clients {
		wg.Go(func() {
			c, err := b.db.Conn(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			conns <- c.Close
		})
	}
	wg.Wait()
	close(conns)
	for release := range conns {
		release()
	}
	return errors.Join(errs...)
}
