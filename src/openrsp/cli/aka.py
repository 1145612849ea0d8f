"""`openrsp aka`: Milenage (3GPP TS 35.206) outputs for given inputs."""


def aka() -> None:
    """Compute Milenage outputs."""
    raise SystemExit("aka: not built yet")
