package views

import (
	"context"
	"testing"
)

// A name shows in the page's language and falls back to the other one when it is
// missing; OtherName is the one beside it, and nothing when there is no other.
func TestNameFallsBack(t *testing.T) {
	en, ko := WithLocale(context.Background(), English), WithLocale(context.Background(), Korean)
	for _, c := range []struct {
		ctx             context.Context
		enName, koName  string
		want, wantOther string
	}{
		{en, "Data Structures", "자료구조", "Data Structures", "자료구조"},
		{ko, "Data Structures", "자료구조", "자료구조", "Data Structures"},
		{ko, "Data Structures", "", "Data Structures", ""},
		{en, "", "자료구조", "자료구조", ""},
		{en, "", "", "", ""},
		{ko, "Same", "Same", "Same", ""},
	} {
		if got, other := Name(c.ctx, c.enName, c.koName), OtherName(c.ctx, c.enName, c.koName); got != c.want || other != c.wantOther {
			t.Errorf("%s (%q, %q) = %q beside %q, want %q beside %q", LocaleFrom(c.ctx), c.enName, c.koName, got, other, c.want, c.wantOther)
		}
	}
}
