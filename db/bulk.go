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
		query := head + strings.TrimSuffix(strings.Repeat(placeholder+",", len(part)), ",")
		if _, err := q.db.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("bulk insert into %s: %w", table, err)
		}
	}
	return nil
}
