"""The token interceptor: every call without the site's token is refused."""

import asyncio

import grpc
import pytest

from site_node.auth import TokenInterceptor, bearer_metadata, read_token, token_matches


class _Details:
    def __init__(self, metadata):
        self.method = "/openastro.v1.SiteNode/GetStatus"
        self.invocation_metadata = metadata


class _Aborted(Exception):
    pass


class _Context:
    code = None

    async def abort(self, code, details):
        self.code, self.details = code, details
        raise _Aborted


async def _ok(request, context):
    return "served"


def _intercept(metadata, handler):
    refused = []
    interceptor = TokenInterceptor("s3cret", on_refused=refused.append)

    async def continuation(details):
        return handler

    return asyncio.run(interceptor.intercept_service(continuation, _Details(metadata))), refused


def test_token_matching():
    assert token_matches(bearer_metadata("s3cret"), "s3cret")
    assert not token_matches(bearer_metadata("s3cre"), "s3cret")
    assert not token_matches((("authorization", "s3cret"),), "s3cret")   # no Bearer
    assert not token_matches((), "s3cret") and not token_matches(None, "s3cret")
    assert bearer_metadata(None) == ()


def test_a_call_with_the_token_reaches_the_handler():
    handler = grpc.unary_unary_rpc_method_handler(_ok)
    got, refused = _intercept(bearer_metadata("s3cret"), handler)
    assert got is handler and refused == []


@pytest.mark.parametrize("metadata", [(), bearer_metadata("wrong"),
                                      (("authorization", "Basic s3cret"),)])
def test_calls_without_the_token_are_refused_unauthenticated(metadata):
    handler = grpc.unary_unary_rpc_method_handler(_ok)
    got, refused = _intercept(metadata, handler)
    assert got is not handler and refused == ["/openastro.v1.SiteNode/GetStatus"]
    context = _Context()
    with pytest.raises(_Aborted):
        asyncio.run(got.unary_unary(None, context))
    assert context.code == grpc.StatusCode.UNAUTHENTICATED


def test_streams_are_refused_too():
    async def stream(request, context):
        yield "x"

    got, _ = _intercept((), grpc.unary_stream_rpc_method_handler(stream))
    context = _Context()

    async def drain():
        async for _ in got.unary_stream(None, context):
            pass

    with pytest.raises(_Aborted):
        asyncio.run(drain())
    assert context.code == grpc.StatusCode.UNAUTHENTICATED


def test_token_files(tmp_path):
    (tmp_path / "t").write_text("  abc \n")
    assert read_token(tmp_path / "t") == "abc"
    (tmp_path / "e").write_text("\n")
    with pytest.raises(ValueError, match="empty token"):
        read_token(tmp_path / "e")
    with pytest.raises(ValueError):
        TokenInterceptor("")
