"""`openrsp aka`: Milenage (3GPP TS 35.206) outputs for given inputs."""

import json
from typing import Annotated

import typer

from openrsp.crypto.aka import build_autn
from openrsp.crypto.milenage import AMF_SIZE, KEY_SIZE, RAND_SIZE, SQN_SIZE, compute_opc, milenage
from openrsp.errors import InputError
from openrsp.hexutil import from_hex, to_hex

# Options are checked here rather than marked required, so that any bad input, a missing option
# included, ends the same way: one `error: ...` line and exit 1.


def _hex_option(flag: str, text: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=text, show_default=False, metavar="HEX")


def _required(value: str | None, name: str, length: int) -> bytes:
    if value is None:
        raise InputError(f"missing {name} ({2 * length} hex digits)")
    return from_hex(value, length=length, name=name)


def aka(
    k: Annotated[str | None, _hex_option("--k", "Subscriber key K, 16 bytes hex.")] = None,
    op: Annotated[str | None, _hex_option("--op", "Operator variant OP, 16 bytes hex.")] = None,
    opc: Annotated[str | None, _hex_option("--opc", "OPc (instead of --op), 16 bytes hex.")] = None,
    rand: Annotated[str | None, _hex_option("--rand", "RAND, 16 bytes hex.")] = None,
    sqn: Annotated[str | None, _hex_option("--sqn", "SQN, 6 bytes hex.")] = None,
    amf: Annotated[str | None, _hex_option("--amf", "AMF, 2 bytes hex.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (uppercase hex).")] = False,
) -> None:
    """Compute Milenage outputs (f1, f1*, f2, f3, f4, f5, f5*) from K, OP or OPc, RAND, SQN, AMF."""
    key = _required(k, "--k", KEY_SIZE)
    if (op is None) == (opc is None):
        raise InputError("give exactly one of --op and --opc")
    opc_bytes = (
        compute_opc(key, _required(op, "--op", KEY_SIZE))
        if op is not None
        else _required(opc, "--opc", KEY_SIZE)
    )
    rand_bytes = _required(rand, "--rand", RAND_SIZE)
    sqn_bytes = _required(sqn, "--sqn", SQN_SIZE)
    amf_bytes = _required(amf, "--amf", AMF_SIZE)

    out = milenage(key, opc_bytes, rand_bytes, sqn_bytes, amf_bytes)
    if as_json:
        fields = {
            "opc": opc_bytes,
            "mac_a": out.mac_a,
            "mac_s": out.mac_s,
            "res": out.res,
            "ck": out.ck,
            "ik": out.ik,
            "ak": out.ak,
            "ak_star": out.ak_star,
        }
        typer.echo(json.dumps({name: to_hex(value) for name, value in fields.items()}, indent=2))
        return

    autn = build_autn(key, opc_bytes, rand_bytes, int.from_bytes(sqn_bytes, "big"), amf_bytes)
    rows = [
        ("OPc", opc_bytes),
        ("MAC-A  (f1)", out.mac_a),
        ("MAC-S  (f1*)", out.mac_s),
        ("RES    (f2)", out.res),
        ("CK     (f3)", out.ck),
        ("IK     (f4)", out.ik),
        ("AK     (f5)", out.ak),
        ("AK*    (f5*)", out.ak_star),
        ("AUTN", autn),
    ]
    for label, value in rows:
        typer.echo(f"{label:<13} {to_hex(value)}")
