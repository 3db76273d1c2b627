package rehearsal

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// Timeline is what the deployment around the app did during the run, step by step: the
// hybrid drill (internal/hybrid) fills it with on-prem utilisation, the autoscaler's
// decisions, the tiers' replicas and nodes and which tier nginx sent each request to.
// The rehearsal itself leaves it nil; the reports show it when it is set.
type Timeline struct {
	Title   string
	Step    time.Duration
	Columns []string
	Rows    []TimelineRow
	Events  []TimelineEvent // decisions with their reasons, drills
	Checks  []TimelineCheck
	Notes   []string // how the drill differs from production (printed as given)
}

// TimelineRow is one step, At since the start of the run.
type TimelineRow struct {
	At    time.Duration
	Cells []string
}

// TimelineEvent is one thing that happened at At since the start.
type TimelineEvent struct {
	At   time.Duration
	Text string
}

// TimelineCheck is one acceptance check of the drill.
type TimelineCheck struct {
	Name   string
	OK     bool
	Detail string
}

// OK reports whether every check passed.
func (t *Timeline) OK() bool {
	for _, c := range t.Checks {
		if !c.OK {
			return false
		}
	}
	return true
}

func (r *Report) writeTimeline(w io.Writer) {
	t := r.Timeline
	if t == nil {
		return
	}
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("\n%s (every %s from the start)\n", t.Title, t.Step)
	for _, n := range t.Notes {
		p("  note: %s\n", n)
	}
	widths := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		widths[i] = len(c)
	}
	for _, row := range t.Rows {
		for i, c := range row.Cells {
			if i < len(widths) {
				widths[i] = max(widths[i], len(c))
			}
		}
	}
	p("  %6s", "t")
	for i, c := range t.Columns {
		p("  %*s", widths[i], c)
	}
	p("\n")
	for _, row := range t.Rows {
		p("  %6s", row.At.Round(time.Second))
		for i, c := range row.Cells {
			if i < len(widths) {
				p("  %*s", widths[i], c)
			}
		}
		p("\n")
	}
	if len(t.Events) > 0 {
		p("\n  Events:\n")
		for _, e := range t.Events {
			p("  %6s  %s\n", e.At.Round(time.Second), e.Text)
		}
	}
	if len(t.Checks) > 0 {
		p("\n  Checks:\n")
		for _, c := range t.Checks {
			mark := "ok    "
			if !c.OK {
				mark = "FAILED"
			}
			p("  %s %s: %s\n", mark, c.Name, c.Detail)
		}
	}
}

// timelineHTML is the timeline as a table, its events and its checks.
func (r *Report) timelineHTML() template.HTML {
	t := r.Timeline
	if t == nil {
		return ""
	}
	var b strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&b, "<h2>%s</h2>\n", esc(t.Title))
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "<p><small>%s</small></p>\n", esc(n))
	}
	b.WriteString(`<table class="timeline"><tr><th>t</th>`)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "<th>%s</th>", esc(c))
	}
	b.WriteString("</tr>\n")
	for _, row := range t.Rows {
		fmt.Fprintf(&b, "<tr><td>%s</td>", row.At.Round(time.Second))
		for _, c := range row.Cells {
			fmt.Fprintf(&b, "<td>%s</td>", esc(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n<ul>\n")
	for _, e := range t.Events {
		fmt.Fprintf(&b, "<li>%s %s</li>\n", e.At.Round(time.Second), esc(e.Text))
	}
	b.WriteString("</ul>\n<ul>\n")
	for _, c := range t.Checks {
		class, mark := "held", "ok"
		if !c.OK {
			class, mark = "broken", "FAILED"
		}
		fmt.Fprintf(&b, "<li class=%q>%s %s: %s</li>\n", class, mark, esc(c.Name), esc(c.Detail))
	}
	b.WriteString("</ul>\n")
	return template.HTML(b.String())
}
