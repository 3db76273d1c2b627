package views

import "testing"

func TestQueuePollURL(t *testing.T) {
	for _, c := range []struct {
		q    Queue
		want string
	}{
		{Queue{Token: "a.b"}, "/queue/status?t=a.b"},
		{Queue{Token: "a+b", BasketIDs: []int64{12, 3}}, "/queue/status?t=a%2Bb&b=12%2C3"},
	} {
		if got := c.q.pollURL(); got != c.want {
			t.Errorf("pollURL of %+v = %q, want %q", c.q, got, c.want)
		}
	}
}
