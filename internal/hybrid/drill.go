package hybrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schoolservice/school/rehearsal"
)

// DrillOptions are a drill's: the topology's options and the load.
type DrillOptions struct {
	Options
	Students int
	Spread   time.Duration
	// Lead is how long after the start the window opens; the waiting room admits
	// AdmitPerSecond, MaxActive at once.
	Lead           time.Duration
	AdmitPerSecond float64
	MaxActive      int
	// Think is a student's pause between clicks: short, so that the requests in flight,
	// not the machine's other load, fill on-prem.
	Think  time.Duration
	Faults string // KIND@AT+FOR,… (AT after the load starts)
	HTML   string
	// Settle bounds the wait for the floor after the rush (default: down sustain, two
	// cooldowns and a minute).
	Settle time.Duration
	// Seeded: the database and directory already hold a fresh school (a test's); else
	// the drill runs `school seed -replace` with Students students.
	Seeded bool
}

// DrillResult is what a drill measured: the rehearsal's report with the timeline.
type DrillResult struct {
	Report *rehearsal.Report
}

// OK reports whether the rehearsal and every check of the timeline passed.
func (r *DrillResult) OK() bool {
	return r.Report != nil && r.Report.Check.OK() && len(r.Report.Problems()) == 0 &&
		r.Report.Timeline != nil && r.Report.Timeline.OK()
}

type drillFault struct {
	kind     string
	at, dur  time.Duration
	from, to time.Time
}

var faultSpec = regexp.MustCompile(`^(argocd|moto|prometheus)@(\S+)\+(\S+)$`)

func parseFaults(s string) ([]drillFault, error) {
	var out []drillFault
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		m := faultSpec.FindStringSubmatch(f)
		if m == nil {
			return nil, fmt.Errorf("fault %q: want KIND@AT+FOR with KIND argocd, moto or prometheus", f)
		}
		at, err1 := time.ParseDuration(m[2])
		dur, err2 := time.ParseDuration(m[3])
		if err1 != nil || err2 != nil || dur <= 0 {
			return nil, fmt.Errorf("fault %q: AT and FOR are durations such as 30s", f)
		}
		out = append(out, drillFault{kind: m[1], at: at, dur: dur})
	}
	return out, nil
}

// sample is one second of what the drill watched.
type sample struct {
	at      time.Time
	state   State
	dec     decision
	hasDec  bool
	writing int // nginx's requests in flight (stub_status)
}

type decision struct {
	At          time.Time `json:"at"`
	Direction   string    `json:"direction"`
	Reason      string    `json:"reason"`
	Utilisation struct {
		Level          string   `json:"level"`
		Signal         string   `json:"signal"`
		Value          *float64 `json:"value"`
		ForSeconds     float64  `json:"for_seconds"`
		SustainSeconds float64  `json:"sustain_seconds"`
	} `json:"utilisation"`
}

var writingLine = regexp.MustCompile(`Reading: \d+ Writing: (\d+)`)

func (d *DrillOptions) watch(ctx context.Context, p Ports, mu *sync.Mutex, out *[]sample) {
	client := &http.Client{Timeout: time.Second}
	getJSON := func(url string, v any) bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(v) == nil
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		s := sample{at: time.Now()}
		getJSON(fmt.Sprintf("http://%s/hybrid/state", loop(p.ArgoCD)), &s.state)
		var st struct {
			Decision *decision `json:"decision"`
		}
		if getJSON(fmt.Sprintf("http://%s/status", loop(p.Autoscaler)), &st) && st.Decision != nil {
			s.dec, s.hasDec = *st.Decision, true
		}
		if resp, err := client.Get(fmt.Sprintf("http://%s/stub_status", loop(p.StubStatus))); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := writingLine.FindSubmatch(b); m != nil {
				s.writing, _ = strconv.Atoi(string(m[1]))
				s.writing-- // stub_status's own request
			}
		}
		mu.Lock()
		*out = append(*out, s)
		mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Drill brings the topology up, seeds the school, plays a registration morning through
// nginx (the rehearsal's students), follows the topology until it is back at the floor,
// brings it down and reports the rehearsal with the timeline and the drill's checks.
func Drill(ctx context.Context, d DrillOptions, stdout, stderr io.Writer) error {
	res, err := RunDrill(ctx, d, stderr)
	if res != nil && res.Report != nil {
		res.Report.WriteText(stdout)
		if d.HTML != "" {
			f, ferr := os.Create(d.HTML)
			if ferr == nil {
				ferr = res.Report.WriteHTML(f)
				f.Close()
			}
			err = errors.Join(err, ferr)
		}
	}
	if err == nil && !res.OK() {
		err = errors.New("the drill failed: see the report")
	}
	return err
}

// RunDrill is Drill without the printing.
func RunDrill(ctx context.Context, d DrillOptions, progress io.Writer) (*DrillResult, error) {
	d.Options.defaults()
	if d.Students == 0 {
		d.Students = 400
	}
	if d.Spread == 0 {
		d.Spread = 40 * time.Second
	}
	if d.Lead == 0 {
		d.Lead = 45 * time.Second
	}
	if d.AdmitPerSecond == 0 {
		d.AdmitPerSecond = 40
	}
	if d.Think == 0 {
		d.Think = 20 * time.Millisecond
	}
	if d.MaxActive == 0 {
		d.MaxActive = 150
	}
	if d.Settle == 0 {
		d.Settle = d.DownSustain + 2*d.Cooldown + time.Minute
	}
	faults, err := parseFaults(d.Faults)
	if err != nil {
		return nil, err
	}
	p := PortsFrom(d.Base)
	// The last of a name wins, as in exec.Cmd's environment.
	env := func(k string) string {
		for i := len(d.Env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(d.Env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
	dsn := env("SCHOOL_DB_DSN")
	if dsn == "" {
		return nil, errors.New("SCHOOL_DB_DSN is not set: deploy/local/stack up, then set -a; . .local/stack.env; set +a")
	}

	// A fresh school: the rehearsal's check compares the tables with what students heard.
	if !d.Seeded {
		seed := exec.CommandContext(ctx, d.School, "seed", "-replace", "-students", strconv.Itoa(d.Students), "-sections", "120")
		seed.Env = d.Env
		if out, err := seed.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("school seed: %v: %s", err, out)
		}
	}
	argv := d.Options.runArgs()
	fmt.Fprintf(progress, "hybrid drill: bringing the topology up in %s\n", d.Dir)
	if err := Start(ctx, d.Dir, argv, d.Env, 3*time.Minute); err != nil {
		return nil, err
	}
	defer Stop(d.Dir, 2*time.Minute)

	var mu sync.Mutex
	var samples []sample
	watchCtx, stopWatch := context.WithCancel(context.Background())
	watched := make(chan struct{})
	go func() { d.watch(watchCtx, p, &mu, &samples); close(watched) }()
	defer func() { stopWatch(); <-watched }()

	start := time.Now()
	for i := range faults {
		f := &faults[i]
		f.from, f.to = start.Add(f.at), start.Add(f.at+f.dur)
		// Stopped when the drill returns, so a drill that ends early sends nothing to a
		// topology that is going down.
		timer := time.AfterFunc(f.at, func() {
			resp, err := http.Post(fmt.Sprintf("http://%s/hybrid/fault?kind=%s&for=%s", loop(p.ArgoCD), f.kind, f.dur), "", nil)
			if err != nil {
				fmt.Fprintf(progress, "hybrid drill: %s fault not started: %v\n", f.kind, err)
				return
			}
			resp.Body.Close()
			fmt.Fprintf(progress, "hybrid drill: %s fault for %s (%s)\n", f.kind, f.dur, resp.Status)
		})
		defer timer.Stop()
	}

	// The students go through nginx, trusting the drill's certificate.
	os.Setenv("SSL_CERT_FILE", CertFile(d.Dir))
	rep, err := rehearsal.Run(ctx, rehearsal.Config{
		DSN: dsn, URLs: []string{"https://" + loop(p.HTTPS)}, Students: d.Students, Demand: rehearsal.Demand{Hot: 5},
		Lead: d.Lead, Spread: d.Spread, AdmitPerSecond: d.AdmitPerSecond, MaxActive: d.MaxActive,
		Think: d.Think, MaxConns: 4 * d.Students, Progress: progress,
	})
	if err != nil {
		return nil, fmt.Errorf("rehearsal: %w", err)
	}
	rushEnd := time.Now()

	// The scale-in: wait for the floor (on-prem 2, no EKS replica, no node).
	fmt.Fprintf(progress, "hybrid drill: the rush is over; waiting up to %s for the floor\n", d.Settle)
	floor := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if len(samples) == 0 {
			return false
		}
		s := samples[len(samples)-1].state
		return s.OnPremDeployed == 2 && s.EKSDeployed == 0 && s.NodesDesired == 0 && s.EKSRunning == 0 && s.At.After(rushEnd)
	}
	for deadline := time.Now().Add(d.Settle); !floor() && time.Now().Before(deadline); {
		time.Sleep(time.Second)
	}
	// Let the last drained instance's requests reach the log.
	time.Sleep(2 * time.Second)
	stopWatch()
	<-watched
	stopErr := Stop(d.Dir, 2*time.Minute)

	reqs, err := readAccessLog(filepath.Join(d.Dir, "nginx", "logs", "school.access.log"), p)
	if err != nil {
		return nil, err
	}
	decs, err := readDecisions(filepath.Join(d.Dir, "logs", "autoscaler.log"))
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	rep.Timeline = timeline(d, start, rushEnd, samples, decs, reqs, faults, stopErr)
	return &DrillResult{Report: rep}, nil
}
