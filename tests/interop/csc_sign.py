#!/usr/bin/env python3
"""Signs a PDF through our CSC API v2 with PyPI pyHanko's own CSC client, unmodified.

usage: csc_sign.py SERVICE_URL ACCESS_TOKEN CREDENTIAL_ID PASSWORD OTP TSA_URL IN_PDF OUT_PDF

pyHanko's CSCSigner fetches the credential (`credentials/info`, the chain), asks for
the SAD of exactly the hash it is about to sign, and signs it with
`signatures/signHash`; the signature time-stamp comes from our RFC 3161 TSA. pyHanko
leaves `credentials/authorize` to the application (its CSCAuthorizationManager is
abstract): the manager below posts it with the person's password (PIN) and
authenticator code (OTP) for the hashes pyHanko hands it.
"""
import asyncio
import sys

import aiohttp
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import csc_signer
from pyhanko.sign.timestamps import HTTPTimeStamper

SHA256 = "2.16.840.1.101.3.4.2.1"


class ExplicitAuthorization(csc_signer.CSCAuthorizationManager):
    """`credentials/authorize` with the hashes to sign, the PIN and the OTP."""

    def __init__(self, session, session_info, credential_info, pin, otp):
        super().__init__(session_info, credential_info)
        self.session, self.pin, self.otp = session, pin, otp

    async def authorize_signature(self, hash_b64s):
        body = {
            "credentialID": self.csc_session_info.credential_id,
            "numSignatures": len(hash_b64s),
            "hashes": hash_b64s,
            "hashAlgorithmOID": SHA256,
            "authData": [{"id": "PIN", "value": self.pin}, {"id": "OTP", "value": self.otp}],
        }
        url = self.csc_session_info.endpoint_url("credentials/authorize")
        try:
            async with self.session.post(url, json=body, headers=self.auth_headers,
                                         raise_for_status=True) as response:
                answer = await response.json()
        except aiohttp.ClientError as error:
            raise SigningError(f"credentials/authorize failed: {error}") from error
        return self.parse_csc_auth_response(answer)


async def main(base, token, credential, pin, otp, tsa_url, pdf_in, pdf_out):
    info = csc_signer.CSCServiceSessionInfo(
        service_url=base, credential_id=credential, oauth_token=token, api_ver="v2")
    async with aiohttp.ClientSession() as session:
        credential_info = await csc_signer.fetch_certs_in_csc_credential(session, info)
        manager = ExplicitAuthorization(session, info, credential_info, pin, otp)
        signer = csc_signer.CSCSigner(session, auth_manager=manager)
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES)
        pdf_signer = signers.PdfSigner(
            meta, signer=signer, timestamper=HTTPTimeStamper(tsa_url, session=session))
        with open(pdf_in, "rb") as source, open(pdf_out, "wb") as target:
            await pdf_signer.async_sign_pdf(IncrementalPdfFileWriter(source), output=target)
    print("pyHanko signed through the CSC API")


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:9]))
