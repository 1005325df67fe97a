package onnx

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gobento/bento"
	"github.com/gobento/bento/internal/customreg"
	"github.com/gobento/bento/internal/instrument"
)

// Source is where a runner's model comes from: a [File] or [Bytes].
type Source struct {
	path string
	name string
	data []byte
}

// File is a model read from path when the runner starts; a missing or
// corrupt file stops the service from starting, with an error naming it.
func File(path string) Source { return Source{path: path, name: path} }

// Bytes is a model held in memory (for example embedded with go:embed);
// name, usually its file name, labels it in errors and metrics.
func Bytes(name string, data []byte) Source { return Source{name: name, data: data} }

func (s Source) read() (*Model, error) {
	if s.path != "" {
		return ReadModel(s.path)
	}
	return ParseModel(s.name, s.data)
}

// RunnerOptions configure [NewRunner]. The zero value gives one worker
// with a single-threaded session, batching when the model has a dynamic
// first dimension, and a warm-up run.
type RunnerOptions struct {
	// Workers is the number of workers, each with its own session; 0
	// means 1. The config key runners.<name>.workers takes precedence.
	Workers int
	// Session are the session options of every worker. IntraOpThreads 0
	// means 1 here (not ONNX Runtime's one thread per core): the workers
	// give the parallelism. Raise it for a large model served by fewer
	// workers than cores.
	Session Options
	// MaxBatchSize and MaxLatency tune the adaptive batcher (see
	// [bento.MaxBatchSize], [bento.MaxLatency]); 0 means the configured
	// defaults.
	MaxBatchSize int
	MaxLatency   time.Duration
	// DisableBatching runs every call alone, for a model whose dynamic
	// first dimension is not a batch axis.
	DisableBatching bool
	// NoWarmUp skips the first run on zero inputs that each worker does
	// before the service reports ready.
	NoWarmUp bool
}

// Runner is an ONNX model behind a bento runner: one [Session] per worker
// and a method "run" that takes one caller's inputs. Create it with
// [NewRunner]; it is safe for concurrent use.
type Runner struct {
	name   string
	runner *bento.Runner[*Session]
	method *bento.RunnerMethod[[]Tensor, []Tensor]
	model  atomic.Pointer[Model]
	load   sync.Mutex // serializes the first read of the model
	live   atomic.Int32
}

// NewRunner declares a runner called name on svc that serves the model
// from src. Each worker creates its session when the service starts; a
// model that cannot be read or run stops the start with an error naming
// the file. The runner's method "run" is batchable: concurrent calls are
// merged along the first dimension when every input and output of the
// model has a dynamic first dimension (see [Session.RunBatch]), and run
// one by one otherwise. Sessions are closed when the service stops.
//
// Every worker reports gobento_model_info{runner_name, model_file,
// model_sha256, opset, runtime, runtime_version, execution_provider} = 1
// and observes its load and warm-up times in
// gobento_model_load_duration_seconds{runner_name, model_file, phase}.
func NewRunner(svc *bento.Service, name string, src Source, o *RunnerOptions) *Runner {
	if o == nil {
		o = &RunnerOptions{}
	}
	opts := *o
	if opts.Workers == 0 {
		opts.Workers = 1
	}
	if opts.Session.IntraOpThreads == 0 {
		opts.Session.IntraOpThreads = 1
	}
	r := &Runner{name: name}
	r.runner = bento.NewRunner(svc, name, func() (*Session, error) { return r.newSession(src, &opts) },
		bento.Workers(opts.Workers))
	if opts.DisableBatching {
		r.method = bento.Method(r.runner, "run", func(s *Session, ctx context.Context, in []Tensor) ([]Tensor, error) {
			return s.Run(ctx, in...)
		})
		return r
	}
	var bopts []bento.BatchOption
	if opts.MaxBatchSize > 0 {
		bopts = append(bopts, bento.MaxBatchSize(opts.MaxBatchSize))
	}
	if opts.MaxLatency > 0 {
		bopts = append(bopts, bento.MaxLatency(opts.MaxLatency))
	}
	r.method = bento.BatchMethod(r.runner, "run", (*Session).RunBatch, bopts...)
	return r
}

// newSession is the runner's model constructor: it reads the model once,
// then creates and warms up one session per worker.
func (r *Runner) newSession(src Source, o *RunnerOptions) (*Session, error) {
	t0 := time.Now()
	m, err := r.readModel(src)
	if err != nil {
		return nil, err
	}
	s, err := m.NewSession(&o.Session)
	if err != nil {
		return nil, err
	}
	families.load.WithLabelValues(r.name, m.FileName(), instrument.PhaseLoad).Observe(time.Since(t0).Seconds())
	if !o.NoWarmUp {
		t1 := time.Now()
		if err := s.warmUp(); err != nil {
			s.Close()
			return nil, &ModelError{File: m.name, Err: fmt.Errorf("warm-up run: %w", err)}
		}
		families.load.WithLabelValues(r.name, m.FileName(), instrument.PhaseWarmUp).Observe(time.Since(t1).Seconds())
	}
	version, _ := RuntimeVersion()
	sha := m.SHA256()
	if len(sha) > 12 {
		sha = sha[:12]
	}
	families.info.WithLabelValues(r.name, m.FileName(), sha, m.opsetLabel(), "onnxruntime", version, s.Provider()).Set(1)
	r.live.Add(1)
	s.onClose = func() {
		// The runner's last session is gone (the service stopped): its
		// model is no longer served.
		if r.live.Add(-1) == 0 {
			families.info.DeletePartialMatch(prometheus.Labels{"runner_name": r.name})
		}
	}
	return s, nil
}

func (r *Runner) readModel(src Source) (*Model, error) {
	if m := r.model.Load(); m != nil {
		return m, nil
	}
	r.load.Lock()
	defer r.load.Unlock()
	if m := r.model.Load(); m != nil {
		return m, nil
	}
	m, err := src.read()
	if err != nil {
		return nil, err
	}
	r.model.Store(m)
	return m, nil
}

// warmUp runs the model once on zeros, with every dynamic dimension 1.
func (s *Session) warmUp() error {
	ins := make([]Tensor, len(s.model.inputs))
	for i, in := range s.model.inputs {
		shape := make([]int64, len(in.Shape))
		for j, d := range in.Shape {
			shape[j] = max(d, 1)
		}
		t, err := Zeros(in.Type, shape...)
		if err != nil {
			return err
		}
		ins[i] = t
	}
	_, err := s.run(ins)
	return err
}

// Name returns the runner name.
func (r *Runner) Name() string { return r.name }

// Runner returns the underlying bento runner, to declare more methods on
// its sessions with [bento.Method] or [bento.BatchMethod].
func (r *Runner) Runner() *bento.Runner[*Session] { return r.runner }

// Model returns the model once the runner has started, nil before.
func (r *Runner) Model() *Model { return r.model.Load() }

// Run runs the model on one caller's inputs (in the order of
// [Model.Inputs]) and returns the outputs. Inputs that do not fit the model
// give a 400 naming the input, the expected and the received shape, before
// the call joins a batch, so one caller's bad input never fails another's.
// The outputs of a batched call may share memory with other callers'
// outputs only through disjoint ranges of one array; they are the caller's
// to read.
func (r *Runner) Run(ctx context.Context, inputs ...Tensor) ([]Tensor, error) {
	if m := r.model.Load(); m != nil {
		if err := m.Check(inputs); err != nil {
			return nil, err
		}
	}
	return r.method.Run(ctx, inputs)
}

// families are the process-wide model metric families, declared once so
// every service registry gets them.
var families = newFamilies()

type modelFamilies struct {
	info *prometheus.GaugeVec
	load *prometheus.HistogramVec
}

func newFamilies() modelFamilies {
	info, load := instrument.NewModelFamilies()
	customreg.Add(builtin{instrument.ModelInfoName, info})
	customreg.Add(builtin{instrument.ModelLoadName, load})
	return modelFamilies{info, load}
}

// builtin adapts a gobento family to the declared-metric list.
type builtin struct {
	name string
	c    prometheus.Collector
}

func (b builtin) Name() string                    { return b.name }
func (b builtin) Err() error                      { return nil }
func (b builtin) Collector() prometheus.Collector { return b.c }
