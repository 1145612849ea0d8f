"""ES8+ (SM-DP+ <-> eUICC, through the LPA): the bound profile package, one home for both ends.

- segments: the BF36 shape (BF23, A0/A1/A2/A3), smdpSign's input, how the LPA cuts it into calls
- bsp: SCP03t segments as TLVs (BspSender for the SM-DP+, BspReceiver for the eUICC), on top of the
  pure primitives in crypto.scp03t
- build: the SM-DP+ binds a profile package to one eUICC session
- open: the eUICC checks BF23, derives the session keys and unprotects the sequences

Imports only crypto, asn1, profile and pki (tests/test_import_rules.py).
"""
