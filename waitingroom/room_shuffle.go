package waitingroom

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/schoolservice/school/db"
)

// ErrNoRoom means the window has no waiting room (never enabled).
var ErrNoRoom = errors.New("waiting room: none for this window")

// Shuffle returns the window's commitment and, once the pre-queue is shuffled, the
// reveal: the seed and every shuffled ticket in order. A reveal never changes, so each
// replica reads it once.
func (r *Room) Shuffle(ctx context.Context, windowID int64) (Shuffle, error) {
	s, _, ok := r.revealed(windowID)
	if ok {
		return s, nil
	}
	st, err := r.q.RoomShuffle(ctx, windowID)
	if errors.Is(err, sql.ErrNoRows) {
		return Shuffle{}, ErrNoRoom
	}
	if err != nil {
		return Shuffle{}, fmt.Errorf("shuffle of window %d: %w", windowID, err)
	}
	s = Shuffle{Commitment: st.ShuffleCommitment}
	if !st.ShuffledAt.Valid || !st.ShuffleSeed.Valid {
		return s, nil
	}
	// The list is read and checked by one request at a time: at the opening every student
	// who looks would otherwise read and hash the whole pre-queue at once.
	if err := r.shuffleLoad.Lock(ctx); err != nil {
		return Shuffle{}, err
	}
	defer r.shuffleLoad.Unlock()
	if s, _, ok := r.revealed(windowID); ok {
		return s, nil
	}
	s.Seed = st.ShuffleSeed.String
	rows, err := r.q.ShuffledTickets(ctx, windowID)
	if err != nil {
		return Shuffle{}, fmt.Errorf("shuffled places of window %d: %w", windowID, err)
	}
	s.Order = make([]int64, len(rows))
	for i, t := range rows {
		s.Order[i] = t.ID
	}
	// Checked once: a reveal never changes, and students reload.
	v := verified{Shuffle: s, rank: make(map[int64]int, len(s.Order))}
	if err := s.Verify(); err != nil {
		v.problem = err.Error()
	}
	for i, id := range ShuffleOrder(s.Seed, s.Order) {
		v.rank[id] = i + 1
	}
	r.shuffleMu.Lock()
	r.shuffles[windowID] = v
	r.shuffleMu.Unlock()
	return s, nil
}

// verified is a reveal with its check done.
type verified struct {
	Shuffle
	problem string        // why Verify failed; "" when it passed
	rank    map[int64]int // each ticket's place recomputed from the seed
}

func (r *Room) revealed(windowID int64) (Shuffle, verified, bool) {
	r.shuffleMu.Lock()
	defer r.shuffleMu.Unlock()
	v, ok := r.shuffles[windowID]
	return v.Shuffle, v, ok
}

// ShufflePlace is a student's own place in a window's shuffle, checked.
type ShufflePlace struct {
	Shuffle
	Ticket     int64 // the student's ticket id; 0 without a place
	Position   int   // their place in the shuffle as stored; 0 when not in the pre-queue shuffle
	Recomputed int   // their place recomputed from the seed and the list; 0 before the reveal
	Verified   bool  // the seed matches the commitment and the whole list is the seed's order
	Problem    string
}

// ShufflePlaceOf recomputes the shuffle and finds the student's place in it.
func (r *Room) ShufflePlaceOf(ctx context.Context, windowID, userID int64) (ShufflePlace, error) {
	s, err := r.Shuffle(ctx, windowID)
	if err != nil {
		return ShufflePlace{}, err
	}
	p := ShufflePlace{Shuffle: s}
	t, err := r.q.GetTicket(ctx, db.GetTicketParams{WindowID: windowID, UserID: userID})
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return ShufflePlace{}, fmt.Errorf("read place: %w", err)
	}
	if err == nil {
		p.Ticket, p.Position = t.ID, int(t.ShufflePosition.Int64)
	}
	if _, v, ok := r.revealed(windowID); ok {
		p.Problem, p.Verified, p.Recomputed = v.problem, v.problem == "", v.rank[p.Ticket]
	}
	return p, nil
}
