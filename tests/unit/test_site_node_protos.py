"""The generated stubs match the .proto files (and the check notices when they do not)."""

import shutil

from protos import generate
from protos.openastro.v1 import site_node_pb2 as pb


def test_committed_stubs_are_in_sync_with_the_protos():
    assert generate.drift() == []
    assert generate.main(["--check"]) == 0


def test_the_check_reports_a_drifting_stub(tmp_path, capsys):
    root = tmp_path / "repo"
    shutil.copytree(generate.ROOT / "protos", root / "protos")
    stub = root / "protos/openastro/v1/site_node_pb2.pyi"
    stub.write_text(stub.read_text() + "\n# edited by hand\n")
    (root / "protos/openastro/v1/site_node_pb2_grpc.py").unlink()
    assert sorted(generate.drift(root)) == ["protos/openastro/v1/site_node_pb2.pyi",
                                            "protos/openastro/v1/site_node_pb2_grpc.py"]


def test_the_protocol_is_versionable():
    from google.protobuf import descriptor_pb2

    assert pb.DESCRIPTOR.package == "openastro.v1"
    proto = descriptor_pb2.FileDescriptorProto()
    pb.DESCRIPTOR.CopyToProto(proto)
    result = next(m for m in proto.message_type if m.name == "ObservationResult")
    assert [(r.start, r.end) for r in result.reserved_range] == [(50, 100)]
    assert proto.syntax == "proto3"                     # no required fields possible
    names = {m.name for m in pb.DESCRIPTOR.services_by_name["SiteNode"].methods}
    assert names >= {"Check", "GetStatus", "StreamTelemetry", "SubmitObservation",
                     "CancelObservation", "StreamResults", "AckResults", "GetFrame",
                     "DeployModel"}
