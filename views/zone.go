package views

import (
	"context"
	"time"
	// The distroless image has no /usr/share/zoneinfo: without the embedded database the
	// school's zone could not be loaded there.
	_ "time/tzdata"
)

// DefaultTimeZone is the school's zone when none is configured.
const DefaultTimeZone = "Asia/Seoul"

// defaultZone is DefaultTimeZone, loaded once; the embedded database always has it.
var defaultZone = func() *time.Location {
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		panic(err)
	}
	return loc
}()

type zoneKey struct{}

// WithZone returns a context whose views show, and whose forms read, times in loc.
func WithZone(ctx context.Context, loc *time.Location) context.Context {
	return context.WithValue(ctx, zoneKey{}, loc)
}

// ZoneFrom returns the school's time zone: every time shown or entered is in it, never
// in the process's own zone (servers and images run in UTC).
func ZoneFrom(ctx context.Context) *time.Location {
	if loc, ok := ctx.Value(zoneKey{}).(*time.Location); ok && loc != nil {
		return loc
	}
	return defaultZone
}

// When shows a moment to the minute in the school's zone, with the zone's abbreviation
// ("2027-03-02 09:00 KST"), so nobody has to guess which clock is meant.
func When(ctx context.Context, t time.Time) string {
	return t.In(ZoneFrom(ctx)).Format("2006-01-02 15:04 MST")
}

// WhenSeconds is When to the second, for the audit log.
func WhenSeconds(ctx context.Context, t time.Time) string {
	return t.In(ZoneFrom(ctx)).Format("2006-01-02 15:04:05 MST")
}

// Clock is the time of day of t in the school's zone, with the zone.
func Clock(ctx context.Context, t time.Time) string {
	return t.In(ZoneFrom(ctx)).Format("15:04:05 MST")
}

// Day is the school's calendar day of t.
func Day(ctx context.Context, t time.Time) string {
	return t.In(ZoneFrom(ctx)).Format(time.DateOnly)
}

// ZoneLabel names the school's zone for form hints: "Asia/Seoul (KST)".
func ZoneLabel(ctx context.Context) string {
	loc := ZoneFrom(ctx)
	abbr, _ := time.Now().In(loc).Zone()
	if abbr == loc.String() {
		return abbr
	}
	return loc.String() + " (" + abbr + ")"
}

// DateTimeLocal is the layout of <input type="datetime-local">.
const DateTimeLocal = "2006-01-02T15:04"

// LocalInput is t as a datetime-local input shows it: the school's wall clock.
func LocalInput(ctx context.Context, t time.Time) string {
	return t.In(ZoneFrom(ctx)).Format(DateTimeLocal)
}

// ParseLocalInput reads what a datetime-local input sent as the school's wall clock and
// returns the moment in UTC, as the database keeps it.
func ParseLocalInput(ctx context.Context, v string) (time.Time, error) {
	var err error
	for _, layout := range []string{DateTimeLocal, "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		var t time.Time
		if t, err = time.ParseInLocation(layout, v, ZoneFrom(ctx)); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}
