package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/views"
	"github.com/schoolservice/school/web"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := newFlagSet("school serve", getenv, stderr)
	var (
		dbc             dbFlags
		lc              ldapFlags
		logc            logFlags
		addr, opsAddr   string
		origins         string
		proxies         string
		readDSN         string
		timeZone        string
		cookieSecure    bool
		migrateOnStart  bool
		shutdownTimeout time.Duration
		shuffleFile     string
		smtpc           smtpFlags
		profiling       bool
		turns           int
	)
	dbc.register(fs)
	lc.register(fs)
	logc.register(fs)
	fs.Int(&turns, "db-turns", 16, "most requests using the database at once, the others served in the order they came; never more than -db-max-open, 0: as many")
	fs.String(&readDSN, "db-read-dsn", "", "optional MySQL DSN of a read replica for the public catalog; a student's own data is always read from -db-dsn")
	fs.String(&addr, "addr", ":8080", "listen address of the app's pages, for students and staff")
	fs.String(&opsAddr, "ops-addr", ":9100", "listen address of /healthz, /readyz and /metrics, for probes and Prometheus only")
	fs.String(&origins, "trusted-origins", "", "comma-separated origins, besides the app's own, that may send forms")
	fs.String(&proxies, "trusted-proxies", "127.0.0.0/8,::1/128", "comma-separated CIDRs of the proxies (nginx) whose X-Real-IP names the client for sign-in throttling; empty trusts none")
	fs.Bool(&cookieSecure, "cookie-secure", true, "mark the session cookie Secure (browsers accept it on http://localhost)")
	fs.String(&timeZone, "time-zone", views.DefaultTimeZone, "the school's IANA time zone: every time shown, entered and exported is on its clock")
	fs.Bool(&migrateOnStart, "migrate", false, "migrate the schema before serving")
	fs.String(&shuffleFile, "shuffle-secret-file", "", "file holding the secret the waiting room derives its pre-queue shuffle seeds from (at least 32 bytes; the same on every replica, never in the database); unset: a random one per process")
	smtpc.register(fs)
	fs.Bool(&profiling, "pprof", false, "serve Go's CPU, heap and goroutine profiles at /debug/pprof/ on the ops listener (-ops-addr), to find where the app spends its time")
	fs.Duration(&shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long requests in flight may take to finish at shutdown")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	dbc.validate(&p)
	if turns < 0 {
		p.add("-db-turns must be 0 (as many as -db-max-open) or more, not %d", turns)
	}
	lc.validate(&p)
	log := logc.logger(stderr, &p)
	trusted := parseOrigins(origins, &p)
	trustedProxies := parseProxies(proxies, &p)
	validateListeners(addr, opsAddr, &p)
	if readDSN != "" {
		if _, err := db.Config(readDSN); err != nil {
			p.add("-db-read-dsn (SCHOOL_DB_READ_DSN): %v", err)
		}
	}
	shuffleSecret := readShuffleSecret(shuffleFile, &p)
	mail := smtpc.config(&p)
	zone, err := time.LoadLocation(timeZone)
	if err != nil || timeZone == "" || timeZone == "Local" {
		p.add("-time-zone (SCHOOL_TIME_ZONE) must be an IANA zone such as Asia/Seoul, not %q", timeZone)
	}
	if err := p.err(); err != nil {
		return err
	}

	sqldb, err := db.Open(ctx, dbc.DSN, db.PoolOptions{MaxOpen: dbc.MaxOpen, MaxIdle: dbc.MaxOpen, Log: log})
	if err != nil {
		return err
	}
	defer sqldb.Close()
	txdb, err := db.Open(ctx, dbc.DSN, db.PoolOptions{MaxOpen: dbc.MaxOpen, MaxIdle: dbc.MaxOpen, Log: log, TxOnly: true})
	if err != nil {
		return err
	}
	defer txdb.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(txdb, "school_tx"))
	var readDB *sql.DB
	if readDSN != "" {
		if readDB, err = db.Open(ctx, readDSN, db.PoolOptions{MaxOpen: dbc.MaxOpen, MaxIdle: dbc.MaxOpen, Log: log}); err != nil {
			return fmt.Errorf("read replica: %w", err)
		}
		defer readDB.Close()
		reg.MustRegister(collectors.NewDBStatsCollector(readDB, "school_read"))
	}
	if migrateOnStart {
		v, err := db.Migrate(ctx, sqldb)
		if err != nil {
			return err
		}
		log.Info("schema migrated", slog.Int64("version", v))
	}
	dir, err := web.NewAuthenticator(lc.config())
	if err != nil {
		return err
	}
	defer dir.Close()

	srv, err := web.New(web.Options{
		DB: sqldb, ReadDB: readDB, TxDB: txdb, Directory: dir, Logger: log, Registry: reg,
		InsecureCookies: !cookieSecure, TrustedOrigins: trusted, TrustedProxies: trustedProxies, TimeZone: zone,
		ShuffleSecret: shuffleSecret, Mail: mail, Profiling: profiling, Turns: min(turns, dbc.MaxOpen),
	})
	if err != nil {
		return err
	}
	defer srv.Close()

	// The public listener and the operators' one, with the same limits: a slow client
	// holds neither for long.
	listener := func(addr string, h http.Handler) *http.Server {
		return &http.Server{
			Addr:              addr,
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      60 * time.Second,
			IdleTimeout:       120 * time.Second,
			// The request line and headers: a URL of the app and its cookies fit many
			// times over; Go's default (1 MB) would let each connection hold a megabyte.
			MaxHeaderBytes: 32 << 10,
			ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}
	servers := []*http.Server{listener(addr, srv.Handler()), listener(opsAddr, srv.OpsHandler())}
	errc := make(chan error, len(servers))
	for _, hs := range servers {
		go func() {
			if err := hs.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("listen on %s: %w", hs.Addr, err)
			}
		}()
	}
	log.Info("serving", slog.String("addr", addr), slog.String("ops_addr", opsAddr), slog.String("mysql", describe(dbc.DSN)),
		slog.String("mysql_read", describe(readDSN)), slog.String("ldap", lc.URL), slog.String("smtp", smtpc.Addr))

	var failed error
	select {
	case failed = <-errc: // run reports it
	case <-ctx.Done():
		log.Info("shutting down", slog.Duration("timeout", shutdownTimeout))
	}
	// Both listeners stop together: requests in flight on either may finish, and a
	// replica never keeps answering probes after it has stopped serving pages.
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, hs := range servers {
		wg.Go(func() {
			if err := hs.Shutdown(sctx); err != nil {
				errs[i] = fmt.Errorf("shutdown of %s: %w", hs.Addr, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(append([]error{failed}, errs...)...)
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school migrate", getenv, stderr)
	var dbc dbFlags
	dbc.register(fs)
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	dbc.validate(&p)
	if err := p.err(); err != nil {
		return err
	}
	sqldb, err := db.Open(ctx, dbc.DSN, db.PoolOptions{MaxOpen: 2})
	if err != nil {
		return err
	}
	defer sqldb.Close()
	v, err := db.Migrate(ctx, sqldb)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema at version %d\n", v)
	return nil
}

// readShuffleSecret reads the shuffle secret file, whitespace around it ignored; nil when
// none is set.
func readShuffleSecret(path string, p *problems) []byte {
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		p.add("-shuffle-secret-file (SCHOOL_SHUFFLE_SECRET_FILE): %v", err)
		return nil
	}
	b = bytes.TrimSpace(b)
	if len(b) < 32 {
		p.add("-shuffle-secret-file (SCHOOL_SHUFFLE_SECRET_FILE): %d bytes, want at least 32", len(b))
		return nil
	}
	return b
}
