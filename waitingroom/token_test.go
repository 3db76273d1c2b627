package waitingroom_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/schoolservice/school/waitingroom"
)

// admittedPlace sets up a fresh database with one window and one admitted student, and
// returns its room, place, poll token and pass. Fresh databases number their rows alike,
// so two of them give the same place under different keys.
func admittedPlace(t *testing.T) (*fixture, *waitingroom.Room, waitingroom.Place, string, string) {
	t.Helper()
	f := newFixture(t)
	w := f.window(windowSpec{rate: 10})
	r := f.room()
	f.clock.Set(opens.Add(time.Second))
	f.open(r, w)
	p, token, err := r.Join(f.ctx, w, f.students(1)[0])
	if err != nil {
		t.Fatal(err)
	}
	f.tick(r, w)
	f.clock.Advance(time.Second)
	f.tick(r, w)
	pass, _, err := r.Enter(f.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	return f, r, p, token, pass
}

// TestTokens: a poll token names its place on every replica, and nothing else passes for
// one: not a token signed with another key, not an altered one, not a pass.
func TestTokens(t *testing.T) {
	f, r, p, token, pass := admittedPlace(t)
	r2 := f.room() // another replica shares the key
	for _, room := range []*waitingroom.Room{r, r2} {
		if got, err := room.ParseToken(token); err != nil || got != p {
			t.Errorf("ParseToken: %+v, %v; want %+v", got, err, p)
		}
		if room.Token(p) != token {
			t.Errorf("Token(%+v) = %q, Join gave %q", p, room.Token(p), token)
		}
	}

	// The same place in another database, whose key differs.
	_, rOther, pOther, tokenOther, passOther := admittedPlace(t)
	if pOther != p {
		t.Fatalf("the second database gave place %+v, the first %+v: the forgery below would prove nothing", pOther, p)
	}
	if tokenOther == token || passOther == pass {
		t.Fatal("two databases sign with the same key")
	}

	bad := func(what, token string) {
		t.Helper()
		if got, err := r.ParseToken(token); !errors.Is(err, waitingroom.ErrBadToken) {
			t.Errorf("ParseToken %s: %+v, %v; want ErrBadToken", what, got, err)
		}
	}
	bad("signed with another key", tokenOther)
	bad("for another place, signed with another key", rOther.Token(waitingroom.Place{Window: p.Window, User: p.User + 1, Ticket: p.Ticket}))
	bad("empty", "")
	bad("without a signature", "t.1.1.1")
	bad("with an empty signature", "t.1.1.1.")
	bad("a pass", pass)
	sig := token[strings.LastIndexByte(token, '.')+1:]
	bad("for another student with this signature", fmt.Sprintf("t.%d.%d.%d.%s", p.Window, p.User+1, p.Ticket, sig))
	bad("for another ticket with this signature", fmt.Sprintf("t.%d.%d.%d.%s", p.Window, p.User, p.Ticket+1, sig))
	for j := range len(token) {
		tampered := []byte(token)
		tampered[j] ^= 0x01
		bad("with character "+string(token[j])+" changed", string(tampered))
	}
	bad("truncated", token[:len(token)-1])
	bad("extended", token+"A")
	bad("too long", strings.Repeat("1", 300)+token)
	// Well signed, but not a place.
	bad("naming window 0", r.Token(waitingroom.Place{Window: 0, User: p.User, Ticket: p.Ticket}))
	bad("naming a negative student", r.Token(waitingroom.Place{Window: p.Window, User: -1, Ticket: p.Ticket}))
	bad("naming ticket 0", r.Token(waitingroom.Place{Window: p.Window, User: p.User}))

	// A pass signed with another key does not let the student in, even for the same place.
	if got, err := r.CheckPass(passOther, p.Window, p.User); !errors.Is(err, waitingroom.ErrBadToken) {
		t.Errorf("CheckPass of a pass signed with another key: %+v, %v; want ErrBadToken", got, err)
	}
	if got, err := r.CheckPass(pass, p.Window, p.User); err != nil || got != p {
		t.Errorf("CheckPass of the genuine pass: %+v, %v", got, err)
	}
}
