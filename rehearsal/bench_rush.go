package rehearsal

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/url"
	"strconv"
	"sync"
)

// rushClick is one double click: two requests for the same section, sent at once.
type rushClick struct {
	who     int // index into the rush's students
	section int64
	keys    [2]string
	replies [2]reply
}

type rushRun struct {
	phase    *Phase
	clicks   []rushClick
	students []*student // what each was told, for the check
	// Disagreed counts double clicks whose two answers differ; BadAnswers answers whose
	// fragment is not the section's row agreeing with the result header.
	disagreed, badAnswers int
}

// rushWant is what a rush request may be answered.
var rushWant = map[string]int{"enrolled": http.StatusOK, "full": http.StatusConflict}

// rush signs the students in, opens a connection for every request that will be in
// flight at once, then lets every student go at the same instant: each clicks its picks
// one after the other, each click sent twice at once, and waits for both answers before
// the next. Timed from the release to the last answer.
func (b *bench) rush(ctx context.Context) (*rushRun, error) {
	cfg := b.cfg.Rush
	sessions, err := b.signInAll(ctx, b.data.rush)
	if err != nil {
		return nil, err
	}
	if err := b.warm(ctx, sessions, 2*cfg.Students); err != nil {
		return nil, err
	}
	run := &rushRun{phase: newPhase("rush", 2*cfg.Students), clicks: make([]rushClick, 0, cfg.Students*cfg.Picks)}
	for who := range cfg.Students {
		for _, h := range b.rng.Perm(cfg.Sections)[:cfg.Picks] {
			c := rushClick{who: who, section: b.data.hot[h].id}
			switch cfg.Key {
			case KeySame:
				k := rand.Text()
				c.keys = [2]string{k, k}
			case KeyDistinct:
				c.keys = [2]string{rand.Text(), rand.Text()}
			}
			run.clicks = append(run.clicks, c)
		}
	}

	release := make(chan struct{})
	var wg sync.WaitGroup
	for who := range cfg.Students {
		clicks := run.clicks[who*cfg.Picks : (who+1)*cfg.Picks]
		wg.Go(func() {
			<-release
			for i := range clicks {
				c := &clicks[i]
				var pair sync.WaitGroup
				for k := range c.replies {
					pair.Go(func() {
						form := url.Values{"section_id": {strconv.FormatInt(c.section, 10)}}
						if c.keys[k] != "" {
							form.Set("request_key", c.keys[k])
						}
						c.replies[k] = b.web.send(ctx, http.MethodPost, "/registrations", form, sessions[who], true)
					})
				}
				pair.Wait()
			}
		})
	}
	elapsed, cpu := b.timed(func() {
		close(release)
		wg.Wait()
	})

	outs := make([]outcome, 0, 2*len(run.clicks))
	run.students = make([]*student, cfg.Students)
	for i, name := range b.data.rush {
		run.students[i] = &student{username: name}
	}
	for _, c := range run.clicks {
		s := run.students[c.who]
		for k, r := range c.replies {
			o := classify(r, rushWant)
			outs = append(outs, o)
			switch {
			case r.err == nil && r.result != "":
				s.answers = append(s.answers, answer{Section: c.section, Key: c.keys[k], Step: StepRegister, Result: r.result})
				if !answerShows(r.body, c.section, r.result) {
					run.badAnswers++
				}
			case c.keys[k] != "":
				// No answer: the check looks the key up; it may have acted, once.
				s.unanswered = append(s.unanswered, answer{Section: c.section, Key: c.keys[k], Step: StepRegister})
			}
		}
		if c.replies[0].result != c.replies[1].result {
			run.disagreed++
		}
	}
	run.phase.add(elapsed, cpu, outs)
	return run, nil
}
