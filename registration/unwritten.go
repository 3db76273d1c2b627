package registration

import (
	"sync"
	"time"

	"github.com/schoolservice/school/db"
)

// unwritten remembers, by student and request key, the answers this replica gave from
// RegistrationGlance alone (full, window_closed, …): they write nothing, not even the
// key, because a write is a commit, and the point of answering from a read is that the
// rush's thousands of `full` answers cost no commit. So the same key gets the same answer
// again on this replica; on another replica it is answered afresh, which differs from the
// first answer only when something changed in the student's favour meanwhile (a seat
// freed, a window opened). An answer that changed something is always recorded in
// registration_requests, in its transaction, and every replica replays it.
//
// Two generations bound the memory: when the newer one has been filled for
// unwrittenKeep or holds unwrittenMax keys, the older is dropped.
type unwritten struct {
	mu        sync.Mutex
	cur, prev map[unwrittenKey]unwrittenAnswer
	since     time.Time
}

const (
	unwrittenKeep = 10 * time.Minute
	unwrittenMax  = 200_000
)

type unwrittenKey struct {
	student int64
	key     string
}

type unwrittenAnswer struct {
	action  db.RegistrationRequestsAction
	section int64
	result  Result
}

func (u *unwritten) remember(student int64, key string, a unwrittenAnswer, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.cur == nil || now.Sub(u.since) > unwrittenKeep || len(u.cur) >= unwrittenMax {
		u.prev, u.cur, u.since = u.cur, map[unwrittenKey]unwrittenAnswer{}, now
	}
	k := unwrittenKey{student, key}
	if _, ok := u.prev[k]; ok {
		return // the first answer stands
	}
	if _, ok := u.cur[k]; !ok {
		u.cur[k] = a
	}
}

func (u *unwritten) recall(student int64, key string) (unwrittenAnswer, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	k := unwrittenKey{student, key}
	if a, ok := u.cur[k]; ok {
		return a, true
	}
	a, ok := u.prev[k]
	return a, ok
}
