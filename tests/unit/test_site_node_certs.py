"""``certs init``: a CA, a server certificate per site for loopback, secret tokens."""

import ipaddress
import stat
from datetime import UTC, datetime

import pytest
from cryptography import x509

from control_center.cli.main import main
from control_center.sites.certs import CertsExist, init_certs

NOW = datetime(2026, 3, 21, 12, tzinfo=UTC)


def test_certificates_chain_to_the_ca_and_name_loopback(tmp_path):
    made = init_certs(tmp_path, ["la-palma", "hanle"], now=NOW, extra_hosts=["10.0.0.5"])
    ca = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate(made["la-palma"].cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.0.0.5") in san.get_values_for_type(x509.IPAddress)
    assert {"localhost", "la-palma"} <= set(san.get_values_for_type(x509.DNSName))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for secret in (tmp_path / "ca-key.pem", made["hanle"].key, made["hanle"].token):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    tokens = {made[s].token.read_text().strip() for s in made}
    assert len(tokens) == 2 and all(len(t) >= 40 for t in tokens)


def test_nothing_is_overwritten_without_force(tmp_path):
    made = init_certs(tmp_path, ["hanle"], now=NOW)
    token = made["hanle"].token.read_text()
    with pytest.raises(CertsExist, match="--force"):
        init_certs(tmp_path, ["hanle"], now=NOW)
    assert made["hanle"].token.read_text() == token
    init_certs(tmp_path, ["hanle"], now=NOW, force=True)
    assert made["hanle"].token.read_text() != token


def test_the_command_writes_every_site_of_the_network(tmp_path, capsys):
    assert main(["certs", "init", "--dir", str(tmp_path / "c")]) == 0
    assert {p.name for p in (tmp_path / "c").iterdir()} >= {
        "ca.pem", "la-palma.pem", "la-palma-key.pem", "la-palma.token", "hanle.token",
        "cerro-pachon.token"}
    assert main(["certs", "init", "--dir", str(tmp_path / "c")]) == 2
    assert "already holds" in capsys.readouterr().err
