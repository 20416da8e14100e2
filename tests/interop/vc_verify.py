#!/usr/bin/env python3
"""Verifies an e-certificate VC-JWT and reads its status with PyPI jwcrypto (and
`cryptography` for the x5c chain); the Bitstring Status List is decoded here, from the
W3C text (multibase base64url, GZIP, bit 0 = the most significant bit of byte 0).

usage: vc_verify.py VC_JWT_FILE STATUS_LIST_JWT_FILE ROOT_PEM EXPECTED_BIT
Exits 0 when both JWTs verify with their x5c leaf keys, both chains lead to ROOT_PEM,
the credential names the list it was checked against, and the credential's
revocation bit is EXPECTED_BIT (0 or 1); 1 otherwise.
"""
import base64
import gzip
import json
import sys

from cryptography import x509
from jwcrypto import jwk, jws


def verified(path, root):
    token = jws.JWS()
    token.deserialize(open(path).read().strip())
    header = token.jose_header
    if header.get("typ") != "vc+jwt":
        raise ValueError(f"typ {header.get('typ')!r}")
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    for cert, issuer in zip(chain, chain[1:] + [root]):
        cert.verify_directly_issued_by(issuer)
    token.verify(jwk.JWK.from_pyca(chain[0].public_key()), alg="ES256")
    return json.loads(token.payload)


def bit(encoded, index):
    if not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url")
    raw = encoded[1:]
    bits = gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    if len(bits) * 8 < 131072:
        raise ValueError("the list is shorter than 131072 entries")
    return (bits[index // 8] >> (7 - index % 8)) & 1


def main():
    vc_file, list_file, root_file, expected = sys.argv[1:5]
    root = x509.load_pem_x509_certificate(open(root_file, "rb").read())
    vc = verified(vc_file, root)
    status_list = verified(list_file, root)
    entry = next(s for s in vc["credentialStatus"] if s["statusPurpose"] == "revocation")
    if entry["type"] != "BitstringStatusListEntry":
        raise ValueError(entry["type"])
    if entry["statusListCredential"] != status_list["id"]:
        raise ValueError("the credential points at another list")
    subject = status_list["credentialSubject"]
    if subject["type"] != "BitstringStatusList" or subject["statusPurpose"] != "revocation":
        raise ValueError("not a revocation BitstringStatusList")
    value = bit(subject["encodedList"], int(entry["statusListIndex"]))
    if value != int(expected):
        raise ValueError(f"revocation bit {value}, expected {expected}")
    print(f"jwcrypto: VC-JWT and status list verify, chains to root; revocation bit {value}")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # any failure is a verification failure
        print(f"refused: {error!r}")
        sys.exit(1)
