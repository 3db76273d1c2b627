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
		known: &knownTokens{places: map[string]Place{}}}
}

// maxKnownTokens bounds the tokens remembered: more than the students of the largest
// window. Only genuine tokens go in, so nobody without the key can fill it; full, it
// starts over.
const maxKnownTokens = 1 << 18

type knownTokens struct {
	mu     sync.RWMutex
	places map[string]Place
}

func (k *knownTokens) get(token string) (Place, bool) {
	k.mu.RLock()
	p, ok := k.places[token]
	k.mu.RUnlock()
	return p, ok
}

func (k *knownTokens) add(token string, p Place) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.places) >= maxKnownTokens {
		clear(k.places)
	}
	k.places[strings.Clone(token)] = p // not the request's query it may point into
}

// macLen is the length of a signature: the base64 of an HMAC-SHA256, without padding.
var macLen = base64.RawURLEncoding.EncodedLen(sha256.Size)

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
	return s.sign(fmt.Sprintf("t.%d.%d.%d", p.Window, p.User, p.Ticket))
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
