"""The mobile network around the eUICC: HSS/AuC, attach (MME), gateway (ESPGW) and the MAPS.

contract.py   what a subscriber may use: data APNs, voice, SMS
hss.py        subscribers, Milenage vectors, SQN, resync, contracts (SQLite, keys sealed)
device.py     the modem: USIM over APDUs (IMSI, AUTHENTICATE)
detection.py  which attaches are provisioning-profile attaches
mme.py        attach as a state machine, and its driver
gateway.py    bearers and services: PP forced to the SM-DP+ APN, OP gets its contract
maps.py       the policy point: an HTTP CONNECT proxy letting PP traffic reach only the SM-DP+
events.py     one ordered event list (MME, gateway, MAPS) for traces and tests
network.py    all of them wired together
"""
