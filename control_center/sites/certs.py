"""A local certificate authority, one server certificate and one token per site.

``openastro certs init [--dir certs] [--network FILE]`` writes into the directory:

``ca.pem`` / ``ca-key.pem``
    The CA certificate (give it to every client) and its key (keep it offline).
``<site>.pem`` / ``<site>-key.pem``
    The site node's certificate, signed by the CA, valid for ``IP:127.0.0.1``,
    ``DNS:localhost`` and ``DNS:<site>`` (plus any ``extra_hosts``), and its key.
``<site>.token``
    The site's bearer token (32 random bytes, URL-safe base64).

Secrets (keys and tokens) are created with mode 0600. Nothing is overwritten
unless ``force`` is given: a second run refuses and lists what exists.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

__all__ = ["CertsExist", "SiteCredentials", "init_certs", "site_files"]

_CA_DAYS = 3650
_SITE_DAYS = 825


class CertsExist(FileExistsError):
    """Some of the files to create exist already (and ``force`` was not given)."""


@dataclass(frozen=True)
class SiteCredentials:
    """Paths of one site's credentials."""

    site: str
    cert: Path
    key: Path
    token: Path
    ca: Path


def site_files(directory: Path, site: str) -> SiteCredentials:
    """Where :func:`init_certs` puts the credentials of ``site``."""
    d = Path(directory)
    return SiteCredentials(site, d / f"{site}.pem", d / f"{site}-key.pem",
                           d / f"{site}.token", d / "ca.pem")


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    fd = os.open(path, flags, 0o600 if secret else 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(path, 0o600 if secret else 0o644)


def _key():
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OpenAstro"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(now: datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name("OpenAstro local CA"))
            .issuer_name(_name("OpenAstro local CA")).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=_CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _site_cert(site: str, ca_key, ca_cert, now: datetime, hosts: Iterable[str]):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                     x509.DNSName("localhost")]
    for host in (site, *hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = _key()
    cert = (x509.CertificateBuilder().subject_name(_name(f"openastro site-node {site}"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=_SITE_DAYS))
            .add_extension(x509.SubjectAlternativeName(list(dict.fromkeys(names))),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def init_certs(directory: str | Path, sites: Sequence[str], *, now: datetime,
               force: bool = False, extra_hosts: Sequence[str] = ()) -> dict[str, SiteCredentials]:
    """Create the CA and every site's certificate, key and token.

    Parameters
    ----------
    directory : path
        Created if missing.
    sites : sequence of str
        Site names (as in the network file).
    now : datetime
        Start of validity (from the caller's clock).
    force : bool
        Overwrite existing files (a new CA invalidates every old certificate).
    extra_hosts : sequence of str
        More names or IP addresses the site certificates are valid for.

    Raises
    ------
    CertsExist
        If any file exists and ``force`` is False; nothing is written then.
    """
    from cryptography.hazmat.primitives import serialization

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    out = {s: site_files(d, s) for s in sites}
    targets = [d / "ca.pem", d / "ca-key.pem"] + [p for c in out.values()
                                                  for p in (c.cert, c.key, c.token)]
    existing = [p for p in targets if p.exists()]
    if existing and not force:
        raise CertsExist(f"{d}: already holds {', '.join(p.name for p in existing)} "
                         "(use --force to replace them all)")
    ca_key, ca_cert = _ca(now)
    pem = serialization.Encoding.PEM
    _write(d / "ca-key.pem", _key_pem(ca_key), secret=True)
    _write(d / "ca.pem", ca_cert.public_bytes(pem), secret=False)
    for site, creds in out.items():
        key, cert = _site_cert(site, ca_key, ca_cert, now, extra_hosts)
        _write(creds.key, _key_pem(key), secret=True)
        _write(creds.cert, cert.public_bytes(pem) + ca_cert.public_bytes(pem), secret=False)
        _write(creds.token, (secrets.token_urlsafe(32) + "\n").encode(), secret=True)
    return out
