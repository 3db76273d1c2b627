// Package dbtest gives each test its own throwaway MySQL database, built from the
// migrations and dropped when the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"testing"

	"github.com/schoolservice/school/db"
)

// DSN is the server the tests use: SCHOOL_DB_DSN, as deploy/local/stack writes it. A
// missing server fails the test; it is never skipped.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("SCHOOL_DB_DSN")
	if dsn == "" {
		t.Fatal("SCHOOL_DB_DSN is not set: run the tests with `make test`, which starts MariaDB")
	}
	return dsn
}

// New creates an empty database, migrates it, and returns a connection to it and its DSN.
func New(t testing.TB) (*sql.DB, string) {
	t.Helper()
	ctx := context.Background()
	cfg, err := db.Config(DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := db.Open(ctx, cfg.FormatDSN(), db.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatalf("MariaDB is not reachable (start it with deploy/local/stack up): %v", err)
	}
	defer admin.Close()

	name := "test_" + rand.Text()[:16]
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	sqldb, err := db.Open(ctx, dsn, db.PoolOptions{MaxOpen: 64, MaxIdle: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sqldb.Close()
		admin, err := db.Open(context.Background(), DSN(t), db.PoolOptions{MaxOpen: 1})
		if err != nil {
			t.Errorf("drop %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	if _, err := db.Migrate(ctx, sqldb); err != nil {
		t.Fatal(fmt.Errorf("migrate %s: %w", name, err))
	}
	return sqldb, dsn
}

// TxPool opens a pool of dsn's database for transactions only (db.PoolOptions.TxOnly),
// closed when the test ends.
func TxPool(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	txdb, err := db.Open(context.Background(), dsn, db.PoolOptions{MaxOpen: 64, MaxIdle: 64, TxOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { txdb.Close() })
	return txdb
}

// User makes an account granted on the test's database only and returns dsn signed in
// as it. The stack's own account may do anything (tests create databases), which also
// lets it write on a read-only server; this one is refused there, as the app's account
// is in production (deploy/database.md).
func User(t testing.TB, dsn string) string {
	t.Helper()
	ctx := context.Background()
	cfg, err := db.Config(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := db.Open(ctx, DSN(t), db.PoolOptions{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name, password := "t_"+rand.Text()[:12], rand.Text()
	host := "127.0.0.1"
	for _, stmt := range []string{
		fmt.Sprintf("CREATE USER '%s'@'%s' IDENTIFIED BY '%s'", name, host, password),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'%s'", cfg.DBName, name, host),
	} {
		if _, err := admin.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("make a user for %s: %v", cfg.DBName, err)
		}
	}
	t.Cleanup(func() {
		admin, err := db.Open(context.Background(), DSN(t), db.PoolOptions{MaxOpen: 1})
		if err != nil {
			t.Errorf("drop user %s: %v", name, err)
			return
		}
		defer admin.Close()
		if _, err := admin.Exec(fmt.Sprintf("DROP USER '%s'@'%s'", name, host)); err != nil {
			t.Errorf("drop user %s: %v", name, err)
		}
	})
	cfg.User, cfg.Passwd = name, password
	return cfg.FormatDSN()
}
