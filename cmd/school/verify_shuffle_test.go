package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/schoolservice/school/waitingroom"
)

// TestVerifyShuffle: the command accepts a genuine reveal and names a ticket's place,
// and refuses a list with two places swapped or a seed that is not the committed one.
func TestVerifyShuffle(t *testing.T) {
	seed := strings.Repeat("ab", 32)
	ids := []int64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	genuine := waitingroom.Shuffle{Commitment: waitingroom.Commitment(seed), Seed: seed, Order: waitingroom.ShuffleOrder(seed, ids)}
	swapped := genuine
	swapped.Order = append([]int64(nil), genuine.Order...)
	swapped.Order[3], swapped.Order[7] = swapped.Order[7], swapped.Order[3]
	otherSeed := genuine
	otherSeed.Seed = strings.Repeat("cd", 32)
	otherSeed.Order = waitingroom.ShuffleOrder(otherSeed.Seed, ids)
	unrevealed := waitingroom.Shuffle{Commitment: genuine.Commitment}

	for _, tc := range []struct {
		name   string
		s      waitingroom.Shuffle
		code   int
		output string
	}{
		{"genuine", genuine, 0, "all 10 places are the ones the seed gives"},
		{"swapped", swapped, 1, "place 4: the seed puts ticket"},
		{"other seed", otherSeed, 1, "is not the commitment"},
		{"not revealed", unrevealed, 1, "not revealed yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var text bytes.Buffer
			if err := tc.s.WriteReveal(&text, 7); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "shuffle.txt")
			if err := os.WriteFile(path, text.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			args := []string{"verify-shuffle", "-file", path}
			if tc.code == 0 {
				args = append(args, "-ticket", "15")
			}
			code := run(t.Context(), args, func(string) string { return "" }, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tc.code || !strings.Contains(out, tc.output) {
				t.Fatalf("exit %d, want %d; output:\n%s\nwant it to say %q", code, tc.code, out, tc.output)
			}
			if tc.code == 0 {
				want := "ticket 15 is at place "
				if !strings.Contains(out, want) {
					t.Errorf("no place for ticket 15:\n%s", out)
				}
			}
		})
	}
}
