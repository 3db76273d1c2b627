package registration

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/schoolservice/school/db"
)

// hotSections is how many sections get a seats-left series: the ones most asked for, so
// the label set stays small however many sections a term has.
const hotSections = 20

type metrics struct {
	requests *prometheus.CounterVec
	retries  prometheus.Counter
	regated  prometheus.Counter
	reads    *prometheus.CounterVec
	waitlist *prometheus.CounterVec
	pace     prometheus.Gauge
	hot      *hotCollector
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "school", Name: "registration_requests_total",
			Help: "Registration requests by action and result.",
		}, []string{"action", "result"}),
		retries: f.NewCounter(prometheus.CounterOpts{
			Namespace: "school", Name: "registration_transaction_retries_total",
			Help: "Registration transactions run again after a deadlock or lock-wait timeout.",
		}),
		regated: f.NewCounter(prometheus.CounterOpts{
			Namespace: "school", Name: "registration_gate_answers_total",
			Help: "Registrations answered from a new read after their section answered full while they waited at its gate: transactions the gate saved.",
		}),
		reads: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "school", Name: "registration_first_reads_total",
			Help: "Registrations, waitlist joins, drops and waitlist leaves (action) by their first read: the glance, or the student's lock (a registration for a section with seats to spare, a waitlist join), or the lock and then the glance when that was what the request needed (lock_then_glance).",
		}, []string{"action", "read"}),
		waitlist: f.NewCounterVec(prometheus.CounterOpts{
			Namespace: "school", Name: "waitlist_promotions_total",
			Help: "Waitlisted students given a freed seat, or skipped with the rule that refused them.",
		}, []string{"result"}),
		pace: f.NewGauge(prometheus.GaugeOpts{
			Namespace: "school", Name: "admission_active_limit",
			Help: "Students this replica's waiting-room ticks let be active at once now (the staff's limit is its ceiling).",
		}),
		hot: &hotCollector{sections: map[int64]*hotSection{}, desc: prometheus.NewDesc(
			"school_section_seats_left", "Seats left in the most requested sections.", []string{"section"}, nil)},
	}
	reg.MustRegister(m.hot)
	return m
}

func (m *metrics) observe(kind db.RegistrationRequestsAction, out Outcome) {
	m.requests.WithLabelValues(string(kind), string(out.Result)).Inc()
	if kind == db.RegistrationRequestsActionRegister || kind == db.RegistrationRequestsActionWaitlist {
		m.hot.requested(out)
	}
}

type hotSection struct {
	name      string
	requests  int
	seatsLeft int
}

// hotCollector reports seats left in the most requested sections as this replica last saw
// them answering requests, so it costs no query on the registration path.
type hotCollector struct {
	mu       sync.Mutex
	sections map[int64]*hotSection
	desc     *prometheus.Desc
}

func (h *hotCollector) requested(out Outcome) {
	if out.Section.CourseCode == "" || out.SeatsLeft < 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sections[out.Section.ID]
	if s == nil {
		s = &hotSection{name: out.Section.Label()}
		h.sections[out.Section.ID] = s
	}
	s.requests++
	s.seatsLeft = out.SeatsLeft
}

func (h *hotCollector) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

func (h *hotCollector) Collect(ch chan<- prometheus.Metric) {
	h.mu.Lock()
	defer h.mu.Unlock()
	all := make([]*hotSection, 0, len(h.sections))
	for _, s := range h.sections {
		all = append(all, s)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].requests > all[j].requests })
	for _, s := range all[:min(hotSections, len(all))] {
		ch <- prometheus.MustNewConstMetric(h.desc, prometheus.GaugeValue, float64(s.seatsLeft), s.name)
	}
}
