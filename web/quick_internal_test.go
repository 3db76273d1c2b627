package web

import (
	"slices"
	"strings"
	"testing"
)

// TestParseQuickCodes: what quick registration reads from its field, and the field's
// problems, each with its own message.
func TestParseQuickCodes(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		labels []string // "" for a part that is no section code
		err    string   // the message key, when the field is refused as a whole
	}{
		{"one code", "CS101-01", []string{"CS101-01"}, ""},
		{"lower case and spaces around", "  cs101-01 \n", []string{"CS101-01"}, ""},
		{"separated by spaces, commas, semicolons and new lines", "CS101-01 MATH150-01,CS201-01;\r\nMATH101-02\tCS101-02",
			[]string{"CS101-01", "MATH150-01", "CS201-01", "MATH101-02", "CS101-02"}, ""},
		{"a Korean keyboard's full-width letters, digits, dash and comma", "ＣＳ１０１－０１，ｍａｔｈ150－01　CS201–01",
			[]string{"CS101-01", "MATH150-01", "CS201-01"}, ""},
		{"a course code with a hyphen of its own", "KOR-L101-02", []string{"KOR-L101-02"}, ""},
		{"no hyphen", "CS10101", []string{""}, ""},
		{"a course code alone", "CS101 01", []string{"", ""}, ""},
		{"hyphen first or last", "-01 CS101-", []string{"", ""}, ""},
		{"other characters", "CS101-01! <b>CS</b>-1 CS101_01", []string{"", "", ""}, ""},
		{"Hangul", "전공-01", []string{""}, ""},
		{"too long to be a code", strings.Repeat("A", 40) + "-01", []string{""}, ""},
		{"empty", "", nil, "quick.err.empty"},
		{"only separators", " ,\n ; ", nil, "quick.err.empty"},
		{"too many", strings.Repeat("CS101-01 ", maxQuickCodes+1), nil, "quick.err.too_many"},
		{"exactly as many as allowed", strings.Repeat("CS101-01 ", maxQuickCodes), slices.Repeat([]string{"CS101-01"}, maxQuickCodes), ""},
		{"too long", strings.Repeat("가", maxQuickLength+1), nil, "quick.err.too_long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			codes, msg := parseQuickCodes(c.in)
			if msg.Key != c.err {
				t.Fatalf("parseQuickCodes(%q): message %q, want %q", c.in, msg.Key, c.err)
			}
			var labels []string
			for _, code := range codes {
				labels = append(labels, code.label)
				if code.typed == "" || strings.ContainsAny(code.typed, " ,;\n") {
					t.Errorf("typed part %q of %q: not split", code.typed, c.in)
				}
			}
			if !slices.Equal(labels, c.labels) {
				t.Errorf("parseQuickCodes(%q) = %q, want %q", c.in, labels, c.labels)
			}
		})
	}
}

func TestQuickKey(t *testing.T) {
	if got := quickKey("", 7); got != "" {
		t.Errorf("no form key: %q, want none (like the basket's register-all)", got)
	}
	a, b := quickKey("k", 7), quickKey("k", 8)
	if a == b || a == "k" {
		t.Errorf("keys of two sections of one form: %q and %q, want two keys of their own", a, b)
	}
	if long := quickKey(strings.Repeat("k", maxQuickKeyLen), 1<<62); len(long) > 64 {
		t.Errorf("the longest key is %d bytes, more than a registration key holds", len(long))
	}
}
