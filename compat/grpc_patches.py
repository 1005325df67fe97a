"""Workarounds for bugs in BentoML 1.1.11's own gRPC client (BentoML issue
#4683 and neighbours). None of them is a gobento bug: the same client fails
the same way against BentoML 1.1.11's own gRPC server. Each patch changes
only the client, and only what the bug needs:

1. SyncGrpcClient.from_url opens its channel with GrpcClient._create_channel,
   which does not exist (AttributeError). Patch: give GrpcClient the sync
   client's _create_channel.
2. AsyncGrpcClient.from_url never awaits its ServiceMetadata call, then reads
   .name from the call object (AttributeError: 'UnaryUnaryCall' object has no
   attribute 'name'). Patch: async_grpc_client() fetches the metadata with the
   (patched) sync path and builds the AsyncGrpcClient from the same Service.
3. File(): the concrete class File() returns (BytesIOFile) registers no proto
   fields, so every call fails with IndexError on proto_fields[0]. Patch: give
   it File's ("file",).
4. Multi-input (Multipart) calls pass the input fields on to pb.Request(...)
   as if they were request fields (ValueError: Protocol message Request has
   no "note" field). Patch: _split_channel_args keeps only the channel
   keyword arguments.
5. Multipart.to_proto pairs the values with the fields by position, not by
   name, so keyword arguments must be given in the descriptor's field order.
   Not patched: multipart_kwargs() orders them.
"""

from __future__ import annotations

import typing as t

from bentoml._internal.client import grpc as _grpc
from bentoml._internal.io_descriptors import file as _file


def apply() -> None:
    _grpc.GrpcClient._create_channel = staticmethod(_grpc.SyncGrpcClient._create_channel)  # 1
    _file.BytesIOFile.proto_fields = ("file",)  # 3
    for cls in (_grpc.SyncGrpcClient, _grpc.AsyncGrpcClient):  # 4
        split = cls._split_channel_args

        def only_channel_args(_split=split, **kwargs: t.Any):
            return {}, _split(**kwargs)[1]

        cls._split_channel_args = staticmethod(only_channel_args)


def async_grpc_client(url: str) -> _grpc.AsyncGrpcClient:
    """AsyncGrpcClient.from_url without bug 2."""
    sync = _grpc.SyncGrpcClient.from_url(url)
    try:
        return _grpc.AsyncGrpcClient(url, sync._svc)
    finally:
        sync.close()


def multipart_kwargs(client: t.Any, api: str, values: dict[str, t.Any]) -> dict[str, t.Any]:
    """values ordered as the client's Multipart descriptor lists its fields (bug 5)."""
    fields = client._svc.apis[api].input._inputs
    return {name: values[name] for name in fields}
