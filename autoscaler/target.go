package autoscaler

import (
	"context"
	"errors"
)

// Target is one capacity the daemon sets: an EKS node group's desired size, or an Argo
// CD Application's replicas.
type Target interface {
	// Size is the size the target has been asked for now (its desired size), read from
	// the target itself so a restarted daemon knows where it stands.
	Size(ctx context.Context) (int, error)
	// Resize asks for n. It returns ErrBusy when the target cannot take a change now (a
	// node group UPDATING, an Argo CD operation in progress): the loop keeps the change
	// pending and asks again at the next evaluation. Other errors are retried inside
	// with backoff before they are returned; the loop then backs the target off.
	Resize(ctx context.Context, n int) error
}

// TargetInfo is what a target says of itself beyond its size.
type TargetInfo struct {
	Size int
	// Limited says Min and Max are the target's own limits on its size (an EKS node
	// group's minSize and maxSize), which the policy keeps within.
	Limited  bool
	Min, Max int
	// Busy says the target is in the middle of a change (a node group UPDATING).
	Busy bool
	// Issue, when not empty, is why the target should not grow now (a DEGRADED node
	// group, health issues): it may still shrink.
	Issue string
}

// Describer is a Target that reports its limits and health; the loop reads it with
// Describe instead of Size.
type Describer interface {
	Describe(ctx context.Context) (TargetInfo, error)
}

// ErrBusy means the target is in the middle of a change and takes no other now.
var ErrBusy = errors.New("target busy with another change")

// Source gathers the observations for one evaluation.
type Source interface {
	Observe(ctx context.Context) (Observations, error)
}
