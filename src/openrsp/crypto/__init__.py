"""The cryptographic primitives SGP.22 and 3GPP name, as small tested functions.

- keys / ecdsa: NIST P-256 and brainpoolP256r1 keys, TR-03111 plain (r||s) ECDSA with SHA-256
- ecka / kdf: the ECKA shared secret and the BPP session-key derivation (X9.63 KDF)
- bsp: SCP03t segment protection of the bound profile package (sans-I/O sender and receiver)
- milenage / aka: 3GPP TS 35.206 Milenage and the AUTN / AUTS helpers around it

Modules are imported one by one (``from openrsp.crypto.bsp import BspSender``) so that using one
does not pay for the others.
"""
