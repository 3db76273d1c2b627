package hybrid

import (
	"context"
	"errors"
	"io"
	"time"
)

// DrillOptions are a drill's: the topology's options and the load.
type DrillOptions struct {
	Options
	Args     []string // the command line, passed on to the supervisor
	Students int
	Spread   time.Duration
	Faults   string
	HTML     string
}

// Drill brings the topology up, plays a registration morning through nginx, follows the
// topology until it is back at the floor, brings it down and reports.
func Drill(ctx context.Context, d DrillOptions, stdout, stderr io.Writer) error {
	return errors.New("not yet")
}
