package autoscaler

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// savedState is the state file: what a restarted daemon needs so that it neither acts
// again inside a cooldown, nor forgets an action it stopped in the middle of, nor drops
// the schedule floor, nor hammers a target it was backing off from.
type savedState struct {
	Version int       `json:"version"`
	SavedAt time.Time `json:"saved_at"`
	State   State     `json:"state"`
	// Known is the last size each target reported or took: a target that cannot be read
	// after a restart holds it.
	Known  Sizes                    `json:"known"`
	Health map[string]*TargetHealth `json:"health,omitempty"`
	// NodesShortSince is when the node group was first seen with fewer ready nodes than
	// its desired size (the provision timeout counts from it).
	NodesShortSince time.Time `json:"nodes_short_since,omitzero"`
}

const stateVersion = 1

// LoadState reads the state file, if the config names one and it exists. The sustain
// timers are kept only when the file was written within three intervals: after a longer
// gap nobody knows what the load did, and a timer restarted only delays an action.
func (c *Controller) LoadState() error {
	if c.cfg.StateFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.cfg.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("state file %s: %w (delete it to start afresh)", c.cfg.StateFile, err)
	}
	if s.Version != stateVersion {
		return fmt.Errorf("state file %s: version %d, want %d (delete it to start afresh)", c.cfg.StateFile, s.Version, stateVersion)
	}
	if c.now().Sub(s.SavedAt) > 3*c.cfg.Interval.D() {
		s.State.AboveSince, s.State.BelowSince = time.Time{}, time.Time{}
	}
	c.state, c.known, c.health, c.nodesShortSince = s.State, s.Known, s.Health, s.NodesShortSince
	// A target that was failing before the restart is unhealthy from the start, not
	// only after the first evaluation.
	c.publishHealth()
	return nil
}

// saveState writes the state file whole or not at all (a temporary file renamed over it),
// so a crash mid-write leaves the previous state.
func (c *Controller) saveState(st State) error {
	if c.cfg.StateFile == "" || c.dryRun {
		return nil
	}
	b, err := json.MarshalIndent(savedState{Version: stateVersion, SavedAt: c.now(), State: st, Known: c.known,
		Health: c.health, NodesShortSince: c.nodesShortSince}, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(c.cfg.StateFile), ".autoscaler-state-*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(f.Name()) // after the rename there is nothing left to remove
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(f.Name(), c.cfg.StateFile); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}
