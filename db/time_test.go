package db_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/db/dbtest"
)

// TestTimeParametersRangeOverIndexes: a time with nanoseconds, as time.Now gives, still
// lets a range read use its index. Sent with nine fractional digits it did not: MariaDB
// compared every row of the prefix instead (the waiting room's refresh read a window's
// every place once a second).
func TestTimeParametersRangeOverIndexes(t *testing.T) {
	sqldb, _ := dbtest.New(t)
	if _, err := sqldb.Exec(`CREATE TABLE stamps (id INT AUTO_INCREMENT PRIMARY KEY, g INT NOT NULL,
		at DATETIME(6) NOT NULL, KEY stamps_at (g, at))`); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var rows []string
	for i := range 5000 {
		rows = append(rows, "(1, '"+base.Add(time.Duration(i)*time.Second).Format("2006-01-02 15:04:05")+"')")
	}
	if _, err := sqldb.Exec("INSERT INTO stamps (g, at) VALUES " + strings.Join(rows, ",")); err != nil {
		t.Fatal(err)
	}
	if _, err := sqldb.Exec("ANALYZE TABLE stamps"); err != nil {
		t.Fatal(err)
	}
	since := base.Add(4990*time.Second + 123456789*time.Nanosecond)

	// EXPLAIN's columns: id, select_type, table, type, possible_keys, key, key_len, ref,
	// rows, Extra.
	var col [10]sql.NullString
	dst := make([]any, len(col))
	for i := range col {
		dst[i] = &col[i]
	}
	if err := sqldb.QueryRow("EXPLAIN SELECT id FROM stamps WHERE g = ? AND at >= ?", 1, since).Scan(dst...); err != nil {
		t.Fatal(err)
	}
	if key, rows := col[5].String, col[8].String; key != "stamps_at" || len(rows) > 2 {
		t.Errorf("a range since %s reads key %q, %s rows estimated; want stamps_at and about 10 (%v)", since.Format(time.RFC3339Nano), key, rows, col)
	}

	var got []time.Time
	rs, err := sqldb.Query("SELECT at FROM stamps WHERE g = ? AND at >= ? ORDER BY at", 1, since)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var at time.Time
		if err := rs.Scan(&at); err != nil {
			t.Fatal(err)
		}
		got = append(got, at)
	}
	if len(got) != 9 || !got[0].Equal(base.Add(4991*time.Second)) {
		t.Errorf("rows since %s: %v, want the nine from 4991 s on", since, got)
	}
}
