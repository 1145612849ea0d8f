"""The device screen: the LUI as a web page, the way a phone's eSIM settings look.

    gate.py            one card operation at a time (the eUICC is single-user)
    problems.py        failures in plain words, with their SGP.22 code
    screen.py          what the page shows: EID, network, profiles (JSON)
    network_status.py  PP restricted / OP attached / no service, from the simulated network
    events.py          server-sent events to every open page
    download_job.py    one profile download in a worker thread, asking the page for consent and codes
    pacing.py          an APDU link as slow as a real reader's (to watch the progress bar)
    phone.py           the device: LPA sessions on the eUICC, operations, the download job
    app.py             the Starlette app (HTTP API + static page)
    server.py          uvicorn on 127.0.0.1

Everything the page does goes through the LPA core (openrsp.lpa): the same ES10 calls, download
flow and notification delivery as `openrsp lpa`, on the same eUICC state, so CLI and page agree.
"""
