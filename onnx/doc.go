// Package onnx loads ONNX models and runs them on ONNX Runtime, alone or
// behind a batched gobento runner.
//
// Models exported from PyTorch (torch.onnx.export), scikit-learn (skl2onnx),
// XGBoost and LightGBM (onnxmltools) and most other frameworks run here; see
// docs/serving-your-own-model.md for the export recipes.
//
// # The runtime library
//
// The package binds the ONNX Runtime C API through
// github.com/yalue/onnxruntime_go (cgo) and loads libonnxruntime.so at run
// time, once per process, on the first model load. `make onnxruntime` in the
// repository fetches ONNX Runtime 1.30.0 into .cache/onnxruntime/. The
// library is looked up in this order: [SetLibraryPath], the environment
// variable [LibraryEnv] (GOBENTO_ONNXRUNTIME_LIB), the cache folder (from the
// working directory up, then from this package's source directory up), and
// the system's library path. When it cannot be loaded, every function that
// needs it returns a *[LibraryError] wrapping [ErrLibraryNotFound] whose
// message names [InstallCommand].
//
// # Models, sessions and tensors
//
// [ReadModel] (or [ParseModel] for bytes, such as a go:embed file) checks a
// model and reads its inputs and outputs — names, element types, shapes with
// dynamic dimensions — from the model itself. [Model.NewSession] creates an
// ONNX Runtime session with [Options]: intra- and inter-op threads, graph
// optimization level, execution providers (CPU by default; [CUDA] where the
// library and a GPU allow). [Load] does both.
//
// [Tensor] is the one tensor type: flat row-major data of one [Element] type
// plus a shape. [NewTensor] wraps a slice without copying; [Data] returns an
// output's data without copying. [Session.Run] checks its inputs against the
// model and returns a 400 [github.com/gobento/bento.Error] wrapping an
// *[InputError] naming the input, the expected and the received type and
// shape when they do not match.
//
// # Runners and batching
//
// [NewRunner] puts a model behind a gobento runner: one session per worker,
// a warm-up run before the service is ready, and a batchable method. When
// every input and output of the model has a dynamic first dimension,
// concurrent calls are concatenated along it, run once and split back per
// caller ([Session.RunBatch]); calls of different shapes run in separate
// groups, and models with a fixed first dimension run call by call. Each
// runner reports gobento_model_info and gobento_model_load_duration_seconds.
//
// # Concurrency and memory
//
// Models are immutable and safe for concurrent use. A session's Run may be
// called from several goroutines (ONNX Runtime sessions are thread-safe),
// though a runner gives each worker its own. Sessions hold native memory the
// Go collector does not see: [Session.Close] frees it, and a runner closes
// its sessions when the service stops.
package onnx
