"""Starts the gobento examples for the compatibility suite: each one over
HTTP and over gRPC, on loopback, from the binaries `make compat` builds into
$GOBENTO_COMPAT_BIN."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import grpc_patches

EXAMPLES = ("echo", "iris_classifier", "sentiment_analyzer", "image_classifier", "io_echo")

grpc_patches.apply()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Example:
    name: str
    http_url: str
    grpc_addr: str
    procs: list[subprocess.Popen] = field(default_factory=list)


def _start(binary: str, args: list[str], env: dict[str, str], log: str) -> subprocess.Popen:
    out = open(log, "wb")
    return subprocess.Popen([binary, *args], stdout=out, stderr=subprocess.STDOUT, env=env)


def _wait_http(url: str, proc: subprocess.Popen, deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not ready")


def _wait_grpc(addr: str, proc: subprocess.Popen, deadline: float) -> None:
    with grpc.insecure_channel(addr) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.05)
    raise TimeoutError(f"{addr} not serving")


@pytest.fixture(scope="session")
def examples(tmp_path_factory) -> dict[str, Example]:
    bindir = os.environ["GOBENTO_COMPAT_BIN"]
    logs = tmp_path_factory.mktemp("logs")
    started: dict[str, Example] = {}
    try:
        for name in EXAMPLES:
            binary = os.path.join(bindir, name)
            hp, gp, mp = free_port(), free_port(), free_port()
            env = dict(os.environ)
            env["BENTOML_CONFIG_OPTIONS"] = f"api_server.grpc.metrics.host=127.0.0.1 api_server.grpc.metrics.port={mp}"
            ex = Example(name, f"http://127.0.0.1:{hp}", f"127.0.0.1:{gp}")
            ex.procs.append(_start(binary, ["serve-http", "--host", "127.0.0.1", "--port", str(hp)], env, str(logs / f"{name}-http.log")))
            ex.procs.append(_start(binary, ["serve-grpc", "--host", "127.0.0.1", "--port", str(gp)], env, str(logs / f"{name}-grpc.log")))
            started[name] = ex
        deadline = time.monotonic() + 60
        for ex in started.values():
            _wait_http(ex.http_url, ex.procs[0], deadline)
            _wait_grpc(ex.grpc_addr, ex.procs[1], deadline)
        yield started
    finally:
        for ex in started.values():
            for p in ex.procs:
                p.terminate()
        for ex in started.values():
            for p in ex.procs:
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()
