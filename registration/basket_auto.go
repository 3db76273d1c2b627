package registration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/schoolservice/school/db"
)

// The basket auto-enrolment (장바구니 자동신청): when the basket phase has closed, every
// section whose basket demand fits its free seats is given to every student who has it in
// their basket; the sections over demand are left for the registration morning.
//
// Each seat is taken by the students' own registration transaction (transact, enroll):
// the student's lock, then one section per course, prerequisites, time conflicts, the
// credit limit and the conditional seat UPDATE, all as a click would. Only the window
// rule differs, since no window is open between the phases: the student's class year
// must be one a registration-phase window of the term is for (yearMayRegister).
//
// A student's fitted sections are taken in their basket order (when each was added, then
// section id): the first wins, and a later one that clashes with it in time, or would
// pass the credit limit with it, or is another section of its course, is refused with
// that rule's reason, and stays in the basket for the morning. An enrolled section
// leaves the basket, as after "register all".
//
// Running it again enrolls nobody new: the enrolled baskets are gone, and the refused
// ones are refused again by the same rules. Each run writes one audit row with its
// counts, the runs that changed nothing included.

// ErrBasketOpen: a basket window of the term is still open.
type ErrBasketOpen struct{ Closes time.Time }

func (e *ErrBasketOpen) Error() string {
	return fmt.Sprintf("the basket phase is open until %s", e.Closes.Format(time.RFC3339))
}

// ErrNoBasketPhase: no basket window of the term has closed yet.
var ErrNoBasketPhase = errors.New("no basket window of the term has closed")

// SectionDemand is a section's basket demand against its seats, read live.
type SectionDemand struct {
	SectionID                int64
	Capacity, Enrolled, Held int
	// Reserved is the seats the section's quotas still keep (0 once they are released).
	Reserved     int
	Demand       int // baskets of students not holding the section yet
	Label, Title string
}

// Free is the open seats nobody holds: capacity − enrolled − held − reserved. A seat held
// for the waitlist belongs to the students waiting, and a seat a quota keeps belongs to
// the students it is for, on the morning: the auto-enrolment gives open seats only, so a
// quota's students are not outrun by baskets that fill the quota before they can click.
func (d SectionDemand) Free() int { return max(0, d.Capacity-d.Enrolled-d.Held-d.Reserved) }

// Fits is the auto-enrolment's one decision: whether every basket of the section can have
// an open seat (Free: quota seats are left to the morning).
func Fits(d SectionDemand) bool { return d.Demand > 0 && d.Demand <= d.Free() }

// AutoSection is one section's line of the report.
type AutoSection struct {
	SectionDemand
	Fits bool
	// Newly enrolled by this run, and refused by reason.
	Enrolled int
	Refused  map[Result]int
}

// AutoReport is what one run did.
type AutoReport struct {
	TermID   int64
	Sections []AutoSection // fitted first, then over demand; each in course order
	Fitted   int
	Over     int
	// Students given at least one seat, and the seats given.
	Students    int
	Enrollments int
	Refusals    map[Result]int
}

// autoRecord is the run as its audit row keeps it.
type autoRecord struct {
	SectionsFitted   int            `json:"sections_fitted"`
	SectionsOver     int            `json:"sections_over"`
	StudentsEnrolled int            `json:"students_enrolled"`
	Enrollments      int            `json:"enrollments"`
	Refusals         map[Result]int `json:"refusals"`
	// Stopped is why a run ended before every basket was tried (a database failure, a
	// shutdown); a run again finishes it.
	Stopped string `json:"stopped,omitempty"`
}

// BasketPlan reads the term's basket demand and decides which sections fit, without
// changing anything: the staff page shows it before the run.
func (s *Service) BasketPlan(ctx context.Context, termID int64) ([]AutoSection, error) {
	cat, err := s.FreshCatalog(ctx)
	if err != nil {
		return nil, err
	}
	return s.plan(ctx, cat, termID)
}

func (s *Service) plan(ctx context.Context, cat *Catalog, termID int64) ([]AutoSection, error) {
	rows, err := db.New(s.db).BasketDemand(ctx, termID)
	if err != nil {
		return nil, fmt.Errorf("basket demand of term %d: %w", termID, err)
	}
	out := make([]AutoSection, 0, len(rows))
	for _, r := range rows {
		d := SectionDemand{SectionID: r.ID, Capacity: int(r.Capacity), Enrolled: int(r.Enrolled), Held: int(r.Held),
			Reserved: int(r.Reserved), Demand: int(r.Demand)}
		if sec := cat.sections[r.ID]; sec != nil {
			d.Label, d.Title = sec.Label(), sec.Title
		}
		out = append(out, AutoSection{SectionDemand: d, Fits: Fits(d), Refused: map[Result]int{}})
	}
	slices.SortStableFunc(out, func(a, b AutoSection) int {
		if a.Fits != b.Fits {
			if a.Fits {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Label, b.Label)
	})
	return out, nil
}

// basketPhaseOver refuses a run while a basket window of the term is open, or before any
// has closed.
func (c *Catalog) basketPhaseOver(termID int64, now time.Time) error {
	closed := false
	for _, w := range c.phases {
		if w.termID != termID || w.phase != db.RegistrationWindowsPhaseBasket {
			continue
		}
		if !now.Before(w.opens) && now.Before(w.closes) {
			return &ErrBasketOpen{Closes: w.closes}
		}
		closed = closed || !now.Before(w.closes)
	}
	if !closed {
		return ErrNoBasketPhase
	}
	return nil
}

// AutoEnroll runs the basket auto-enrolment of the term (see the top of this file) and
// records it in one audit row. It stops between two students' seats when ctx ends; what
// it did by then is kept and a run again finishes it.
func (s *Service) AutoEnroll(ctx context.Context, by db.Actor, termID int64) (AutoReport, error) {
	rep := AutoReport{TermID: termID, Refusals: map[Result]int{}}
	cat, err := s.FreshCatalog(ctx)
	if err != nil {
		return rep, err
	}
	if err := cat.basketPhaseOver(termID, s.now().UTC()); err != nil {
		return rep, err
	}
	if rep.Sections, err = s.plan(ctx, cat, termID); err != nil {
		return rep, err
	}
	line := map[int64]*AutoSection{}
	for i := range rep.Sections {
		if sec := &rep.Sections[i]; sec.Fits {
			line[sec.SectionID] = sec
			rep.Fitted++
		} else {
			rep.Over++
		}
	}
	baskets, err := db.New(s.db).TermBaskets(ctx, termID)
	if err != nil {
		return rep, fmt.Errorf("baskets of term %d: %w", termID, err)
	}
	enrolled := map[int64]bool{}
	var stopped error // what ended the run early; the seats given so far are audited anyway
	for _, b := range baskets {
		sec := line[b.SectionID]
		if sec == nil {
			continue
		}
		if stopped = ctx.Err(); stopped != nil {
			break
		}
		out, already, err := s.enrollFromBasket(ctx, cat, b.UserID, b.SectionID)
		if errors.Is(err, ErrNotStudent) {
			// An account that is no longer a student's: refused, and the run goes on.
			out, err = Outcome{Result: Invalid}, nil
		}
		if err != nil {
			stopped = fmt.Errorf("auto-enroll student %d in section %d: %w", b.UserID, b.SectionID, err)
			break
		}
		switch {
		case already:
			// Registered meanwhile (a run at the same time, or a click): nothing new.
		case out.Result == Enrolled:
			sec.Enrolled++
			rep.Enrollments++
			enrolled[b.UserID] = true
		default:
			sec.Refused[out.Result]++
			rep.Refusals[out.Result]++
		}
	}
	rep.Students = len(enrolled)
	record := autoRecord{SectionsFitted: rep.Fitted, SectionsOver: rep.Over, StudentsEnrolled: rep.Students,
		Enrollments: rep.Enrollments, Refusals: rep.Refusals}
	if stopped != nil {
		record.Stopped = stopped.Error()
	}
	err = db.Audited(context.WithoutCancel(ctx), s.db, by, func(q *db.Queries) (db.Change, error) {
		return db.Change{Action: "basket.auto_enroll", Entity: "term", EntityID: termID, After: record}, nil
	})
	if err != nil {
		return rep, errors.Join(stopped, fmt.Errorf("audit the basket auto-enrolment: %w", err))
	}
	return rep, stopped
}

// RefusalReasons lists the report's refusal reasons in a stable order.
func RefusalReasons(m map[Result]int) []Result {
	return slices.Sorted(maps.Keys(m))
}

// enrollFromBasket takes a seat for the student in the section through the registration
// transaction; already reports that the student held it before this transaction.
func (s *Service) enrollFromBasket(ctx context.Context, cat *Catalog, studentID, sectionID int64) (out Outcome, already bool, err error) {
	sec := cat.sections[sectionID]
	if sec == nil {
		return Outcome{Result: NotFound, Section: Section{ID: sectionID}, SeatsLeft: -1}, false, nil
	}
	req := &request{Request: Request{StudentID: studentID, SectionID: sectionID}, kind: db.RegistrationRequestsActionRegister,
		cat: cat, sec: sec, source: db.EnrollmentsSourceBasket}
	base := Outcome{Section: sec.Section, Meetings: sec.meetings, SeatsLeft: -1}
	out, err = s.transact(ctx, req, base, func(ctx context.Context, q *db.Queries, req *request, out *Outcome) error {
		already = false
		for _, h := range req.rec.held {
			if h.ID == req.sec.ID {
				already, out.Result = true, Enrolled
				return nil
			}
		}
		if !req.cat.yearMayRegister(req.sec.termID, int(req.st.ClassYear.Int16)) {
			out.Result = WindowClosed
			return nil
		}
		if err := s.enroll(ctx, q, req, out); err != nil || out.Result != Enrolled {
			return err
		}
		if _, err := q.RemoveFromBasket(ctx, db.RemoveFromBasketParams{UserID: req.st.ID, SectionID: req.sec.ID}); err != nil {
			return fmt.Errorf("remove from basket: %w", err)
		}
		return nil
	})
	return out, already, err
}
