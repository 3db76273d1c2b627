package registration_test

import (
	"context"
	"testing"
	"time"

	"github.com/schoolservice/school/registration"
)

// WatchCatalog loads a change of the catalog without any request asking for it, and
// also a version that went back (a restored database). The interval is short and the
// test waits until the catalog has the version, however long that takes the machine.
func TestWatchCatalogLoadsChanges(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	st := w.student()
	held := w.section(w.course("CS101", 3), "01", 30, mon, hm(9, 0), hm(10, 0))
	wanted := w.section(w.course("MATH101", 3), "01", 30, tue, hm(9, 0), hm(10, 0))
	expect(t, "CS101-01", w.register(st, held), registration.Enrolled)

	watch, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.svc.WatchCatalog(watch, 5*time.Millisecond)
	}()
	defer func() {
		stop()
		<-done
	}()
	waitForVersion := func(what string) {
		t.Helper()
		want := int64(w.count("SELECT version FROM catalog_version"))
		deadline := time.Now().Add(30 * time.Second)
		for w.svc.Catalog().Version() != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the catalog is at version %d after 30 s, want %d", what, w.svc.Catalog().Version(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Staff move MATH101-01 onto CS101-01's time (exec bumps the version, as staff do).
	w.exec("UPDATE section_meetings SET weekday = ? WHERE section_id = ?", mon, wanted)
	waitForVersion("meetings moved")
	expect(t, "MATH101-01 at CS101-01's time", w.register(st, wanted), registration.TimeConflict)

	// A database restored to an older version: the copy is replaced, not kept as newer.
	if _, err := w.db.Exec("UPDATE catalog_version SET version = 1"); err != nil {
		t.Fatal(err)
	}
	waitForVersion("version went back")
}
