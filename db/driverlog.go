package db

import (
	"fmt"
	"log/slog"

	"github.com/go-sql-driver/mysql"
)

// LogDriverTo sends what the MySQL driver reports on its own (a connection found dropped,
// a packet cut short) to log at warn level. Left alone, it writes plain lines to stderr
// beside the app's structured log: a failover or a database restart printed one for
// every connection it broke, and a log reader could not filter or count them. Call it
// before Open: a connection's settings take the driver's logger when they are made.
func LogDriverTo(log *slog.Logger) {
	_ = mysql.SetLogger(driverLog{log}) // refuses only a nil logger
}

type driverLog struct{ log *slog.Logger }

func (d driverLog) Print(v ...any) {
	d.log.Warn("mysql driver", slog.String("said", fmt.Sprint(v...)))
}
