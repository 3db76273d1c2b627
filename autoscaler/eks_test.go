package autoscaler

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// backoffSleeps is a Backoff.Sleep that returns at once and counts the waits asked for.
type backoffSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *backoffSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *backoffSleeps) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.d)
}

func testAWSConfig(f *eksFake) aws.Config {
	return aws.Config{
		Region:      "us-east-1", // the target's own region (from EKSConfig) must win
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "SECRETTEST", ""),
		HTTPClient:  f.srv.Client(),
	}
}

// newEKSTest returns a fake node group (min 1, max 10, desired 2) and a target on it
// through the real SDK client, with config limits 0..8 unless cfg changes them.
func newEKSTest(t *testing.T, cfg func(*EKSConfig)) (*eksFake, *EKSNodegroup, *backoffSleeps) {
	t.Helper()
	f := newEKSFake(t, "school", "burst", 1, 10, 2)
	c := EKSConfig{Region: "eu-west-1", Cluster: "school", Nodegroup: "burst", MinNodes: 0, MaxNodes: 8, Endpoint: f.srv.URL}
	if cfg != nil {
		cfg(&c)
	}
	s := &backoffSleeps{}
	target := NewEKSNodegroup(c, testAWSConfig(f))
	target.Backoff = Backoff{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond, Sleep: s.sleep}
	return f, target, s
}

func TestEKSSizeReadsDesiredSizeThroughTheSDK(t *testing.T) {
	f, target, _ := newEKSTest(t, nil)
	n, err := target.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("Size = %d, want 2", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.creds) != 1 || !strings.HasPrefix(f.creds[0], "AKIDTEST/") || !strings.HasSuffix(f.creds[0], "/eu-west-1/eks/aws4_request") {
		t.Fatalf("signature credential scopes %q, want AKIDTEST/<date>/eu-west-1/eks/aws4_request", f.creds)
	}
}

func TestEKSResizeUpThenDown(t *testing.T) {
	f, target, _ := newEKSTest(t, nil)
	f.UpdatingDescribes = 1
	ctx := context.Background()

	if err := target.Resize(ctx, 5); err != nil {
		t.Fatalf("Resize(5): %v", err)
	}
	ups := f.updates()
	if len(ups) != 1 || ups[0].desired == nil || *ups[0].desired != 5 || ups[0].status != 200 {
		t.Fatalf("updates sent %+v, want one accepted with desiredSize 5", ups)
	}
	if !strings.HasPrefix(ups[0].token, "autoscaler-") {
		t.Fatalf("clientRequestToken %q is not the target's own", ups[0].token)
	}

	// The node group is UPDATING for one describe: busy, and nothing is sent.
	if err := target.Resize(ctx, 6); !errors.Is(err, ErrBusy) {
		t.Fatalf("Resize while UPDATING = %v, want ErrBusy", err)
	}
	if got := len(f.updates()); got != 1 {
		t.Fatalf("%d updates sent, want still 1", got)
	}

	// Then ACTIVE at the new size.
	if n, err := target.Size(ctx); err != nil || n != 5 {
		t.Fatalf("Size after the update = %d, %v; want 5", n, err)
	}
	if err := target.Resize(ctx, 1); err != nil {
		t.Fatalf("Resize(1): %v", err)
	}
	if desired, applied, _ := f.snapshot(); len(applied) != 2 || applied[1] != 1 {
		t.Fatalf("applied %v (desired %d), want [5 1]", applied, desired)
	}
	// One describe still UPDATING at the old size, then ACTIVE at the new one.
	for _, want := range []int{5, 1} {
		if n, err := target.Size(ctx); err != nil || n != want {
			t.Fatalf("Size after going down = %d, %v; want %d", n, err, want)
		}
	}
}

func TestEKSResizeNeverExceedsMax(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name         string
		cfgMin       int
		cfgMax       int
		ask          int
		want         int
		wantNoUpdate bool
	}{
		{name: "config max below node group max", cfgMax: 8, ask: 50, want: 8},
		{name: "node group max below config max", cfgMax: 20, ask: 50, want: 10},
		{name: "node group min", cfgMax: 8, ask: 0, want: 1},
		{name: "config min", cfgMin: 3, cfgMax: 8, ask: 0, want: 3},
		{name: "crossed limits: max wins", cfgMin: 12, cfgMax: 20, ask: 0, want: 10},
		{name: "already at the clamped size", cfgMax: 2, ask: 9, wantNoUpdate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, target, _ := newEKSTest(t, func(c *EKSConfig) { c.MinNodes, c.MaxNodes = tc.cfgMin, tc.cfgMax })
			if err := target.Resize(ctx, tc.ask); err != nil {
				t.Fatalf("Resize(%d): %v", tc.ask, err)
			}
			ups := f.updates()
			if tc.wantNoUpdate {
				if len(ups) != 0 {
					t.Fatalf("updates sent %+v, want none", ups)
				}
				return
			}
			if len(ups) != 1 || *ups[0].desired != tc.want || ups[0].status != 200 {
				t.Fatalf("updates sent %+v, want one accepted with desiredSize %d", ups, tc.want)
			}
		})
	}
}

// TestEKSFakeRefusesAboveMax shows the clamp matters: the fake, through the real SDK,
// answers a desired size above maxSize with EKS's InvalidParameterException.
func TestEKSFakeRefusesAboveMax(t *testing.T) {
	f := newEKSFake(t, "school", "burst", 1, 10, 2)
	client := eks.NewFromConfig(testAWSConfig(f), func(o *eks.Options) {
		o.BaseEndpoint = aws.String(f.srv.URL)
		o.Retryer = aws.NopRetryer{}
	})
	_, err := client.UpdateNodegroupConfig(context.Background(), &eks.UpdateNodegroupConfigInput{
		ClusterName: aws.String("school"), NodegroupName: aws.String("burst"),
		ScalingConfig: &types.NodegroupScalingConfig{DesiredSize: aws.Int32(11)},
	})
	var invalid *types.InvalidParameterException
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want InvalidParameterException", err)
	}
	if !strings.Contains(invalid.ErrorMessage(), "maxSize 10") || aws.ToString(invalid.NodegroupName) != "burst" {
		t.Fatalf("InvalidParameterException parsed as message %q nodegroup %q", invalid.ErrorMessage(), aws.ToString(invalid.NodegroupName))
	}
	// The SDK filled in a token of its own when none was given.
	if ups := f.updates(); len(ups) != 1 || ups[0].token == "" {
		t.Fatalf("updates %+v, want one with an SDK token", ups)
	}
	// And the update went through DescribeNodegroup's parsing too.
	out, err := client.DescribeNodegroup(context.Background(), &eks.DescribeNodegroupInput{ClusterName: aws.String("school"), NodegroupName: aws.String("burst")})
	if err != nil {
		t.Fatal(err)
	}
	ng := out.Nodegroup
	if ng.Status != types.NodegroupStatusActive || *ng.ScalingConfig.MaxSize != 10 || ng.ModifiedAt == nil ||
		!ng.ModifiedAt.Equal(time.Unix(1_700_000_000, 250_000_000)) || len(ng.Resources.AutoScalingGroups) != 1 {
		t.Fatalf("DescribeNodegroup parsed as %+v", ng)
	}
}

func TestEKSNotActiveIsBusyAndSendsNothing(t *testing.T) {
	for _, status := range []string{"UPDATING", "CREATING", "DEGRADED"} {
		t.Run(status, func(t *testing.T) {
			f, target, _ := newEKSTest(t, nil)
			f.setStatus(status, 10)
			err := target.Resize(context.Background(), 5)
			if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), status) {
				t.Fatalf("Resize = %v, want ErrBusy naming %s", err, status)
			}
			if ups := f.updates(); len(ups) != 0 {
				t.Fatalf("updates sent %+v, want none", ups)
			}
		})
	}
}

func TestEKSResourceInUseIsBusy(t *testing.T) {
	f, target, s := newEKSTest(t, nil)
	// Another update slipped in between the describe and the update.
	f.failNext("update", eksFakeFault{status: 409, code: "ResourceInUseException"})
	err := target.Resize(context.Background(), 5)
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Resize = %v, want ErrBusy", err)
	}
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Fatalf("Resize = %v, want the ResourceInUseException kept in the chain", err)
	}
	if ups := f.updates(); len(ups) != 1 || s.count() != 0 {
		t.Fatalf("updates %+v, %d retries: want one update and no retry", ups, s.count())
	}
}

func TestEKSUpdateWhileUpdatingIsResourceInUse(t *testing.T) {
	// A second update while the first runs, with a different token: EKS's 409, as the
	// SDK parses it.
	f := newEKSFake(t, "school", "burst", 1, 10, 2)
	f.UpdatingDescribes = 5
	target := NewEKSNodegroupWithAPI(EKSConfig{Cluster: "school", Nodegroup: "burst", MaxNodes: 10},
		eks.NewFromConfig(testAWSConfig(f), func(o *eks.Options) { o.BaseEndpoint = aws.String(f.srv.URL) }))
	if err := target.Resize(context.Background(), 4); err != nil {
		t.Fatal(err)
	}
	_, err := target.api.UpdateNodegroupConfig(context.Background(), &eks.UpdateNodegroupConfigInput{
		ClusterName: aws.String("school"), NodegroupName: aws.String("burst"),
		ScalingConfig:      &types.NodegroupScalingConfig{DesiredSize: aws.Int32(6)},
		ClientRequestToken: aws.String("other"),
	})
	if _, err := target.classify("update", err); !errors.Is(err, ErrBusy) {
		t.Fatalf("second update = %v, want ErrBusy", err)
	}
}

func TestEKSRetriesThrottlingAndServerErrorsWithTheSameToken(t *testing.T) {
	f, target, s := newEKSTest(t, nil)
	f.failNext("describe", eksFakeFault{status: 429, code: "ThrottlingException"})
	f.failNext("update",
		eksFakeFault{status: 429, code: "ThrottlingException"},
		// EKS acted but the answer was lost: the retry must not apply it again.
		eksFakeFault{status: 500, code: "ServerException", applied: true},
	)
	if err := target.Resize(context.Background(), 6); err != nil {
		t.Fatalf("Resize: %v", err)
	}
	ups := f.updates()
	if len(ups) != 3 {
		t.Fatalf("updates %+v, want 3 (429, 500, then the same request answered)", ups)
	}
	for _, u := range ups {
		if u.token != ups[0].token || *u.desired != 6 {
			t.Fatalf("retried updates differ: %+v", ups)
		}
	}
	if ups[2].status != 200 {
		t.Fatalf("last update answered %d", ups[2].status)
	}
	if _, applied, _ := f.snapshot(); len(applied) != 1 || applied[0] != 6 {
		t.Fatalf("applied %v, want [6] once", applied)
	}
	if s.count() != 3 { // one describe retry, two update retries
		t.Fatalf("%d backoff waits, want 3", s.count())
	}
	for i, d := range s.d {
		if d <= 0 || d > target.Backoff.Max {
			t.Fatalf("wait %d = %s, want within (0, %s]", i, d, target.Backoff.Max)
		}
	}
}

func TestEKSRetryIsBounded(t *testing.T) {
	f, target, s := newEKSTest(t, nil)
	for range 10 {
		f.failNext("update", eksFakeFault{status: 503, code: "ServiceUnavailableException"})
	}
	err := target.Resize(context.Background(), 6)
	if err == nil || errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("Resize = %v, want a give-up error after 4 attempts", err)
	}
	if ups := f.updates(); len(ups) != 4 || s.count() != 3 {
		t.Fatalf("%d updates, %d waits; want 4 and 3", len(ups), s.count())
	}
}

func TestEKSInvalidParameterIsNotRetried(t *testing.T) {
	f, target, s := newEKSTest(t, nil)
	f.failNext("update", eksFakeFault{status: 400, code: "InvalidParameterException"})
	err := target.Resize(context.Background(), 6)
	var invalid *types.InvalidParameterException
	if errors.Is(err, ErrBusy) || !errors.As(err, &invalid) || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("Resize = %v, want a clear InvalidParameterException error", err)
	}
	if len(f.updates()) != 1 || s.count() != 0 {
		t.Fatalf("retried an invalid request")
	}
}

func TestEKSSizeErrors(t *testing.T) {
	_, target, _ := newEKSTest(t, func(c *EKSConfig) { c.Nodegroup = "missing" })
	_, err := target.Size(context.Background())
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "school/missing") {
		t.Fatalf("Size = %v, want ResourceNotFoundException naming the node group", err)
	}
}

func TestEKSBackoffStopsWithTheContext(t *testing.T) {
	f, target, _ := newEKSTest(t, nil)
	f.failNext("describe", eksFakeFault{status: 500, code: "ServerException"})
	ctx, cancel := context.WithCancel(context.Background())
	target.Backoff.Sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
	if _, err := target.Size(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Size = %v, want context.Canceled", err)
	}
}

func TestEKSRequestToken(t *testing.T) {
	at := time.Unix(1_700_000_000, 0)
	later := at.Add(time.Hour)
	a := eksRequestToken("school", "burst", 2, 5, &at)
	if a != eksRequestToken("school", "burst", 2, 5, &at) {
		t.Fatal("token is not deterministic")
	}
	for _, other := range []string{
		eksRequestToken("school", "burst", 2, 6, &at),
		eksRequestToken("school", "burst", 3, 5, &at),
		eksRequestToken("school", "other", 2, 5, &at),
		eksRequestToken("other", "burst", 2, 5, &at),
		eksRequestToken("school", "burst", 2, 5, &later), // the same change again, later
		eksRequestToken("school", "burst", 2, 5, nil),
	} {
		if other == a {
			t.Fatalf("token %q shared by different changes", a)
		}
	}
	if len(a) > 64 {
		t.Fatalf("token %q too long", a)
	}
}

func TestBackoffDelayIsBoundedExponentialWithJitter(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second}.withDefaults()
	for attempt, full := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		full *= time.Millisecond
		for range 50 {
			if d := b.delay(attempt); d < full/2 || d > full {
				t.Fatalf("delay(%d) = %s, want within [%s, %s]", attempt, d, full/2, full)
			}
		}
	}
	if d := b.delay(1000); d > time.Second {
		t.Fatalf("delay(1000) = %s, want at most Max", d)
	}
}
