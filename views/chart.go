package views

import (
	"math"
	"strconv"
	"strings"
)

// Charts are drawn on the server as SVG: no script, nothing to load, and the CSP needs
// no exception. Colours come from classes in app.css, so the charts follow the page's
// light or dark theme. Each chart spans the last N minutes, the newest on the right.

// chart geometry, in SVG user units; text is large enough to read on a projector.
const (
	chartW      = 960.0
	chartH      = 300.0
	chartLeft   = 90.0
	chartRight  = 16.0
	chartTop    = 16.0
	chartBottom = 44.0
	plotW       = chartW - chartLeft - chartRight
	plotH       = chartH - chartTop - chartBottom
)

// BarSeries is one stacked layer of a bar chart: a value per minute.
type BarSeries struct {
	Key    string // message key of its name
	Class  string // colour class
	Values []int
}

// Total is the sum of the series' values.
func (s BarSeries) Total() int {
	n := 0
	for _, v := range s.Values {
		n += v
	}
	return n
}

// BarChart stacks its series per minute, the first at the bottom.
type BarChart struct {
	Minutes int
	Series  []BarSeries
}

// Rect is a bar segment.
type Rect struct {
	X, Y, W, H float64
	Class      string
	Value      int
	Key        string
}

func (b BarChart) max() float64 {
	top := 0
	for i := range b.Minutes {
		sum := 0
		for _, s := range b.Series {
			sum += s.Values[i]
		}
		top = max(top, sum)
	}
	return niceCeil(float64(top))
}

// Rects are the bars' segments, bottom up.
func (b BarChart) Rects() []Rect {
	top := b.max()
	slot := plotW / float64(max(1, b.Minutes))
	var out []Rect
	for i := range b.Minutes {
		y := chartTop + plotH
		for _, s := range b.Series {
			v := s.Values[i]
			if v == 0 {
				continue
			}
			h := float64(v) / top * plotH
			y -= h
			out = append(out, Rect{X: chartLeft + float64(i)*slot + slot*0.1, Y: y, W: slot * 0.8, H: h, Class: s.Class, Value: v, Key: s.Key})
		}
	}
	return out
}

// Ticks are the y axis labels: zero, half and the top.
func (b BarChart) Ticks() []Tick { return ticks(b.max(), "") }

// LineSeries is one line of a line chart; NaN marks a minute without a value.
type LineSeries struct {
	Name   string
	Class  string
	Values []float64
}

// LineChart draws each series as a line over the minutes.
type LineChart struct {
	Minutes int
	Series  []LineSeries
	Unit    string // after the axis labels: "%"
	// Top fixes the y axis's top (100 for percentages); 0 fits it to the values.
	Top float64
}

func (l LineChart) max() float64 {
	if l.Top > 0 {
		return l.Top
	}
	top := 0.0
	for _, s := range l.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) {
				top = math.Max(top, v)
			}
		}
	}
	return niceCeil(top)
}

// Points is the polyline of series i; a minute without a value breaks nothing, it is
// left out.
func (l LineChart) Points(i int) string {
	top := l.max()
	slot := plotW / float64(max(1, l.Minutes))
	var b strings.Builder
	for m, v := range l.Series[i].Values {
		if math.IsNaN(v) {
			continue
		}
		x := chartLeft + float64(m)*slot + slot/2
		y := chartTop + plotH - math.Min(v, top)/top*plotH
		b.WriteString(coord(x) + "," + coord(y) + " ")
	}
	return strings.TrimSpace(b.String())
}

// Ticks are the y axis labels.
func (l LineChart) Ticks() []Tick { return ticks(l.max(), l.Unit) }

// Tick is a y axis label at Y.
type Tick struct {
	Y     float64
	Label string
}

func ticks(top float64, unit string) []Tick {
	out := make([]Tick, 3)
	for i := range out {
		v := top * float64(i) / 2
		out[i] = Tick{Y: chartTop + plotH - float64(i)/2*plotH, Label: strconv.FormatFloat(v, 'f', -1, 64) + unit}
	}
	return out
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 2, so the half-way
// tick is a whole number).
func niceCeil(v float64) float64 {
	if v <= 2 {
		return 2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, f := range []float64{1, 2, 5, 10} {
		if v <= f*p {
			return f * p
		}
	}
	return 10 * p
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// XLabel is an x axis label: minutes before now.
type XLabel struct {
	X       float64
	Minutes int // 0 is now
}

// xLabels marks every tenth minute back from now.
func xLabels(minutes int) []XLabel {
	slot := plotW / float64(max(1, minutes))
	var out []XLabel
	for back := 0; back < minutes; back += 10 {
		i := minutes - 1 - back
		out = append(out, XLabel{X: chartLeft + float64(i)*slot + slot/2, Minutes: back})
	}
	return out
}
