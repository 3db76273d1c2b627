package views

import (
	"context"
	"fmt"
	"strconv"

	"github.com/schoolservice/school/catalogcsv"
	"github.com/schoolservice/school/registration"
)

// Name is a name in the page's language: ko on a Korean page, en otherwise, and the
// other one when that is empty. Courses, departments and terms keep both.
func Name(ctx context.Context, en, ko string) string {
	if LocaleFrom(ctx) == Korean && ko != "" || en == "" {
		return ko
	}
	return en
}

// OtherName is the name in the language the page is not in, or "" when it is missing
// or the same as Name's.
func OtherName(ctx context.Context, en, ko string) string {
	other := en
	if LocaleFrom(ctx) != Korean {
		other = ko
	}
	if other == Name(ctx, en, ko) {
		return ""
	}
	return other
}

// SectionTitle is a section's course title in the page's language.
func SectionTitle(ctx context.Context, s registration.Section) string {
	return Name(ctx, s.Title, s.TitleKo)
}

// CourseTypeLabel names a course type (이수구분) in the page's language; "" for none.
func CourseTypeLabel(ctx context.Context, t string) string {
	if t == "" {
		return ""
	}
	return T(ctx, "course_type."+t)
}

// ClassYearLabel is "Year 2" (2학년), or "Any year" for 0.
func ClassYearLabel(ctx context.Context, year int) string {
	if year == 0 {
		return T(ctx, "course.any_year")
	}
	return Tf(ctx, "course.class_year_n", year)
}

func courseTypeOptions(ctx context.Context) []Option {
	out := make([]Option, len(catalogcsv.CourseTypes))
	for i, t := range catalogcsv.CourseTypes {
		out[i] = Option{Value: t, Label: CourseTypeLabel(ctx, t)}
	}
	return out
}

func classYearOptions(ctx context.Context) []Option {
	out := make([]Option, 4)
	for i := range out {
		out[i] = Option{Value: strconv.Itoa(i + 1), Label: ClassYearLabel(ctx, i+1)}
	}
	return out
}

func weekdayOptions(ctx context.Context) []Option {
	out := make([]Option, 6) // Monday to Saturday: no school meets on Sunday
	for i := range out {
		out[i] = Option{Value: strconv.Itoa(i + 1), Label: T(ctx, fmt.Sprintf("day.%d", i+1))}
	}
	return out
}

func periodOptions(ctx context.Context) []Option {
	out := make([]Option, registration.Periods)
	for i := range out {
		start := registration.PeriodStart(i + 1)
		out[i] = Option{Value: strconv.Itoa(i + 1), Label: Tf(ctx, "course.period_n", i+1, start/60)}
	}
	return out
}
