"""Failures in plain words, each keeping the code SGP.22 gives it."""

from __future__ import annotations

from openrsp.device.gate import CardBusy
from openrsp.device.problems import explain
from openrsp.lpa.core.activation_code import parse_activation_code
from openrsp.lpa.core.errors import (
    DownloadCancelled,
    Es9Failure,
    Es10Error,
    LpaInputError,
    ProfileInstallFailed,
    SmdpTlsError,
    SmdpUnreachable,
)


def test_smdp_refusals_are_worded_for_users_and_keep_subject_and_reason_codes() -> None:
    problem = explain(Es9Failure("authenticateClient", "8.2.7", "6.4", "maximum attempts exceeded"))

    assert problem.title == (
        "Too many wrong confirmation codes: this eSIM order is blocked. Ask your operator for a new one."
    )
    assert problem.code == "8.2.7 / 6.4 (Confirmation Code - Maximum number of attempts exceeded)"
    assert problem.step == "es9p_authenticate_client"
    assert "maximum attempts exceeded" in problem.detail
    assert not problem.wrong_code


def test_only_a_refused_confirmation_code_invites_another_try() -> None:
    assert explain(Es9Failure("authenticateClient", "8.2.7", "3.8")).wrong_code
    assert not explain(Es9Failure("authenticateClient", "8.2.6", "3.8")).wrong_code


def test_an_unknown_smdp_code_still_reads_as_a_sentence_with_its_code() -> None:
    problem = explain(Es9Failure("getBoundProfilePackage", "8.9", "9.9"))

    assert problem.title == "The SM-DP+ refused the download (SM-DS - 9.9)."
    assert problem.code == "8.9 / 9.9 (SM-DS - 9.9)"


def test_euicc_refusals_name_the_function_and_its_result_code() -> None:
    problem = explain(Es10Error("EnableProfile", 3, "disallowedByPolicy", step="es10c_enable_profile"))

    assert problem.title == "The profile in use may not be switched off (its policy forbids it)."
    assert problem.code == "EnableProfile result 3 (disallowedByPolicy)"
    assert explain(Es10Error("DisableProfile", 1, "iccidOrAidNotFound")).title == (
        "There is no such profile on the eSIM."
    )


def test_an_installation_refused_by_the_euicc_gives_its_error_reason() -> None:
    problem = explain(ProfileInstallFailed("loadProfileElements", "installFailedDueToPEProcessingError", 12))

    assert problem.title == "The eSIM could not install the profile (installFailedDueToPEProcessingError)."
    assert problem.code == "errorReason 12 (installFailedDueToPEProcessingError) at loadProfileElements"


def test_connection_trouble_names_the_smdp() -> None:
    assert explain(SmdpUnreachable("initiateAuthentication", "smdp.example:8443", "refused")).title == (
        "The SM-DP+ at smdp.example:8443 cannot be reached."
    )
    assert explain(SmdpTlsError("initiateAuthentication", "smdp.example", "unknown CA")).title == (
        "The SM-DP+ at smdp.example could not be trusted (unknown CA)."
    )


def test_bad_input_busy_card_and_cancelling_are_told_apart() -> None:
    try:
        parse_activation_code("2$x$y")
    except LpaInputError as exc:
        bad = explain(exc)
    assert (bad.kind, bad.title) == ("input", "Activation code: format '2' is not supported (only '1').")
    assert explain(CardBusy("the eSIM is busy with a profile download")).kind == "busy"
    cancelled = explain(DownloadCancelled("the user refused the profile"))
    assert (cancelled.kind, cancelled.title) == (
        "cancelled",
        "The download was cancelled; nothing was installed.",
    )


def test_anything_unexpected_still_gets_a_sentence() -> None:
    problem = explain(KeyError("boom"))

    assert problem.title == "Something went wrong inside the device."
    assert problem.detail == "KeyError: 'boom'"
