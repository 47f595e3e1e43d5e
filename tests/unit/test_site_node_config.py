"""SITE.toml validation: one-line errors naming the file and the key."""

from pathlib import Path

import pytest

from site_node.config import SiteConfigError, load_config, resolve_site


def write(tmp_path: Path, text: str, *, secrets: bool = True) -> Path:
    if secrets:
        for name in ("site.pem", "site-key.pem", "ca.pem", "site.token"):
            (tmp_path / name).write_text("x")
    path = tmp_path / "site.toml"
    path.write_text(text)
    return path


TLS = """
[tls]
cert = "site.pem"
key = "site-key.pem"
ca = "ca.pem"
token_file = "site.token"
"""


def test_a_full_file_loads_with_paths_relative_to_it(tmp_path):
    path = write(tmp_path, '[node]\nsite = "la-palma"\nlisten = "127.0.0.1:0"\nseed = 3\n'
                           'data_dir = "var"\n' + TLS + "[simulated]\nframe_shape = [64, 128]\n"
                           '[indi]\nhost = "localhost"\nport = 7624\n')
    cfg = load_config(path)
    assert cfg.site == "la-palma" and cfg.seed == 3 and cfg.backend == "simulated"
    assert cfg.data_dir == tmp_path / "var"
    assert cfg.tls.cert == tmp_path / "site.pem" and not cfg.tls.insecure
    assert cfg.simulated.frame_shape == (64, 128)
    assert cfg.indi == {"host": "localhost", "port": 7624}
    assert cfg.host_port == ("127.0.0.1", 0)
    assert cfg.max_receive_bytes == 64 * 1024 * 1024
    assert resolve_site(cfg).name == "la-palma"


def test_insecure_needs_no_certificates(tmp_path):
    cfg = load_config(write(tmp_path, '[node]\nsite = "hanle"\n[tls]\ninsecure = true\n',
                            secrets=False))
    assert cfg.tls.insecure and cfg.tls.token_file is None


@pytest.mark.parametrize("body, key", [
    ('[node]\nlisten = "x:1"\n', "[node] site: missing"),
    ('[node]\nsite = "la-palma"\nlisten = "50061"\n', "[node] listen: expected HOST:PORT"),
    ('[node]\nsite = "la-palma"\nbackend = "ascom"\n', "[node] backend: expected one of"),
    ('[node]\nsite = "la-palma"\nseed = "one"\n', "[node] seed: expected an integer"),
    ('[node]\nsite = "la-palma"\ncolour = 1\n', "[node] colour: unknown key"),
    ('[node]\nsite = "la-palma"\n[tls]\ncert = "a.pem"\n', "[tls] key: missing"),
    ('[node]\nsite = "la-palma"\n[tls]\ninsecure = "yes"\n', "[tls] insecure: expected true"),
    ('[node]\nsite = "la-palma"\n[tls]\ninsecure = true\ntoken_file = "nope"\n',
     "[tls] token_file: file not found"),
    ('[node]\nsite = "la-palma"\n[tls]\ninsecure = true\n[simulated]\nframe_shape = [1]\n',
     "[simulated] frame_shape"),
    ('[nodes]\nsite = "la-palma"\n', "[nodes]: unknown table"),
    ('site = "la-palma"\n', "[site]: unknown table"),
    ('[node\n', "not valid TOML"),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, body, key):
    path = write(tmp_path, body, secrets=False)
    with pytest.raises(SiteConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert message.startswith(str(path)) and key in message and "\n" not in message


def test_missing_file_and_unknown_site(tmp_path):
    with pytest.raises(SiteConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")
    cfg = load_config(write(tmp_path, '[node]\nsite = "atlantis"\n[tls]\ninsecure = true\n'))
    with pytest.raises(SiteConfigError, match=r"\[node\] site: no site 'atlantis'.*have"):
        resolve_site(cfg)
