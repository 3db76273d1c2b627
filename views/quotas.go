package views

import (
	"context"

	"github.com/schoolservice/school/registration"
)

// quotaLabel names who a seat quota is for: "Year 4", "CS majors", "Year 4 CS majors".
func quotaLabel(ctx context.Context, q registration.Quota) string {
	switch {
	case q.Department == "":
		return Tf(ctx, "catalog.quota_year", q.ClassYear)
	case q.ClassYear == 0:
		return Tf(ctx, "catalog.quota_major", q.Department)
	}
	return Tf(ctx, "catalog.quota_year_major", q.ClassYear, q.Department)
}
