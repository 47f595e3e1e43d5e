"""Who may talk to the node: TLS credentials and the per-site bearer token.

Every call must carry ``authorization: Bearer <token>`` in its metadata; the
:class:`TokenInterceptor` compares it in constant time (:func:`hmac.compare_digest`)
and answers ``UNAUTHENTICATED`` otherwise, before any handler runs.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

__all__ = ["AUTH_HEADER", "TokenInterceptor", "bearer_metadata", "read_token",
           "server_credentials", "token_matches"]

AUTH_HEADER = "authorization"
_PREFIX = "Bearer "


def read_token(path: str | Path) -> str:
    """The token in a file (surrounding whitespace stripped); ValueError if empty."""
    token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise ValueError(f"{path}: empty token file")
    return token


def bearer_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries ``token`` (empty when there is none)."""
    return ((AUTH_HEADER, _PREFIX + token),) if token else ()


def token_matches(metadata: Sequence[Any] | None, expected: str) -> bool:
    """True if ``metadata`` carries ``Bearer <expected>`` (constant-time comparison)."""
    presented = ""
    for item in metadata or ():
        key, value = (item.key, item.value) if hasattr(item, "key") else item
        if key == AUTH_HEADER:
            presented = value if isinstance(value, str) else value.decode("latin-1")
            break
    if not presented.startswith(_PREFIX):
        presented = ""
    return hmac.compare_digest(presented[len(_PREFIX):].encode(), expected.encode())


def _denied(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as ``handler`` that aborts with UNAUTHENTICATED."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator

    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.unary_stream:
        return grpc.unary_stream_rpc_method_handler(stream, **kwargs)
    if handler.stream_unary:
        return grpc.stream_unary_rpc_method_handler(unary, **kwargs)
    if handler.stream_stream:
        return grpc.stream_stream_rpc_method_handler(stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(unary, **kwargs)


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuse every call that does not present the site's token.

    Parameters
    ----------
    token : str
        The expected bearer token.
    on_refused : callable, optional
        Called with the method name of each refused call (for logging).
    """

    def __init__(self, token: str, on_refused: Callable[[str], None] | None = None) -> None:
        if not token:
            raise ValueError("TokenInterceptor needs a non-empty token")
        self._token = token
        self._on_refused = on_refused

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails],
                                     Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or token_matches(handler_call_details.invocation_metadata,
                                            self._token):
            return handler
        if self._on_refused is not None:
            self._on_refused(handler_call_details.method)
        return _denied(handler, "missing or wrong site token (authorization: Bearer ...)")


def server_credentials(cert: Path, key: Path) -> grpc.ServerCredentials:
    """TLS credentials of the node from its certificate chain and private key (PEM)."""
    return grpc.ssl_server_credentials([(Path(key).read_bytes(), Path(cert).read_bytes())])
