package db

import (
	"context"
	"fmt"
	"strings"
)

// BulkInsert inserts rows into table in multi-row statements of up to 500 rows. It is for
// loading data in bulk (the seed, imports), where one statement per row would cost a
// round trip each; table and columns come from the code, values are always parameters.
func (q *Queries) BulkInsert(ctx context.Context, table string, columns []string, rows [][]any) error {
	return q.bulk(ctx, table, columns, rows, "")
}

// BulkAdd is BulkInsert for counters: a row whose key is already in table adds its values
// of the add columns to the stored ones instead. Callers that may collide with each other
// should sort rows by key, so that their statements lock the rows in the same order.
func (q *Queries) BulkAdd(ctx context.Context, table string, columns, add []string, rows [][]any) error {
	sets := make([]string, len(add))
	for i, c := range add {
		sets[i] = c + " = " + c + " + VALUES(" + c + ")"
	}
	return q.bulk(ctx, table, columns, rows, " ON DUPLICATE KEY UPDATE "+strings.Join(sets, ", "))
}

// BulkUpsert is BulkInsert where a row whose key is already in table replaces the stored
// values of the update columns.
func (q *Queries) BulkUpsert(ctx context.Context, table string, columns, update []string, rows [][]any) error {
	sets := make([]string, len(update))
	for i, c := range update {
		sets[i] = c + " = VALUES(" + c + ")"
	}
	return q.bulk(ctx, table, columns, rows, " ON DUPLICATE KEY UPDATE "+strings.Join(sets, ", "))
}

func (q *Queries) bulk(ctx context.Context, table string, columns []string, rows [][]any, suffix string) error {
	const chunk = 500
	placeholder := "(" + strings.TrimSuffix(strings.Repeat("?,", len(columns)), ",") + ")"
	head := "INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES "
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		args := make([]any, 0, len(part)*len(columns))
		for _, row := range part {
			if len(row) != len(columns) {
				return fmt.Errorf("bulk insert into %s: row has %d values for %d columns", table, len(row), len(columns))
			}
			args = append(args, row...)
		}
		query := head + strings.TrimSuffix(strings.Repeat(placeholder+",", len(part)), ",") + suffix
		if _, err := q.db.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("bulk insert into %s: %w", table, err)
		}
	}
	return nil
}
