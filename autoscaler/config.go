package autoscaler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written as "30s" or "5m" in the config.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 30s or 5m", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the daemon's configuration file.
type Config struct {
	Interval   Duration         `yaml:"interval"`
	Prometheus PrometheusConfig `yaml:"prometheus"`
	Policy     Policy           `yaml:"policy"`
	OnPrem     ArgoCDConfig     `yaml:"onprem"`
	EKS        EKSConfig        `yaml:"eks"`
	EKSApp     ArgoCDConfig     `yaml:"eks_app"`
	// StateFile keeps the cooldown, the timers, the schedule floor, an unfinished action
	// and each target's backoff across a restart; empty keeps them in memory only.
	StateFile string `yaml:"state_file"`
	// UnhealthyAfter is how many evaluations in a row a target (or Prometheus) may fail
	// before /healthz answers 503.
	UnhealthyAfter int `yaml:"unhealthy_after"`
}

// PrometheusConfig says where the signals come from. Queries return one sample each.
type PrometheusConfig struct {
	URL              string `yaml:"url"`
	CPUQuery         string `yaml:"cpu_query"`
	MemoryQuery      string `yaml:"memory_query"`
	WaitingRoomQuery string `yaml:"waiting_room_query"`
	RequestRateQuery string `yaml:"request_rate_query"`
	NextWindowQuery  string `yaml:"next_window_query"`
	// ReadyNodesQuery counts the EKS nodes that are Ready: the EKS replicas never go
	// beyond what they hold, and nodes that do not join in time are given up.
	ReadyNodesQuery string `yaml:"ready_nodes_query"`
	// InFlightQuery is the requests nginx has in flight to the app (every tier);
	// ArrivalRateQuery the students joining the waiting room per second. Both are fast
	// signals (see Policy.InFlightPerReplica).
	InFlightQuery    string   `yaml:"inflight_query"`
	ArrivalRateQuery string   `yaml:"arrival_rate_query"`
	Staleness        Duration `yaml:"staleness"` // a sample older than this is unknown
	Timeout          Duration `yaml:"timeout"`
}

// Policy is the decision's tuning.
type Policy struct {
	UpThreshold     float64  `yaml:"up_threshold"`   // on-prem utilisation that calls for more capacity
	DownThreshold   float64  `yaml:"down_threshold"` // below this, capacity may be given back
	Target          float64  `yaml:"target"`         // utilisation a burst aims to bring on-prem back to
	UpSustain       Duration `yaml:"up_sustain"`
	DownSustain     Duration `yaml:"down_sustain"`
	Cooldown        Duration `yaml:"cooldown"`
	MaxStepNodes    int      `yaml:"max_step_nodes"`
	MaxStepReplicas int      `yaml:"max_step_replicas"`
	// The schedule floor: from LeadTime before a registration window opens until
	// HoldAfterOpen after it, capacity stays at least FloorNodes on EKS.
	LeadTime      Duration `yaml:"lead_time"`
	HoldAfterOpen Duration `yaml:"hold_after_open"`
	FloorNodes    int      `yaml:"floor_nodes"`
	// ReplicasPerNode is how many app replicas one EKS node holds.
	ReplicasPerNode int `yaml:"replicas_per_node"`
	// OnPremReplicaShare is the on-prem utilisation one extra on-prem replica takes off,
	// and EKSNodeShare what one EKS node takes off: they size a burst.
	OnPremReplicaShare float64 `yaml:"onprem_replica_share"`
	EKSNodeShare       float64 `yaml:"eks_node_share"`
	// ProvisionTimeout is how long asked-for EKS nodes may take to become Ready; past it
	// the node group is brought back to its ready nodes and not grown for the backoff
	// (as Cluster Autoscaler's max-node-provision-time).
	ProvisionTimeout Duration `yaml:"provision_timeout"`
	// The fast signals. InFlightPerReplica is the requests one replica takes at once,
	// the max_conns nginx routes on (0 turns the fast signals off). The on-prem demand is
	// then the requests in flight, plus WaitingPerSlot waiting students and
	// ArrivalSlotSeconds of arrivals as one more request each (Little's law), less what
	// the ready EKS replicas take, over the on-prem replicas' slots. Above UpThreshold
	// for FastSustain it scales up, sized from how far past capacity it is (not capped
	// at 1 as a CPU rate is).
	InFlightPerReplica int      `yaml:"inflight_per_replica"`
	WaitingPerSlot     float64  `yaml:"waiting_per_slot"`
	ArrivalSlotSeconds float64  `yaml:"arrival_slot_seconds"`
	FastSustain        Duration `yaml:"fast_sustain"`
	// ErrorBackoff is how long a target that failed is left alone, doubling with each
	// failure in a row up to MaxErrorBackoff.
	ErrorBackoff    Duration `yaml:"error_backoff"`
	MaxErrorBackoff Duration `yaml:"max_error_backoff"`
}

// ArgoCDConfig names an Argo CD Application whose replicas the daemon sets.
type ArgoCDConfig struct {
	URL         string `yaml:"url"`
	TokenFile   string `yaml:"token_file"`
	Application string `yaml:"application"`
	MinReplicas int    `yaml:"min_replicas"`
	MaxReplicas int    `yaml:"max_replicas"`
	// Source is how the replicas are set: "kustomize" (spec.source.kustomize.replicas) or
	// "helm" (a value in spec.source.helm.valuesObject, at HelmValue).
	Source    string `yaml:"source"`
	HelmValue string `yaml:"helm_value"`
	// CAFile is a PEM bundle of the CAs that sign the Argo CD server's certificate (an
	// internal CA); empty trusts the system's roots.
	CAFile string `yaml:"ca_file"`
}

// EKSConfig names the managed node group.
type EKSConfig struct {
	Region    string `yaml:"region"`
	Cluster   string `yaml:"cluster"`
	Nodegroup string `yaml:"nodegroup"`
	MinNodes  int    `yaml:"min_nodes"`
	MaxNodes  int    `yaml:"max_nodes"`
	// Endpoint overrides the AWS endpoint (tests, VPC endpoints).
	Endpoint string `yaml:"endpoint"`
}

// bounds are the config's limits on the sizes.
func (c Config) bounds() Bounds {
	return Bounds{
		Min: Sizes{OnPremReplicas: c.OnPrem.MinReplicas, EKSNodes: c.EKS.MinNodes, EKSReplicas: c.EKSApp.MinReplicas},
		Max: Sizes{OnPremReplicas: c.OnPrem.MaxReplicas, EKSNodes: c.EKS.MaxNodes, EKSReplicas: c.EKSApp.MaxReplicas},
	}
}

// Defaults are the values a config file may leave out.
func Defaults() Config {
	return Config{
		Interval: Duration(30 * time.Second),
		Prometheus: PrometheusConfig{
			CPUQuery:    `1 - avg(rate(node_cpu_seconds_total{mode="idle",site="onprem"}[2m]))`,
			MemoryQuery: `1 - sum(node_memory_MemAvailable_bytes{site="onprem"}) / sum(node_memory_MemTotal_bytes{site="onprem"})`,
			// Every replica reports the whole shared queue: max, not sum.
			WaitingRoomQuery: `max(school_waiting_room_waiting{site="onprem"})`,
			RequestRateQuery: `sum(rate(school_http_request_duration_seconds_count{site="onprem"}[1m]))`,
			NextWindowQuery:  `max(school_registration_next_window_open_timestamp_seconds)`,
			ReadyNodesQuery:  `sum(kube_node_status_condition{site="eks",condition="Ready",status="true"})`,
			InFlightQuery:    `sum(nginx_connections_writing{site="onprem"})`,
			Staleness:        Duration(2 * time.Minute),
			Timeout:          Duration(10 * time.Second),
		},
		Policy: Policy{
			UpThreshold: 0.80, DownThreshold: 0.55, Target: 0.70,
			UpSustain: Duration(2 * time.Minute), DownSustain: Duration(15 * time.Minute),
			Cooldown: Duration(5 * time.Minute), MaxStepNodes: 3, MaxStepReplicas: 6,
			LeadTime: Duration(20 * time.Minute), HoldAfterOpen: Duration(60 * time.Minute), FloorNodes: 2,
			ReplicasPerNode: 2, OnPremReplicaShare: 0.10, EKSNodeShare: 0.15,
			ProvisionTimeout:   Duration(15 * time.Minute),
			InFlightPerReplica: 64, WaitingPerSlot: 20, ArrivalSlotSeconds: 0.5, FastSustain: Duration(10 * time.Second),
			ErrorBackoff: Duration(30 * time.Second), MaxErrorBackoff: Duration(10 * time.Minute),
		},
		UnhealthyAfter: 3,
		OnPrem:         ArgoCDConfig{Source: "kustomize"},
		EKSApp:         ArgoCDConfig{Source: "kustomize"},
	}
}

// Load reads a config file: unknown keys are errors, and so is anything Validate refuses.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return Parse(b)
}

// Parse reads a config from YAML over the defaults.
func Parse(b []byte) (Config, error) {
	c := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	// An empty file (io.EOF) means all defaults.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if c.Interval.D() < time.Second {
		add("interval must be at least 1s")
	}
	if u, err := url.Parse(c.Prometheus.URL); err != nil || u.Scheme == "" || u.Host == "" {
		add("prometheus.url %q must be an http(s) URL", c.Prometheus.URL)
	}
	if c.Prometheus.CPUQuery == "" {
		add("prometheus.cpu_query is required")
	}
	pol := c.Policy
	if !(0 < pol.DownThreshold && pol.DownThreshold < pol.Target && pol.Target < pol.UpThreshold && pol.UpThreshold <= 1) {
		add("policy: want 0 < down_threshold (%g) < target (%g) < up_threshold (%g) <= 1", pol.DownThreshold, pol.Target, pol.UpThreshold)
	}
	if pol.DownSustain.D() < pol.UpSustain.D() {
		add("policy.down_sustain (%s) must be at least up_sustain (%s): giving capacity back is the cautious direction", pol.DownSustain.D(), pol.UpSustain.D())
	}
	if pol.MaxStepNodes < 1 || pol.MaxStepReplicas < 1 || pol.ReplicasPerNode < 1 {
		add("policy: max_step_nodes, max_step_replicas and replicas_per_node must be at least 1")
	}
	if pol.OnPremReplicaShare <= 0 || pol.EKSNodeShare <= 0 {
		add("policy: onprem_replica_share and eks_node_share must be positive")
	}
	if pol.ProvisionTimeout.D() <= 0 || pol.ErrorBackoff.D() <= 0 || pol.MaxErrorBackoff.D() < pol.ErrorBackoff.D() {
		add("policy: want provision_timeout > 0 and 0 < error_backoff (%s) <= max_error_backoff (%s)", pol.ErrorBackoff.D(), pol.MaxErrorBackoff.D())
	}
	if pol.InFlightPerReplica < 0 || pol.WaitingPerSlot < 0 || pol.ArrivalSlotSeconds < 0 || pol.FastSustain.D() < 0 {
		add("policy: inflight_per_replica, waiting_per_slot, arrival_slot_seconds and fast_sustain cannot be negative")
	}
	if c.UnhealthyAfter < 1 {
		add("unhealthy_after must be at least 1")
	}
	if c.EKS.Cluster == "" || c.EKS.Nodegroup == "" || c.EKS.Region == "" {
		add("eks: region, cluster and nodegroup are required")
	}
	if c.EKS.MinNodes < 0 || c.EKS.MaxNodes < c.EKS.MinNodes {
		add("eks: want 0 <= min_nodes (%d) <= max_nodes (%d)", c.EKS.MinNodes, c.EKS.MaxNodes)
	}
	if pol.FloorNodes > c.EKS.MaxNodes {
		add("policy.floor_nodes (%d) is above eks.max_nodes (%d)", pol.FloorNodes, c.EKS.MaxNodes)
	}
	for name, a := range map[string]ArgoCDConfig{"onprem": c.OnPrem, "eks_app": c.EKSApp} {
		if u, err := url.Parse(a.URL); err != nil || u.Scheme == "" || u.Host == "" {
			add("%s.url %q must be the Argo CD server's URL", name, a.URL)
		}
		if a.Application == "" {
			add("%s.application is required", name)
		}
		if a.MinReplicas < 0 || a.MaxReplicas < a.MinReplicas || a.MaxReplicas < 1 {
			add("%s: want 0 <= min_replicas (%d) <= max_replicas (%d), and max_replicas at least 1", name, a.MinReplicas, a.MaxReplicas)
		}
		switch a.Source {
		case "kustomize":
		case "helm":
			if a.HelmValue == "" {
				add("%s.helm_value names the replicas value when source is helm", name)
			}
		default:
			add("%s.source %q: want kustomize or helm", name, a.Source)
		}
	}
	if len(p) > 0 {
		return errors.New("invalid autoscaler config:\n  - " + strings.Join(p, "\n  - "))
	}
	return nil
}
