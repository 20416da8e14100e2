#!/usr/bin/env python3
"""pyHanko beside Tongban, on the same file and the same machine (tests/bench run by
`cargo bench -p tongban --bench seal_load`).

usage: pyhanko_bench.py sign PDF TSA_URL RUNS   -> median ms to sign PAdES B-T with a
       visible stamp (own P-256 key; time-stamps from TSA_URL, as Tongban's come from its TSA)
       pyhanko_bench.py validate PDF ROOT_PEM RUNS -> median ms to validate every signature
Prints the median and the fastest run in ms, and how many runs were cut off. A signing
run is cut off after CAP_SECONDS: some runs here spend from a second to 23 s in
asn1crypto re-encoding the time-stamp token (how often depends on the Python hash seed
and on the token's bytes), where others take 50-150 ms; median and fastest are of the
runs under the cap.
"""
import datetime
import io
import signal
import statistics
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench seal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return key, cert


def sign(pdf_file, tsa_url, runs):
    from asn1crypto import keys as asn1_keys, x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign import signers, fields, timestamps
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko import stamp
    from pyhanko.keys import load_private_key_from_pemder_data

    key, cert = self_signed()
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    signer = signers.SimpleSigner(
        signing_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        signing_key=load_private_key_from_pemder_data(key_pem, passphrase=None),
        cert_registry=None)
    timestamper = timestamps.HTTPTimeStamper(tsa_url)
    data = open(pdf_file, "rb").read()
    times = []
    capped = 0
    for _ in range(runs):
        signal.setitimer(signal.ITIMER_REAL, CAP_SECONDS)
        started = time.perf_counter()
        writer = IncrementalPdfFileWriter(io.BytesIO(data))
        meta = signers.PdfSignatureMetadata(field_name="Seal1", subfilter=fields.SigSeedSubFilter.PADES)
        pdf_signer = signers.PdfSigner(
            meta, signer=signer, timestamper=timestamper,
            new_field_spec=fields.SigFieldSpec("Seal1", on_page=0, box=(400, 80, 520, 200)),
            stamp_style=stamp.TextStampStyle(stamp_text="Bench"))
        try:
            pdf_signer.sign_pdf(writer).getvalue()
            # Cleared inside: an alarm between the signature and here is still caught.
            signal.setitimer(signal.ITIMER_REAL, 0)
        except OverCap:
            capped += 1
            continue
        times.append((time.perf_counter() - started) * 1000)
    report(times, capped)


def validate(pdf_file, root_file, runs):
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    root = load_cert_from_pemder(root_file)
    data = open(pdf_file, "rb").read()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        reader = PdfFileReader(io.BytesIO(data))
        for sig in reader.embedded_signatures:
            context = ValidationContext(trust_roots=[root], allow_fetching=True)
            status = validate_pdf_signature(sig, context, ts_validation_context=context)
            if not status.bottom_line:
                sys.exit("pyHanko did not validate the signature")
        times.append((time.perf_counter() - started) * 1000)
    report(times, 0)


CAP_SECONDS = 1.0


def report(times, capped):
    if not times:
        sys.exit(f"every run took over {CAP_SECONDS} s (see pyhanko_bench.py: this Python hash seed)")
    print(f"{statistics.median(times):.1f} {min(times):.1f} {capped}")


class OverCap(Exception):
    pass


def over_cap(_signum, _frame):
    raise OverCap()


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, over_cap)
    mode, pdf, arg, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    {"sign": sign, "validate": validate}[mode](pdf, arg, runs)
