package web

import (
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		buckets map[int32]int64
		q       float64
		want    time.Duration
		ok      bool
	}{
		{"none", map[int32]int64{}, 0.95, 0, false},
		// 100 answers, all within 50 ms: the 95th lies in the 25–50 bucket, 95% of the way.
		{"one bucket", map[int32]int64{50: 100}, 0.95, 48750 * time.Microsecond, true},
		// 90 fast, 10 between 100 and 150 ms: the 95th is half-way through that bucket.
		{"tail", map[int32]int64{10: 90, 150: 10}, 0.95, 125 * time.Millisecond, true},
		// Beyond the last bound, the last bound is all that is known.
		{"overflow", map[int32]int64{5: 1, overflowBucket: 99}, 0.95, 10 * time.Second, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := quantile(c.q, c.buckets)
			if ok != c.ok || (got-c.want).Abs() > time.Millisecond {
				t.Errorf("quantile(%v) = %v, %v; want %v, %v", c.q, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestBucketOf(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]int32{
		0: 5, 5 * time.Millisecond: 5, 5*time.Millisecond + 1: 10, 420 * time.Millisecond: 500,
		10 * time.Second: 10000, 11 * time.Second: overflowBucket,
	} {
		if got := bucketOf(d); got != want {
			t.Errorf("bucketOf(%v) = %d, want %d", d, got, want)
		}
	}
}
