"""GB/T 38540 interop: our SESeal and SES_Signature judged by tools we did not write,
and one built by them for us to judge.

  ses.py decode SIGNATURE.der ESEAL.der OUTDIR
      Decodes both with PyPI asn1tools against gbt38540.asn (the standard's module),
      checks that each re-encodes to the same bytes (DER), verifies the signer's and
      the seal maker's SM2 signatures with PyPI gmssl (default ID 1234567812345678),
      prints the decoded fields as JSON and writes the signed parts to OUTDIR
      (tbs.der, signature.der, sealinfo.der, maker-signature.der, signer.der,
      maker.der) for openssl.
  ses.py root TRUSTDIR
      Makes another platform's SM2 root: its certificate and (empty) CRL in TRUSTDIR, as
      that platform would publish them, and its key beside them for `build`.
  ses.py build FILE OUT.der TRUSTDIR [SERIAL]
      Builds an SES_Signature over FILE from gmssl keys and the asn1tools encoder: the
      root of TRUSTDIR (made first if there is none) issues a seal maker certificate and
      a signer certificate (with serial SERIAL, hex, if given), the SESeal lists the
      signer, and the signature covers SM3(FILE).
"""

import datetime
import json
import os
import secrets
import sys

import asn1tools
from gmssl import func, sm2, sm3

HERE = os.path.dirname(os.path.abspath(__file__))
SES = asn1tools.compile_files(os.path.join(HERE, "gbt38540.asn"), "der")

# RFC 5280, only what a certificate's key and signature need.
X509 = asn1tools.compile_string(
    """
X509 DEFINITIONS ::= BEGIN
Certificate ::= SEQUENCE {
    tbsCertificate TBSCertificate, signatureAlgorithm AlgorithmIdentifier,
    signature BIT STRING }
TBSCertificate ::= SEQUENCE {
    version [0] EXPLICIT INTEGER OPTIONAL, serialNumber INTEGER,
    signature AlgorithmIdentifier, issuer Name, validity Validity, subject Name,
    subjectPublicKeyInfo SubjectPublicKeyInfo,
    issuerUniqueID [1] IMPLICIT BIT STRING OPTIONAL,
    subjectUniqueID [2] IMPLICIT BIT STRING OPTIONAL,
    extensions [3] EXPLICIT Extensions OPTIONAL }
AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
Name ::= SEQUENCE OF RelativeDistinguishedName
RelativeDistinguishedName ::= SET OF AttributeTypeAndValue
AttributeTypeAndValue ::= SEQUENCE { type OBJECT IDENTIFIER, value ANY }
Validity ::= SEQUENCE { notBefore Time, notAfter Time }
Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }
SubjectPublicKeyInfo ::= SEQUENCE {
    algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
Extensions ::= SEQUENCE OF Extension
Extension ::= SEQUENCE {
    extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
SM2Signature ::= SEQUENCE { r INTEGER, s INTEGER }
CertificateList ::= SEQUENCE {
    tbsCertList TBSCertList, signatureAlgorithm AlgorithmIdentifier,
    signature BIT STRING }
TBSCertList ::= SEQUENCE {
    version INTEGER OPTIONAL, signature AlgorithmIdentifier, issuer Name,
    thisUpdate Time, nextUpdate Time OPTIONAL }
BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE }
KeyUsage ::= BIT STRING
CurveName ::= OBJECT IDENTIFIER
CommonName ::= UTF8String
END
""",
    "der",
)

SM2_WITH_SM3 = "1.2.156.10197.1.501"
EC_PUBLIC_KEY = "1.2.840.10045.2.1"
SM2_CURVE = "1.2.156.10197.1.301"
N = int(sm2.default_ecc_table["n"], 16)


def gmssl_key(public_hex):
    """A gmssl SM2 object for a public key x||y (128 hex digits)."""
    key = sm2.CryptSM2(private_key="", public_key="00", asn1=True)
    # Its constructor strips a leading "04" with lstrip, which eats more than the
    # prefix when x begins with 0 or 4: set the key directly.
    key.public_key = public_hex
    return key


def public_key_of(certificate_der):
    spki = X509.decode("Certificate", certificate_der)["tbsCertificate"]["subjectPublicKeyInfo"]
    assert spki["algorithm"]["algorithm"] == EC_PUBLIC_KEY, spki["algorithm"]
    point = spki["subjectPublicKey"][0]
    assert point[0] == 4 and len(point) == 65, "an uncompressed SM2 point"
    return point[1:].hex()


def gmssl_verifies(certificate_der, message, signature_der):
    return bool(gmssl_key(public_key_of(certificate_der)).verify_with_sm3(signature_der.hex(), message))


def when(at):
    return at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def decode(signature_path, eseal_path, out):
    signature_der = open(signature_path, "rb").read()
    eseal_der = open(eseal_path, "rb").read()
    signature = SES.decode("SES-Signature", signature_der)
    eseal = SES.decode("SESeal", eseal_der)
    tbs = signature["toSign"]
    info = eseal["eSealInfo"]
    parts = {
        "tbs.der": SES.encode("TBS-Sign", tbs),
        "signature.der": signature["signature"][0],
        "sealinfo.der": SES.encode("SES-SealInfo", info),
        "maker-signature.der": eseal["signedValue"][0],
        "signer.der": signature["cert"],
        "maker.der": eseal["cert"],
    }
    for name, data in parts.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    list_type = info["property"]["certListType"]
    list_kind = {1: "CertInfoList", 2: "CertDigestList"}[list_type]
    listed = SES.decode(list_kind, info["property"]["certList"])
    report = {
        "reencodes": SES.encode("SES-Signature", signature) == signature_der
        and SES.encode("SESeal", eseal) == eseal_der,
        "seal_in_signature_is_served_seal": SES.encode("SESeal", tbs["eseal"]) == eseal_der,
        "seal": {
            "header": dict(info["header"]),
            "esID": info["esID"],
            "type": info["property"]["type"],
            "name": info["property"]["name"],
            "certListType": info["property"]["certListType"],
            "certList": list_kind,
            "signer_listed": signature["cert"] in listed,
            "createDate": when(info["property"]["createDate"]),
            "validStart": when(info["property"]["validStart"]),
            "validEnd": when(info["property"]["validEnd"]),
            "picture": {
                "type": info["picture"]["type"],
                "width": info["picture"]["width"],
                "height": info["picture"]["height"],
                "png": info["picture"]["data"][:8] == b"\x89PNG\r\n\x1a\n",
            },
            "signAlgID": eseal["signAlgID"],
        },
        "signature": {
            "version": tbs["version"],
            "timeInfo": when(tbs["timeInfo"]),
            "dataHash": tbs["dataHash"][0].hex(),
            "dataHashBits": tbs["dataHash"][1],
            "propertyInfo": tbs["propertyInfo"],
            "signatureAlgID": signature["signatureAlgID"],
            "timeStamp": "timeStamp" in signature,
        },
        "gmssl": {
            "signature_valid": gmssl_verifies(signature["cert"], parts["tbs.der"], parts["signature.der"]),
            "seal_valid": gmssl_verifies(eseal["cert"], parts["sealinfo.der"], parts["maker-signature.der"]),
        },
    }
    print(json.dumps(report, ensure_ascii=False))


class Key:
    """An SM2 key made and used by gmssl."""

    def __init__(self, private=None):
        private = private or secrets.randbelow(N - 2) + 1
        self.private = private
        maker = sm2.CryptSM2(private_key="%064x" % private, public_key="00", asn1=True)
        public = maker._kg(private, sm2.default_ecc_table["g"])
        self.gmssl = sm2.CryptSM2(private_key="%064x" % private, public_key="00", asn1=True)
        self.gmssl.public_key = public
        self.public_hex = public

    def sign(self, message):
        return bytes.fromhex(self.gmssl.sign_with_sm3(message, func.random_hex(64)))


def name(common_name):
    return [[{"type": "2.5.4.3", "value": X509.encode("CommonName", common_name)}]]


def certificate(key, subject, issuer=None, ca=False, serial=None):
    """An SM2 certificate for `key` named `subject`, signed by `issuer` (a (Key, name)
    pair; self-signed without one), built with asn1tools and signed by gmssl."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    signer, issuer_name = issuer if issuer else (key, subject)
    algorithm = {"algorithm": SM2_WITH_SM3}
    tbs = {
        "version": 2,
        "serialNumber": serial or secrets.randbits(63),
        "signature": algorithm,
        "issuer": name(issuer_name),
        "validity": {
            "notBefore": ("utcTime", now - datetime.timedelta(minutes=5)),
            "notAfter": ("utcTime", now + datetime.timedelta(days=30)),
        },
        "subject": name(subject),
        "subjectPublicKeyInfo": {
            "algorithm": {
                "algorithm": EC_PUBLIC_KEY,
                "parameters": X509.encode("CurveName", SM2_CURVE),
            },
            "subjectPublicKey": (b"\x04" + bytes.fromhex(key.public_hex), 520),
        },
    }
    if ca:
        tbs["extensions"] = [
            {"extnID": "2.5.29.19", "critical": True,
             "extnValue": X509.encode("BasicConstraints", {"cA": True})},
            # keyCertSign and cRLSign.
            {"extnID": "2.5.29.15", "critical": True,
             "extnValue": X509.encode("KeyUsage", (b"\x06", 7))},
        ]
    signature = signer.sign(X509.encode("TBSCertificate", tbs))
    return X509.encode(
        "Certificate",
        {
            "tbsCertificate": tbs,
            "signatureAlgorithm": algorithm,
            "signature": (signature, 8 * len(signature)),
        },
    )


def crl(key, issuer_name):
    """An empty CRL of `issuer_name`, signed by `key`, current for a week."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    algorithm = {"algorithm": SM2_WITH_SM3}
    tbs = {
        "signature": algorithm,
        "issuer": name(issuer_name),
        "thisUpdate": ("utcTime", now - datetime.timedelta(minutes=5)),
        "nextUpdate": ("utcTime", now + datetime.timedelta(days=7)),
    }
    signature = key.sign(X509.encode("TBSCertList", tbs))
    return X509.encode(
        "CertificateList",
        {"tbsCertList": tbs, "signatureAlgorithm": algorithm, "signature": (signature, 8 * len(signature))},
    )


ROOT_NAME = "Interop SM2 Root CA"


def make_root(trust_dir):
    """Another platform's SM2 root and its CRL in `trust_dir`; its private key beside
    them (a file the service does not read), for later `build`s."""
    root = Key()
    with open(os.path.join(trust_dir, "interop-root.crt"), "wb") as f:
        f.write(certificate(root, ROOT_NAME, ca=True))
    with open(os.path.join(trust_dir, "interop-root.crl"), "wb") as f:
        f.write(crl(root, ROOT_NAME))
    with open(os.path.join(trust_dir, "interop-root.key"), "w") as f:
        f.write("%064x" % root.private)
    return root


def build(file_path, out_path, trust_dir, serial=None):
    key_file = os.path.join(trust_dir, "interop-root.key")
    if os.path.exists(key_file):
        root = Key(int(open(key_file).read(), 16))
    else:
        root = make_root(trust_dir)
    root_name = ROOT_NAME
    maker, signer = Key(), Key()
    maker_cert = certificate(maker, "Interop seal maker", issuer=(root, root_name))
    signer_cert = certificate(
        signer, "Interop signer", issuer=(root, root_name),
        serial=int(serial, 16) if serial else None,
    )
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
    info = {
        "header": {"id": "ES", "version": 4, "vid": "asn1tools"},
        "esID": "interop-0001",
        "property": {
            "type": 1,
            "name": "互通测试专用章",
            "certListType": 1,
            "certList": SES.encode("CertInfoList", [signer_cert]),
            "createDate": now,
            "validStart": now - datetime.timedelta(minutes=5),
            "validEnd": now + datetime.timedelta(days=30),
        },
        "picture": {"type": "PNG", "data": png, "width": 40, "height": 40},
    }
    sealed = maker.sign(SES.encode("SES-SealInfo", info))
    eseal = {
        "eSealInfo": info,
        "cert": maker_cert,
        "signAlgID": SM2_WITH_SM3,
        "signedValue": (sealed, 8 * len(sealed)),
    }
    digest = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(open(file_path, "rb").read())))
    tbs = {
        "version": 4,
        "eseal": eseal,
        "timeInfo": now,
        "dataHash": (digest, 256),
        "propertyInfo": os.path.basename(file_path),
    }
    signed = signer.sign(SES.encode("TBS-Sign", tbs))
    signature = {
        "toSign": tbs,
        "cert": signer_cert,
        "signatureAlgID": SM2_WITH_SM3,
        "signature": (signed, 8 * len(signed)),
    }
    with open(out_path, "wb") as f:
        f.write(SES.encode("SES-Signature", signature))


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "decode" and len(sys.argv) == 5:
        decode(*sys.argv[2:])
    elif command == "root" and len(sys.argv) == 3:
        make_root(sys.argv[2])
    elif command == "build" and len(sys.argv) in (5, 6):
        build(*sys.argv[2:])
    else:
        sys.exit(__doc__)
