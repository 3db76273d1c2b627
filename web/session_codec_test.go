package web

import (
	"bytes"
	"maps"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionCodecRoundTrip(t *testing.T) {
	deadline := time.Date(2027, 3, 2, 9, 0, 0, 123456789, time.UTC)
	values := map[string]any{sessUserID: int64(1 << 40), sessUsername: "stu00001", sessName: "김민준 Kim",
		sessYear: 3, sessSeen: int64(-5), "flag": true, "off": false, "empty": ""}
	b, err := sessionCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || !maps.Equal(got, values) {
		t.Errorf("decoded %v %v, want %v %v", gotDeadline, got, deadline, values)
	}
}

// Sessions written by gob before the codec changed still load.
func TestSessionCodecReadsGob(t *testing.T) {
	deadline := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	values := map[string]any{sessUserID: int64(42), sessRole: "student", sessYear: 2}
	b, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := sessionCodec{}.Decode(b)
	if err != nil || !gotDeadline.Equal(deadline) || !maps.Equal(got, values) {
		t.Errorf("decoded %v %v %v, want %v %v", gotDeadline, got, err, deadline, values)
	}
}

func TestSessionCodecRefuses(t *testing.T) {
	if _, err := (sessionCodec{}).Encode(time.Now(), map[string]any{"t": time.Now()}); err == nil {
		t.Error("a time.Time value was encoded; the codec knows strings, ints, int64s and bools only")
	}
	good, err := sessionCodec{}.Encode(time.Now(), map[string]any{"a": "bcd", "n": 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i < len(good); i++ { // every truncation
		if _, _, err := (sessionCodec{}).Decode(good[:i]); err == nil {
			t.Errorf("%d of %d bytes decoded without error", i, len(good))
		}
	}
	if _, _, err := (sessionCodec{}).Decode(append(bytes.Clone(good), 0)); err == nil {
		t.Error("trailing bytes decoded without error")
	}
	if _, _, err := (sessionCodec{}).Decode([]byte{0, 9}); err == nil {
		t.Error("an unknown version decoded without error")
	}
}

func BenchmarkSessionDecode(b *testing.B) {
	values := map[string]any{sessUserID: int64(4242), sessUsername: "stu04242", sessName: "Student 4242",
		sessRole: "student", sessYear: 2, sessSeen: time.Now().Unix(), sessChecked: time.Now().UnixMicro()}
	for _, c := range []struct {
		name  string
		codec scs.Codec
	}{{"gob", scs.GobCodec{}}, {"sessionCodec", sessionCodec{}}} {
		data, err := c.codec.Encode(time.Now(), values)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.codec.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
