"""`openrsp device serve`: mistakes are said in one line before anything is served."""

from __future__ import annotations

from pathlib import Path


def test_a_folder_without_an_euicc_is_refused_in_one_line(cli, tmp_path: Path) -> None:
    result = cli("device", "serve", str(tmp_path), "--port", "0")

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: no eUICC in {tmp_path} (state.json missing; create one with `openrsp euicc create`)"
    )


def test_an_unreadable_ci_certificate_is_said_before_serving(cli, tmp_path: Path) -> None:
    card, pki = tmp_path / "card", tmp_path / "pki"
    cli("pki", "init", str(pki), "--curve", "nist", check=True)
    cli("euicc", "create", str(card), "--pki", str(pki), check=True)

    result = cli("device", "serve", str(card), "--port", "0", "--ci", str(tmp_path / "missing.pem"))

    assert result.returncode == 1
    assert "error: cannot read CI certificate" in result.stderr
    assert result.stdout == ""  # no URL: nothing was served
