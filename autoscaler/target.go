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
	// node group UPDATING, an Argo CD operation in progress): the next evaluation tries
	// again. Other errors are retried inside with backoff before they are returned.
	Resize(ctx context.Context, n int) error
}

// ErrBusy means the target is in the middle of a change and takes no other now.
var ErrBusy = errors.New("target busy with another change")

// Source gathers the observations for one evaluation.
type Source interface {
	Observe(ctx context.Context) (Observations, error)
}
