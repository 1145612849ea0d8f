"""The two curves SGP.22 allows, by the short names openrsp uses: "nist" and "brp"."""

from cryptography.hazmat.primitives.asymmetric import ec

from openrsp.errors import InputError

CURVES: dict[str, type[ec.EllipticCurve]] = {
    "nist": ec.SECP256R1,  # NIST P-256 (prime256v1)
    "brp": ec.BrainpoolP256R1,  # brainpoolP256r1
}
CURVE_TITLES = {"nist": "NIST P-256", "brp": "brainpoolP256r1"}


def parse_curves(text: str) -> list[str]:
    """Turn a --curve value (nist, brp or both) into the list of curve names, NIST first."""
    choice = text.strip().lower()
    if choice == "both":
        return ["nist", "brp"]
    if choice in CURVES:
        return [choice]
    raise InputError(f"unknown curve {text!r} (use nist, brp or both)")


def check_curve(name: str) -> str:
    if name not in CURVES:
        raise InputError(f"unknown curve {name!r} (use nist or brp)")
    return name


def generate_key(curve: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(CURVES[check_curve(curve)]())


def curve_of(key: object) -> str | None:
    """'nist' or 'brp' for an EC key (public or private) on an SGP.22 curve, else None."""
    curve = getattr(key, "curve", None)
    for name, cls in CURVES.items():
        if isinstance(curve, cls):
            return name
    return None
