"""The SM-DS (Subscription Manager - Discovery Server, SGP.22 §3.6, §5.8-5.10).

es12/   SM-DP+ -> SM-DS: RegisterEvent, DeleteEvent (mutual TLS, SM-DP+ client certificates)
es11/   LPA -> SM-DS: InitiateAuthentication, AuthenticateClient (the eUICC authenticates
        exactly as on ES9+; the answer is the authenticated EID's event list)
es15/   alternative SM-DS -> root SM-DS: forwarded registrations and deletions
store   the event records (SQLite or PostgreSQL)
http/   the HTTPS front; server: `openrsp smds serve`
"""
