package web

import (
	"slices"
	"strings"
	"testing"
)

func TestBasketParam(t *testing.T) {
	t.Parallel()
	many := strings.Repeat("7,", maxBasketShown+5)
	for v, want := range map[string][]int64{
		"":                nil,
		"3":               {3},
		"1,2,3":           {1, 2, 3},
		"1,x,,-4, 5,0,2a": {1, 5},
		many:              slices.Repeat([]int64{7}, maxBasketShown),
	} {
		if got := basketParam(v); !slices.Equal(got, want) {
			t.Errorf("basketParam(%q) = %v, want %v", v, got, want)
		}
	}
}
