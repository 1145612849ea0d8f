"""Object identifiers of the GSMA RSP certificate profiles (SGP.22 §4.5.2, SGP.26)."""

from cryptography.x509 import ObjectIdentifier

# id-rspRole: certificatePolicies OIDs that name a certificate's role.
POLICY_CI = ObjectIdentifier("2.23.146.1.2.1.0")
POLICY_EUICC = ObjectIdentifier("2.23.146.1.2.1.1")
POLICY_EUM = ObjectIdentifier("2.23.146.1.2.1.2")
POLICY_DPTLS = ObjectIdentifier("2.23.146.1.2.1.3")
POLICY_DPAUTH = ObjectIdentifier("2.23.146.1.2.1.4")
POLICY_DPPB = ObjectIdentifier("2.23.146.1.2.1.5")
POLICY_DSTLS = ObjectIdentifier("2.23.146.1.2.1.6")  # id-rspRole-ds-tls
POLICY_DSAUTH = ObjectIdentifier("2.23.146.1.2.1.7")  # id-rspRole-ds-auth

# EUM extension listing the EID prefixes (EINs) it may issue: SEQUENCE OF PrintableString.
PERMITTED_EINS = ObjectIdentifier("2.23.146.1.2.2.0")

# Test registeredIDs in the example arc 2.999, as SGP.26 uses them.
DEFAULT_CI_OID = "2.999.1"
DEFAULT_EUM_OID = "2.999.5"
DEFAULT_SMDP_OID = "2.999.10"
DEFAULT_SMDS_OID = "2.999.15"
