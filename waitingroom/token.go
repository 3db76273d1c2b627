package waitingroom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrBadToken is a token or pass that is malformed, forged, or for someone else.
var ErrBadToken = errors.New("waiting room: invalid token")

// Place names a student's place: the ticket, its window and its student.
type Place struct {
	Window, User, Ticket int64
}

// signer makes and checks the two signed strings the waiting room hands out: the place
// token a waiting page polls with (so a poll needs no session and no database), and the
// pass an admitted student registers with.
type signer struct {
	// macs holds HMAC-SHA256 states keyed and ready: every poll checks a token, and a
	// new HMAC costs two hash states and their pads each time.
	macs *sync.Pool
	// known holds the poll tokens already found genuine: a waiting page polls with the
	// same token every few seconds all morning, and its HMAC cost more than the rest of
	// the room's work for a poll. A token's place never changes, so the answer keeps.
	known *knownTokens
}

func newSigner(key []byte) signer {
	return signer{macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }},
		known: &knownTokens{places: map[[macLen]byte]Place{}}}
}

// maxKnownTokens bounds the tokens remembered: more than the students of the largest
// window. Only genuine tokens go in, so nobody without the key can fill it; full, it
// starts over.
const maxKnownTokens = 1 << 18

// knownTokens maps a genuine token's signature to its place. Keys and values hold no
// pointer, so the collector skips the map however many students wait; a token is known
// only if its payload is the place's too, so a signature moved onto another payload is
// not.
type knownTokens struct {
	mu     sync.RWMutex
	places map[[macLen]byte]Place
}

func (k *knownTokens) get(token string) (Place, bool) {
	sig, payload, ok := splitToken(token)
	if !ok {
		return Place{}, false
	}
	k.mu.RLock()
	p, ok := k.places[sig]
	k.mu.RUnlock()
	var buf [64]byte
	return p, ok && string(p.appendPayload(buf[:0])) == payload
}

func (k *knownTokens) add(token string, p Place) {
	sig, _, ok := splitToken(token)
	if !ok {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.places) >= maxKnownTokens {
		clear(k.places)
	}
	k.places[sig] = p
}

// splitToken splits a token into its signature and what it signs.
func splitToken(token string) (sig [macLen]byte, payload string, ok bool) {
	i := len(token) - macLen - 1
	if i < 0 || token[i] != '.' {
		return sig, "", false
	}
	copy(sig[:], token[i+1:])
	return sig, token[:i], true
}

// macLen is the length of a signature: the base64 of an HMAC-SHA256, without padding.
const macLen = (sha256.Size*8 + 5) / 6

// mac appends payload's signature to dst.
func (s signer) mac(dst []byte, payload string) []byte {
	m := s.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(payload))
	var sum [sha256.Size]byte
	m.Sum(sum[:0])
	s.macs.Put(m)
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

func (s signer) sign(payload string) string {
	b := append(make([]byte, 0, len(payload)+1+macLen), payload...)
	return string(s.mac(append(b, '.'), payload))
}

func (s signer) verify(token string) ([]string, error) {
	i := strings.LastIndexByte(token, '.')
	if i < 0 || len(token) > 200 || len(token)-i-1 != macLen {
		return nil, ErrBadToken
	}
	var want, got [64]byte
	copy(got[:], token[i+1:])
	if !hmac.Equal(s.mac(want[:0], token[:i]), got[:macLen]) {
		return nil, ErrBadToken
	}
	return strings.Split(token[:i], "."), nil
}

// Token is the place's poll token.
func (s signer) Token(p Place) string {
	var buf [64]byte
	return s.sign(string(p.appendPayload(buf[:0])))
}

// appendPayload appends what a place's token signs: "t.WINDOW.USER.TICKET".
func (p Place) appendPayload(b []byte) []byte {
	b = append(b, "t."...)
	b = strconv.AppendInt(b, p.Window, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, p.User, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, p.Ticket, 10)
}

// ParseToken returns the place a token names.
func (s signer) ParseToken(token string) (Place, error) {
	if p, ok := s.known.get(token); ok {
		return p, nil
	}
	f, err := s.verify(token)
	if err != nil || len(f) != 4 || f[0] != "t" {
		return Place{}, ErrBadToken
	}
	p, err := parsePlace(f[1:])
	if err == nil {
		s.known.add(token, p)
	}
	return p, err
}

// Pass lets the place's student register until expires.
func (s signer) Pass(p Place, expires time.Time) string {
	return s.sign(fmt.Sprintf("p.%d.%d.%d.%d", p.Window, p.User, p.Ticket, expires.Unix()))
}

// CheckPass returns the place of a pass that is genuine, unexpired, and for this student
// and window.
func (s signer) CheckPass(pass string, window, user int64, now time.Time) (Place, error) {
	f, err := s.verify(pass)
	if err != nil || len(f) != 5 || f[0] != "p" {
		return Place{}, ErrBadToken
	}
	p, err := parsePlace(f[1:4])
	if err != nil || p.Window != window || p.User != user {
		return Place{}, ErrBadToken
	}
	exp, err := strconv.ParseInt(f[4], 10, 64)
	if err != nil || now.Unix() >= exp {
		return Place{}, ErrBadToken
	}
	return p, nil
}

func parsePlace(f []string) (Place, error) {
	var n [3]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || v <= 0 {
			return Place{}, ErrBadToken
		}
		n[i] = v
	}
	return Place{Window: n[0], User: n[1], Ticket: n[2]}, nil
}
