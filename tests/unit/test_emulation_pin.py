"""The emulation refuses to run on a moto other than the one its patches were written against."""

import pytest

from ocpi_commands_dev.emulation import moto_patches


def test_another_moto_version_is_refused_with_what_to_do(monkeypatch):
    import moto

    moto_patches.check_moto_version()  # the pinned one runs
    monkeypatch.setattr(moto, "__version__", "9.9.9")
    with pytest.raises(moto_patches.EmulationUnavailable) as refused:
        moto_patches.check_moto_version()
    message = str(refused.value)
    assert moto_patches.PINNED_MOTO in message and "9.9.9" in message and "make venv" in message
