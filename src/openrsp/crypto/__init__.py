"""The cryptographic primitives SGP.22 and 3GPP name, as small tested functions.

- keys / ecdsa: NIST P-256 and brainpoolP256r1 keys, TR-03111 plain (r||s) ECDSA with SHA-256
- ecka / kdf: the ECKA shared secret and the BPP session-key derivation (X9.63 KDF)
- scp03t: the SCP03t primitives of segment protection (padding, ICV, chained C-MAC); the TLV-aware
  BSP of the bound profile package is openrsp.es8.bsp
- milenage / aka: 3GPP TS 35.206 Milenage and the AUTN / AUTS helpers around it

Modules are imported one by one (``from openrsp.crypto.ecdsa import sign_plain``) so that using one
does not pay for the others.
"""
