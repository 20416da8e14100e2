#!/usr/bin/env python3
"""Validates every signature of a sealed PDF with PyPI pyHanko.

usage: pdf_validate.py SEALED_PDF ROOT_PEM EXPECTED_SIGNATURES
Exits 0 when the PDF has EXPECTED_SIGNATURES signatures and each is intact, valid and
trusted (chain to ROOT_PEM, revocation from our CRLs over HTTP), carries a valid,
trusted signature time-stamp, and the document changed after it only in ways
acceptable for a signed PDF (later signatures); 1 otherwise.
"""
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import ModificationLevel
from pyhanko_certvalidator import ValidationContext

ACCEPTABLE = {ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING}


def main():
    pdf_file, root_file, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    root = load_cert_from_pemder(root_file)
    with open(pdf_file, "rb") as f:
        reader = PdfFileReader(f)
        signatures = reader.embedded_signatures
        if len(signatures) != expected:
            sys.exit(f"{len(signatures)} signatures, expected {expected}")
        for sig in signatures:
            context = ValidationContext(trust_roots=[root], allow_fetching=True)
            ts_context = ValidationContext(trust_roots=[root], allow_fetching=True)
            status = validate_pdf_signature(sig, context, ts_validation_context=ts_context)
            name = sig.field_name
            problems = []
            if not status.intact:
                problems.append("not intact")
            if not status.valid:
                problems.append("not valid")
            if not status.trusted:
                problems.append("not trusted")
            ts = status.timestamp_validity
            if ts is None or not ts.intact or not ts.valid or not ts.trusted:
                problems.append("no valid trusted signature time-stamp")
            if status.modification_level not in ACCEPTABLE:
                problems.append(f"modification level {status.modification_level}")
            if problems:
                print(status.pretty_print_details())
                sys.exit(f"{name}: " + ", ".join(problems))
            print(f"pyHanko: {name} intact, valid, trusted; time-stamp {ts.timestamp}; "
                  f"coverage {status.coverage.name}, modifications {status.modification_level.name}")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as error:  # any failure is a validation failure
        print(f"pyHanko refused: {error!r}")
        sys.exit(1)
