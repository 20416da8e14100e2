#!/usr/bin/env python3
"""Verifies our JWS with PyPI jwcrypto, an implementation we did not write.

usage: jws_verify.py JWKS_FILE COMPACT_FILE DETACHED_FILE PAYLOAD_FILE
Exits 0 when the compact JWS verifies (and its payload matches) and the detached JWS
verifies over the payload, with keys taken from the JWKS by kid; 1 otherwise.
"""
import sys

from jwcrypto import jwk, jws


def main():
    jwks_file, compact_file, detached_file, payload_file = sys.argv[1:5]
    keys = jwk.JWKSet.from_json(open(jwks_file).read())
    payload = open(payload_file, "rb").read()

    token = jws.JWS()
    token.deserialize(open(compact_file).read().strip())
    kid = token.jose_header["kid"]
    token.verify(keys.get_key(kid), alg="ES256")
    if token.payload != payload:
        sys.exit("compact JWS payload differs")

    detached = jws.JWS()
    detached.deserialize(open(detached_file).read().strip())
    detached.verify(keys.get_key(kid), alg="ES256", detached_payload=payload)
    print(f"jwcrypto: compact and detached JWS verify with kid {kid}")


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # any failure is a verification failure
        print(f"jwcrypto refused: {error!r}")
        sys.exit(1)
