package views

import (
	"context"
	"strconv"
)

// Demand is a section's basket count (장바구니 담은 인원), aggregate only, when the viewer
// may see it.
type Demand struct {
	Shown   bool
	Baskets int
}

// Ratio is the competition ratio (경쟁률), baskets per seat, as Korean schools write it:
// "2.4 : 1", and below one with two decimals ("0.03 : 1"), so a few baskets do not read
// as none; "–" for a section without seats.
func (d Demand) Ratio(capacity int) string {
	if capacity <= 0 {
		return "–"
	}
	r := float64(d.Baskets) / float64(capacity)
	digits := 1
	if r < 1 {
		digits = 2
	}
	return strconv.FormatFloat(r, 'f', digits, 64) + " : 1"
}

// showDemand: the table has the basket column when its rows show the counts.
func showDemand(rows []SectionRow) bool {
	return len(rows) > 0 && rows[0].Demand.Shown
}

// basketCountOptions are the window form's choices for the basket counts; hidden first,
// which a new window starts with.
func basketCountOptions(ctx context.Context) []Option {
	return []Option{{Value: "hidden", Label: T(ctx, "admin.windows.basket_counts.hidden")},
		{Value: "shown", Label: T(ctx, "admin.windows.basket_counts.shown")}}
}
