#!/usr/bin/env python3
"""Verifies a sealed detached JWS with PyPI jwcrypto (and `cryptography` for the chain).

usage: jws_x5c_verify.py JWS_FILE PAYLOAD_FILE ROOT_PEM
Exits 0 when the JWS verifies over the payload with the key of its x5c leaf, each x5c
certificate is issued by the next, and the last by ROOT_PEM; 1 otherwise.
"""
import base64
import sys

from cryptography import x509
from jwcrypto import jwk, jws


def main():
    jws_file, payload_file, root_file = sys.argv[1:4]
    token = jws.JWS()
    token.deserialize(open(jws_file).read().strip())
    header = token.jose_header
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in header["x5c"]]
    root = x509.load_pem_x509_certificate(open(root_file, "rb").read())
    for cert, issuer in zip(chain, chain[1:] + [root]):
        cert.verify_directly_issued_by(issuer)
    leaf = jwk.JWK.from_pyca(chain[0].public_key())
    token.verify(leaf, alg="ES256", detached_payload=open(payload_file, "rb").read())
    print(f"jwcrypto: detached JWS verifies; sigT {header.get('sigT')}; chain to root ok")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # any failure is a verification failure
        print(f"refused: {error!r}")
        sys.exit(1)
