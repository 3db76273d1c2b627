package rehearsal

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// CPU is where the machine's processor time went during the run, in cores (1.0 = one
// core busy the whole run), read from /proc; zero where it could not be read.
type CPU struct {
	Cores     int
	Busy      float64 // the whole machine
	Tool      float64 // this process: the simulated students
	Instances float64 // the app instances the tool started
	MariaDB   float64 // the stack's MariaDB, when its pid file is found
	Others    float64 // everything else: other work on the machine
}

const clockTicks = 100 // USER_HZ on Linux

// machineBusy returns the seconds all cores spent busy since boot, and the core count.
func machineBusy() (float64, int) {
	procs, kernel, cores := machineTimes()
	return procs + kernel, cores
}

// machineTimes splits the machine's busy seconds since boot into what processes ran
// (user, nice, system: what their /proc/PID/stat times add up to) and what the kernel
// spent outside any process (irq, softirq, such as loopback network traffic, and steal),
// and counts the cores. Guest time is inside user already.
func machineTimes() (procs, kernel float64, cores int) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 {
			continue
		}
		if f[0] == "cpu" {
			for i, v := range f[1:9] {
				n, _ := strconv.ParseFloat(v, 64)
				switch i {
				case 0, 1, 2: // user, nice, system
					procs += n
				case 5, 6, 7: // irq, softirq, steal
					kernel += n
				}
			}
		} else if strings.HasPrefix(f[0], "cpu") {
			cores++
		}
	}
	return procs / clockTicks, kernel / clockTicks, cores
}

// processCPU returns the seconds of CPU a process has used (user + system).
func processCPU(pid int) float64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	return statCPU(b)
}

// statCPU reads user + system seconds from a /proc/…/stat line (of a process or a
// thread).
func statCPU(b []byte) float64 {
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 > len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / clockTicks
}

// mariaDBPid reads the stack's MariaDB pid file, next to the stack script's data.
func mariaDBPid() int { return stackPid(os.Getenv("SCHOOL_STACK_DIR"), "mariadb", "mysqld.pid") }

// galeraPids reads the pid files of the stack's Galera nodes (galera-up), when there are.
func galeraPids() []int {
	var pids []int
	for _, n := range []string{"n1", "n2", "n3"} {
		if pid := stackPid(os.Getenv("SCHOOL_STACK_DIR"), "galera", n, "mysqld.pid"); pid > 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// stackPid reads a pid file deploy/local/stack keeps under dir; 0 when there is none.
func stackPid(dir string, path ...string) int {
	if dir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(append([]string{dir}, path...)...))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// cpuMeter samples the counters every second and sums the differences, so processes
// that end or start again (a drill) are counted for the time they ran.
type cpuMeter struct {
	r     *runner
	last  map[int]float64 // pid -> CPU seconds at the last sample
	sum   CPU
	start time.Time
	busy0 float64
}

func newCPUMeter(r *runner) *cpuMeter {
	m := &cpuMeter{r: r, last: map[int]float64{}, start: time.Now()}
	m.busy0, m.sum.Cores = machineBusy()
	m.sample()
	return m
}

func (m *cpuMeter) delta(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	now := processCPU(pid)
	prev, seen := m.last[pid]
	m.last[pid] = now
	if !seen || now < prev {
		return 0
	}
	return now - prev
}

func (m *cpuMeter) sample() {
	m.sum.Tool += m.delta(os.Getpid())
	for _, p := range m.r.procs {
		m.sum.Instances += m.delta(p.pid())
	}
	m.sum.MariaDB += m.delta(mariaDBPid())
	for _, pid := range galeraPids() {
		m.sum.MariaDB += m.delta(pid)
	}
}

// result is the run's average use, in cores.
func (m *cpuMeter) result() CPU {
	m.sample()
	busy, _ := machineBusy()
	secs := time.Since(m.start).Seconds()
	if secs <= 0 || busy == 0 {
		return CPU{}
	}
	c := CPU{Cores: m.sum.Cores, Busy: (busy - m.busy0) / secs, Tool: m.sum.Tool / secs,
		Instances: m.sum.Instances / secs, MariaDB: m.sum.MariaDB / secs}
	c.Others = max(0, c.Busy-c.Tool-c.Instances-c.MariaDB)
	return c
}
