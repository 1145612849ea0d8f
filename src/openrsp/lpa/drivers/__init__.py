"""LPA drivers: APDU transports (in-process, PC/SC, vpcd) and the HTTPS clients (ES9+, ES11)."""
