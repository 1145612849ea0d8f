"""The LPA's PPR check before consent: the eUICC's RAT (as GetRAT decodes it) against the offered
profile's policy rules and owner (SGP.22 §2.9.2): wildcards, profile class, consent flag."""

import pytest

from openrsp.asn1 import rsp
from openrsp.asn1.rsp_types import bit_string
from openrsp.lpa.core.es10 import ProfileMetadata
from openrsp.lpa.core.ppr import check_pprs, rat_from_response


def _rat(*rules: tuple[list[int], list[dict], bool]) -> list:
    """A GetRatResponse as the eUICC encodes it, decoded as the LPA reads it."""
    value = {
        "rat": [
            {
                "pprIds": bit_string(*pprs),
                "allowedOperators": ops,
                "pprFlags": bit_string(0) if consent else bit_string(),
            }
            for pprs, ops, consent in rules
        ]
    }
    return rat_from_response(rsp().decode("GetRatResponse", rsp().encode("GetRatResponse", value)))


def _offer(
    rules: list[str], owner: str | None = "00F110", profile_class: str = "operational"
) -> ProfileMetadata:
    return ProfileMetadata(
        "8900000000000000001", "Op", "Plan", profile_class, policy_rules=rules, owner_mcc_mnc=owner
    )


ANY = {"mccMnc": bytes.fromhex("EEEEEE")}


def test_no_rules_need_no_rat():
    assert check_pprs(_offer([]), []).allowed


def test_a_wildcard_rule_allows_and_asks_for_consent():
    verdict = check_pprs(_offer(["ppr1", "ppr2"]), _rat(([1, 2], [ANY], True)))
    assert verdict.allowed and verdict.consent_required
    assert verdict.meanings == [
        "ppr1: the profile cannot be disabled once it is enabled",
        "ppr2: the profile cannot be deleted",
    ]


@pytest.mark.parametrize(
    ("rat_rules", "offer", "refused"),
    [
        ([([2], [ANY], False)], _offer(["ppr1"]), ("ppr1",)),  # a rule for PPR2 only
        (
            [([1], [{"mccMnc": bytes.fromhex("21F354")}], False)],
            _offer(["ppr1"]),
            ("ppr1",),
        ),  # other operator
        ([([1], [{"mccMnc": bytes.fromhex("EEEEEE"), "gid1": b"\x01"}], False)], _offer(["ppr1"]), ("ppr1",)),
        ([([1, 2], [ANY], False)], _offer(["ppr1"], owner=None), ("ppr1",)),  # no owner to check against
        ([([1, 2], [ANY], False)], _offer(["ppr1"], profile_class="test"), ("ppr1",)),
    ],
)
def test_what_the_rat_does_not_allow_is_refused(rat_rules, offer, refused):
    verdict = check_pprs(offer, _rat(*rat_rules))
    assert not verdict.allowed and verdict.refused == refused and verdict.reason


def test_an_owner_matching_digit_by_digit_is_allowed_without_consent():
    rule = ([1], [{"mccMnc": bytes.fromhex("00F1E0")}], False)  # MCC 001, any MNC digit in one place
    verdict = check_pprs(_offer(["ppr1"], owner="00F110"), _rat(rule))
    assert verdict.allowed and not verdict.consent_required
