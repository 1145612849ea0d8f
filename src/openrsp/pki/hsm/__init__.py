"""PKCS#11 tokens (HSMs): RFC 7512 URIs, sessions, signing and sealing with keys that stay inside."""
