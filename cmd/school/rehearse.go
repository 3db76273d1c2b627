package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/schoolservice/school/rehearsal"
)

// rehearse plays a registration morning against the app and checks the database after.
func rehearse(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("school rehearse", getenv, stderr)
	var (
		dbc                 dbFlags
		cfg                 rehearsal.Config
		urls, opsURLs       string
		faults              string
		instances, basePort int
		appProcs            int
		opsBasePort         int
		instanceLog         string
		htmlOut, stack      string
		cpuProfile          string
		seed                int
		quiet               bool
	)
	dbc.register(fs)
	fs.String(&urls, "urls", "", "comma-separated URLs of running app instances; empty: start -instances of this binary")
	fs.String(&opsURLs, "ops-urls", "", "comma-separated URLs of the -urls instances' ops listeners (/metrics), in the same order; empty: no server-side latency")
	fs.Int(&appProcs, "app-procs", 0, appProcsUsage)
	fs.Int(&instances, "instances", 2, "app instances to start when -urls is empty (school serve, with this environment)")
	fs.Int(&basePort, "base-port", 18100, "first loopback port of the instances started")
	fs.Int(&opsBasePort, "ops-base-port", 18200, "first loopback port of the started instances' ops listeners (-ops-addr)")
	fs.String(&instanceLog, "instance-log", "", "file for the started instances' logs (default: discarded)")
	fs.Int(&cfg.Students, "students", 1000, "students taking part: stu00001 on, as the seed names them")
	fs.String(&cfg.Password, "student-password", "demo-student", "their password (the seed's demo password)")
	fs.Int(&cfg.Demand.Hot, "hot", 50, "hot sections")
	fs.Int(&cfg.Demand.Want, "want", 5, "sections a student means to take")
	fs.Int(&cfg.Demand.Choices, "choices", 8, "sections in a basket, in order of preference")
	fs.Duration(&cfg.Lead, "lead", 30*time.Second, "the window opens this long after the start")
	fs.Duration(&cfg.Spread, "spread", 60*time.Second, "arrivals around the opening: normal, with a standard deviation of half this")
	fs.Float(&cfg.AdmitPerSecond, "admit-per-second", 50, "waiting room: students admitted a second")
	fs.Int(&cfg.MaxActive, "max-active", 300, "waiting room: students registering at once")
	fs.Duration(&cfg.Think, "think", time.Second, "a student's pause between clicks, give or take half")
	fs.Duration(&cfg.GiveUp, "give-up", 2*time.Minute, "a click unanswered this long is left to the check")
	fs.Float(&cfg.Impatient, "impatient", 0, "share of requests a student abandons after -abandon-after, then reloads (0 to 1)")
	fs.Duration(&cfg.AbandonAfter, "abandon-after", 200*time.Millisecond, "how long an impatient student waits for an answer")
	fs.Int(&cfg.MaxConns, "max-conns", 512, "connections per instance (as a proxy's upstream pool)")
	fs.String(&faults, "fault", "", "drills, comma-separated: mariadb, ldap, instance or db-writer (kill the Galera writer; rejoin it after FOR), each as KIND@AT+FOR (after the opening), e.g. mariadb@20s+10s")
	fs.String(&stack, "stack", "deploy/local/stack", "the stack script the mariadb, ldap and db-writer drills stop and start services with")
	fs.String(&htmlOut, "html", "", "also write the report as HTML (charts as SVG) to this file")
	fs.Int(&seed, "seed", 1, "random seed of baskets and arrivals")
	fs.String(&cpuProfile, "cpuprofile", "", "write this tool's own CPU profile (the simulated students' share of the machine) to this file")
	fs.Bool(&quiet, "quiet", false, "no progress line")
	fs.Float(&cfg.Demand.HotFactor, "hot-demand", 10, "students wanting a hot section, per seat")
	fs.Float(&cfg.Demand.Waitlist, "waitlist", 0.5, "chance a student joins the waitlist of a full section")
	var p problems
	if err := fs.parse(args, &p); err != nil {
		return err
	}
	dbc.validate(&p)
	cfg.DSN = dbc.DSN
	cfg.Seed = uint64(seed)
	if cfg.AdmitPerSecond <= 0 || cfg.Demand.HotFactor <= 0 || cfg.Demand.Waitlist < 0 || cfg.Demand.Waitlist > 1 {
		p.add("-admit-per-second and -hot-demand must be positive, -waitlist between 0 and 1")
	}
	if cfg.Impatient < 0 || cfg.Impatient > 1 || cfg.AbandonAfter <= 0 {
		p.add("-impatient must be between 0 and 1 and -abandon-after positive")
	}
	if cfg.Students < 1 || cfg.Students > 200000 {
		p.add("-students must be between 1 and 200000")
	}
	if cfg.Lead < 2*time.Second || cfg.Spread < 0 {
		p.add("-lead must be at least 2s (the instances learn the opening within a second) and -spread not negative")
	}
	if cfg.Demand.Want < 1 || cfg.Demand.Choices < cfg.Demand.Want {
		p.add("-want must be at least 1 and -choices at least -want")
	}
	for _, f := range strings.Split(faults, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		ft, err := rehearsal.ParseFault(f)
		if err != nil {
			p.add("-fault: %v", err)
			continue
		}
		cfg.Faults = append(cfg.Faults, ft)
	}
	cfg.URLs, cfg.OpsURLs = splitURLs(urls), splitURLs(opsURLs)
	if len(cfg.OpsURLs) > 0 && len(cfg.OpsURLs) != len(cfg.URLs) {
		p.add("-ops-urls names %d instances, -urls %d: give one ops URL for each instance, in the same order", len(cfg.OpsURLs), len(cfg.URLs))
	}
	if len(cfg.URLs) == 0 {
		if instances < 1 || instances > 16 {
			p.add("-instances must be between 1 and 16")
		}
		if opsBasePort < basePort+instances && basePort < opsBasePort+instances {
			p.add("-base-port %d and -ops-base-port %d: the %d instances' ports would overlap", basePort, opsBasePort, instances)
		}
		exe, err := os.Executable()
		if err != nil {
			p.add("cannot find this binary to start instances: %v", err)
		}
		logw := io.Discard
		if instanceLog != "" {
			f, err := os.Create(instanceLog)
			if err != nil {
				p.add("-instance-log: %v", err)
			} else {
				defer f.Close()
				logw = f
			}
		}
		cfg.Serve = &rehearsal.Serve{Command: []string{exe, "serve"}, Env: appEnv(os.Environ(), appProcs), Log: logw}
		for i := range instances {
			cfg.Serve.Addrs = append(cfg.Serve.Addrs, fmt.Sprintf("127.0.0.1:%d", basePort+i))
			cfg.Serve.OpsAddrs = append(cfg.Serve.OpsAddrs, fmt.Sprintf("127.0.0.1:%d", opsBasePort+i))
		}
	}
	cfg.Stack = stack
	if err := p.err(); err != nil {
		return err
	}
	if !quiet {
		cfg.Progress = stderr
		if f, ok := stderr.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				cfg.Terminal = true
			}
		}
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	rep, err := rehearsal.Run(ctx, cfg)
	if rep != nil {
		rep.WriteText(stdout)
		if htmlOut != "" {
			f, ferr := os.Create(htmlOut)
			if ferr == nil {
				ferr = rep.WriteHTML(f)
				if cerr := f.Close(); ferr == nil {
					ferr = cerr
				}
			}
			if ferr != nil {
				return fmt.Errorf("HTML report: %w", ferr)
			}
		}
	}
	if err != nil {
		return err
	}
	if !rep.Check.OK() {
		return fmt.Errorf("the invariant check failed")
	}
	if probs := rep.Problems(); len(probs) > 0 {
		return fmt.Errorf("the app did not come through: %s", strings.Join(probs, "; "))
	}
	return nil
}

// startCPUProfile profiles this process into file until stop is called.
func startCPUProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// splitURLs reads a comma-separated list of base URLs.
func splitURLs(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, strings.TrimSuffix(u, "/"))
		}
	}
	return out
}
