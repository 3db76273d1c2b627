package db

import (
	"fmt"
	"log/slog"
)

// driverLog is where a pool's driver reports what it sees on its own (a connection found
// dropped, a packet cut short), when PoolOptions.Log is set: a warning in the app's log.
// Left alone, the driver writes plain lines to stderr beside the structured log, one for
// every connection a failover or a database restart broke, which a log reader cannot
// filter or count.
type driverLog struct{ log *slog.Logger }

func (d driverLog) Print(v ...any) {
	d.log.Warn("mysql driver", slog.String("said", fmt.Sprint(v...)))
}
