"""The SM-DP+: profile inventory, download orders (ES2+), RSP sessions (ES9+), and the HTTPS server."""
