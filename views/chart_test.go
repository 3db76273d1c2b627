package views

import (
	"math"
	"strings"
	"testing"
)

func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 2, 1: 2, 3: 5, 7: 10, 10: 10, 11: 20, 199: 200, 201: 500, 4999: 5000} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestBarChartStacks(t *testing.T) {
	c := BarChart{Minutes: 2, Series: []BarSeries{{Key: "a", Values: []int{3, 0}}, {Key: "b", Values: []int{2, 5}}}}
	rects := c.Rects()
	if len(rects) != 3 {
		t.Fatalf("%d rects, want 3 (no empty segment)", len(rects))
	}
	// The top is 5; the first minute's two segments fill it, bottom up.
	bottom := chartTop + plotH
	if a, b := rects[0], rects[1]; math.Abs(a.Y+a.H-bottom) > 0.01 || math.Abs(b.Y+b.H-a.Y) > 0.01 || math.Abs(b.Y-chartTop) > 0.01 {
		t.Errorf("first minute's segments %+v and %+v do not stack from the axis to the top", a, b)
	}
	if rects[2].X <= rects[0].X {
		t.Error("the second minute is not right of the first")
	}
}

func TestLineChartSkipsMissingMinutes(t *testing.T) {
	c := LineChart{Minutes: 3, Top: 100, Series: []LineSeries{{Values: []float64{0, math.NaN(), 100}}}}
	points := strings.Fields(c.Points(0))
	if len(points) != 2 || !strings.HasSuffix(points[0], ","+coord(chartTop+plotH)) || !strings.HasSuffix(points[1], ","+coord(chartTop)) {
		t.Errorf("points = %v, want the first minute at 0 and the last at the top", points)
	}
}
