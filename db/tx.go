package db

import (
	"context"
	"database/sql"
	"fmt"
)

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise.
func InTx(ctx context.Context, sqldb *sql.DB, fn func(*Queries) error) error {
	tx, err := sqldb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := fn(New(tx)); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
