package views

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestCatalogIsComplete(t *testing.T) {
	for key, m := range messages {
		if strings.TrimSpace(m.en) == "" || strings.TrimSpace(m.ko) == "" {
			t.Errorf("%s: a language is missing (en %q, ko %q)", key, m.en, m.ko)
		}
		if strings.Count(m.en, "%") != strings.Count(m.ko, "%") {
			t.Errorf("%s: the languages take different arguments (en %q, ko %q)", key, m.en, m.ko)
		}
	}
}

// Every key the code names must be in the catalog, in views and in web alike.
func TestUsedKeysExist(t *testing.T) {
	use := regexp.MustCompile(`\b(?:T|Tf|Msg|errorPage\([^"]*)\(?(?:ctx, )?"([a-z_]+(?:\.[a-z0-9_]+)+)"`)
	files, _ := filepath.Glob("*.templ")
	more, _ := filepath.Glob("../web/*.go")
	files = append(files, more...)
	found := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range use.FindAllStringSubmatch(string(b), -1) {
			found++
			if _, ok := messages[m[1]]; !ok {
				t.Errorf("%s uses %q, which is not in the catalog", f, m[1])
			}
		}
	}
	if found < 50 {
		t.Errorf("found only %d uses of catalog keys: the pattern no longer matches the code", found)
	}
}

func TestNegotiateLocale(t *testing.T) {
	cases := map[string]Locale{
		"":                           English,
		"ko":                         Korean,
		"ko-KR,ko;q=0.9,en-US;q=0.8": Korean,
		"en-US,en;q=0.9,ko;q=0.8":    English,
		"fr-FR,ko;q=0.5,en;q=0.4":    Korean,
		"fr-FR,de;q=0.5":             English,
		"en;q=0.2, ko;q=0.9":         Korean,
		"ko;q=abc, en":               English,
		"KO_kr":                      Korean,
	}
	for header, want := range cases {
		if got := NegotiateLocale(header); got != want {
			t.Errorf("NegotiateLocale(%q) = %s, want %s", header, got, want)
		}
	}
}

func TestTranslate(t *testing.T) {
	ko := WithLocale(context.Background(), Korean)
	if got := Tf(ko, "home.year_n", 3); got != "3학년" {
		t.Errorf("Korean: %q", got)
	}
	if got := Msg("catalog.count", 7).String(context.Background()); got != "7 sections found" {
		t.Errorf("English default: %q", got)
	}
	if got := T(ko, "no.such.key"); got != "no.such.key" {
		t.Errorf("missing key shows %q", got)
	}
	m := Meeting{Weekday: 2, StartMinute: 9*60 + 5, EndMinute: 10*60 + 20}
	if got := m.Format(ko); got != "화 09:05–10:20" {
		t.Errorf("meeting: %q", got)
	}
}

func TestCatalogFilterQuery(t *testing.T) {
	cases := []struct {
		f    CatalogFilter
		want string
	}{
		{CatalogFilter{Page: 1}, ""},
		{CatalogFilter{Keyword: "a&b c", Department: "CS", Credits: 3, OpenOnly: true, Page: 2}, "?q=a%26b+c&dept=CS&credits=3&open=1&page=2"},
	}
	for _, tc := range cases {
		if got := tc.f.Query(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.f, got, tc.want)
		}
	}
}

func TestAuditFieldLabels(t *testing.T) {
	for field, m := range auditFields {
		if strings.TrimSpace(m.en) == "" || strings.TrimSpace(m.ko) == "" {
			t.Errorf("audit field %s: a language is missing (en %q, ko %q)", field, m.en, m.ko)
		}
	}
	ko := WithLocale(context.Background(), Korean)
	if got := AuditFieldLabel(ko, "capacity"); got != "정원" {
		t.Errorf("capacity in Korean = %q", got)
	}
	if got := AuditFieldLabel(context.Background(), "opens_at"); got != "Opens" {
		t.Errorf("opens_at in English = %q", got)
	}
	if got := AuditFieldLabel(ko, "something_new"); got != "something_new" {
		t.Errorf("an unknown field = %q, want its recorded name", got)
	}
}
