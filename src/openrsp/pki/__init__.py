"""The SGP.22 test PKI: certificate profiles per role, issuing, chain rules, credential loading.

Modules: `oids` (the GSMA OIDs), `roles` (what each role's certificate must carry), `curves`,
`certio` (files in and out), `eid` (EIDs and EUM ranges), `issue` (one certificate per role),
`testpki` (a whole PKI on disk, `openrsp pki init`), `verify` (SGP.22 chain rules),
`credentials` (SM-DP+ / eUICC / TLS credentials from an init folder or the SGP.26 layout).
"""
