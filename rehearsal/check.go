package rehearsal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/schoolservice/school/db"
)

// Check is the invariant check after a run, read straight from the tables.
type Check struct {
	// Violations of the rules, each described; empty when the database is sound.
	OverCapacity, CountMismatch, Duplicates, CreditLimit, TimeConflicts []string
	// Lost: an answer the tool got (enrolled, waitlisted) that the database does not hold.
	// Unexplained: a row of the run's students that no answer told them about.
	Lost, Unexplained []string

	Enrollments, WaitlistEntries int // rows of the run's students
	Answers                      int // registration answers the students got
	// Requests never answered (the tool gave up, or the run ended): each is looked up by
	// its key; it may have acted or not, but not twice and not silently.
	Unanswered, UnansweredActed int
	OtherStudents               int // enrollments of students not in the run (none on a fresh seed)
}

// OK reports whether every invariant holds.
func (c Check) OK() bool {
	return len(c.OverCapacity)+len(c.CountMismatch)+len(c.Duplicates)+len(c.CreditLimit)+
		len(c.TimeConflicts)+len(c.Lost)+len(c.Unexplained) == 0
}

type pair struct{ user, section int64 }

// waitForDB pings until MySQL answers (a drill may have just restarted it).
func waitForDB(ctx context.Context, sqldb *sql.DB) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := sqldb.PingContext(ctx)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (r *runner) check(ctx context.Context, cat catalog, students []*student, ids map[string]int64) (Check, error) {
	ctx = context.WithoutCancel(ctx) // an interrupted run is checked all the same
	if err := waitForDB(ctx, r.db); err != nil {
		return Check{}, err
	}
	return checkDB(ctx, r.q, cat.term, students, ids)
}

func checkDB(ctx context.Context, q *db.Queries, term int64, students []*student, ids map[string]int64) (Check, error) {
	var c Check
	over, err := q.RehearsalOverCapacity(ctx)
	if err != nil {
		return c, err
	}
	for _, s := range over {
		c.OverCapacity = append(c.OverCapacity, fmt.Sprintf("section %d: %d enrolled + %d held of %d seats", s.ID, s.Enrolled, s.Held, s.Capacity))
	}
	mism, err := q.RehearsalCountMismatch(ctx)
	if err != nil {
		return c, err
	}
	for _, s := range mism {
		c.CountMismatch = append(c.CountMismatch, fmt.Sprintf("section %d: enrolled says %d, %d enrollment rows", s.ID, s.Enrolled, s.EnrollmentRows))
	}
	dups, err := q.RehearsalDuplicateEnrollments(ctx)
	if err != nil {
		return c, err
	}
	for _, d := range dups {
		c.Duplicates = append(c.Duplicates, fmt.Sprintf("user %d holds %d sections of course %d", d.UserID, d.N, d.CourseID))
	}
	credits, err := q.RehearsalCreditViolations(ctx)
	if err != nil {
		return c, err
	}
	for _, v := range credits {
		c.CreditLimit = append(c.CreditLimit, fmt.Sprintf("user %d: %d credits, limit %d", v.UserID, v.Credits, v.CreditLimit))
	}
	clashes, err := q.RehearsalTimeConflicts(ctx)
	if err != nil {
		return c, err
	}
	for _, v := range clashes {
		c.TimeConflicts = append(c.TimeConflicts, fmt.Sprintf("user %d: sections %d and %d meet at the same time", v.UserID, v.SectionA, v.SectionB))
	}

	// What the students were told, against what the tables hold.
	inRun := map[int64]string{}
	enrolled, waitlisted := map[pair]bool{}, map[pair]bool{}
	for _, s := range students {
		uid := ids[s.username]
		inRun[uid] = s.username
		record := func(a answer) {
			switch a.Result {
			case "enrolled":
				enrolled[pair{uid, a.Section}] = true
			case "waitlisted":
				waitlisted[pair{uid, a.Section}] = true
			}
		}
		for _, a := range s.answers {
			c.Answers++
			record(a)
		}
		for _, a := range s.unanswered {
			c.Unanswered++
			prev, err := q.GetRequestResult(ctx, db.GetRequestResultParams{UserID: uid, RequestKey: a.Key})
			if errors.Is(err, sql.ErrNoRows) {
				continue // never acted: nothing may be in the tables for it
			}
			if err != nil {
				return c, fmt.Errorf("request %s of %s: %w", a.Key, s.username, err)
			}
			c.UnansweredActed++
			a.Result = prev.Result
			record(a)
		}
	}
	rows, err := q.RehearsalEnrollments(ctx, term)
	if err != nil {
		return c, err
	}
	held := map[pair]bool{}
	for _, e := range rows {
		name, ok := inRun[e.UserID]
		if !ok {
			c.OtherStudents++
			continue
		}
		p := pair{e.UserID, e.SectionID}
		held[p] = true
		c.Enrollments++
		// A seat handed on from the waitlist is explained by the waitlisted answer.
		if !enrolled[p] && !(e.Source == db.EnrollmentsSourceWaitlist && waitlisted[p]) {
			c.Unexplained = append(c.Unexplained, fmt.Sprintf("%s holds section %d (%s) without having been told", name, e.SectionID, e.Source))
		}
	}
	for p := range enrolled {
		if !held[p] {
			c.Lost = append(c.Lost, fmt.Sprintf("%s was told enrolled in section %d; the database has no such enrollment", inRun[p.user], p.section))
		}
	}
	wl, err := q.RehearsalWaitlist(ctx, term)
	if err != nil {
		return c, err
	}
	onList := map[pair]bool{}
	for _, w := range wl {
		name, ok := inRun[w.UserID]
		if !ok {
			continue
		}
		p := pair{w.UserID, w.SectionID}
		onList[p] = true
		c.WaitlistEntries++
		if !waitlisted[p] {
			c.Unexplained = append(c.Unexplained, fmt.Sprintf("%s is on the waitlist of section %d without having been told", name, w.SectionID))
		}
	}
	for p := range waitlisted {
		if !onList[p] {
			c.Lost = append(c.Lost, fmt.Sprintf("%s was told waitlisted for section %d; the database has no such entry", inRun[p.user], p.section))
		}
	}
	return c, nil
}
