package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// errUsage means the flags were wrong and the flag set has said so.
var errUsage = errors.New("usage")

// flagSet is a flag.FlagSet whose defaults come from the environment: flag "db-dsn" reads
// SCHOOL_DB_DSN. A flag given on the command line wins over the environment.
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
	bad    map[string]string // flag name -> what is wrong with its environment value
}

func newFlagSet(name string, getenv func(string) string, out io.Writer) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage of %s:\n", name)
		fs.VisitAll(redactDefault)
		fs.PrintDefaults()
	}
	return &flagSet{FlagSet: fs, getenv: getenv, bad: map[string]string{}}
}

// dsnPassword is the password of a DSN, user:password@tcp(…).
var dsnPassword = regexp.MustCompile(`^([^:@/]*):[^@]*@`)

// redactDefault hides the secrets a default took from the environment before the help
// prints it: a password flag's value, a DSN's password. (-h in a pod would otherwise
// print the Secret to whoever looks at the terminal or the logs.)
func redactDefault(fl *flag.Flag) {
	switch {
	case fl.DefValue == "":
	case strings.HasSuffix(fl.Name, "password"):
		fl.DefValue = "(set)"
	case strings.HasSuffix(fl.Name, "dsn"):
		fl.DefValue = dsnPassword.ReplaceAllString(fl.DefValue, "$1:…@")
	}
}

func envName(flagName string) string {
	return "SCHOOL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (f *flagSet) env(name string) (string, bool) {
	v := f.getenv(envName(name))
	return v, v != ""
}

func (f *flagSet) String(p *string, name, def, usage string) {
	if v, ok := f.env(name); ok {
		def = v
	}
	f.StringVar(p, name, def, usage+" ($"+envName(name)+")")
}

func (f *flagSet) Int(p *int, name string, def int, usage string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			f.bad[name] = fmt.Sprintf("%s=%q is not a whole number", envName(name), v)
		} else {
			def = n
		}
	}
	f.IntVar(p, name, def, usage+" ($"+envName(name)+")")
}

func (f *flagSet) Float(p *float64, name string, def float64, usage string) {
	if v, ok := f.env(name); ok {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			f.bad[name] = fmt.Sprintf("%s=%q is not a number", envName(name), v)
		} else {
			def = n
		}
	}
	f.Float64Var(p, name, def, usage+" ($"+envName(name)+")")
}

func (f *flagSet) Bool(p *bool, name string, def bool, usage string) {
	if v, ok := f.env(name); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			f.bad[name] = fmt.Sprintf("%s=%q is not true or false", envName(name), v)
		} else {
			def = b
		}
	}
	f.BoolVar(p, name, def, usage+" ($"+envName(name)+")")
}

func (f *flagSet) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	if v, ok := f.env(name); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			f.bad[name] = fmt.Sprintf("%s=%q is not a duration such as 30s", envName(name), v)
		} else {
			def = d
		}
	}
	f.DurationVar(p, name, def, usage+" ($"+envName(name)+")")
}

// parse parses args. A bad environment value is a problem only when no flag on the
// command line overrides it; such problems join p, to be reported with the rest.
func (f *flagSet) parse(args []string, p *problems) error {
	if err := f.Parse(args); err != nil {
		return errUsage
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(f.Args(), " "))
	}
	set := map[string]bool{}
	f.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	f.VisitAll(func(fl *flag.Flag) {
		if msg, ok := f.bad[fl.Name]; ok && !set[fl.Name] {
			p.add("%s", msg)
		}
	})
	return nil
}

// problems collects configuration errors so one start reports them all.
type problems []string

func (p *problems) add(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  - " + strings.Join(p, "\n  - "))
}
