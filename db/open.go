// Package db holds the schema (goose migrations), the SQL queries and the code sqlc
// generates from them, and the few helpers every caller of the database shares.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-sql-driver/mysql"
)

// PoolOptions sizes the connection pool, and says where its driver's own reports go.
type PoolOptions struct {
	MaxOpen int
	MaxIdle int
	// Log, when set, takes the driver's reports as warnings (driverLog); otherwise the
	// driver prints them to stderr.
	Log *slog.Logger
	// TxOnly opens a pool for transactions only, each begun without START TRANSACTION
	// (txonly.go).
	TxOnly bool
}

// readTimeout bounds each read and write of a packet (see Config).
const readTimeout = 30 * time.Second

// Config parses dsn and sets what the app relies on whatever the operator wrote: times as
// time.Time in UTC, utf8mb4, no multi-statements (but on a TxOnly pool, see Open),
// client-side parameter interpolation.
func Config(dsn string) (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse MySQL DSN: %w", err)
	}
	cfg.ParseTime = true
	cfg.Collation = "utf8mb4_unicode_ci"
	cfg.Loc = time.UTC
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.MultiStatements = false
	// One round trip per statement instead of prepare + execute + close. The driver
	// escapes the values itself, which is safe with the utf8mb4 connection character set;
	// the SQL in db/queries keeps its placeholders.
	cfg.InterpolateParams = true
	// Times go to the server as DATETIME(6) holds them. With nanoseconds the literal has
	// nine fractional digits, and MariaDB then compares the column with it row by row
	// instead of ranging over an index: the waiting room's refresh scanned every place of
	// a window, once a second, for a time-bounded read of a few hundred.
	if err := cfg.Apply(mysql.TimeTruncate(time.Microsecond)); err != nil {
		return nil, fmt.Errorf("MySQL time precision: %w", err)
	}
	// A server that is gone without closing its connections (a host lost, a network
	// cut) must not hold a request for the kernel's minutes: the dial, and each read
	// and write of a packet, give up. 30 s is longer than any statement the app makes
	// (bulk imports included) but inside InnoDB's 50 s lock wait, so a statement stuck
	// behind a lock fails as a dropped connection and is retried instead of hanging.
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = readTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = readTimeout
	}
	// A server that answers 1290 (read-only: a replica, or a Galera node the proxy no
	// longer sends writes to) drops the connection instead of keeping it in the pool,
	// so the next one goes to wherever the writer is now.
	cfg.RejectReadOnly = true
	return cfg, nil
}

// Open connects to MySQL and checks the connection.
func Open(ctx context.Context, dsn string, pool PoolOptions) (*sql.DB, error) {
	cfg, err := Config(dsn)
	if err != nil {
		return nil, err
	}
	if pool.Log != nil {
		cfg.Logger = driverLog{pool.Log}
	}
	// A TxOnly pool sends deferred statements in one packet with the next (Deferred);
	// its statements are db/queries', parameters interpolated by the driver.
	cfg.MultiStatements = pool.TxOnly
	connector, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("mysql connector: %w", err)
	}
	sqldb, err := OpenConnector(ctx, connector, pool)
	if err != nil {
		return nil, fmt.Errorf("connect to MySQL at %s: %w", cfg.Addr, err)
	}
	return sqldb, nil
}

// OpenConnector is Open for connections that connector makes: the MySQL driver's, or a
// wrapper of them that keeps every interface they have (benchmarks count statements so).
func OpenConnector(ctx context.Context, connector driver.Connector, pool PoolOptions) (*sql.DB, error) {
	sqldb := sql.OpenDB(finishingConnector{connector, pool.TxOnly})
	if pool.MaxOpen > 0 {
		sqldb.SetMaxOpenConns(pool.MaxOpen)
	}
	if pool.MaxIdle > 0 {
		sqldb.SetMaxIdleConns(pool.MaxIdle)
	}
	// Connections older than the server's wait_timeout would fail on first use, and a
	// connection made through the proxy stays with the server it reached: a lifetime of
	// minutes moves the pool along after a failover or a failback, a little at a time.
	sqldb.SetConnMaxLifetime(5 * time.Minute)
	sqldb.SetConnMaxIdleTime(time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqldb.PingContext(pingCtx); err != nil {
		sqldb.Close()
		return nil, err
	}
	return sqldb, nil
}
