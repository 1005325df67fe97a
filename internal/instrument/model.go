package instrument

import "github.com/prometheus/client_golang/prometheus"

// Names of the model families, reserved against custom metrics.
const (
	// ModelInfoName is the gauge that is 1 for every model a runner
	// serves, labelled with what identifies it.
	ModelInfoName = "gobento_model_info"
	// ModelLoadName is the histogram of model load and warm-up times.
	ModelLoadName = "gobento_model_load_duration_seconds"
)

// ModelFamilyNames are the model families' names.
var ModelFamilyNames = []string{ModelInfoName, ModelLoadName}

// ModelInfoLabels are the label names of [ModelInfoName], in order.
var ModelInfoLabels = []string{"runner_name", "model_file", "model_sha256", "opset", "runtime", "runtime_version", "execution_provider"}

// Model load phases, the phase label of [ModelLoadName].
const (
	PhaseLoad   = "load"   // reading the model and creating a session
	PhaseWarmUp = "warmup" // the first run on dummy inputs
)

// modelLoadBuckets span a tiny model's milliseconds to a large model's
// minutes.
var modelLoadBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 180}

// NewModelFamilies returns the model families: the info gauge (labels
// [ModelInfoLabels]) and the load histogram (labels runner_name,
// model_file, phase). They are process-wide: a model package creates them
// once and declares them with internal/customreg, so every service
// registry gets them.
func NewModelFamilies() (info *prometheus.GaugeVec, load *prometheus.HistogramVec) {
	info = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: ModelInfoName,
		Help: "A metric with a constant '1' value labeled by the runner, the model file, its SHA-256 prefix and opset, the runtime and its version, and the execution provider",
	}, ModelInfoLabels)
	load = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    ModelLoadName,
		Help:    "Time to load a model into one runner worker (phase=load) and to run it once on dummy inputs (phase=warmup)",
		Buckets: modelLoadBuckets,
	}, []string{"runner_name", "model_file", "phase"})
	return info, load
}
