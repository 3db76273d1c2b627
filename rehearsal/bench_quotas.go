package rehearsal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/db"
)

// addQuotas gives each hot section the rush's seat quotas (Rush.Quotas, written as the
// section form and the catalog CSV write them), as staff would: the quotas, then the
// section's reserve. The app starts after, so its catalog has them.
func (b *bench) addQuotas(ctx context.Context, hot []benchSection) error {
	qs, code, args := catalogcsv.ParseQuotas(b.cfg.Rush.Quotas, b.cfg.Rush.Capacity)
	if code != "" {
		return fmt.Errorf("rush quotas %q: %s %v", b.cfg.Rush.Quotas, code, args)
	}
	for _, h := range hot {
		for _, q := range qs {
			p := db.InsertSectionQuotaParams{SectionID: h.id, Capacity: int32(q.Seats)}
			p.ClassYear = sql.NullInt16{Int16: int16(q.ClassYear), Valid: q.ClassYear != 0}
			if q.Department != "" {
				d, err := b.q.DepartmentByCode(ctx, q.Department)
				if errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("rush quotas: the seed has no department %s", q.Department)
				}
				if err != nil {
					return err
				}
				p.DepartmentID = sql.NullInt64{Int64: d.ID, Valid: true}
			}
			if err := b.q.InsertSectionQuota(ctx, p); err != nil {
				return fmt.Errorf("quota %s of hot section %d: %w", q, h.id, err)
			}
		}
		if err := b.q.SetSectionReserve(ctx, db.SetSectionReserveParams{ID: h.id}); err != nil {
			return err
		}
	}
	return b.q.BumpCatalogVersion(ctx)
}

// checkQuotas adds to the check what quotas must hold on the hot sections: each quota's
// counter equals its enrollment rows and stays within its seats; the open seats taken
// stay within the seats the quotas leave; and nobody was told full while a seat they may
// use (an open one, or one of a quota that fits them) was still free at the end: seats
// only go during a rush, so that seat was free at every answer.
func (b *bench) checkQuotas(ctx context.Context, rush *rushRun, c *BenchCheck) error {
	ids := make([]int64, len(b.data.hot))
	for i, h := range b.data.hot {
		ids[i] = h.id
	}
	quotas, err := b.q.RehearsalQuotaState(ctx, ids)
	if err != nil {
		return fmt.Errorf("quotas of the hot sections: %w", err)
	}
	free := map[int64][]db.RehearsalQuotaStateRow{}
	for _, q := range quotas {
		c.QuotaSeats += int(q.Capacity)
		c.QuotaTaken += int(q.Enrolled)
		if int64(q.Enrolled) != q.Used || q.Enrolled > q.Capacity || q.Enrolled < 0 {
			c.QuotaBroken = append(c.QuotaBroken, fmt.Sprintf("quota %d of section %d: %d of %d seats, %d enrollment rows",
				q.ID, q.SectionID, q.Enrolled, q.Capacity, q.Used))
		}
		if q.Enrolled < q.Capacity {
			free[q.SectionID] = append(free[q.SectionID], q)
		}
	}
	open, err := b.q.RehearsalOpenSeats(ctx, ids)
	if err != nil {
		return fmt.Errorf("open seats of the hot sections: %w", err)
	}
	openFree := map[int64]bool{}
	for _, s := range open {
		if s.OpenTaken+int64(s.Held) > int64(s.Capacity)-s.QuotaSeats {
			c.QuotaBroken = append(c.QuotaBroken, fmt.Sprintf("section %d: %d open seats taken and %d held, the quotas leave %d",
				s.ID, s.OpenTaken, s.Held, int64(s.Capacity)-s.QuotaSeats))
		}
		openFree[s.ID] = s.Enrolled+s.Held+s.Reserved < s.Capacity
	}
	users := make([]int64, len(b.data.rush))
	for i, name := range b.data.rush {
		users[i] = b.data.ids[name]
	}
	who, err := b.q.RehearsalWho(ctx, users)
	if err != nil {
		return fmt.Errorf("the rush's students: %w", err)
	}
	byID := make(map[int64]db.RehearsalWhoRow, len(who))
	for _, w := range who {
		byID[w.ID] = w
	}
	told := map[int64]bool{}
	for _, cl := range rush.clicks {
		if cl.replies[0].result != "full" && cl.replies[1].result != "full" {
			continue
		}
		st := byID[users[cl.who]]
		usable := openFree[cl.section]
		for _, q := range free[cl.section] {
			if (!q.ClassYear.Valid || q.ClassYear == st.ClassYear) && (!q.DepartmentID.Valid || q.DepartmentID == st.DepartmentID) {
				usable = true
			}
		}
		if usable && !told[cl.section] {
			told[cl.section] = true
			c.FullWithSeatFree = append(c.FullWithSeatFree, fmt.Sprintf("section %d: student %d told full, a seat they may use free at the end", cl.section, st.ID))
		}
	}
	return nil
}
