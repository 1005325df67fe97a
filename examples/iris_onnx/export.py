"""Trains the Iris classifier and exports it to ONNX for the iris_onnx example.

A scikit-learn pipeline (StandardScaler + LogisticRegression) is fitted on the 150 rows of
Fisher's Iris data set that scikit-learn ships (sklearn.datasets.load_iris, no download) and
converted with skl2onnx, ZipMap disabled so the probabilities are a plain [N, 3] tensor:

    input          float32 [N, 4]   sepal length, sepal width, petal length, petal width (cm)
    label          int64   [N]      0 setosa, 1 versicolor, 2 virginica
    probabilities  float32 [N, 3]

It also writes expected.csv: every row with scikit-learn's own prediction, which the Go test
compares with ONNX Runtime's. Run once, from this directory:

    python -m venv /tmp/venv && /tmp/venv/bin/pip install -r requirements.txt
    /tmp/venv/bin/python export.py
"""

import csv

import numpy as np
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

X, y = load_iris(return_X_y=True)
model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
model.fit(X, y)

onx = to_onnx(model, initial_types=[("input", FloatTensorType([None, 4]))],
              options={LogisticRegression: {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
with open("iris_logreg.onnx", "wb") as f:
    f.write(onx.SerializeToString())

expected = model.predict(X)
with open("expected.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "sklearn_label"])
    for row, label in zip(X, expected):
        w.writerow([*(f"{v:g}" for v in row), int(label)])
print(f"training accuracy {np.mean(expected == y):.3f}")

try:
    import onnxruntime as ort
except ImportError:
    raise SystemExit(0)
sess = ort.InferenceSession("iris_logreg.onnx")
labels, probs = sess.run(None, {"input": X.astype(np.float32)})
assert (labels == expected).all(), np.flatnonzero(labels != expected)
print("onnxruntime agrees with scikit-learn on all", len(X), "rows;",
      "[[5.9, 3.0, 5.1, 1.8]] ->", sess.run(None, {"input": np.array([[5.9, 3.0, 5.1, 1.8]], np.float32)})[0])
