package onnx

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	ort "github.com/yalue/onnxruntime_go"
	"google.golang.org/protobuf/encoding/protowire"
)

// ErrInvalidModel is wrapped by the error of [ReadModel] and [ParseModel]
// when the bytes are not a model ONNX Runtime can load.
var ErrInvalidModel = errors.New("onnx: invalid model")

// ModelError reports a model file that could not be loaded. Its message
// names the file; it wraps [ErrInvalidModel] (or the I/O error) and the
// parser's error.
type ModelError struct {
	// File is the model's path, or the name given to [ParseModel].
	File string
	// Err is the cause.
	Err error
}

// Error names the file and the cause.
func (e *ModelError) Error() string { return fmt.Sprintf("onnx: model %q: %v", e.File, e.Err) }

// Unwrap returns the cause.
func (e *ModelError) Unwrap() error { return e.Err }

// Info describes one model input or output.
type Info struct {
	// Name is the name in the model graph.
	Name string
	// Type is the element type; Undefined for an output that is not a
	// tensor (a sequence or map).
	Type ElementType
	// Shape holds the dimensions; -1 marks a dynamic dimension.
	Shape Shape
}

// String formats the info as name: type[dims].
func (i Info) String() string { return fmt.Sprintf("%s: %v%v", i.Name, i.Type, i.Shape) }

// Model is a parsed ONNX model: its bytes and what was read from them. It
// holds no ONNX Runtime session and is safe for concurrent use; create
// sessions from it with [Model.NewSession].
type Model struct {
	name     string
	data     []byte
	sha256   string
	ir       int64
	opset    int64
	producer string
	inputs   []Info
	outputs  []Info
}

// ReadModel reads and checks the ONNX model at path. Errors name the file:
// a *[ModelError] wrapping the I/O error or [ErrInvalidModel], or a
// *[LibraryError] when ONNX Runtime is not available.
func ReadModel(path string) (*Model, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ModelError{File: path, Err: err}
	}
	return ParseModel(path, data)
}

// ParseModel checks the ONNX model in data; name (usually its file name)
// appears in errors and in [Model.Name]. ONNX Runtime reads the inputs and
// outputs from the model itself. The model keeps data; do not modify it.
func ParseModel(name string, data []byte) (*Model, error) {
	m := &Model{name: name, data: data}
	if err := m.parseHeader(); err != nil {
		return nil, &ModelError{File: name, Err: fmt.Errorf("%w: %w", ErrInvalidModel, err)}
	}
	if err := initRuntime(); err != nil {
		return nil, err
	}
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return nil, &ModelError{File: name, Err: fmt.Errorf("%w: %w", ErrInvalidModel, err)}
	}
	m.inputs = convertInfo(ins)
	m.outputs = convertInfo(outs)
	for _, in := range m.inputs {
		if _, err := makeData(in.Type, 0); err != nil {
			return nil, &ModelError{File: name, Err: fmt.Errorf("input %q: %w", in.Name, err)}
		}
	}
	for _, out := range m.outputs {
		if _, err := makeData(out.Type, 0); err != nil {
			return nil, &ModelError{File: name, Err: fmt.Errorf("output %q is not a numeric tensor (%w); for a scikit-learn classifier, export with zipmap disabled", out.Name, err)}
		}
	}
	sum := sha256.Sum256(data)
	m.sha256 = hex.EncodeToString(sum[:])
	return m, nil
}

func convertInfo(in []ort.InputOutputInfo) []Info {
	out := make([]Info, len(in))
	for i, x := range in {
		typ := ElementType(x.DataType)
		if x.OrtValueType != ort.ONNXTypeTensor {
			typ = Undefined
		}
		shape := make(Shape, len(x.Dimensions))
		for j, d := range x.Dimensions {
			shape[j] = max(d, -1)
		}
		out[i] = Info{Name: x.Name, Type: typ, Shape: shape}
	}
	return out
}

// parseHeader reads the fields of the ModelProto that ONNX Runtime does not
// report: IR version, producer and the default-domain opset.
func (m *Model) parseHeader() error {
	b := m.data
	if len(b) == 0 {
		return errors.New("empty file")
	}
	graph := false
	m.opset = -1
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return fmt.Errorf("not an ONNX protobuf: %w", protowire.ParseError(n))
		}
		b = b[n:]
		vlen := protowire.ConsumeFieldValue(num, typ, b)
		if vlen < 0 {
			return fmt.Errorf("not an ONNX protobuf: field %d: %w", num, protowire.ParseError(vlen))
		}
		v := b[:vlen]
		b = b[vlen:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			ir, _ := protowire.ConsumeVarint(v)
			m.ir = int64(ir)
		case num == 2 && typ == protowire.BytesType:
			s, _ := protowire.ConsumeBytes(v)
			m.producer = string(s)
		case num == 7 && typ == protowire.BytesType:
			graph = true
		case num == 8 && typ == protowire.BytesType:
			s, _ := protowire.ConsumeBytes(v)
			domain, version := parseOpset(s)
			if domain == "" || domain == "ai.onnx" {
				m.opset = version
			}
		}
	}
	if !graph {
		return errors.New("no graph in the file")
	}
	return nil
}

func parseOpset(b []byte) (domain string, version int64) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return
		}
		b = b[n:]
		vlen := protowire.ConsumeFieldValue(num, typ, b)
		if vlen < 0 {
			return
		}
		switch {
		case num == 1 && typ == protowire.BytesType:
			s, _ := protowire.ConsumeBytes(b[:vlen])
			domain = string(s)
		case num == 2 && typ == protowire.VarintType:
			v, _ := protowire.ConsumeVarint(b[:vlen])
			version = int64(v)
		}
		b = b[vlen:]
	}
	return
}

// Name returns the path or name the model was read from.
func (m *Model) Name() string { return m.name }

// FileName returns the base name of the model's path.
func (m *Model) FileName() string { return filepath.Base(m.name) }

// SHA256 returns the hex SHA-256 of the model bytes.
func (m *Model) SHA256() string { return m.sha256 }

// Opset returns the model's ONNX operator set version (default domain), or
// -1 when the model declares none.
func (m *Model) Opset() int64 { return m.opset }

// IRVersion returns the model's ONNX IR version.
func (m *Model) IRVersion() int64 { return m.ir }

// Producer returns the name of the tool that wrote the model, such as
// "skl2onnx" or "pytorch", when the model records it.
func (m *Model) Producer() string { return m.producer }

// Inputs describes the model's inputs, in the order [Session.Run] takes
// them. The caller must not modify the result.
func (m *Model) Inputs() []Info { return m.inputs }

// Outputs describes the model's outputs, in the order [Session.Run]
// returns them. The caller must not modify the result.
func (m *Model) Outputs() []Info { return m.outputs }

// opsetLabel is the opset as a label value.
func (m *Model) opsetLabel() string {
	if m.opset < 0 {
		return "unknown"
	}
	return strconv.FormatInt(m.opset, 10)
}
