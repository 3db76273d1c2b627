package registration

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/schoolservice/school/db"
)

// Basket demand (장바구니 담은 인원): how many students hold each section in their basket,
// aggregate only, never who; with the capacity it makes the competition ratio (경쟁률).
//
// The counts are a per-replica copy refreshed every few seconds (WatchBasketCounts), not
// a counter column kept with the basket writes: a column on sections would put every
// basket add and remove (and the removal after each "register all") on the row every
// registration locks to take a seat, on the hottest sections on registration morning;
// and a copy recounted from basket_items cannot drift, whatever deletes basket rows
// (a section or account deleted, a registration, the auto-enrolment). Its cost is one
// grouped read of the current term's baskets per replica per interval, whatever the page
// views; its price is that a count shown is up to one interval old.

// phaseWindow is a registration window of any phase, with its basket-count setting.
type phaseWindow struct {
	window
	phase      db.RegistrationWindowsPhase
	showCounts bool
}

func loadPhases(ctx context.Context, q *db.Queries) ([]phaseWindow, error) {
	rows, err := q.CatalogDemandWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog windows with their phases: %w", err)
	}
	out := make([]phaseWindow, len(rows))
	for i, w := range rows {
		out[i] = phaseWindow{window: window{termID: w.TermID, classYear: int(w.ClassYear.Int16), opens: w.OpensAt, closes: w.ClosesAt},
			phase: w.Phase, showCounts: w.ShowBasketCounts}
	}
	return out, nil
}

// BasketCountsShown reports whether a student of the class year sees the basket counts of
// the term's sections now: the setting of the latest window for them that has opened (open
// now, or closed since: the night between the basket phase and the registration morning
// keeps the basket window's choice). Before any window opens they are hidden; among
// windows opened at the same moment, one that shows them is enough.
func (c *Catalog) BasketCountsShown(termID int64, classYear int, now time.Time) bool {
	var latest time.Time
	shown := false
	for _, w := range c.phases {
		if w.termID != termID || !w.admits(classYear) || now.Before(w.opens) {
			continue
		}
		switch {
		case w.opens.After(latest):
			latest, shown = w.opens, w.showCounts
		case w.opens.Equal(latest):
			shown = shown || w.showCounts
		}
	}
	return shown
}

// TermOf is the term of the section, 0 when the catalog has no such section.
func (c *Catalog) TermOf(sectionID int64) int64 {
	if s := c.sections[sectionID]; s != nil {
		return s.termID
	}
	return 0
}

// yearMayRegister is the class-year rule as the auto-enrolment applies it, when no
// window is open: a registration-phase window of the term is for the student's year.
func (c *Catalog) yearMayRegister(termID int64, classYear int) bool {
	for _, w := range c.phases {
		if w.termID == termID && w.phase == db.RegistrationWindowsPhaseRegistration && w.admits(classYear) {
			return true
		}
	}
	return false
}

// basketCounts is a replica's copy of the current term's basket counts.
type basketCounts struct {
	cur atomic.Pointer[map[int64]int]
}

// BasketCount is how many baskets held the section at the last refresh (0 for a section
// in none, or before the first refresh).
func (s *Service) BasketCount(sectionID int64) int {
	if m := s.baskets.cur.Load(); m != nil {
		return (*m)[sectionID]
	}
	return 0
}

// RefreshBasketCounts recounts the current term's baskets into this replica's copy.
func (s *Service) RefreshBasketCounts(ctx context.Context) error {
	rows, err := s.reads.BasketCounts(ctx)
	if err != nil {
		return fmt.Errorf("basket counts: %w", err)
	}
	m := make(map[int64]int, len(rows))
	for _, r := range rows {
		m[r.SectionID] = int(r.Baskets)
	}
	s.baskets.cur.Store(&m)
	return nil
}

// WatchBasketCounts refreshes the basket counts every interval until ctx ends.
func (s *Service) WatchBasketCounts(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.RefreshBasketCounts(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "refresh the basket counts", "error", err)
		}
	}
}
