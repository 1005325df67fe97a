"""gobento's CORS (api_server.http.cors) against Starlette's CORSMiddleware,
which BentoML 1.1.11 installs for the same keys: the same requests must get
the same status, preflight body and CORS headers from both."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from conftest import free_port

CONFIGS = {
    "specific origins": {
        "yaml": """
api_server:
  http:
    cors:
      enabled: true
      access_control_allow_origins: [https://app.example.com, https://b.example.com]
      access_control_allow_origin_regex: 'https://.*\\.example\\.org'
      access_control_allow_credentials: true
      access_control_allow_methods: [GET, POST]
      access_control_allow_headers: [X-Custom]
      access_control_max_age: 1200
      access_control_expose_headers: [X-BentoML-Request-ID]
""",
        "starlette": dict(allow_origins=["https://app.example.com", "https://b.example.com"], allow_origin_regex=r"https://.*\.example\.org",
                          allow_credentials=True, allow_methods=["GET", "POST"], allow_headers=["X-Custom"], max_age=1200,
                          expose_headers=["X-BentoML-Request-ID"]),
    },
    "any origin, BentoML string values": {
        "yaml": """
api_server:
  http:
    cors:
      enabled: true
      access_control_allow_origins: "*"
      access_control_allow_methods: "*"
      access_control_allow_headers: "*"
""",
        "starlette": dict(allow_origins=["*"], allow_methods=["*"], allow_headers=["*"]),
    },
    "defaults": {
        "yaml": "api_server:\n  http:\n    cors:\n      enabled: true\n      access_control_allow_origins: https://app.example.com\n",
        "starlette": dict(allow_origins=["https://app.example.com"]),
    },
}

REQUESTS = [
    ("POST", {}),
    ("POST", {"Origin": "https://app.example.com"}),
    ("POST", {"Origin": "https://x.y.example.org"}),
    ("POST", {"Origin": "https://evil.example.com"}),
    ("POST", {"Origin": "https://app.example.com", "Cookie": "a=b"}),
    ("OPTIONS", {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"}),
    ("OPTIONS", {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}),
    ("OPTIONS", {"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}),
    ("OPTIONS", {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-custom"}),
    ("OPTIONS", {"Origin": "https://app.example.com", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-other"}),
    ("OPTIONS", {"Origin": "https://x.y.example.org", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"}),
]


def cors_view(status: int, headers, body: bytes, preflight: bool):
    view = {"status": status}
    for k, v in headers:
        k = k.lower()
        if k.startswith("access-control-"):
            view[k] = v
        elif k == "vary":
            view.setdefault("vary", set()).update(x.strip() for x in v.split(",") if x.strip() in {"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers", "Access-Control-Request-Private-Network"})
    if preflight:
        view["body"] = body
    return view


@pytest.fixture(scope="module", params=list(CONFIGS), ids=list(CONFIGS))
def pair(request, tmp_path_factory):
    cfg = CONFIGS[request.param]
    d = tmp_path_factory.mktemp("cors")
    path = d / "bentoml_configuration.yaml"
    path.write_text(cfg["yaml"])
    port = free_port()
    env = dict(os.environ, BENTOML_CONFIG=str(path))
    proc = subprocess.Popen([os.path.join(os.environ["GOBENTO_COMPAT_BIN"], "io_echo"), "serve-http", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=open(d / "log", "wb"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((d / "log").read_text())
            time.sleep(0.05)

    async def text(_request):
        return PlainTextResponse("x")

    app = Starlette(routes=[Route("/text", text, methods=["POST"])], middleware=[Middleware(CORSMiddleware, **cfg["starlette"])])
    try:
        yield url, TestClient(app)
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.mark.parametrize("method,headers", REQUESTS, ids=[f"{m} {' '.join(f'{k}={v}' for k, v in h.items())}" for m, h in REQUESTS])
def test_cors_like_starlette(pair, method, headers):
    url, starlette = pair
    preflight = method == "OPTIONS"
    r = starlette.request(method, "/text", headers=headers, content=b"hi")
    want = cors_view(r.status_code, r.headers.items(), r.content, preflight)
    req = urllib.request.Request(url + "/text", data=b"hi", method=method, headers={"Content-Type": "text/plain", **headers})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            got = cors_view(resp.status, resp.headers.items(), resp.read(), preflight)
    except urllib.error.HTTPError as e:
        got = cors_view(e.code, e.headers.items(), e.read(), preflight)
    assert got == want
