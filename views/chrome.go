package views

import (
	"context"
	"strconv"
)

// Viewer is the signed-in user as the page header shows them.
type Viewer struct {
	Username string
	Name     string
	Role     string
}

// Chrome is what every full page needs beyond its own content: who is looking, and the
// path the language switch returns to.
type Chrome struct {
	Viewer *Viewer
	Path   string
	// Credits is shown to students on every page.
	Credits *Credits
	// Unread counts the student's unread notifications, shown beside Credits.
	Unread int
	// Queued: the student's window is in the waiting room and they have not been let in.
	Queued bool
	// KeptIntent: the waiting room turned a click away and keeps it for after admission.
	KeptIntent bool
	// Intent is that click, offered again on the page admission led back to.
	Intent *Intent
	// Clock is the server clock of a student's registration day; nil on other days.
	Clock *ServerClock
}

// Intent is a registration click the waiting room turned away: Action is "register",
// "waitlist" or "basket", on the section (0 for the basket) on the page at Path.
type Intent struct {
	Action    string
	SectionID int64
	Path      string
}

// Anchor is the id of the section's row.
func (i Intent) Anchor() string { return "section-" + strconv.FormatInt(i.SectionID, 10) }

// Credits are a student's registered credits this term and their limit.
type Credits struct {
	Used, Limit int
}

type chromeKey struct{}

// WithChrome returns a context carrying c for the layout.
func WithChrome(ctx context.Context, c Chrome) context.Context {
	return context.WithValue(ctx, chromeKey{}, c)
}

func chromeFrom(ctx context.Context) Chrome {
	c, _ := ctx.Value(chromeKey{}).(Chrome)
	return c
}
