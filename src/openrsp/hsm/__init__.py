"""PKCS#11 tokens (HSMs): URIs, sessions, signing and sealing with keys that stay inside."""
