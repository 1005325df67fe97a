package instrument

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento/internal/connlimit"
)

// Serving states reported by gobento_serving_state.
const (
	StateStarting = "starting"
	StateReady    = "ready"
	StateDraining = "draining"
)

var states = []string{StateStarting, StateReady, StateDraining}

// saturation reports, at scrape time, values that live elsewhere as plain
// state (worker counts, queue depths, the serving state): gauges read
// through callbacks, never kept in metrics (client_golang's advice).
type saturation struct {
	workersDesc, busyDesc, queuedDesc, stateDesc *prometheus.Desc
	connDescs                                    connDescs
	svc, ver                                     string

	mu        sync.Mutex
	runners   []runnerSource
	queues    []queueSource
	listeners []listenerSource
	state     string
}

// connDescs describe a listener's connections (see [Set.Listener]).
type connDescs struct {
	open, limit, refused, evicted, acceptErrors *prometheus.Desc
}

// Names of the connection families, reserved against custom metrics.
const (
	connOpenName         = "gobento_connections_open"
	connLimitName        = "gobento_connections_limit"
	connRefusedName      = "gobento_connections_refused_total"
	connEvictedName      = "gobento_connections_evicted_total"
	connAcceptErrorsName = "gobento_accept_errors_total"
)

func newConnDescs() connDescs {
	l := []string{"service_name", "listener"}
	return connDescs{
		open:         prometheus.NewDesc(connOpenName, "Connections open on the listener", l, nil),
		limit:        prometheus.NewDesc(connLimitName, "Most connections the listener holds open (api_server.http.max_connections)", l, nil),
		refused:      prometheus.NewDesc(connRefusedName, "Connections refused at the limit because none was idle to make room", l, nil),
		evicted:      prometheus.NewDesc(connEvictedName, "Idle connections closed at the limit to make room for a new one", l, nil),
		acceptErrors: prometheus.NewDesc(connAcceptErrorsName, "Failures to accept a connection (for example: too many open files)", l, nil),
	}
}

type listenerSource struct {
	name  string
	stats func() connlimit.Stats
}

type runnerSource struct {
	name    string
	workers int
	busy    func() int
}

type queueSource struct {
	runner, method string
	queued         func() int
}

func newSaturation(o Options) *saturation {
	rns := o.RunnerNamespace
	return &saturation{
		workersDesc: prometheus.NewDesc(rns+"_workers",
			"Model workers (instances) of the runner", []string{"runner_name", "service_name", "service_version"}, nil),
		busyDesc: prometheus.NewDesc(rns+"_workers_busy",
			"Workers of the runner currently running a call or a batch", []string{"runner_name", "service_name", "service_version"}, nil),
		queuedDesc: prometheus.NewDesc(rns+"_queued_items",
			"Items waiting in the batch queue of a batchable runner method", []string{"runner_name", "method_name", "service_name", "service_version"}, nil),
		stateDesc: prometheus.NewDesc("gobento_serving_state",
			"1 for the server's current state (starting, ready, draining), 0 for the others", []string{"service_name", "state"}, nil),
		connDescs: newConnDescs(),
		svc:       o.ServiceName,
		ver:       o.ServiceVersion,
		state:     StateStarting,
	}
}

// Describe sends the descriptors.
func (s *saturation) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.workersDesc
	ch <- s.busyDesc
	ch <- s.queuedDesc
	ch <- s.stateDesc
	d := s.connDescs
	for _, desc := range []*prometheus.Desc{d.open, d.limit, d.refused, d.evicted, d.acceptErrors} {
		ch <- desc
	}
}

// Collect reads every source.
func (s *saturation) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	runners, queues, listeners, state := s.runners, s.queues, s.listeners, s.state
	s.mu.Unlock()
	d := s.connDescs
	for _, l := range listeners {
		st := l.stats()
		ch <- prometheus.MustNewConstMetric(d.open, prometheus.GaugeValue, float64(st.Open), s.svc, l.name)
		ch <- prometheus.MustNewConstMetric(d.limit, prometheus.GaugeValue, float64(st.Max), s.svc, l.name)
		ch <- prometheus.MustNewConstMetric(d.refused, prometheus.CounterValue, float64(st.Refused), s.svc, l.name)
		ch <- prometheus.MustNewConstMetric(d.evicted, prometheus.CounterValue, float64(st.Evicted), s.svc, l.name)
		ch <- prometheus.MustNewConstMetric(d.acceptErrors, prometheus.CounterValue, float64(st.AcceptErrors), s.svc, l.name)
	}
	for _, r := range runners {
		ch <- prometheus.MustNewConstMetric(s.workersDesc, prometheus.GaugeValue, float64(r.workers), r.name, s.svc, s.ver)
		ch <- prometheus.MustNewConstMetric(s.busyDesc, prometheus.GaugeValue, float64(r.busy()), r.name, s.svc, s.ver)
	}
	for _, q := range queues {
		ch <- prometheus.MustNewConstMetric(s.queuedDesc, prometheus.GaugeValue, float64(q.queued()), q.runner, q.method, s.svc, s.ver)
	}
	for _, st := range states {
		v := 0.0
		if st == state {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(s.stateDesc, prometheus.GaugeValue, v, s.svc, st)
	}
}

// Runner reports a runner's worker count and how many are busy (read at
// each scrape). Calling it again for the same runner replaces the source.
func (s *Set) Runner(name string, workers int, busy func() int) {
	if s == nil {
		return
	}
	sat := s.sat
	sat.mu.Lock()
	defer sat.mu.Unlock()
	src := runnerSource{name: name, workers: workers, busy: busy}
	for i, r := range sat.runners {
		if r.name == name {
			sat.runners = append(sat.runners[:i:i], append([]runnerSource{src}, sat.runners[i+1:]...)...)
			return
		}
	}
	sat.runners = append(sat.runners[:len(sat.runners):len(sat.runners)], src)
}

// Queue reports a batchable method's queue depth (read at each scrape).
func (s *Set) Queue(runner, method string, queued func() int) {
	if s == nil {
		return
	}
	sat := s.sat
	sat.mu.Lock()
	defer sat.mu.Unlock()
	sat.queues = append(sat.queues[:len(sat.queues):len(sat.queues)], queueSource{runner: runner, method: method, queued: queued})
}

// Listener reports a capped listener's connections (read at each scrape)
// under listener=name ("api", "metrics").
func (s *Set) Listener(name string, stats func() connlimit.Stats) {
	if s == nil {
		return
	}
	sat := s.sat
	sat.mu.Lock()
	defer sat.mu.Unlock()
	sat.listeners = append(sat.listeners[:len(sat.listeners):len(sat.listeners)], listenerSource{name: name, stats: stats})
}

// SetState sets the serving state: [StateStarting], [StateReady] or
// [StateDraining].
func (s *Set) SetState(state string) {
	if s == nil {
		return
	}
	s.sat.mu.Lock()
	s.sat.state = state
	s.sat.mu.Unlock()
}
