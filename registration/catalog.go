package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/internal/ctxsync"
)

// Catalog is what registration checks its rules against that only staff change: which
// terms are current, the registration windows, and every section's course, number,
// credits, title, department, instructor, room, meeting times, prerequisites and seat
// quotas (who they are for, how many, when they end). Each
// replica keeps one in memory, so a request does not derive these again in SQL. Seats
// (capacity, enrolled, held, the quotas' counters), enrollments, waitlists and completed courses are never in
// it: a request reads them live.
//
// Staleness: every writer of those tables bumps catalog_version in its own transaction.
// A request reads the version in its first statement (RegistrationGlance, or for a
// registration that skips it the student's lock: direct.go) and checks its rules against
// a catalog at least that new, loading one first when this replica's is
// older; so the rules see every catalog change committed before the request began. Each
// replica also polls the version every second (WatchCatalog), which loads the change in
// the background before requests ask for it, and notices a version that went back (a
// restored database).
type Catalog struct {
	version  int64
	sections map[int64]*catalogSection
	prereqs  map[int64][]prerequisite // by course, in code order
	windows  []window
	// phases are every window, basket ones too, with their basket-count setting (demand.go).
	phases []phaseWindow
	// term is the current term (none: hasTerm false), departments every department by
	// code: what the catalog page shows around its sections, from the same copy.
	term        db.Term
	hasTerm     bool
	departments []db.Department

	sortOnce sync.Once
	sorted   []*catalogSection // ordered()
}

// catalogSection is a section as the catalog knows it; Section.Capacity stays zero,
// because seats are read live.
type catalogSection struct {
	Section
	courseID, termID int64
	current          bool // its term is the current one
	meetings         []Meeting
	folded           string // course code, title and instructor in lower case, for Search

	quotas  []quota   // in the order a seat is chosen (quota.go)
	release time.Time // when the quotas end; zero: never
}

type prerequisite struct {
	courseID int64
	code     string
}

// window is a registration or add/drop window; classYear 0 means every year.
type window struct {
	termID        int64
	classYear     int
	opens, closes time.Time
}

// Meeting is one weekly class meeting; times are minutes after midnight.
type Meeting struct {
	Weekday     int
	StartMinute int
	EndMinute   int
}

// Overlaps reports whether two meetings share a minute; back to back is no conflict.
func (m Meeting) Overlaps(o Meeting) bool {
	return m.Weekday == o.Weekday && m.StartMinute < o.EndMinute && o.StartMinute < m.EndMinute
}

// Version is the catalog_version the catalog was loaded at.
func (c *Catalog) Version() int64 { return c.version }

// windowOpen reports whether a window of the term lets a student of the class year (0
// when the account has none) register, drop and wait now. opens is inclusive, closes
// exclusive.
func (c *Catalog) windowOpen(termID int64, classYear int, now time.Time) bool {
	for _, w := range c.windows {
		if w.termID == termID && w.admits(classYear) && !now.Before(w.opens) && now.Before(w.closes) {
			return true
		}
	}
	return false
}

// conflict is the first held section that meets at the same time as sec, or nil.
func conflict(held []*catalogSection, sec *catalogSection) *catalogSection {
	for _, h := range held {
		for _, a := range h.meetings {
			for _, b := range sec.meetings {
				if a.Overlaps(b) {
					return h
				}
			}
		}
	}
	return nil
}

// loadCatalog reads the catalog in one read-only transaction, so the version and the
// rows belong to one moment: writers bump the version in the transaction of their change.
func loadCatalog(ctx context.Context, sqldb *sql.DB) (*Catalog, error) {
	tx, err := sqldb.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load the catalog: %w", err)
	}
	defer tx.Rollback()
	q := db.New(tx)
	c := &Catalog{sections: map[int64]*catalogSection{}, prereqs: map[int64][]prerequisite{}}
	if c.version, err = q.CatalogVersion(ctx); err != nil {
		return nil, fmt.Errorf("catalog version: %w", err)
	}
	secs, err := q.CatalogSections(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog sections: %w", err)
	}
	for _, s := range secs {
		c.sections[s.ID] = &catalogSection{
			Section: Section{ID: s.ID, CourseCode: s.CourseCode, Number: s.Number, Credits: int(s.Credits), Title: s.Title,
				Department: s.DepartmentCode, Instructor: s.Instructor, Room: s.Room,
				TitleKo: s.TitleKo, CourseType: s.CourseType, ClassYear: int(s.ClassYear), OpenToOthers: s.OpenToOthers},
			courseID: s.CourseID, termID: s.TermID, current: s.IsCurrent,
			folded:  strings.ToLower(s.CourseCode + "\x00" + s.Title + "\x00" + s.TitleKo + "\x00" + s.Instructor),
			release: s.QuotaReleaseAt.Time,
		}
	}
	qs, err := q.CatalogQuotas(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog quotas: %w", err)
	}
	for _, r := range qs {
		if s := c.sections[r.SectionID]; s != nil {
			s.quotas = append(s.quotas, quota{id: r.ID, classYear: int(r.ClassYear.Int16), deptID: r.DepartmentID.Int64,
				dept: r.DepartmentCode, capacity: int(r.Capacity)})
		}
	}
	ms, err := q.CatalogMeetings(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog meetings: %w", err)
	}
	for _, m := range ms {
		if s := c.sections[m.SectionID]; s != nil {
			s.meetings = append(s.meetings, Meeting{Weekday: int(m.Weekday), StartMinute: int(m.StartMinute), EndMinute: int(m.EndMinute)})
		}
	}
	ps, err := q.CatalogPrerequisites(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog prerequisites: %w", err)
	}
	for _, p := range ps {
		c.prereqs[p.CourseID] = append(c.prereqs[p.CourseID], prerequisite{courseID: p.PrerequisiteID, code: p.Code})
	}
	ws, err := q.CatalogWindows(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog windows: %w", err)
	}
	for _, w := range ws {
		c.windows = append(c.windows, window{termID: w.TermID, classYear: int(w.ClassYear.Int16), opens: w.OpensAt, closes: w.ClosesAt})
	}
	if c.phases, err = loadPhases(ctx, q); err != nil {
		return nil, err
	}
	switch c.term, err = q.CurrentTerm(ctx); {
	case err == nil:
		c.hasTerm = true
	case !errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("current term: %w", err)
	}
	if c.departments, err = q.ListDepartments(ctx); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return c, nil
}

// CurrentTerm is the term students see and register for, if one is set.
func (c *Catalog) CurrentTerm() (db.Term, bool) { return c.term, c.hasTerm }

// Departments are every department, by code. The slice is shared: not to be changed.
func (c *Catalog) Departments() []db.Department { return c.departments }

// catalogCache is a replica's catalog: read without a lock, replaced whole.
type catalogCache struct {
	db  *sql.DB
	cur atomic.Pointer[Catalog]
	// load lets one load run at a time: the requests that found the catalog old at the
	// same moment wait for it rather than each loading their own, each only as long as
	// its own request lasts.
	load ctxsync.Mutex
}

// atLeast returns a catalog of version or newer, loading one when this replica's is older.
func (c *catalogCache) atLeast(ctx context.Context, version int64) (*Catalog, error) {
	if cat := c.cur.Load(); cat != nil && cat.version >= version {
		return cat, nil
	}
	return c.reload(ctx, func(cat *Catalog) bool { return cat.version >= version })
}

// reload loads the catalog unless fresh says the one this replica has (perhaps loaded
// while waiting for the lock) will do.
func (c *catalogCache) reload(ctx context.Context, fresh func(*Catalog) bool) (*Catalog, error) {
	if err := c.load.Lock(ctx); err != nil {
		return nil, err
	}
	defer c.load.Unlock()
	if cat := c.cur.Load(); cat != nil && fresh(cat) {
		return cat, nil
	}
	cat, err := loadCatalog(ctx, c.db)
	if err != nil {
		return nil, err
	}
	c.cur.Store(cat)
	return cat, nil
}

// FreshCatalog is a catalog at least as new as the version it reads now: it holds every
// catalog change committed before the call.
func (s *Service) FreshCatalog(ctx context.Context) (*Catalog, error) {
	v, err := db.New(s.db).CatalogVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("catalog version: %w", err)
	}
	return s.catalog.atLeast(ctx, v)
}

// RefreshCatalog reads the catalog version and reloads this replica's catalog when the
// version differs from the copy's, either way: WatchCatalog calls it every interval, and
// the staff pages right after a change, so that the replica a change was made on shows
// it at once.
func (s *Service) RefreshCatalog(ctx context.Context) error {
	v, err := db.New(s.db).CatalogVersion(ctx)
	if err != nil {
		return fmt.Errorf("catalog version: %w", err)
	}
	_, err = s.catalog.reload(ctx, func(cat *Catalog) bool { return cat.version == v })
	return err
}

// WatchCatalog polls the catalog version every interval until ctx ends: one primary-key
// read a second per replica. Requests would load a changed catalog themselves; the poll
// loads it before they need it.
func (s *Service) WatchCatalog(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := s.RefreshCatalog(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "refresh the registration catalog", "error", err)
		}
	}
}

// Catalog is the catalog this replica checks registrations against now (nil before the
// first load).
func (s *Service) Catalog() *Catalog { return s.catalog.cur.Load() }

// label names the section by its id ("CS101-01"), or "" when the catalog has no such
// section.
func (c *Catalog) label(id int64) string {
	if s := c.sections[id]; s != nil {
		return s.Label()
	}
	return ""
}
