package views

import "context"

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
}

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
