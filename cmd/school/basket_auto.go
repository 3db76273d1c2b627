package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/schoolservice/school/db"
	"github.com/schoolservice/school/registration"
)

// basketAutoCmd runs the current term's basket auto-enrolment, as the staff page does, and
// prints its report; -plan prints what a run would decide and changes nothing. The audit
// row names the staff account given by -by.
func basketAutoCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school basket-auto", getenv, stderr)
	var (
		dbc  dbFlags
		by   string
		plan bool
	)
	dbc.register(fs)
	fs.String(&by, "by", "", "username of the staff member running it, for the audit log")
	fs.Bool(&plan, "plan", false, "only print which sections fit, changing nothing")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	dbc.validate(&p)
	if by == "" && !plan {
		p.add("-by is required: the audit log names who ran the auto-enrolment")
	}
	if err := p.err(); err != nil {
		return err
	}
	sqldb, err := db.Open(ctx, dbc.DSN, db.PoolOptions{MaxOpen: 4})
	if err != nil {
		return err
	}
	defer sqldb.Close()
	q := db.New(sqldb)
	term, err := q.CurrentTerm(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return errors.New("no term is current")
	}
	if err != nil {
		return err
	}
	reg := registration.New(sqldb, slog.New(slog.NewTextHandler(stderr, nil)), prometheus.NewRegistry())
	if plan {
		secs, err := reg.BasketPlan(ctx, term.ID)
		if err != nil {
			return err
		}
		printBasketAuto(stdout, term.Code, secs, nil)
		return nil
	}
	u, err := q.UserByUsername(ctx, by)
	if errors.Is(err, sql.ErrNoRows) || err == nil && u.Role != db.UsersRoleStaff && u.Role != db.UsersRoleAdmin {
		return fmt.Errorf("-by %s: no staff account of that name (staff appear after their first sign-in)", by)
	}
	if err != nil {
		return err
	}
	rep, err := reg.AutoEnroll(ctx, db.Actor{ID: u.ID, Username: u.Username}, term.ID)
	if err != nil {
		return err
	}
	printBasketAuto(stdout, term.Code, rep.Sections, &rep)
	return nil
}

func printBasketAuto(out io.Writer, term string, secs []registration.AutoSection, rep *registration.AutoReport) {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "section\tbaskets\tcapacity\tfree\tdecision\tenrolled\trefused")
	for _, s := range secs {
		decision := "over demand"
		if s.Fits {
			decision = "fits"
		}
		var refused []string
		for _, r := range registration.RefusalReasons(s.Refused) {
			refused = append(refused, fmt.Sprintf("%s %d", r, s.Refused[r]))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%s\n", s.Label, s.Demand, s.Capacity, s.Free(), decision, s.Enrolled, strings.Join(refused, ", "))
	}
	tw.Flush()
	if rep == nil {
		fmt.Fprintf(out, "term %s: a plan only, nothing changed\n", term)
		return
	}
	fmt.Fprintf(out, "term %s: %d sections fitted, %d over demand; %d students enrolled in %d sections\n",
		term, rep.Fitted, rep.Over, rep.Students, rep.Enrollments)
	for _, r := range registration.RefusalReasons(rep.Refusals) {
		fmt.Fprintf(out, "refused %s: %d\n", r, rep.Refusals[r])
	}
	if rep.Enrollments == 0 {
		fmt.Fprintln(out, "nobody new was enrolled")
	}
}
