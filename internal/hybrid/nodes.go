package hybrid

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
)

// The node group the shipped autoscaler config names.
const (
	eksRegion    = "ap-northeast-2"
	eksCluster   = "school-burst"
	eksNodegroup = "school-burst"
)

// nodeGroup follows the burst node group's desired size in moto_server: a node asked for
// becomes Ready startup later (as an EC2 instance joining the cluster); a node given back
// goes at once, the ones not yet Ready first.
type nodeGroup struct {
	client  *eks.Client
	startup time.Duration

	mu      sync.Mutex
	readyAt []time.Time
	desired int
}

func newEKSClient(endpoint string) *eks.Client {
	return eks.New(eks.Options{
		Region:       eksRegion,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("hybrid-drill", "hybrid-drill", ""),
	})
}

// createNodeGroup makes the cluster and its node group (min 0, max maxNodes, desired 0).
func createNodeGroup(ctx context.Context, c *eks.Client, maxNodes int) error {
	_, err := c.CreateCluster(ctx, &eks.CreateClusterInput{
		Name:               aws.String(eksCluster),
		RoleArn:            aws.String("arn:aws:iam::123456789012:role/school-burst-cluster"),
		ResourcesVpcConfig: &types.VpcConfigRequest{SubnetIds: []string{"subnet-0a1b2c3d"}},
	})
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("moto: create cluster: %w", err)
	}
	_, err = c.CreateNodegroup(ctx, &eks.CreateNodegroupInput{
		ClusterName:   aws.String(eksCluster),
		NodegroupName: aws.String(eksNodegroup),
		NodeRole:      aws.String("arn:aws:iam::123456789012:role/school-burst-node"),
		Subnets:       []string{"subnet-0a1b2c3d"},
		ScalingConfig: &types.NodegroupScalingConfig{MinSize: aws.Int32(0), MaxSize: aws.Int32(int32(maxNodes)), DesiredSize: aws.Int32(0)},
		Labels:        map[string]string{"eks.amazonaws.com/nodegroup": eksNodegroup},
	})
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("moto: create node group: %w", err)
	}
	return nil
}

// poll reads the desired size and adds or removes nodes.
func (g *nodeGroup) poll(ctx context.Context, now time.Time) error {
	out, err := g.client.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String(eksCluster), NodegroupName: aws.String(eksNodegroup)})
	if err != nil {
		return err
	}
	want := 0
	if sc := out.Nodegroup.ScalingConfig; sc != nil && sc.DesiredSize != nil {
		want = int(*sc.DesiredSize)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.desired = want
	for len(g.readyAt) < want {
		g.readyAt = append(g.readyAt, now.Add(g.startup))
	}
	// Nodes are added in order of readiness, so the last ones are the least ready.
	g.readyAt = g.readyAt[:min(len(g.readyAt), want)]
	return nil
}

func (g *nodeGroup) counts(now time.Time) (desired, ready int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, t := range g.readyAt {
		if !now.Before(t) {
			ready++
		}
	}
	return g.desired, ready
}
