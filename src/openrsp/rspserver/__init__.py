"""What both RSP server roles (SM-DP+ and SM-DS) share: the eUICC mutual-authentication pieces
(transaction tokens, message parsing, chain and signature checks), ES9+/ES11 status codes, JSON
framing, the ES12 client, sealing, databases. `smdp` and `smds` import this package, never each other."""
