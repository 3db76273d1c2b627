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
)

type registrationRun struct {
	bare, http, floor *Phase
	students          []*student // what each was told (bare: committed), for the check
	badAnswers        int
}

// registrations runs the bare transaction, HTTP registration and the floor's (bench_floor.go)
// in turns (bare, http, floor; http, floor, bare; …) so a change in the machine's other
// load weighs on all alike. Every registration is for a section with room that the
// student may take: every answer must be enrolled.
func (b *bench) registrations(ctx context.Context, floor *floorServer) (*registrationRun, error) {
	cfg := b.cfg
	sessions, err := b.signInAll(ctx, b.data.http)
	if err != nil {
		return nil, err
	}
	floorSessions, err := b.signInAll(ctx, b.data.floor)
	if err != nil {
		return nil, err
	}
	users := make(map[string]int64, len(floorSessions))
	for i, token := range floorSessions {
		users[token] = b.data.ids[b.data.floor[i]]
	}
	floor.users.Store(&users)
	if err := b.warm(ctx, sessions, cfg.Clients); err != nil {
		return nil, err
	}
	if err := b.warmDB(ctx); err != nil {
		return nil, err
	}
	run := &registrationRun{bare: newPhase("bare", cfg.Clients), http: newPhase("http", cfg.Clients),
		floor: newPhase("http_floor", cfg.Clients)}
	students := func(names []string) []*student {
		out := make([]*student, len(names))
		for i, name := range names {
			out[i] = &student{username: name}
		}
		return out
	}
	httpStudents, floorStudents, bareStudents := students(b.data.http), students(b.data.floor), students(b.data.bare)
	for round := range cfg.Rounds {
		phases := []func(){
			func() { b.bareRound(ctx, run, bareStudents, round) },
			func() { run.badAnswers += b.httpRound(ctx, b.web, run.http, httpStudents, sessions, round) },
			func() { b.httpRound(ctx, floor.client, run.floor, floorStudents, floorSessions, round) },
		}
		for k := range phases {
			phases[(round+k)%len(phases)]()
		}
	}
	run.students = append(append(httpStudents, bareStudents...), floorStudents...)
	return run, nil
}

func roundOf(n, rounds, round int) (from, to int) {
	return n * round / rounds, n * (round + 1) / rounds
}

var enrolledOnly = map[string]int{"enrolled": http.StatusOK}

// httpRound sends its share of POST /registrations to c (the app, or the floor), each
// with a fresh request_key as the page's button carries, and returns how many of the
// app's answers do not show their section's row (the floor answers with the result alone).
func (b *bench) httpRound(ctx context.Context, c *benchClient, ph *Phase, students []*student, sessions []string, round int) (badAnswers int) {
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
			replies[i-from] = c.send(ctx, http.MethodPost, "/registrations", form, sessions[who], true)
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
			if c == b.web && !answerShows(r.body, sections[i], r.result) {
				badAnswers++
			}
		}
	}
	ph.add(elapsed, cpu, outs)
	return badAnswers
}

// bareRound runs its share of bare registration transactions (bareRegister), on a pool
// configured as the app's (db.Open): no rules, no request key, no HTTP.
func (b *bench) bareRound(ctx context.Context, run *registrationRun, students []*student, round int) {
	from, to := roundOf(b.cfg.Bare, b.cfg.Rounds, round)
	outs := make([]outcome, to-from)
	elapsed, cpu := b.timed(func() {
		work(b.cfg.Clients, from, to, func(i int) {
			who, s := spread(i, len(students), barePerStudent)
			uid, sec := b.data.ids[students[who].username], b.data.room[s]
			start := time.Now()
			result, err := bareRegister(ctx, b.db, uid, sec, b.data.term)
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
