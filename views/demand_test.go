package views

import (
	"context"
	"testing"

	"github.com/schoolservice/school/registration"
)

func TestDemandRatio(t *testing.T) {
	for _, c := range []struct {
		baskets, capacity int
		want              string
	}{{72, 30, "2.4 : 1"}, {30, 30, "1.0 : 1"}, {3, 30, "0.10 : 1"}, {0, 30, "0.00 : 1"}, {5, 0, "–"}} {
		if got := (Demand{Shown: true, Baskets: c.baskets}).Ratio(c.capacity); got != c.want {
			t.Errorf("%d baskets for %d seats: %q, want %q", c.baskets, c.capacity, got, c.want)
		}
	}
}

// The auto-enrolment report names every refusal the registration rules can give, in
// both languages.
func TestBasketAutoReasons(t *testing.T) {
	for _, r := range []registration.Result{registration.Full, registration.Duplicate, registration.TimeConflict, registration.CreditLimit,
		registration.Prerequisite, registration.WindowClosed, registration.NotFound, registration.Invalid} {
		if _, ok := messages["basket_auto.reason."+string(r)]; !ok {
			t.Errorf("no label for the refusal %s", r)
		}
	}
	if got := T(WithLocale(context.Background(), Korean), "basket_auto.reason.time_conflict"); got != "시간 중복" {
		t.Errorf("Korean label: %q", got)
	}
}
