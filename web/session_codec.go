package web

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/alexedwards/scs/v2"
)

// sessionCodec encodes sessions as a short list of typed values instead of gob. Every
// request a signed-in student makes decodes its session, and gob builds its type
// machinery afresh for each one: on the registration rush that was a tenth of the app's
// CPU. The session holds only strings, ints, int64s and bools (session.go), so the format
// needs nothing more:
//
//	0x00 0x01 | deadline (varint Unix ns) | count (uvarint) | count × (key, tag, value)
//
// Strings are a uvarint length and the bytes; 's' string, 'i' int, 'I' int64 and 'b' bool
// values are tagged. A gob stream never starts with 0x00 (its first byte is a message
// length), so sessions written before this codec still decode, by gob.
type sessionCodec struct{}

const (
	sessionMagic   = 0x00
	sessionVersion = 0x01
)

var errSessionData = errors.New("session data is damaged")

func (sessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	b := make([]byte, 0, 16+len(values)*24)
	b = append(b, sessionMagic, sessionVersion)
	b = binary.AppendVarint(b, deadline.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(values)))
	for k, v := range values {
		b = appendString(b, k)
		switch v := v.(type) {
		case string:
			b = appendString(append(b, 's'), v)
		case int:
			b = binary.AppendVarint(append(b, 'i'), int64(v))
		case int64:
			b = binary.AppendVarint(append(b, 'I'), v)
		case bool:
			c := byte(0)
			if v {
				c = 1
			}
			b = append(b, 'b', c)
		default:
			return nil, fmt.Errorf("session value %q: %T is not a string, int, int64 or bool", k, v)
		}
	}
	return b, nil
}

func (sessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	if len(b) == 0 || b[0] != sessionMagic {
		deadline, values, err := scs.GobCodec{}.Decode(b)
		if err != nil { // damaged, or nothing gob can read: sign the student out, as below
			return time.Time{}, nil, fmt.Errorf("%w: %w", errSessionData, err)
		}
		return deadline, values, nil
	}
	if len(b) < 2 || b[1] != sessionVersion {
		return time.Time{}, nil, errSessionData
	}
	d := sessionDecoder{b: b[2:]}
	deadline := time.Unix(0, d.varint())
	n := d.uvarint()
	if n > math.MaxUint16 {
		return time.Time{}, nil, errSessionData
	}
	values := make(map[string]any, n)
	for range n {
		k := d.string()
		switch d.byte() {
		case 's':
			values[k] = d.string()
		case 'i':
			values[k] = int(d.varint())
		case 'I':
			values[k] = d.varint()
		case 'b':
			values[k] = d.byte() == 1
		default:
			d.err = true
		}
	}
	if d.err || len(d.b) != 0 {
		return time.Time{}, nil, errSessionData
	}
	return deadline, values, nil
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// sessionDecoder reads the fields in order; any short or malformed field sets err and
// makes the rest read as zero.
type sessionDecoder struct {
	b   []byte
	err bool
}

func (d *sessionDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *sessionDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = true, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *sessionDecoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *sessionDecoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = true, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
