"""BentoML 1.1.11's own Python clients against the gobento examples.

For every example, SyncHTTPClient, AsyncHTTPClient and the gRPC clients (sync
and async, patched for BentoML's own client bugs: see grpc_patches.py) list
the APIs and call each one; every descriptor (Text, JSON, NumpyNdarray,
Image, File, Multipart) is used as input and as output. Each result must
equal what the same call returns over plain HTTP (what curl gets)."""

from __future__ import annotations

import asyncio
import io
import json
import pathlib
import typing as t
import urllib.request
from dataclasses import dataclass

import numpy as np
import pytest
from PIL import Image
from openapi_spec_validator import validate as validate_openapi

import bentoml
from bentoml.client import AsyncHTTPClient, SyncGrpcClient, SyncHTTPClient
from bentoml._internal.types import FileLike

import grpc_patches

ROOT = pathlib.Path(__file__).resolve().parent.parent
DIGIT7 = (ROOT / "examples/image_classifier/testdata/digit_7.png").read_bytes()


def small_image() -> Image.Image:
    img = Image.new("RGB", (5, 3))
    img.putdata([(i * 10, 255 - i * 10, (i * 37) % 256) for i in range(15)])
    return img


@dataclass
class Case:
    example: str
    api: str
    value: t.Any  # the client's input (a dict of fields for Multipart)
    content_type: str | None  # the plain HTTP request: body from value, or raw
    raw: bytes | None = None

    @property
    def id(self) -> str:
        return f"{self.example}.{self.api}"


CASES = [
    Case("echo", "echo", "héllo, wörld", "text/plain"),
    Case("echo", "echo_json", {"text": "hi", "values": [1.5, 2.0], "meta": {"k": "v"}}, "application/json"),
    Case("iris_classifier", "classify", np.array([[5.9, 3.0, 5.1, 1.8], [5.1, 3.5, 1.4, 0.2]]), "application/json"),
    Case("sentiment_analyzer", "analysis", "I love this", "text/plain"),
    Case("sentiment_analyzer", "analysis", "This is terrible. I hate it.", "text/plain"),
    Case("image_classifier", "predict", Image.open(io.BytesIO(DIGIT7)), "image/png", DIGIT7),
    Case("io_echo", "text", "ünïcode text\nwith lines", "text/plain"),
    Case("io_echo", "json", {"a": [1.5, 2.5], "b": None, "c": {"d": "e"}, "f": True}, "application/json"),
    Case("io_echo", "ndarray", np.array([[1.5, 2.0, -3.25], [0.0, 1e-3, 7.0]]), "application/json"),
    Case("io_echo", "ndarray_int", np.array([1, -2, 3, 2**40], dtype=np.int64), "application/json"),
    Case("io_echo", "image", small_image(), "image/png"),
    Case("io_echo", "file", b"\x00\x01binary\xffcontent", "application/octet-stream"),
    Case("io_echo", "multipart", {"note": "a note", "arr": np.array([1.5, 2.5]), "meta": {"k": "v"}}, None),
]


def client_input(c: Case) -> t.Any:
    return io.BytesIO(c.value) if isinstance(c.value, bytes) else c.value


def request_body(c: Case) -> bytes:
    if c.raw is not None:
        return c.raw
    v = c.value
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, bytes):
        return v
    if isinstance(v, np.ndarray):
        return json.dumps(v.tolist()).encode()
    if isinstance(v, Image.Image):
        b = io.BytesIO()
        v.save(b, format="PNG")
        return b.getvalue()
    return json.dumps(v).encode()


def curl(url: str, c: Case) -> tuple[str, bytes]:
    """POSTs the case as curl would; returns the content type and body."""
    req = urllib.request.Request(url + "/" + c.api, data=request_body(c), method="POST",
                                 headers={"Content-Type": c.content_type})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers.get("Content-Type", ""), r.read()


def decode(content_type: str, body: bytes) -> t.Any:
    if content_type.startswith("application/json"):
        return json.loads(body)
    if content_type.startswith("text/plain"):
        return body.decode()
    if content_type.startswith("image/"):
        return Image.open(io.BytesIO(body))
    return body


def plain(v: t.Any) -> t.Any:
    """Turns a client result into plain Python values for comparison."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, Image.Image):
        return (v.size, v.convert("RGB").tobytes())
    if isinstance(v, FileLike) or hasattr(v, "read"):
        return v.read()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def assert_same(got: t.Any, want: t.Any, path: str = "") -> None:
    got, want = plain(got), plain(want)
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), f"{path}: {got!r} != {want!r}"
        for k in want:
            assert_same(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), f"{path}: {got!r} != {want!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{path}[{i}]")
    elif isinstance(want, float) or isinstance(got, float):
        assert not isinstance(got, (str, bytes)) and got == pytest.approx(want, rel=1e-6, abs=1e-12), f"{path}: {got!r} != {want!r}"
    else:
        assert got == want, f"{path}: {got!r} != {want!r}"


@pytest.fixture(scope="session")
def sync_http(examples):
    clients = {n: SyncHTTPClient.from_url(ex.http_url) for n, ex in examples.items()}
    yield clients
    for c in clients.values():
        c.close()


@pytest.fixture(scope="session")
def sync_grpc(examples):
    clients = {n: SyncGrpcClient.from_url(ex.grpc_addr) for n, ex in examples.items()}
    yield clients
    for c in clients.values():
        c.close()


def docs_apis(url: str) -> set[str]:
    with urllib.request.urlopen(url + "/docs.json", timeout=10) as r:
        doc = json.load(r)
    return {op["x-bentoml-name"] for p in doc["paths"].values() for op in p.values() if "Service APIs" in op.get("tags", [])}


@pytest.mark.parametrize("name", ["echo", "iris_classifier", "sentiment_analyzer", "image_classifier", "io_echo"])
def test_docs_json_is_valid_openapi_30(examples, name):
    with urllib.request.urlopen(examples[name].http_url + "/docs.json", timeout=10) as r:
        doc = json.load(r)
    assert doc["openapi"].startswith("3.0")
    validate_openapi(doc)


@pytest.mark.parametrize("name", ["echo", "iris_classifier", "sentiment_analyzer", "image_classifier", "io_echo"])
def test_clients_list_the_apis(examples, sync_http, sync_grpc, name):
    want = docs_apis(examples[name].http_url)
    assert want, "no API in /docs.json"
    auto = bentoml.client.Client.from_url(examples[name].http_url)
    try:
        assert set(auto._svc.apis) == want
    finally:
        auto.close()
    assert set(sync_http[name]._svc.apis) == want
    assert set(sync_grpc[name]._svc.apis) == want

    async def async_apis():
        c = await AsyncHTTPClient.from_url(examples[name].http_url)
        g = grpc_patches.async_grpc_client(examples[name].grpc_addr)
        try:
            return set(c._svc.apis), set(g._svc.apis)
        finally:
            await c.close()
            await g.close()

    assert asyncio.run(async_apis()) == (want, want)


def expected(examples, c: Case) -> t.Any:
    """What curl gets for the case (for the multipart echo: its input)."""
    if c.content_type is None:
        return c.value
    ct, body = curl(examples[c.example].http_url, c)
    return decode(ct, body)


def call_sync(client, c: Case, grpc: bool):
    if isinstance(c.value, dict) and c.api == "multipart":
        kw = grpc_patches.multipart_kwargs(client, c.api, c.value) if grpc else c.value
        return client.call(c.api, **kw)
    return client.call(c.api, client_input(c))


async def call_async(client, c: Case, grpc: bool):
    if isinstance(c.value, dict) and c.api == "multipart":
        kw = grpc_patches.multipart_kwargs(client, c.api, c.value) if grpc else c.value
        return await client.call(c.api, **kw)
    return await client.call(c.api, client_input(c))


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_sync_http(examples, sync_http, c):
    assert_same(call_sync(sync_http[c.example], c, grpc=False), expected(examples, c))


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_async_http(examples, c):
    async def run():
        client = await AsyncHTTPClient.from_url(examples[c.example].http_url)
        try:
            return await call_async(client, c, grpc=False)
        finally:
            await client.close()

    assert_same(asyncio.run(run()), expected(examples, c))


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_sync_grpc(examples, sync_grpc, c):
    assert_same(call_sync(sync_grpc[c.example], c, grpc=True), grpc_expected(examples, c))


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_async_grpc(examples, c):
    async def run():
        client = grpc_patches.async_grpc_client(examples[c.example].grpc_addr)
        try:
            return await call_async(client, c, grpc=True)
        finally:
            await client.close()

    assert_same(asyncio.run(run()), grpc_expected(examples, c))


def grpc_expected(examples, c: Case) -> t.Any:
    # gRPC carries JSON in google.protobuf.Value, whose numbers are doubles:
    # 2 comes back as 2.0 from BentoML's servers too; assert_same compares
    # numbers by value, so the HTTP answer is the expectation.
    return expected(examples, c)
