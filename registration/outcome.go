// Package registration holds the registration rules and the transactions that apply them:
// register, drop, join and leave a waitlist, and hand freed seats to the waitlist. Every
// change is one MySQL transaction that locks the student's row first and the section's
// second, so a seat is never oversold and one student's requests never race each other.
// The rules are checked in Go against a catalog each replica keeps in memory (Catalog);
// what the first plain read of a request can decide, a full section above all, is
// answered from it without a lock or a write.
package registration

// Result is the answer to a registration request; its string is the HTTP contract's
// X-Registration-Result value.
type Result string

const (
	Enrolled     Result = "enrolled"
	Waitlisted   Result = "waitlisted"
	Dropped      Result = "dropped"
	LeftWaitlist Result = "left_waitlist"
	Full         Result = "full"
	Duplicate    Result = "duplicate"
	TimeConflict Result = "time_conflict"
	CreditLimit  Result = "credit_limit"
	Prerequisite Result = "prerequisite"
	WindowClosed Result = "window_closed"
	NotFound     Result = "not_found"
	Invalid      Result = "invalid"
	// The app turns these away before any registration work: a request without an
	// admission while the waiting room is open, and one faster than anyone clicks.
	Queued      Result = "queued"
	RateLimited Result = "rate_limited"
)

// Refused reports whether r is a rule's refusal rather than a change made.
func (r Result) Refused() bool {
	switch r {
	case Enrolled, Waitlisted, Dropped, LeftWaitlist:
		return false
	}
	return true
}

// Outcome is a Result with what the student needs to understand it.
type Outcome struct {
	Result  Result
	Section Section
	// Other is the section that stands in the way: the one already taken in the course
	// (Duplicate) or the one meeting at the same time (TimeConflict), as "CS101-01".
	Other string
	// Missing lists prerequisite course codes not completed.
	Missing []string
	// Credits enrolled (counting this section when the request enrolled it, not when it
	// dropped it), and the student's limit; known only when CreditsKnown.
	CreditsUsed, CreditLimit int
	CreditsKnown             bool
	// Position on the waitlist, 1 for first.
	Position int
	// NotInTerm: the section exists but belongs to another term.
	NotInTerm bool
	// SeatsLeft after the request as the request read them; -1 when not known.
	SeatsLeft int
	// Replayed: a request with this key was answered before; this is that answer.
	Replayed bool
	// Meetings of the section, from the catalog.
	Meetings []Meeting
	// Found is where the student stood with the section when the request read it, before
	// it changed anything: for a replayed answer, where they stand now.
	Found Standing
}

// Standing is where a student stands with a section.
type Standing struct {
	Registered bool
	Position   int // on the waitlist, 1 for first; 0 when not waiting
	InBasket   bool
}

// Section is the section a request was about, from the catalog and with the capacity the
// request read: enough to show its row without asking the database again.
type Section struct {
	ID         int64
	CourseCode string
	Number     string
	Credits    int
	Title      string
	Department string
	Instructor string
	Room       string
	Capacity   int
	// TitleKo is the Korean title (Title the English one); CourseType is 이수구분
	// (catalogcsv.CourseTypes or ""), ClassYear the year the course is meant for (0: any),
	// OpenToOthers whether students of other departments may take it.
	TitleKo      string
	CourseType   string
	ClassYear    int
	OpenToOthers bool
}

// Label names the section as students and staff write it: "CS101-01".
func (s Section) Label() string { return SectionLabel(s.CourseCode, s.Number) }

// SectionLabel is Section.Label for code that holds a course code and a section number
// but no Section (a query row, a form): the one place the name is spelled.
func SectionLabel(courseCode, number string) string { return courseCode + "-" + number }

// Request is one student's request about one section. Key, when set, makes the request
// idempotent: the same key gets the first answer again.
type Request struct {
	StudentID int64
	SectionID int64
	Key       string
}
