package waitingroom

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The pre-queue shuffle, verifiable by anyone.
//
// When a waiting room is enabled (before its pre-queue opens), the room fixes a random
// nonce and derives the seed from it: seed = hex(HMAC-SHA256(secret, "school waiting
// room shuffle:" window ":" nonce)), where secret is held only by the app (a secret
// file; never in the database). It stores and shows only the commitment,
// hex(SHA-256(seed)). At the opening the admission tick derives the seed again, checks
// it against the commitment, orders the pre-queue by hex(SHA-256(seed ":" ticket id))
// ascending, and reveals the seed with the list of shuffled ticket ids.
//
// What this proves: the order is a fixed function of the ticket ids, chosen before any
// student arrived (the commitment binds the seed), so nobody ordered the pre-queue after
// seeing who was in it; and anyone with the reveal can recompute every place. A reader of
// the database alone cannot know the seed, hence which ticket ids land early, before the
// opening. What it does not prove: that whoever holds the app's secret did not learn the
// seed early (they can derive it), that ticket ids were handed out honestly, or that the
// list holds every pre-queue place (each student can check their own is in it).

// Shuffle is a window's commitment and, after the opening, its reveal.
type Shuffle struct {
	Commitment string
	Seed       string  // "" until the opening
	Order      []int64 // the shuffled ticket ids, first place first; nil until the opening
}

// Revealed reports whether the seed has been published.
func (s Shuffle) Revealed() bool { return s.Seed != "" }

// Commitment is the published SHA-256 of a seed.
func Commitment(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:])
}

// ShuffleOrder orders ticket ids by SHA-256 of the seed, a colon and the id: the
// pre-queue order, which anyone holding the seed can recompute.
func ShuffleOrder(seed string, tickets []int64) []int64 {
	type keyed struct {
		key [sha256.Size]byte
		id  int64
	}
	ks := make([]keyed, len(tickets))
	for i, id := range tickets {
		ks[i] = keyed{sha256.Sum256([]byte(seed + ":" + strconv.FormatInt(id, 10))), id}
	}
	// Bytes order is the order of the hex strings the documentation names.
	slices.SortFunc(ks, func(a, b keyed) int {
		if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
			return c
		}
		return int(min(max(a.id-b.id, -1), 1))
	})
	out := make([]int64, len(ks))
	for i, k := range ks {
		out[i] = k.id
	}
	return out
}

// Verify checks a reveal: the seed matches the commitment and the order is the one the
// seed gives. It returns the first place that differs.
func (s Shuffle) Verify() error {
	if !s.Revealed() {
		return errors.New("the seed is not revealed yet")
	}
	if got := Commitment(s.Seed); got != s.Commitment {
		return fmt.Errorf("SHA-256 of the seed is %s, which is not the commitment %s", got, s.Commitment)
	}
	want := ShuffleOrder(s.Seed, s.Order)
	for i := range want {
		if want[i] != s.Order[i] {
			return fmt.Errorf("place %d: the seed puts ticket %d there, the list ticket %d", i+1, want[i], s.Order[i])
		}
	}
	return nil
}

// seedDeriver turns a window and its nonce into the seed, with the app's secret.
type seedDeriver struct{ secret []byte }

func (d seedDeriver) seed(windowID int64, nonce string) string {
	m := hmac.New(sha256.New, d.secret)
	fmt.Fprintf(m, "school waiting room shuffle:%d:%s", windowID, nonce)
	return hex.EncodeToString(m.Sum(nil))
}

func newNonce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// WriteReveal writes the shuffle in the text form the app publishes and
// `school verify-shuffle` reads: comment lines start with #, then "commitment HEX",
// then, once revealed, "seed HEX" and one "PLACE TICKET" line per place, first first.
func (s Shuffle) WriteReveal(w io.Writer, windowID int64) error {
	b := bufio.NewWriter(w)
	fmt.Fprintf(b, "# School Service: the pre-queue shuffle of registration window %d.\n", windowID)
	fmt.Fprintf(b, "# Check: SHA-256(seed) = commitment; the places are the ticket ids in ascending order of\n")
	fmt.Fprintf(b, "# SHA-256(seed \":\" ticket id) in hex. Or run: school verify-shuffle -url <this address>\n")
	fmt.Fprintf(b, "commitment %s\n", s.Commitment)
	if s.Revealed() {
		fmt.Fprintf(b, "seed %s\n", s.Seed)
		for i, id := range s.Order {
			fmt.Fprintf(b, "%d %d\n", i+1, id)
		}
	}
	return b.Flush()
}

// ReadReveal reads what WriteReveal wrote. Places must come in order, 1, 2, 3, ….
func ReadReveal(r io.Reader) (Shuffle, error) {
	var s Shuffle
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "commitment":
			s.Commitment = val
		case "seed":
			s.Seed = val
		default:
			place, err1 := strconv.Atoi(key)
			id, err2 := strconv.ParseInt(val, 10, 64)
			if err1 != nil || err2 != nil {
				return Shuffle{}, fmt.Errorf("line %d: %q is neither commitment, seed nor \"PLACE TICKET\"", n, line)
			}
			if place != len(s.Order)+1 {
				return Shuffle{}, fmt.Errorf("line %d: place %d after place %d", n, place, len(s.Order))
			}
			s.Order = append(s.Order, id)
		}
	}
	if err := sc.Err(); err != nil {
		return Shuffle{}, err
	}
	if s.Commitment == "" {
		return Shuffle{}, errors.New("no commitment line")
	}
	return s, nil
}
