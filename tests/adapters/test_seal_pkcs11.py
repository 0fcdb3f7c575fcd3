"""The production option: the seal key in a PKCS#11 token. SoftHSM (Debian's softhsm2, installed by
`make system-packages`) stands in for the HSM: a token is created with softhsm2-util, the key imported,
the certificate written beside it, and the node seals through pyHanko's PKCS#11 signer with the settings
an operator would give (module path, token label, key label, PIN file)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from adapters.seal import SealStatus, create_dev_seal, load_certificates, seal_pdf, verify_seal
from forms.examples import example_certificate
from forms.render import render_certificate
from probatio.node import open_node_seal
from probatio.settings import Settings

SOFTHSM_MODULES = (Path("/usr/lib/softhsm/libsofthsm2.so"), Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"))
TOKEN, KEY_LABEL, USER_PIN = "probatio-seal", "seal-LU", "5678"


@pytest.fixture
def softhsm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SoftHSM token directory of this test's own; the module path."""
    util = shutil.which("softhsm2-util")
    module = next((m for m in SOFTHSM_MODULES if m.exists()), None)
    if util is None or module is None:
        pytest.skip("SoftHSM is not installed (Debian: softhsm2; `make system-packages` installs it)")
    tokens = tmp_path / "tokens"
    tokens.mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run([util, "--init-token", "--free", "--label", TOKEN, "--so-pin", "1234", "--pin", USER_PIN],
                   check=True, capture_output=True)
    return module


def _store_key_and_certificate(module: Path, key_file: Path, certificate_file: Path) -> None:
    """The key through softhsm2-util; the certificate (which softhsm2-util does not import) with python-pkcs11."""
    import pkcs11
    from pkcs11.util.x509 import decode_x509_certificate

    subprocess.run([str(shutil.which("softhsm2-util")), "--import", str(key_file), "--token", TOKEN,
                    "--label", KEY_LABEL, "--id", "01", "--pin", USER_PIN], check=True, capture_output=True)
    der = x509.load_pem_x509_certificate(certificate_file.read_bytes()).public_bytes(serialization.Encoding.DER)
    token = pkcs11.lib(str(module)).get_token(token_label=TOKEN)
    with token.open(rw=True, user_pin=USER_PIN) as session:
        attributes = decode_x509_certificate(der)
        attributes.update({pkcs11.Attribute.TOKEN: True, pkcs11.Attribute.LABEL: KEY_LABEL,
                           pkcs11.Attribute.ID: b"\x01"})
        session.create_object(attributes)


async def test_the_node_seals_with_a_key_held_in_a_pkcs11_token(softhsm: Path, tmp_path: Path) -> None:
    key_file, certificate_file = tmp_path / "seal.key", tmp_path / "seal.crt"
    create_dev_seal("LU", key_file, certificate_file)  # stands in for the QTSP's certificate
    _store_key_and_certificate(softhsm, key_file, certificate_file)
    key_file.unlink()  # from here on the key exists only in the token
    pin_file = tmp_path / "pin"
    pin_file.write_text(USER_PIN + "\n")
    settings = Settings(state="LU", home=tmp_path, seal_pkcs11_module=softhsm, seal_pkcs11_token_label=TOKEN,
                        seal_pkcs11_key_label=KEY_LABEL, seal_pkcs11_pin_file=pin_file)
    seal = open_node_seal(settings)
    try:
        # The certificate the peers are given is the one read from the token.
        assert seal.certificate_pem == certificate_file.read_text()
        rendered = render_certificate(example_certificate("LU", "BE"), "fr", "pdf")
        sealed = await seal_pdf(rendered, seal, reason="approved", location="LU")
    finally:
        seal.close()
    check = await verify_seal(sealed, load_certificates([certificate_file.read_text()]))
    assert check.status == SealStatus.VALID, check.detail
    assert check.signer is not None and "probatio seal LU" in check.signer


def test_a_pkcs11_seal_names_the_settings_it_lacks(tmp_path: Path) -> None:
    settings = Settings(state="LU", home=tmp_path, seal_pkcs11_module=tmp_path / "lib.so",
                        seal_pkcs11_token_label=TOKEN)
    with pytest.raises(RuntimeError, match="PROBATIO_SEAL_PKCS11_KEY_LABEL, PROBATIO_SEAL_PKCS11_PIN_FILE"):
        open_node_seal(settings)
