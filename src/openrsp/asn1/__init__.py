"""ASN.1 definitions of SGP.22 (RSP) and SAIP (profile packages), compiled once per process."""

from openrsp.asn1.codec import Asn1Error, rsp, saip

__all__ = ["Asn1Error", "rsp", "saip"]
