"""`openrsp operator`: the operator's ES2+ client (order, confirm, release, cancel, status).

The same commands also run directly on an SM-DP+'s data as `openrsp smdp admin` (see
register_order_commands); only where the calls go differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from openrsp.errors import InputError, OpenRSPError
from openrsp.rspserver.ids import activation_code
from openrsp.smdp.errors import Es2Error
from openrsp.status_codes import describe

app = typer.Typer(
    help="ES2+ client: order, confirm, release, cancel and look up profiles at an SM-DP+.",
    no_args_is_help=True,
    add_completion=False,
)


class OrderFailed(OpenRSPError):
    """An ES2+ function failed; the message has the SGP.22 codes and what they mean."""


Call = Callable[[str, dict[str, Any]], dict[str, Any]]


@dataclass
class OrderTarget:
    """Where order commands go, and how to print.

    `connect()` returns (call, close): `call(function, fields) -> response fields`. It runs only
    when a command really calls, so `--help` opens no connection and touches no data.
    """

    connect: Callable[[], tuple[Call, Callable[[], None]]]
    json_output: bool = False


def _run(target: OrderTarget, function: str, fields: dict[str, Any]) -> dict[str, Any]:
    call, close = target.connect()
    try:
        return call(function, {k: v for k, v in fields.items() if v is not None})
    except Es2Error as exc:
        words = describe(exc.subject_code, exc.reason_code)
        detail = f": {exc.message}" if exc.message else ""
        raise OrderFailed(
            f"{function} failed: {exc.subject_code}/{exc.reason_code} ({words}){detail}"
        ) from None
    finally:
        close()


def _emit(target: OrderTarget, data: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(data) if target.json_output else text)


def register_order_commands(app: typer.Typer) -> None:
    """Add order/confirm/release/cancel/status to `app`; its callback puts an OrderTarget in ctx.obj."""

    @app.command()
    def order(
        ctx: typer.Context,
        iccid: Annotated[str | None, typer.Option(help="ICCID of the profile to reserve.")] = None,
        eid: Annotated[str | None, typer.Option(help="Bind the order to this EID (32 digits).")] = None,
        profile_type: Annotated[
            str | None, typer.Option(help="Reserve any free profile of this type.")
        ] = None,
    ) -> None:
        """ES2+ DownloadOrder: reserve a profile (by ICCID or by profile type)."""
        if iccid is None and profile_type is None:
            raise InputError("give --iccid or --profile-type")
        target: OrderTarget = ctx.obj
        result = _run(target, "downloadOrder", {"iccid": iccid, "eid": eid, "profileType": profile_type})
        _emit(target, {"iccid": result.get("iccid")}, str(result.get("iccid")))

    @app.command()
    def confirm(
        ctx: typer.Context,
        iccid: Annotated[str, typer.Option(help="ICCID of the reserved profile.", show_default=False)],
        matching_id: Annotated[
            str | None, typer.Option(help="matchingId to use (default: generated).")
        ] = None,
        cc: Annotated[str | None, typer.Option(help="Confirmation code the user must enter.")] = None,
        eid: Annotated[str | None, typer.Option(help="Bind the order to this EID.")] = None,
        no_release: Annotated[bool, typer.Option("--no-release", help="Confirm without releasing.")] = False,
        expires: Annotated[str | None, typer.Option(help="Order expiry, ISO 8601 with zone.")] = None,
        max_attempts: Annotated[int | None, typer.Option(help="Confirmation code attempts allowed.")] = None,
        max_download_attempts: Annotated[
            int | None,
            typer.Option(help="Downloads of the package allowed for this order (retries included)."),
        ] = None,
        qr: Annotated[Path | None, typer.Option(help="Also write the activation code as a QR PNG.")] = None,
        smds_address: Annotated[
            str | None,
            typer.Option(
                "--smds-address",
                help="Register the order as an event at this SM-DS (needs --eid): no QR code.",
            ),
        ] = None,
    ) -> None:
        """ES2+ ConfirmOrder: print the activation code LPA:1$address$matchingId."""
        target: OrderTarget = ctx.obj
        fields = {
            "iccid": iccid,
            "eid": eid,
            "matchingId": matching_id,
            "confirmationCode": cc,
            "releaseFlag": not no_release,
            "expiresAt": expires,
            "maxConfirmationCodeAttempts": max_attempts,
            "maxDownloadAttempts": max_download_attempts,
            "smdsAddress": smds_address,
        }
        result = _run(target, "confirmOrder", fields)
        address = result.get("smdpAddress") or ""
        if not address:
            raise OrderFailed("the SM-DP+ did not say its address; cannot build the activation code")
        mid = result.get("matchingId") or ""
        code = activation_code(address, mid, cc_required=cc is not None)
        if qr is not None:
            _write_qr(code, qr)
        data = {"activation_code": code, "matching_id": mid, "smdp_address": address}
        if result.get("eid"):
            data["eid"] = result["eid"]
        if smds_address:
            data["smds_address"] = smds_address
        _emit(target, data, code)

    @app.command()
    def release(
        ctx: typer.Context,
        iccid: Annotated[str, typer.Option(help="ICCID of the confirmed profile.", show_default=False)],
        eid: Annotated[str | None, typer.Option(help="The EID the order is bound to (checked).")] = None,
    ) -> None:
        """ES2+ ReleaseProfile: let LPAs download a confirmed profile."""
        target: OrderTarget = ctx.obj
        _run(target, "releaseProfile", {"iccid": iccid, "eid": eid})
        _emit(target, {"iccid": iccid, "released": True}, f"{iccid} released")

    @app.command()
    def cancel(
        ctx: typer.Context,
        iccid: Annotated[str, typer.Option(help="ICCID of the ordered profile.", show_default=False)],
        reason: Annotated[
            str, typer.Option(help="Final profile status: available (reuse it) or unavailable (retire it).")
        ] = "available",
        eid: Annotated[
            str | None, typer.Option(help="The EID the order is bound to (SGP.22: required when it is).")
        ] = None,
    ) -> None:
        """ES2+ CancelOrder: end the order; the profile goes back to the pool or out of it."""
        final = {"available": "Available", "unavailable": "Unavailable"}.get(reason.strip().lower())
        if final is None:
            raise InputError("--reason must be available or unavailable")
        target: OrderTarget = ctx.obj
        _run(target, "cancelOrder", {"iccid": iccid, "eid": eid, "finalProfileStatusIndicator": final})
        _emit(target, {"iccid": iccid, "final_status": final}, f"{iccid} cancelled ({final})")

    @app.command()
    def status(
        ctx: typer.Context,
        iccid: Annotated[str, typer.Option(help="ICCID of the profile.", show_default=False)],
    ) -> None:
        """Where a profile and its order are (an openrsp extension of ES2+)."""
        target: OrderTarget = ctx.obj
        result = _run(target, "profileStatus", {"iccid": iccid})
        lines = [f"{key}: {value}" for key, value in result.items() if value is not None]
        _emit(target, result, "\n".join(lines))


def _write_qr(code: str, path: Path) -> None:
    from openrsp.extras import require

    segno = require("segno", "qr", "writing a QR code")

    try:
        segno.make(code, error="M", micro=False).save(str(path), scale=8, border=4)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None


@app.callback()
def _operator(
    ctx: typer.Context,
    smdp: Annotated[
        str, typer.Option(envvar="OPENRSP_SMDP_URL", help="SM-DP+ base URL.")
    ] = "https://127.0.0.1:8443",
    client_cert: Annotated[Path | None, typer.Option(help="Operator TLS client certificate (PEM).")] = None,
    client_key: Annotated[Path | None, typer.Option(help="Its private key (PEM).")] = None,
    ca: Annotated[Path | None, typer.Option(help="CA to verify the SM-DP+ TLS certificate (PEM).")] = None,
    tls_name: Annotated[
        str | None, typer.Option(help="Host name to verify in the SM-DP+ certificate (default: the URL's).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """ES2+ client: order, confirm, release, cancel and look up profiles at an SM-DP+."""

    def connect() -> tuple[Call, Callable[[], None]]:
        from openrsp.smdp.es2.client import Es2Client

        client = Es2Client(smdp, client_cert=client_cert, client_key=client_key, ca=ca, tls_name=tls_name)
        return client.call, client.close

    ctx.obj = OrderTarget(connect, json_output=json_output)


register_order_commands(app)
