package views

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// Meeting is one weekly class meeting; times are minutes after midnight.
type Meeting struct {
	Weekday     int
	StartMinute int
	EndMinute   int
}

// Format renders the meeting as "Mon 09:00–10:15" in the context's language.
func (m Meeting) Format(ctx context.Context) string {
	return fmt.Sprintf("%s %02d:%02d–%02d:%02d", T(ctx, fmt.Sprintf("day.%d", m.Weekday)),
		m.StartMinute/60, m.StartMinute%60, m.EndMinute/60, m.EndMinute%60)
}

// urlValues keeps query parameters in the order added, so links are stable.
type urlValues []string

func (v *urlValues) add(key, value string) {
	if value != "" {
		*v = append(*v, url.QueryEscape(key)+"="+url.QueryEscape(value))
	}
}

func (v urlValues) encode() string {
	if len(v) == 0 {
		return ""
	}
	return "?" + strings.Join(v, "&")
}

// Overlaps reports whether two weekly schedules share any minute.
func Overlaps(a, b []Meeting) bool {
	for _, x := range a {
		for _, y := range b {
			if x.Weekday == y.Weekday && x.StartMinute < y.EndMinute && y.StartMinute < x.EndMinute {
				return true
			}
		}
	}
	return false
}
