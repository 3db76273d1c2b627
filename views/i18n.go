package views

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Locale is a UI language.
type Locale string

const (
	English Locale = "en"
	Korean  Locale = "ko"
)

// Locales lists the supported languages, the default first.
var Locales = []Locale{English, Korean}

// ParseLocale returns the supported locale named by s ("ko", "ko-KR", "en-US" …).
func ParseLocale(s string) (Locale, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "-_"); i >= 0 {
		s = s[:i]
	}
	for _, l := range Locales {
		if strings.EqualFold(s, string(l)) {
			return l, true
		}
	}
	return "", false
}

// NegotiateLocale picks the best supported language from an Accept-Language header.
func NegotiateLocale(acceptLanguage string) Locale {
	if acceptLanguage == "" {
		return Locales[0]
	}
	// Every page and every waiting page's poll reads it: no allocation, no fmt.
	best, bestQ := Locales[0], -1.0
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			var err error
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		if l, ok := ParseLocale(tag); ok && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}

type localeKey struct{}

// WithLocale returns a context whose views render in l.
func WithLocale(ctx context.Context, l Locale) context.Context {
	return context.WithValue(ctx, localeKey{}, l)
}

// LocaleFrom returns the context's locale, English when none was set.
func LocaleFrom(ctx context.Context) Locale {
	if l, ok := ctx.Value(localeKey{}).(Locale); ok {
		return l
	}
	return English
}

// T translates a catalog key. A key missing from the catalog shows itself, and the
// catalog test fails on it.
func T(ctx context.Context, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if LocaleFrom(ctx) == Korean {
		return m.ko
	}
	return m.en
}

// Tf translates a key whose text is a fmt format.
func Tf(ctx context.Context, key string, args ...any) string {
	return fmt.Sprintf(T(ctx, key), args...)
}

// Message is a translatable text with its arguments, for handlers that hand a message to
// a view without knowing the language.
type Message struct {
	Key  string
	Args []any
}

// Msg builds a Message.
func Msg(key string, args ...any) Message { return Message{Key: key, Args: args} }

// String renders m in the context's language.
func (m Message) String(ctx context.Context) string {
	if len(m.Args) == 0 {
		return T(ctx, m.Key)
	}
	return Tf(ctx, m.Key, m.Args...)
}
