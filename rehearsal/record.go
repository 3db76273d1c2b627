package rehearsal

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Step is one kind of thing a student does.
type Step string

const (
	StepLogin     Step = "login"
	StepQueue     Step = "queue"     // opening the waiting page (GET /queue)
	StepJoin      Step = "join"      // taking a place, as the page does when it loads (POST /queue)
	StepPoll      Step = "poll"      // one poll of the waiting page
	StepWait      Step = "wait"      // the whole wait, from joining to entering
	StepEnter     Step = "enter"     // trading the admitted place for a pass (POST /queue/enter)
	StepCatalog   Step = "catalog"   // the catalog page registration opens on
	StepRegister  Step = "register"  // one register click
	StepWaitlist  Step = "waitlist"  // one join-the-waitlist click
	StepTimetable Step = "timetable" // the timetable at the end
	StepDone      Step = "done"      // leaving the waiting room's slot
)

var steps = []Step{StepLogin, StepQueue, StepJoin, StepPoll, StepWait, StepEnter, StepCatalog, StepRegister, StepWaitlist, StepTimetable, StepDone}

// event is one answer (or failure) a student saw.
type event struct {
	At       time.Duration // since the start
	Step     Step
	Took     time.Duration
	Result   string // X-Registration-Result of an answer
	Error    string // kind of failure; "" for an answer
	Status   int
	Instance int
}

// recorder collects events from every student.
type recorder struct {
	start time.Time

	mu     sync.Mutex
	events []event

	// Live figures for the progress line.
	loggedIn, waiting, admitted, finished atomic.Int64
	enrolled, full, errors                atomic.Int64
}

func newRecorder(start time.Time) *recorder {
	return &recorder{start: start}
}

func (r *recorder) add(e event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	if e.Error != "" {
		r.errors.Add(1)
	}
	switch e.Result {
	case "enrolled":
		r.enrolled.Add(1)
	case "full":
		r.full.Add(1)
	}
}

func (r *recorder) snapshot() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

// Latency is the spread of one step's answers.
type Latency struct {
	Step               Step
	Count              int
	P50, P90, P99, Max time.Duration
}

func latency(step Step, d []time.Duration) Latency {
	l := Latency{Step: step, Count: len(d)}
	if len(d) == 0 {
		return l
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[min(len(d)-1, int(p*float64(len(d))))] }
	l.P50, l.P90, l.P99, l.Max = q(0.50), q(0.90), q(0.99), d[len(d)-1]
	return l
}
