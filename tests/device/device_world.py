"""A small world for the device screen tests, built with the real commands a user would run.

    openrsp pki init                 a fresh test PKI (SM-DP+ name smdp.openrsp.test)
    openrsp euicc create             one eUICC, copied for each test
    openrsp smdp profile generate    a stock of profiles with names and SPNs worth showing
    openrsp smdp serve               the SM-DP+ over HTTPS on a free port
    openrsp smdp admin order/confirm an activation code (optionally with a confirmation code or a QR)
    openrsp device serve             the page under test (e2e), or device.server.running (in-process)

Everything listens on 127.0.0.1; the SM-DP+'s name reaches it through --resolve.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ports import free_port

OPENRSP = Path(sys.executable).parent / "openrsp"
SMDP_HOST = "smdp.openrsp.test"
RESOLVE = f"{SMDP_HOST}:127.0.0.1"

# The profiles on offer: (SPN, profile name, class).
STOCK = [
    ("Nordwind", "Nordwind Travel 5GB", "operational"),
    ("Blue Sky", "Blue Sky Unlimited", "operational"),
    ("Kite Mobile", "Kite Prepaid", "operational"),
    ("Harbour Telecom", "Harbour Business", "operational"),
    ("Nordwind", "Nordwind Roam 1GB", "operational"),
    ("Blue Sky", "Blue Sky Family", "operational"),
    ("Kite Mobile", "Kite Data Only", "operational"),
    ("Lab Operator", "Lab Test Profile", "test"),
    ("Harbour Telecom", "Harbour Travel", "operational"),
    ("Blue Sky", "Blue Sky Weekend", "operational"),
    ("Kite Mobile", "Kite Weekly", "operational"),
    ("Nordwind", "Nordwind Home", "operational"),
    ("Lab Operator", "Lab Bootstrap", "provisioning"),
    ("Harbour Telecom", "Harbour Spare", "operational"),
    ("Blue Sky", "Blue Sky Spare", "operational"),
    ("Kite Mobile", "Kite Spare", "operational"),
]


def run(*args: str, timeout: float = 120) -> str:
    """Run `openrsp ARGS`; its stdout, or AssertionError with its stderr."""
    done = subprocess.run(
        [str(OPENRSP), *args], capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise AssertionError(f"openrsp {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


@dataclass(frozen=True)
class Offer:
    iccid: str
    imsi: str
    ki: str
    opc: str
    spn: str
    name: str
    profile_class: str


@dataclass
class Order:
    offer: Offer
    activation_code: str
    qr: Path | None = None


@dataclass
class World:
    base: Path
    pki: Path
    smdp_data: Path
    card_template: Path
    stock: list[Offer]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _next: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def address(self) -> str:
        return f"{SMDP_HOST}:{self.port}"

    def new_card(self, name: str) -> Path:
        """A copy of the eUICC `openrsp euicc create` made (same EID, no profiles)."""
        target = self.base / "cards" / name
        shutil.copytree(self.card_template, target)
        return target

    def take(self, profile_class: str = "operational") -> Offer:
        with self._lock:
            for offer in self.stock:
                if offer.profile_class == profile_class:
                    self.stock.remove(offer)
                    return offer
        raise AssertionError(f"no {profile_class} profile left in the stock; add some to STOCK")

    def order(self, *, cc: str | None = None, qr: bool = False, profile_class: str = "operational") -> Order:
        """`openrsp smdp admin order` then `confirm`: an activation code for a profile of the stock."""
        offer = self.take(profile_class)
        admin = ["smdp", "admin", "--data", str(self.smdp_data), "--credentials", str(self.pki)]
        admin += ["--address", self.address]
        run(*admin, "order", "--iccid", offer.iccid)
        confirm = ["confirm", "--iccid", offer.iccid] + (["--cc", cc] if cc else [])
        picture = self.base / f"qr-{offer.iccid}.png" if qr else None
        if picture is not None:
            confirm += ["--qr", str(picture)]
        code = run(*admin, *confirm).strip()
        return Order(offer, code, picture)

    def orders(self, count: int) -> list[Order]:
        """Several plain orders at once (each is two CLI runs: worth doing side by side)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(count) as pool:
            return list(pool.map(lambda _: self.order(), range(count)))

    def lpa(self, card: Path, *args: str) -> str:
        """`openrsp lpa --euicc CARD ...` against this world's SM-DP+."""
        return run("lpa", "--euicc", str(card), "--resolve", RESOLVE, *args)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def build_world(base: Path) -> World:
    """PKI, eUICC template, SM-DP+ stock and a running SM-DP+ (call World.stop when done)."""
    pki, card, data = base / "pki", base / "card-template", base / "smdp-data"
    run("pki", "init", str(pki), "--curve", "nist")
    run("euicc", "create", str(card), "--pki", str(pki))
    stock = _generate_stock(base, data)
    world = World(base, pki, data, card, stock)
    _serve_smdp(world)
    return world


def _generate_stock(base: Path, data: Path) -> list[Offer]:
    rows = base / "stock.csv"
    with rows.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["iccid", "imsi", "spn", "profile_name", "profile_class"])
        for number, (spn, name, profile_class) in enumerate(STOCK, start=1):
            writer.writerow([f"8988211000000{number:05d}", f"00101{number:010d}", spn, name, profile_class])
    secrets = base / "stock-secrets.csv"
    run("smdp", "profile", "generate", "--data", str(data), "--csv", str(rows), "--out-secrets", str(secrets))
    with secrets.open() as fh:
        keys = {row["imsi"]: row for row in csv.DictReader(fh)}
    offers = []
    for number, (spn, name, profile_class) in enumerate(STOCK, start=1):
        imsi = f"00101{number:010d}"
        row = keys[imsi]
        offers.append(Offer(row["iccid"], imsi, row["ki"], row["opc"], spn, name, profile_class))
    return offers


def _serve_smdp(world: World, timeout: float = 30) -> None:
    ci = world.pki / "nist" / "ci.cert.pem"
    for _ in range(3):  # the port may be taken between probing and binding: try another
        world.port = free_port()
        log = world.base / f"smdp-{world.port}.log"
        with log.open("wb") as out:
            world.process = subprocess.Popen(
                [
                    str(OPENRSP),
                    "smdp",
                    "serve",
                    "--data",
                    str(world.smdp_data),
                    "--credentials",
                    str(world.pki),
                ]
                + ["--port", str(world.port), "--address", world.address],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and world.process.poll() is None:
            try:
                with httpx.Client(verify=_context(ci), timeout=5) as http:
                    url = f"https://127.0.0.1:{world.port}/openrsp/health"
                    if http.get(url, extensions={"sni_hostname": SMDP_HOST}).status_code == 200:
                        return
            except httpx.HTTPError:
                time.sleep(0.1)
        world.stop()
        if "address already in use" not in log.read_text().lower():
            raise AssertionError(f"openrsp smdp serve did not start:\n{log.read_text()}")
    raise AssertionError("openrsp smdp serve: no free port")


def _context(ci: Path):  # noqa: ANN202 - an ssl.SSLContext
    import ssl

    return ssl.create_default_context(cafile=str(ci))


@dataclass
class DeviceProcess:
    """`openrsp device serve` running as a user starts it; `url` is what it printed."""

    process: subprocess.Popen[str]
    url: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_device(world: World, card: Path, *extra: str, timeout: float = 30) -> DeviceProcess:
    log = card.parent / f"{card.name}-device.log"
    err = log.open("w")
    process = subprocess.Popen(
        [str(OPENRSP), "device", "serve", str(card), "--port", "0", "--resolve", RESOLVE, *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=err,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    err.close()
    assert process.stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout)
    if not line or not line[0].startswith("http://"):
        process.kill()
        raise AssertionError(f"openrsp device serve did not start:\n{log.read_text()}")
    return DeviceProcess(process, line[0].strip(), log)


def lpa_profiles(world: World, card: Path) -> dict[str, dict]:
    """What `openrsp lpa profile list --json` says, by ICCID."""
    data = json.loads(world.lpa(card, "--json", "profile", "list"))
    return {p["iccid"]: p for p in data["payload"]["data"]}


class EventRecorder:
    """Reads a page's server-sent event stream in the background, as the browser's EventSource does."""

    def __init__(self, url: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self._changed = threading.Condition()
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=None))
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(url + "api/events",), daemon=True)
        self._thread.start()
        assert self._ready.wait(10), "the event stream did not open"

    def _read(self, url: str) -> None:
        kind = None
        try:
            with self._client.stream("GET", url) as response:
                self._ready.set()
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind is not None:
                        with self._changed:
                            self.events.append((kind, json.loads(line[6:])))
                            self._changed.notify_all()
                        kind = None
        except httpx.HTTPError:
            pass  # closed by the test or the server

    def of(self, kind: str) -> list[dict]:
        with self._changed:
            return [data for k, data in self.events if k == kind]

    def wait_for(self, kind: str, check, timeout: float = 30) -> dict:  # noqa: ANN001
        """The first `kind` event for which check(data) holds (waits for it)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for k, data in self.events:
                    if k == kind and check(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {kind} event as expected; saw {self.events[-5:]}")
                self._changed.wait(remaining)

    def close(self) -> None:
        self._client.close()


class Page:
    """The device screen's HTTP API as the page's script uses it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)

    def screen(self) -> dict:
        response = self.http.get("/api/screen")
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: dict | None = None) -> httpx.Response:
        return self.http.post(path, json=body if body is not None else {})

    def ok(self, path: str, body: dict | None = None) -> dict:
        response = self.post(path, body)
        assert response.status_code in (200, 202), response.text
        return response.json()

    def profile(self, iccid: str) -> dict:
        return next(p for p in self.screen()["profiles"] if p["iccid"] == iccid)


# --- a device with a provisioning profile, on a simulated mobile network -----------------------------


def bootstrap_card(world: World, directory: Path):  # noqa: ANN201 - an openrsp.profile.Subscription
    """`openrsp euicc create --with-pp`: an eUICC whose only profile is an enabled provisioning profile."""
    from openrsp.profile import Subscription, generate_package

    bootstrap = Subscription(
        iccid="8900100000000000017",
        imsi="001019900000001",
        ki=os.urandom(16),
        opc=os.urandom(16),
        spn="Bootstrap",
        profile_class="provisioning",
    )
    package = directory.parent / f"{directory.name}-pp.der"
    package.write_bytes(generate_package(bootstrap))
    run("euicc", "create", str(directory), "--pki", str(world.pki), "--with-pp", str(package))
    return bootstrap


def network_for(world: World, hss_file: Path, bootstrap, offers: list[Offer]):  # noqa: ANN001, ANN201
    """A MobileNetwork (not started) whose HSS knows the provisioning profile (no contract) and the
    offers (data "internet" and voice)."""
    from openrsp.hexutil import from_hex
    from openrsp.network.contract import Contract
    from openrsp.network.hss import Hss
    from openrsp.network.network import MobileNetwork

    hss = Hss(hss_file)
    hss.provision(bootstrap.imsi, bootstrap.ki, bootstrap.opc, Contract.none())
    for offer in offers:
        hss.provision(
            offer.imsi, from_hex(offer.ki), from_hex(offer.opc), Contract(("internet",), voice=True)
        )
    return MobileNetwork(hss, smdp=(SMDP_HOST, world.port), resolve={SMDP_HOST: "127.0.0.1"})


def https_for(world: World):  # noqa: ANN201 - openrsp.lpa.drivers.https.HttpsSettings
    """What `openrsp device serve --ci <the PKI's CI> --resolve ...` would use."""
    from openrsp.lpa.drivers.https import HttpsSettings, load_ca_certificates

    cas = load_ca_certificates([world.pki / "nist" / "ci.cert.pem"])
    return HttpsSettings(tuple(cas), resolve={SMDP_HOST: "127.0.0.1"})
