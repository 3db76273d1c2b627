package db

import (
	"context"
	"database/sql"
	"sync/atomic"

	"github.com/schoolservice/school/internal/ctxsync"
)

// NewPrepared returns Queries that run the hottest reads as server-side prepared
// statements, and every other query as New(sqldb) does (parameters interpolated by the
// driver, see Config): FindSession, the first statement of every signed-in request, and
// RegistrationGlance, the first statement of every registration request and, after the
// session's, the whole of a `full` answer. Measured as mariadbd's CPU per execution
// (MariaDB 10.11): the glance alone on one connection about 110-160 µs prepared against
// 200-230 µs interpolated, and in the app (BenchmarkRegistrationStatements, runs
// alternated) 160-220 µs against 205-260 µs, parsing its five joins and three subqueries
// being much of its cost; the session's read 87-89 µs against 101-121 µs. database/sql
// prepares each on every pooled connection the first time it runs there; after that each
// execution is one round trip, as an interpolated query is. The statements that run
// inside transactions stay interpolated: a prepared statement there is prepared for the
// transaction's connection, which the measured gain on them does not pay for.
func NewPrepared(sqldb *sql.DB) *Queries {
	return New(&preparedDB{DB: sqldb, stmts: map[string]*lazyStmt{findSession: {}, registrationGlance: {}}})
}

// preparedDB is a DBTX that runs the queries in stmts as prepared statements.
type preparedDB struct {
	*sql.DB
	stmts map[string]*lazyStmt // fixed at construction: read without a lock
}

// lazyStmt is prepared at its first use, so that building the Queries needs no database;
// when preparing fails the query runs unprepared and the next use tries again.
type lazyStmt struct {
	mu   ctxsync.Mutex
	stmt atomic.Pointer[sql.Stmt]
}

func (p *preparedDB) prepared(ctx context.Context, query string) *sql.Stmt {
	l := p.stmts[query]
	if l == nil {
		return nil
	}
	if st := l.stmt.Load(); st != nil {
		return st
	}
	if l.mu.Lock(ctx) != nil {
		return nil // the query runs unprepared, and stops at once on the ended ctx
	}
	defer l.mu.Unlock()
	if st := l.stmt.Load(); st != nil {
		return st
	}
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	l.stmt.Store(st)
	return st
}

func (p *preparedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.prepared(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

func (p *preparedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.prepared(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}
