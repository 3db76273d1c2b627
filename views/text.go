package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// text writes a string escaped, as { s } does, for the status a waiting page polls for
// (views.QueueStatus), rendered a few thousand times a second on registration day: { s }
// formats the string with fmt.Sprint, boxing and copying it; @text(s) writes it as it is.
// Called on the value, not through templ.Component, so nothing is allocated.
type text string

func (t text) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, templ.EscapeString(string(t)))
	return err
}
