"""A stolen laptop's passphrase costs scrypt at N = 2^17 per guess; older stores still open."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.store import LaptopStore
from core.errors import TovholderError
from core.keys import DeviceKeys, PassphraseKey

PASSPHRASE = "correct horse battery staple"


def test_a_new_store_derives_its_key_at_n_2_17_and_a_2_15_store_still_opens(tmp_path: Path) -> None:
    assert PassphraseKey.N >= 2**17
    meta = {"device_id": "dev-field", "worker": "w-anna", "server": "https://tovholder.test"}
    LaptopStore.create(tmp_path / "new", PASSPHRASE, DeviceKeys.generate(), dict(meta)).close()
    with LaptopStore.open(tmp_path / "new", PASSPHRASE) as store:
        assert store.meta("scrypt_n") == 2**17
    LaptopStore.create(tmp_path / "old", PASSPHRASE, DeviceKeys.generate(), dict(meta), scrypt_n=2**15).close()
    with LaptopStore.open(tmp_path / "old", PASSPHRASE) as store:
        assert store.meta("scrypt_n") == 2**15
    with pytest.raises(TovholderError):
        LaptopStore.open(tmp_path / "new", PASSPHRASE + "!")
