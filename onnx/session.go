package onnx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/gobento/bento"
)

// OptimizationLevel is ONNX Runtime's graph optimization level.
type OptimizationLevel int

// Graph optimization levels. The zero value is OptimizeAll, ONNX Runtime's
// own default.
const (
	OptimizeAll OptimizationLevel = iota
	OptimizeExtended
	OptimizeBasic
	OptimizeDisabled
)

// Execution providers for [Options.Providers].
const (
	// CPU is ONNX Runtime's default CPU provider.
	CPU = "CPU"
	// CUDA runs the model on an NVIDIA GPU. It needs an ONNX Runtime build
	// with the CUDA provider, the CUDA libraries and a GPU; where one is
	// missing, creating the session fails with an error wrapping
	// [ErrProviderUnavailable]. The library `make onnxruntime` fetches is
	// CPU-only.
	CUDA = "CUDA"
)

// ErrProviderUnavailable is wrapped by the error of [Model.NewSession] when
// a requested execution provider cannot be used.
var ErrProviderUnavailable = errors.New("onnx: execution provider unavailable")

// Options are session settings. The zero value runs on the CPU with ONNX
// Runtime's default threading and all graph optimizations.
type Options struct {
	// IntraOpThreads is the number of threads one Run may use inside an
	// operator; 0 means ONNX Runtime's default (one per physical core).
	// When several sessions run at once (one per runner worker), keep
	// workers × IntraOpThreads near the number of cores.
	IntraOpThreads int
	// InterOpThreads is the number of threads running independent
	// operators in parallel; 0 means ONNX Runtime's default.
	InterOpThreads int
	// Optimization is the graph optimization level; the zero value is
	// OptimizeAll.
	Optimization OptimizationLevel
	// Providers lists the execution providers in order of preference,
	// such as []string{CUDA}; the CPU provider always comes last. nil
	// means CPU only.
	Providers []string
	// ProviderOptions are passed to the providers (for CUDA, keys such as
	// "device_id").
	ProviderOptions map[string]string
	// ProfilePrefix, when set, turns on ONNX Runtime's profiler: every
	// Run is timed inside ONNX Runtime (event "model_run", and each node)
	// and the JSON trace is written to a file starting with this prefix
	// when the session is closed. Profiling slows every run; use it to
	// measure, not to serve.
	ProfilePrefix string
}

// provider returns the label value of the first provider.
func (o *Options) provider() string {
	if o == nil || len(o.Providers) == 0 {
		return CPU
	}
	return o.Providers[0]
}

// Session is one ONNX Runtime session of a [Model]. Run and RunBatch may be
// called from several goroutines at once (ONNX Runtime sessions are
// thread-safe), though a runner gives each worker its own session. Close
// releases the native memory; it must not run concurrently with a call.
type Session struct {
	model    *Model
	provider string
	sess     *ort.DynamicAdvancedSession
	batchDim bool   // every input and output has a dynamic first dimension
	onClose  func() // set by a Runner: forgets the session's metrics
}

// Load reads the model at path and creates a session with opts (nil means
// the zero Options).
func Load(path string, opts *Options) (*Session, error) {
	m, err := ReadModel(path)
	if err != nil {
		return nil, err
	}
	return m.NewSession(opts)
}

// NewSession creates an ONNX Runtime session for the model. opts may be nil.
func (m *Model) NewSession(opts *Options) (*Session, error) {
	if opts == nil {
		opts = &Options{}
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer so.Destroy()
	if opts.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(opts.IntraOpThreads); err != nil {
			return nil, fmt.Errorf("onnx: IntraOpThreads(%d): %w", opts.IntraOpThreads, err)
		}
	}
	if opts.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(opts.InterOpThreads); err != nil {
			return nil, fmt.Errorf("onnx: InterOpThreads(%d): %w", opts.InterOpThreads, err)
		}
	}
	level := map[OptimizationLevel]ort.GraphOptimizationLevel{
		OptimizeAll:      ort.GraphOptimizationLevelEnableAll,
		OptimizeExtended: ort.GraphOptimizationLevelEnableExtended,
		OptimizeBasic:    ort.GraphOptimizationLevelEnableBasic,
		OptimizeDisabled: ort.GraphOptimizationLevelDisableAll,
	}
	l, ok := level[opts.Optimization]
	if !ok {
		return nil, fmt.Errorf("onnx: unknown optimization level %d", opts.Optimization)
	}
	if err := so.SetGraphOptimizationLevel(l); err != nil {
		return nil, fmt.Errorf("onnx: optimization level: %w", err)
	}
	if opts.ProfilePrefix != "" {
		if err := so.EnableProfiling(opts.ProfilePrefix); err != nil {
			return nil, fmt.Errorf("onnx: profiling: %w", err)
		}
	}
	for _, p := range opts.Providers {
		if err := appendProvider(so, p, opts.ProviderOptions); err != nil {
			return nil, &ModelError{File: m.name, Err: err}
		}
	}
	names := func(infos []Info) []string {
		out := make([]string, len(infos))
		for i, x := range infos {
			out[i] = x.Name
		}
		return out
	}
	sess, err := ort.NewDynamicAdvancedSessionWithONNXData(m.data, names(m.inputs), names(m.outputs), so)
	if err != nil {
		return nil, &ModelError{File: m.name, Err: fmt.Errorf("%w: %w", ErrInvalidModel, err)}
	}
	s := &Session{model: m, provider: opts.provider(), sess: sess, batchDim: len(m.inputs) > 0}
	for _, x := range append(m.inputs[:len(m.inputs):len(m.inputs)], m.outputs...) {
		if len(x.Shape) == 0 || x.Shape[0] >= 0 {
			s.batchDim = false
		}
	}
	return s, nil
}

func appendProvider(so *ort.SessionOptions, name string, options map[string]string) error {
	switch strings.ToUpper(name) {
	case CPU:
		return nil
	case CUDA:
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return fmt.Errorf("%w: CUDA: %w (this ONNX Runtime library has no CUDA provider or no GPU is present; use the CPU provider)", ErrProviderUnavailable, err)
		}
		defer cuda.Destroy()
		if len(options) > 0 {
			if err := cuda.Update(options); err != nil {
				return fmt.Errorf("%w: CUDA options: %w", ErrProviderUnavailable, err)
			}
		}
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			return fmt.Errorf("%w: CUDA: %w (this ONNX Runtime library has no CUDA provider or no GPU is present; use the CPU provider)", ErrProviderUnavailable, err)
		}
		return nil
	}
	if err := so.AppendExecutionProvider(name, options); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrProviderUnavailable, name, err)
	}
	return nil
}

// Model returns the model the session runs.
func (s *Session) Model() *Model { return s.model }

// Provider returns the first execution provider the session was asked for
// ("CPU" by default).
func (s *Session) Provider() string { return s.provider }

// Close releases the session's native resources. The session must not be
// used afterwards.
func (s *Session) Close() error {
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if s.onClose != nil {
		s.onClose()
	}
	return err
}

// InputError reports an input that does not match the model: wrong number
// of inputs, element type, rank or dimension. The session returns it inside
// a 400 [bento.Error], so a service answers the client with its message.
type InputError struct {
	// Input is the model input's name ("" when the number of inputs is
	// wrong).
	Input string
	// WantType and WantShape are what the model declares (-1 for a
	// dynamic dimension).
	WantType  ElementType
	WantShape Shape
	// GotType and GotShape are what the caller passed.
	GotType  ElementType
	GotShape Shape
	// Msg, when set, replaces the type and shape comparison.
	Msg string
}

// Error names the input, the expected and the received type and shape.
func (e *InputError) Error() string {
	if e.Msg != "" {
		return "onnx: " + e.Msg
	}
	return fmt.Sprintf("onnx: input %q: expected %v%v, got %v%v", e.Input, e.WantType, e.WantShape, e.GotType, e.GotShape)
}

// Check validates inputs against the model: their number, and each one's
// element type, rank and fixed dimensions. The error is a 400 [bento.Error]
// wrapping an *[InputError].
func (m *Model) Check(inputs []Tensor) error {
	if len(inputs) != len(m.inputs) {
		names := make([]string, len(m.inputs))
		for i, in := range m.inputs {
			names[i] = in.Name
		}
		return bento.BadInput(&InputError{Msg: fmt.Sprintf("model %s takes %d inputs %q, got %d", m.FileName(), len(m.inputs), names, len(inputs))})
	}
	for i, in := range m.inputs {
		t := inputs[i]
		bad := t.Type() != in.Type || len(t.shape) != len(in.Shape)
		for j := 0; !bad && j < len(in.Shape); j++ {
			bad = in.Shape[j] >= 0 && in.Shape[j] != t.shape[j]
		}
		if bad {
			return bento.BadInput(&InputError{Input: in.Name, WantType: in.Type, WantShape: in.Shape, GotType: t.Type(), GotShape: t.shape})
		}
	}
	return nil
}

// Run runs the model once on inputs, given in the order of
// [Model.Inputs], and returns the outputs in the order of [Model.Outputs].
// Inputs that do not match the model give a 400 [bento.Error] wrapping an
// *[InputError] naming the input, the expected and the received shape. Run
// returns ctx's error if ctx is done before the model starts; a running
// model is not interrupted.
func (s *Session) Run(ctx context.Context, inputs ...Tensor) ([]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.model.Check(inputs); err != nil {
		return nil, err
	}
	return s.run(inputs)
}

// run runs checked inputs.
func (s *Session) run(inputs []Tensor) ([]Tensor, error) {
	if s.sess == nil {
		return nil, errors.New("onnx: session is closed")
	}
	ins := make([]ort.Value, len(inputs))
	defer func() {
		for _, v := range ins {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, t := range inputs {
		v, err := toORT(t)
		if err != nil {
			return nil, fmt.Errorf("onnx: input %q: %w", s.model.inputs[i].Name, err)
		}
		ins[i] = v
	}
	outs := make([]ort.Value, len(s.model.outputs))
	if err := s.sess.Run(ins, outs); err != nil {
		return nil, fmt.Errorf("onnx: run %s: %w", s.model.FileName(), err)
	}
	result := make([]Tensor, len(outs))
	var err error
	for i, v := range outs {
		if v == nil {
			continue
		}
		if err == nil {
			result[i], err = fromORT(v)
			if err != nil {
				err = fmt.Errorf("onnx: output %q: %w", s.model.outputs[i].Name, err)
			}
		}
		v.Destroy()
	}
	if err != nil {
		return nil, err
	}
	return result, nil
}

func toORT(t Tensor) (ort.Value, error) {
	shape := ort.Shape(t.shape)
	switch d := t.data.(type) {
	case []float32:
		return ort.NewTensor(shape, d)
	case []float64:
		return ort.NewTensor(shape, d)
	case []int8:
		return ort.NewTensor(shape, d)
	case []uint8:
		return ort.NewTensor(shape, d)
	case []int16:
		return ort.NewTensor(shape, d)
	case []uint16:
		return ort.NewTensor(shape, d)
	case []int32:
		return ort.NewTensor(shape, d)
	case []uint32:
		return ort.NewTensor(shape, d)
	case []int64:
		return ort.NewTensor(shape, d)
	case []uint64:
		return ort.NewTensor(shape, d)
	case []bool:
		return ort.NewTensor(shape, d)
	}
	return nil, fmt.Errorf("unsupported tensor %v", t)
}

func fromORT(v ort.Value) (Tensor, error) {
	shape := []int64(v.GetShape())
	var data any
	switch x := v.(type) {
	case *ort.Tensor[float32]:
		data = x.GetData()
	case *ort.Tensor[float64]:
		data = x.GetData()
	case *ort.Tensor[int8]:
		data = x.GetData()
	case *ort.Tensor[uint8]:
		data = x.GetData()
	case *ort.Tensor[int16]:
		data = x.GetData()
	case *ort.Tensor[uint16]:
		data = x.GetData()
	case *ort.Tensor[int32]:
		data = x.GetData()
	case *ort.Tensor[uint32]:
		data = x.GetData()
	case *ort.Tensor[int64]:
		data = x.GetData()
	case *ort.Tensor[uint64]:
		data = x.GetData()
	case *ort.Tensor[bool]:
		data = x.GetData()
	default:
		return Tensor{}, fmt.Errorf("unsupported output value %T", v)
	}
	if len(shape) == 0 { // a scalar output: one element
		shape = []int64{1}
	}
	return Tensor{shape: shape, data: data}, nil
}

// RunBatch runs the inputs of several callers, each item being one
// caller's inputs in the order of [Model.Inputs], and returns each item's
// outputs. When every input and output of the model has a dynamic first
// dimension, items whose other dimensions agree are concatenated along the
// first dimension and run together, and the outputs are split back by each
// item's row count (the outputs of an item share memory with the batch
// result, not with other items). Items of different shapes run in separate
// groups; a model with a fixed first dimension runs item by item. Invalid
// items fail the call with a 400 naming the item and the input, so check
// each caller's inputs with [Model.Check] before batching them.
func (s *Session) RunBatch(ctx context.Context, items [][]Tensor) ([][]Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i, in := range items {
		if err := s.model.Check(in); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	out := make([][]Tensor, len(items))
	if !s.batchDim {
		for i, in := range items {
			res, err := s.run(in)
			if err != nil {
				return nil, err
			}
			out[i] = res
		}
		return out, nil
	}
	for _, group := range groupItems(items) {
		if err := s.runGroup(items, group, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// groupItems splits item indices into groups whose inputs agree on every
// dimension but the first, and whose inputs share one row count each.
func groupItems(items [][]Tensor) [][]int {
	var groups [][]int
	keys := map[string]int{}
	var b strings.Builder
	for i, in := range items {
		b.Reset()
		rows := int64(-1)
		alone := false
		for _, t := range in {
			if rows >= 0 && t.shape[0] != rows {
				alone = true // inputs disagree on the batch size: run it by itself
			}
			rows = t.shape[0]
			fmt.Fprintf(&b, "%v;", t.shape[1:])
		}
		if alone {
			groups = append(groups, []int{i})
			continue
		}
		k := b.String()
		g, ok := keys[k]
		if !ok {
			g = len(groups)
			keys[k] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}

func (s *Session) runGroup(items [][]Tensor, group []int, out [][]Tensor) error {
	if len(group) == 1 {
		res, err := s.run(items[group[0]])
		out[group[0]] = res
		return err
	}
	ins := make([]Tensor, len(s.model.inputs))
	parts := make([]Tensor, len(group))
	var total int64
	for _, idx := range group {
		total += items[idx][0].shape[0]
	}
	for j := range ins {
		for k, idx := range group {
			parts[k] = items[idx][j]
		}
		ins[j] = concat(parts)
	}
	res, err := s.run(ins)
	if err != nil {
		return err
	}
	for j, r := range res {
		if len(r.shape) == 0 || r.shape[0] != total {
			return fmt.Errorf("onnx: output %q has shape %v for a batch of %d rows: its first dimension is not the batch dimension; disable batching for this model",
				s.model.outputs[j].Name, r.shape, total)
		}
	}
	var off int64
	for _, idx := range group {
		n := items[idx][0].shape[0]
		mine := make([]Tensor, len(res))
		for j, r := range res {
			mine[j] = r.rows(off, off+n)
		}
		out[idx] = mine
		off += n
	}
	return nil
}
