"""The steps of a download in a user's words, shared by every LPA front end (terminal, device screen).

Kept free of any user-interface library so that each front end can import it cheaply.
"""

from __future__ import annotations

from openrsp.lpa.core.lpd import Step

STEP_WORDS: dict[Step, str] = {
    Step.GET_CHALLENGE: "asking the eUICC for a challenge",
    Step.INITIATE_AUTHENTICATION: "authenticating the SM-DP+",
    Step.AUTHENTICATE_SERVER: "the eUICC checks the SM-DP+",
    Step.AUTHENTICATE_CLIENT: "the SM-DP+ checks the eUICC",
    Step.PREPARE_DOWNLOAD: "preparing the download",
    Step.GET_BOUND_PROFILE_PACKAGE: "fetching the bound profile package",
    Step.LOAD_BOUND_PROFILE_PACKAGE: "installing the profile",
    Step.SEND_NOTIFICATION: "sending the install notification",
}
