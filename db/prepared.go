package db

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/schoolservice/school/internal/ctxsync"
)

// Prepared runs the hottest statements as server-side prepared statements, and every
// other query as New(sqldb) does (parameters interpolated by the driver, see Config).
// Outside a transaction (Queries): FindSession, the first statement of every signed-in
// request; LoginFacts and CommitSession, the whole of a sign-in's database work; and
// RegistrationGlance, the first statement of a registration request (but one for a
// section with seats to spare, registration/direct.go) and, after the session's, the
// whole of a `full` answer. Inside one (InTx with UsePrepared): the statements of an
// `enrolled` and a `waitlisted` answer, but the deferred writes (Deferred) and the read
// a waitlist join's INSERT travels with, which go as text in one packet. Each earned its
// place by its parse: the catalog page's StudentCredits, tried, did not measurably gain.
//
// Measured as mariadbd's CPU per execution (MariaDB 10.11): the glance alone on one
// connection about 110-160 µs prepared against 200-230 µs interpolated, and in the app
// (BenchmarkRegistrationStatements, runs alternated) 160-220 µs against 205-260 µs,
// parsing its five joins and three subqueries being much of its cost; the session's read
// 87-89 µs against 101-121 µs; a sign-in's two 368-376 µs against 446-464 µs; the
// transactions' statements in BENCHMARKS.md ("eighth").
// database/sql prepares each on every pooled connection the first time it runs there,
// in a transaction on the transaction's own connection (Tx.StmtContext), where later
// transactions find it; after that each execution is one round trip, as an
// interpolated query is.
type Prepared struct {
	db    *sql.DB
	stmts map[string]*lazyStmt // fixed at construction: read without a lock
}

// NewPrepared returns the prepared statements of sqldb; each is prepared at its first use.
func NewPrepared(sqldb *sql.DB) *Prepared {
	stmts := map[string]*lazyStmt{}
	for _, q := range []string{findSession, commitSession, loginFacts, registrationGlance,
		lockStudentRecord, takeSeat, lockSectionSeats, waitlistPosition} {
		stmts[q] = &lazyStmt{}
	}
	return &Prepared{db: sqldb, stmts: stmts}
}

// Queries runs queries outside a transaction, the prepared ones prepared.
func (p *Prepared) Queries() *Queries { return New(preparedDBTX{plain: p.db, stmt: p.stmt}) }

// UsePrepared makes InTx run p's statements prepared on the transaction's connection.
func UsePrepared(p *Prepared) TxOption { return func(o *txOptions) { o.prepared = p } }

// lazyStmt is prepared at its first use, so that building the Queries needs no database;
// when preparing fails the query runs unprepared, and a use retryPrepare later tries again.
type lazyStmt struct {
	mu        ctxsync.Mutex
	stmt      atomic.Pointer[sql.Stmt]
	preparing atomic.Bool  // ready has a goroutine preparing it
	failed    atomic.Int64 // when preparing it last failed (since epoch); 0: never
}

// epoch keeps the failures' times on the monotonic clock (Time.Sub reads it), which a step
// of the wall clock does not move.
var epoch = time.Now()

// retryPrepare spaces the attempts to prepare a statement the server refused, so that a
// refusal that lasts (its limit of prepared statements reached, a privilege missing)
// costs one failed PREPARE a second, not one for each execution.
const retryPrepare = time.Second

func (l *lazyStmt) resting(now time.Time) bool {
	f := l.failed.Load()
	return f != 0 && time.Duration(int64(now.Sub(epoch))-f) < retryPrepare
}

// stmt returns query's prepared statement, or nil when it is not one of p's or cannot be
// prepared now.
func (p *Prepared) stmt(ctx context.Context, query string) *sql.Stmt {
	l := p.stmts[query]
	if l == nil {
		return nil
	}
	if st := l.stmt.Load(); st != nil {
		return st
	}
	if l.resting(time.Now()) {
		return nil
	}
	if l.mu.Lock(ctx) != nil {
		return nil // the query runs unprepared, and stops at once on the ended ctx
	}
	defer l.mu.Unlock()
	if st := l.stmt.Load(); st != nil {
		return st
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		l.failed.Store(max(int64(time.Since(epoch)), 1))
		return nil
	}
	l.stmt.Store(st)
	return st
}

// prepareWait bounds a preparation ready started, so that a database that does not
// answer leaves no goroutine behind for long.
const prepareWait = 10 * time.Second

// ready returns query's prepared statement when it is one of p's and already prepared.
// Otherwise it returns nil, so that the query runs unprepared, and has one of p's
// prepared in the background. A transaction must not wait for a preparation: preparing
// takes a second connection from the pool, and with every connection held by a
// transaction waiting for one, none would come (the rush did that: 60 s, every request).
func (p *Prepared) ready(query string) *sql.Stmt {
	l := p.stmts[query]
	if l == nil {
		return nil
	}
	if st := l.stmt.Load(); st != nil {
		return st
	}
	if !l.resting(time.Now()) && l.preparing.CompareAndSwap(false, true) {
		go func() {
			defer l.preparing.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), prepareWait)
			defer cancel()
			p.stmt(ctx, query)
		}()
	}
	return nil
}

// refused reports the server refusing to prepare a statement on a connection that
// lacks it (database/sql prepares it there before executing): it holds
// max_prepared_stmt_count statements already. Nothing ran, so the query runs unprepared.
func refused(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1461
}

// preparedDBTX is a DBTX that runs p's statements prepared: stmt finds a query's prepared
// statement, or nil to run it on plain as it is. A statement the server refuses to
// prepare on the connection at hand (refused) runs on plain too.
type preparedDBTX struct {
	plain DBTX // the pool, or the transaction
	stmt  func(ctx context.Context, query string) *sql.Stmt
}

// inTx runs p's statements on tx, each found prepared (ready) and taken into the
// transaction with Tx.StmtContext: that statement is the transaction's, closed with it,
// while the server's stays prepared on the connection for the next transaction there.
func (p *Prepared) inTx(tx *sql.Tx) preparedDBTX {
	return preparedDBTX{plain: tx, stmt: func(ctx context.Context, query string) *sql.Stmt {
		if st := p.ready(query); st != nil {
			return tx.StmtContext(ctx, st)
		}
		return nil
	}}
}

func (d preparedDBTX) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := d.stmt(ctx, query); st != nil {
		if res, err := st.ExecContext(ctx, args...); !refused(err) {
			return res, err
		}
	}
	return d.plain.ExecContext(ctx, query, args...)
}

func (d preparedDBTX) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return d.plain.PrepareContext(ctx, query)
}

func (d preparedDBTX) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := d.stmt(ctx, query); st != nil {
		if rows, err := st.QueryContext(ctx, args...); !refused(err) {
			return rows, err
		}
	}
	return d.plain.QueryContext(ctx, query, args...)
}

func (d preparedDBTX) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := d.stmt(ctx, query); st != nil {
		if row := st.QueryRowContext(ctx, args...); !refused(row.Err()) {
			return row
		}
	}
	return d.plain.QueryRowContext(ctx, query, args...)
}
