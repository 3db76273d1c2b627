package autoscaler

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EKSAPI is the part of the EKS client the node group target uses. It is narrowed to
// the two calls it makes, as kubernetes/autoscaler's aws_wrapper narrows its AWS
// clients, so anything that speaks them can stand in for the SDK.
type EKSAPI interface {
	DescribeNodegroup(ctx context.Context, in *eks.DescribeNodegroupInput, optFns ...func(*eks.Options)) (*eks.DescribeNodegroupOutput, error)
	UpdateNodegroupConfig(ctx context.Context, in *eks.UpdateNodegroupConfigInput, optFns ...func(*eks.Options)) (*eks.UpdateNodegroupConfigOutput, error)
}

var _ EKSAPI = (*eks.Client)(nil)

// EKSNodegroup is the Target of an EKS managed node group's desired size.
//
// Resize acts only on an ACTIVE node group (any other status is ErrBusy), keeps the size
// within both the node group's own minSize/maxSize and the config's min/max nodes (so
// it never sends a desired size above a maximum), sends nothing when the node group is
// already at that size, and retries throttling, 5xx answers and failed sends itself with
// Backoff. Each update carries a ClientRequestToken derived from the cluster, the node
// group, the size it goes from and to, and the node group's modifiedAt: a retried
// request is the same request, so EKS applies it once, while a later change, even back
// to the same size, is a new request because the node group has been modified since.
type EKSNodegroup struct {
	api EKSAPI
	cfg EKSConfig
	// Backoff paces the retries of throttled, failed and 5xx calls.
	Backoff Backoff
}

// LoadAWSConfig loads the SDK's default configuration (environment, shared files, web
// identity for IRSA, the instance role) for region.
func LoadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	return awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
}

// NewEKSNodegroup returns the target for cfg's node group, on an EKS client made from
// awsCfg (its credentials and HTTP client) with cfg's region and, when set, cfg's
// endpoint. The SDK's own retries are turned off: Resize retries by itself so that a
// retried update keeps its idempotency token and the retries are bounded in one place.
func NewEKSNodegroup(cfg EKSConfig, awsCfg aws.Config) *EKSNodegroup {
	client := eks.NewFromConfig(awsCfg, func(o *eks.Options) {
		o.Region = cfg.Region
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.Retryer = aws.NopRetryer{}
	})
	return NewEKSNodegroupWithAPI(cfg, client)
}

// NewEKSNodegroupWithAPI returns the target for cfg's node group on api.
func NewEKSNodegroupWithAPI(cfg EKSConfig, api EKSAPI) *EKSNodegroup {
	return &EKSNodegroup{api: api, cfg: cfg}
}

// Size returns the node group's desired size.
func (t *EKSNodegroup) Size(ctx context.Context) (int, error) {
	d, err := t.Describe(ctx)
	return d.Size, err
}

// Describe returns the node group's desired size with its own minSize and maxSize, busy
// while it is UPDATING, and an issue when it is in any other state than ACTIVE or
// reports health issues (a DEGRADED group, instances that fail to launch): the loop
// then gives it no more nodes.
func (t *EKSNodegroup) Describe(ctx context.Context) (TargetInfo, error) {
	ng, err := t.describe(ctx)
	if err != nil {
		return TargetInfo{}, err
	}
	sc := ng.ScalingConfig
	if sc == nil || sc.DesiredSize == nil || sc.MinSize == nil || sc.MaxSize == nil {
		return TargetInfo{}, fmt.Errorf("eks: node group %s has an incomplete scaling config", t.name())
	}
	info := TargetInfo{Size: int(*sc.DesiredSize), Min: int(*sc.MinSize), Max: int(*sc.MaxSize), Limited: true}
	switch ng.Status {
	case types.NodegroupStatusActive:
	case types.NodegroupStatusUpdating:
		info.Busy = true
	default:
		info.Issue = "node group " + string(ng.Status)
	}
	if ng.Health != nil {
		for _, is := range ng.Health.Issues {
			info.Issue = strings.TrimPrefix(info.Issue+"; ", "; ") + string(is.Code)
			if is.Message != nil {
				info.Issue += ": " + *is.Message
			}
		}
	}
	return info, nil
}

// Resize asks the node group for n nodes, within the limits (see EKSNodegroup).
func (t *EKSNodegroup) Resize(ctx context.Context, n int) error {
	ng, err := t.describe(ctx)
	if err != nil {
		return err
	}
	if ng.Status != types.NodegroupStatusActive {
		return fmt.Errorf("%w: eks node group %s is %s", ErrBusy, t.name(), ng.Status)
	}
	sc := ng.ScalingConfig
	if sc == nil || sc.DesiredSize == nil || sc.MinSize == nil || sc.MaxSize == nil {
		return fmt.Errorf("eks: node group %s has an incomplete scaling config", t.name())
	}
	desired := int(*sc.DesiredSize)
	want := clamp(n, max(t.cfg.MinNodes, int(*sc.MinSize)), min(t.cfg.MaxNodes, int(*sc.MaxSize)))
	if want == desired {
		return nil
	}
	token := eksRequestToken(t.cfg.Cluster, t.cfg.Nodegroup, desired, want, ng.ModifiedAt)
	in := &eks.UpdateNodegroupConfigInput{
		ClusterName:        aws.String(t.cfg.Cluster),
		NodegroupName:      aws.String(t.cfg.Nodegroup),
		ScalingConfig:      &types.NodegroupScalingConfig{DesiredSize: aws.Int32(int32(want))},
		ClientRequestToken: aws.String(token),
	}
	return t.Backoff.retry(ctx, func(ctx context.Context) (bool, error) {
		_, err := t.api.UpdateNodegroupConfig(ctx, in)
		return t.classify("update the scaling config of", err)
	})
}

func (t *EKSNodegroup) describe(ctx context.Context) (*types.Nodegroup, error) {
	in := &eks.DescribeNodegroupInput{
		ClusterName:   aws.String(t.cfg.Cluster),
		NodegroupName: aws.String(t.cfg.Nodegroup),
	}
	var ng *types.Nodegroup
	err := t.Backoff.retry(ctx, func(ctx context.Context) (bool, error) {
		out, err := t.api.DescribeNodegroup(ctx, in)
		if err == nil {
			if out == nil || out.Nodegroup == nil {
				return false, fmt.Errorf("eks: describing node group %s returned no node group", t.name())
			}
			ng = out.Nodegroup
		}
		return t.classify("describe", err)
	})
	return ng, err
}

func (t *EKSNodegroup) name() string { return t.cfg.Cluster + "/" + t.cfg.Nodegroup }

// classify says whether an EKS call's error is worth another try, and turns it into
// the error Resize and Size return.
func (t *EKSNodegroup) classify(what string, err error) (retry bool, _ error) {
	if err == nil {
		return false, nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false, err
	}
	var inUse *types.ResourceInUseException
	if errors.As(err, &inUse) {
		return false, fmt.Errorf("%w: eks node group %s: %w", ErrBusy, t.name(), err)
	}
	var invalid *types.InvalidParameterException
	if errors.As(err, &invalid) {
		return false, fmt.Errorf("eks: cannot %s node group %s, EKS refused the parameters (not retried): %w", what, t.name(), err)
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "ThrottlingException", "TooManyRequestsException", "ServerException", "ServiceUnavailableException":
			return true, err
		}
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		if c := status.HTTPStatusCode(); c == 429 || c >= 500 {
			return true, err
		}
		return false, fmt.Errorf("eks: cannot %s node group %s: %w", what, t.name(), err)
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
		return true, err
	}
	return false, fmt.Errorf("eks: cannot %s node group %s: %w", what, t.name(), err)
}

// eksRequestToken is the ClientRequestToken of the change of the node group from size
// from to size to, made while the node group was last modified at modifiedAt.
func eksRequestToken(cluster, nodegroup string, from, to int, modifiedAt *time.Time) string {
	var mod int64
	if modifiedAt != nil {
		mod = modifiedAt.UnixNano()
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%d", cluster, nodegroup, from, to, mod))
	return "autoscaler-" + hex.EncodeToString(sum[:16])
}

// Backoff is bounded exponential backoff with jitter between the attempts of a call that
// failed in a way worth retrying. Its zero value is the default.
type Backoff struct {
	// Attempts is how many tries in all, the first included (default 5).
	Attempts int
	// Base is the wait before the second try, doubling each time (default 500ms);
	// Max caps one wait (default 8s). Each wait is drawn between half and all of it.
	Base, Max time.Duration
	// Sleep waits d or until ctx ends; nil is a timer. Tests make it record and return.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (b Backoff) withDefaults() Backoff {
	if b.Attempts <= 0 {
		b.Attempts = 5
	}
	if b.Base <= 0 {
		b.Base = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 8 * time.Second
	}
	if b.Max < b.Base {
		b.Max = b.Base
	}
	if b.Sleep == nil {
		b.Sleep = sleepCtx
	}
	return b
}

// delay is the wait after the try numbered attempt (0 for the first).
func (b Backoff) delay(attempt int) time.Duration {
	d := b.Max
	if attempt < 30 && b.Base<<attempt < b.Max {
		d = b.Base << attempt
	}
	return d/2 + rand.N(d/2+1)
}

// retry calls op until it succeeds, returns an error not worth retrying, or has been
// tried Attempts times.
func (b Backoff) retry(ctx context.Context, op func(ctx context.Context) (retry bool, err error)) error {
	b = b.withDefaults()
	for attempt := 0; ; attempt++ {
		again, err := op(ctx)
		if err == nil || !again {
			return err
		}
		if attempt+1 >= b.Attempts {
			return fmt.Errorf("gave up after %d attempts: %w", b.Attempts, err)
		}
		if serr := b.Sleep(ctx, b.delay(attempt)); serr != nil {
			return fmt.Errorf("%w (while waiting to retry: %w)", serr, err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
