package rehearsal

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

// WriteHTML writes the report as one self-contained page: the text report's figures as
// tables, and charts drawn as inline SVG on the server (no JavaScript).
func (r *Report) WriteHTML(w io.Writer) error {
	var text strings.Builder
	r.WriteText(&text)
	data := map[string]any{
		"R":       r,
		"Text":    text.String(),
		"Results": r.resultsChart(),
		"Lat":     r.latencyChart(),
		"Minutes": r.minuteChart(),
		"Waits":   r.waitChart(),
		"Errors":  r.errorChart(),
		"OK":      r.Check.OK(),
		"Health":  r.Problems(),
		"Steps":   r.timelineHTML(),
	}
	return page.Execute(w, data)
}

var page = template.Must(template.New("report").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Registration-day rehearsal</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
h1{margin-bottom:.2rem} .held{color:#0a7a28} .broken{color:#b3261e}
figure{margin:1.5rem 0} figcaption{font-weight:600;margin-bottom:.4rem}
svg text{font:11px system-ui,sans-serif;fill:#444} pre{background:#f6f6f6;padding:1rem;overflow:auto;font-size:12px}
table.timeline{border-collapse:collapse;font-size:12px} table.timeline td,table.timeline th{padding:.1rem .5rem;text-align:right;border-bottom:1px solid #eee}
.legend span{display:inline-block;margin-right:1rem} .legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
</style></head><body>
<h1>Registration-day rehearsal</h1>
<p>{{.R.Started.Format "2006-01-02 15:04:05 MST"}} · {{.R.Students}} students · {{len .R.URLs}} app instances ·
{{if .OK}}<strong class="held">invariants held</strong>{{else}}<strong class="broken">invariants broken</strong>{{end}}
{{range .Health}} · <strong class="broken">{{.}}</strong>{{end}}</p>
<figure><figcaption>Answers to register and waitlist clicks per second (dashed line: the window opens; shaded: drills)</figcaption>{{.Results}}</figure>
<figure><figcaption>Errors per second</figcaption>{{.Errors}}</figure>
<figure><figcaption>Latency per step: p50, p90, p99</figcaption>{{.Lat}}</figure>
<figure><figcaption>Register clicks minute by minute from the opening: p50, p99</figcaption>{{.Minutes}}</figure>
<figure><figcaption>Waiting room: time from joining to entering</figcaption>{{.Waits}}</figure>
{{.Steps}}
<h2>Report</h2>
<pre>{{.Text}}</pre>
</body></html>
`))

var colors = map[string]string{
	"enrolled": "#2e7d32", "waitlisted": "#1565c0", "full": "#ef6c00", "time_conflict": "#8e24aa",
	"duplicate": "#6d4c41", "credit_limit": "#00838f", "prerequisite": "#9e9d24", "window_closed": "#c62828",
}

func color(k string) string {
	if c, ok := colors[k]; ok {
		return c
	}
	return "#757575"
}

const chartW, chartH, padL, padR, padB = 960.0, 220.0, 50.0, 30.0, 24.0

// axes draws the frame with a y scale up to top and an x scale of n seconds.
func axes(b *strings.Builder, top float64, n int, unit string) {
	fmt.Fprintf(b, `<line x1="%.0f" y1="0" x2="%.0f" y2="%.0f" stroke="#999"/>`, padL, padL, chartH-padB)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	for i := 0; i <= 4; i++ {
		y := (chartH - padB) * (1 - float64(i)/4)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`, padL-4, y+4, template.HTMLEscapeString(fmtNum(top*float64(i)/4)+unit))
	}
	step := max(1, n/10)
	for s := 0; s < n; s += step {
		x := padL + (chartW-padL-padR)*float64(s)/float64(max(1, n))
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%ds</text>`, x, chartH-6, s)
	}
}

func fmtNum(v float64) string {
	if v >= 10 || v == 0 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func (r *Report) secondsChart(values func(Second) []stacked) template.HTML {
	n := len(r.PerSecond)
	top := 1.0
	for _, s := range r.PerSecond {
		sum := 0
		for _, v := range values(s) {
			sum += v.n
		}
		top = max(top, float64(sum))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 -12 %.0f %.0f" width="100%%" role="img">`, chartW, chartH+12)
	bw := (chartW - padL - padR) / float64(max(1, n))
	for _, f := range r.Faults {
		x1 := padL + bw*f.Start.Seconds()
		x2 := padL + bw*f.Restored.Seconds()
		fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#fdecea"><title>%s</title></rect>`,
			x1, max(2, x2-x1), chartH-padB, template.HTMLEscapeString(string(f.Kind)+" drill"))
	}
	for _, s := range r.PerSecond {
		y := chartH - padB
		for _, v := range values(s) {
			if v.n == 0 {
				continue
			}
			h := (chartH - padB) * float64(v.n) / top
			y -= h
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%ds: %d %s</title></rect>`,
				padL+bw*float64(s.At), y, max(bw-0.5, 0.5), h, color(v.key), s.At, v.n, template.HTMLEscapeString(v.key))
		}
	}
	xo := padL + bw*r.Opens.Seconds()
	fmt.Fprintf(&b, `<line x1="%.1f" y1="0" x2="%.1f" y2="%.0f" stroke="#333" stroke-dasharray="4 3"/>`, xo, xo, chartH-padB)
	axes(&b, top, n, "/s")
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type stacked struct {
	key string
	n   int
}

func (r *Report) resultsChart() template.HTML {
	keys := sortedKeys(r.Results)
	chart := r.secondsChart(func(s Second) []stacked {
		var out []stacked
		for _, k := range keys {
			out = append(out, stacked{k, s.Results[k]})
		}
		return out
	})
	var legend strings.Builder
	legend.WriteString(`<div class="legend">`)
	for _, k := range keys {
		fmt.Fprintf(&legend, `<span><i style="background:%s"></i>%s</span>`, color(k), template.HTMLEscapeString(k))
	}
	legend.WriteString(`</div>`)
	return chart + template.HTML(legend.String())
}

func (r *Report) errorChart() template.HTML {
	return r.secondsChart(func(s Second) []stacked { return []stacked{{"errors", s.Errors}} })
}

// bars draws labelled horizontal bars: one row per label, one bar per value.
func bars(labels []string, values [][]float64, names []string, unit string) template.HTML {
	top := 1.0
	for _, vs := range values {
		for _, v := range vs {
			top = max(top, v)
		}
	}
	palette := []string{"#90caf9", "#1e88e5", "#0d47a1"}
	rowH := 14.0 * float64(len(names)+1)
	h := rowH*float64(len(labels)) + padB
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" width="100%%" role="img">`, chartW, h)
	left := 110.0
	for i, label := range labels {
		y := rowH * float64(i)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text>`, left-6, y+rowH/2+4, template.HTMLEscapeString(label))
		for j, v := range values[i] {
			wd := (chartW - left - 90) * v / top
			fmt.Fprintf(&b, `<rect x="%.0f" y="%.1f" width="%.1f" height="12" fill="%s"><title>%s %s</title></rect>`,
				left, y+14*float64(j)+2, max(wd, 0.5), palette[j%len(palette)], template.HTMLEscapeString(names[j]), template.HTMLEscapeString(fmtNum(v)+unit))
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f">%s %s</text>`, left+wd+4, y+14*float64(j)+12,
				template.HTMLEscapeString(names[j]), template.HTMLEscapeString(fmtNum(v)+unit))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func (r *Report) latencyChart() template.HTML {
	var labels []string
	var values [][]float64
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, l := range r.Latencies {
		if l.Step == StepWait {
			continue // seconds, not milliseconds: its own chart
		}
		labels = append(labels, string(l.Step))
		values = append(values, []float64{msOf(l.P50), msOf(l.P90), msOf(l.P99)})
	}
	return bars(labels, values, []string{"p50", "p90", "p99"}, " ms")
}

func (r *Report) waitChart() template.HTML {
	var labels []string
	var values [][]float64
	lo := time.Duration(0)
	for _, b := range r.Waits {
		label := fmt.Sprintf("≤ %s", b.Upto)
		if b.Upto == 0 {
			label = fmt.Sprintf("> %s", lo)
		}
		labels = append(labels, label)
		values = append(values, []float64{float64(b.Count)})
		lo = b.Upto
	}
	return bars(labels, values, []string{"students"}, "")
}

func (r *Report) minuteChart() template.HTML {
	var labels []string
	var values [][]float64
	msOf := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	for _, l := range r.RegisterByMinute {
		labels = append(labels, string(l.Step))
		values = append(values, []float64{msOf(l.P50), msOf(l.P99)})
	}
	return bars(labels, values, []string{"p50", "p99"}, " ms")
}
