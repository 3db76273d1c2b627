package waitingroom

import (
	"errors"
	"testing"
)

// A well-signed poll token is refused unless it names exactly a window, a student and a
// ticket: the signer signs only such, and what else it signs (passes) is not a token.
func TestParseTokenWantsThreeNumbers(t *testing.T) {
	s := newSigner([]byte("0123456789abcdef0123456789abcdef"))
	if p, err := s.ParseToken(s.sign("t.1.2.3")); err != nil || p != (Place{Window: 1, User: 2, Ticket: 3}) {
		t.Fatalf("t.1.2.3: %+v, %v", p, err)
	}
	for _, payload := range []string{"t.1.2.3.4", "t.1.2", "t.1.2.x", "t..2.3", "t.1.2.-3", "p.1.2.3", "t.1.2.3."} {
		if p, err := s.ParseToken(s.sign(payload)); !errors.Is(err, ErrBadToken) {
			t.Errorf("%q signed: %+v, %v; want ErrBadToken", payload, p, err)
		}
	}
}
