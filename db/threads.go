package db

import (
	"context"
	"fmt"
)

// ConnectionThreads returns the operating-system thread ids (MariaDB's
// information_schema.PROCESSLIST.TID) of the server threads serving connections to the
// current database, so a benchmark can read their CPU from /proc and tell its own load
// on a shared server from everyone else's. Written by hand: sqlc does not know
// information_schema.
func (q *Queries) ConnectionThreads(ctx context.Context) ([]int64, error) {
	rows, err := q.db.QueryContext(ctx, "SELECT TID FROM information_schema.PROCESSLIST WHERE DB = DATABASE()")
	if err != nil {
		return nil, fmt.Errorf("connection threads: %w", err)
	}
	defer rows.Close()
	var tids []int64
	for rows.Next() {
		var tid int64
		if err := rows.Scan(&tid); err != nil {
			return nil, fmt.Errorf("connection threads: %w", err)
		}
		tids = append(tids, tid)
	}
	return tids, rows.Err()
}
