"""`openrsp demo`: the whole platform in one run, following SGP.22's Figure 7 (a device that holds only
a provisioning profile gets its operational profile and then service).

    cardlink.py    how long the segmented load would take over a real card reader
    trace.py       steps with timings, each checking its own outcome
    smdp_process.py the SM-DP+ as a real HTTPS server (a subprocess of `openrsp smdp serve`)
    world.py       the set-up: PKI, profiles, SM-DP+, network, device
    figure7.py     the sequence
    render.py      the readable trace and summary
"""
