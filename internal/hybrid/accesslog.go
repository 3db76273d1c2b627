package hybrid

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// served is one request in nginx's access log (the shipped format, with $msec added).
type served struct {
	method, path string
	status       int
	start, end   time.Time
	tier         string // onprem, spare, eks, or "" when nginx answered itself
	retried      bool   // more than one upstream tried
	// onpremFailed: an on-prem server failed it (refused, timed out, or answered
	// 502/503/504), which passive health counts towards taking that server out.
	onpremFailed bool
}

var accessLine = regexp.MustCompile(`"(\S+) (\S+) [^"]*" (\d{3}) \d+ msec=([\d.]+) rt=([\d.]+) upstream=(.*?) us=(.*?) urt=`)

// readAccessLog reads the drill's access log and puts every request in its tier.
func readAccessLog(path string, p Ports) ([]served, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tiers := map[string]string{loop(p.OnPrem[0]): "onprem", loop(p.OnPrem[1]): "onprem", loop(p.OnPrem[2]): "spare", loop(p.NLB): "eks"}
	var out []served
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		status, _ := strconv.Atoi(m[3])
		msec, _ := strconv.ParseFloat(m[4], 64)
		rt, _ := strconv.ParseFloat(m[5], 64)
		end := time.UnixMilli(int64(msec * 1000))
		s := served{method: m[1], path: m[2], status: status, end: end, start: end.Add(-time.Duration(rt * float64(time.Second)))}
		ups := strings.Split(m[6], ", ")
		s.retried = len(ups) > 1
		s.tier = tiers[strings.TrimSpace(ups[len(ups)-1])]
		codes := strings.Split(m[7], ", ")
		for i, u := range ups {
			t := tiers[strings.TrimSpace(u)]
			if t != "onprem" && t != "spare" {
				continue
			}
			if i < len(ups)-1 || (i < len(codes) && (codes[i] == "502" || codes[i] == "503" || codes[i] == "504")) {
				s.onpremFailed = true
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out, sc.Err()
}

// onPremInFlight counts the on-prem requests (spare included) in flight at t.
func onPremInFlight(reqs []served, t time.Time) int {
	n := 0
	for _, r := range reqs {
		if r.start.After(t) {
			break
		}
		if (r.tier == "onprem" || r.tier == "spare") && r.end.After(t) {
			n++
		}
	}
	return n
}

// logged is one of the autoscaler's decision lines (its JSON log): every evaluation,
// where /status shows only the last.
type logged struct {
	At        time.Time `json:"time"`
	Msg       string    `json:"msg"`
	Direction string    `json:"direction"`
	Reason    string    `json:"reason"`
}

// aboveFor reads how long the utilisation had been above the threshold from a reason,
// "… demand 1.09 above 0.80 for 2.999669495s …".
var aboveFor = regexp.MustCompile(`(\w+) [\d.]+ above ([\d.]+) for (\S+?s)\b`)

func readDecisions(path string) ([]logged, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []logged
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		var l logged
		if json.Unmarshal(sc.Bytes(), &l) == nil && l.Msg == "decision" {
			out = append(out, l)
		}
	}
	return out, sc.Err()
}
