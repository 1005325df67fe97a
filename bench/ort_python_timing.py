"""ONNX Runtime's own time for one MNIST digit, measured from Python (for BENCHMARKS.md).

Times InferenceSession.run on mnist-dynamic.onnx with one [1, 1, 28, 28] input, one intra-op
and one inter-op thread and all graph optimizations (the settings `go run ./bench` gives the Go
Session.Run), with time.perf_counter_ns around each call: 100 warm-up runs, then 3000 timed
runs; prints the median and mean in microseconds. This includes the Python binding's own
per-call cost, so it is an upper bound of ONNX Runtime's time. Needs onnxruntime==1.30.0 (the
version `make onnxruntime` fetches) and numpy; the Go build never runs it.

    python bench/ort_python_timing.py
"""

import statistics
import time

import numpy as np
import onnxruntime as ort

opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession("examples/image_classifier/mnist-dynamic.onnx", opts,
                            providers=["CPUExecutionProvider"])
x = np.random.default_rng(1).integers(0, 256, size=(1, 1, 28, 28)).astype(np.float32)
feed = {"Input3": x}
for _ in range(100):
    sess.run(None, feed)
times = []
for _ in range(3000):
    t0 = time.perf_counter_ns()
    sess.run(None, feed)
    times.append((time.perf_counter_ns() - t0) / 1e3)
print(f"onnxruntime {ort.__version__} (Python): run p50 {statistics.median(times):.1f} us, "
      f"mean {statistics.mean(times):.1f} us over {len(times)} runs")
