"""Schemathesis serializers for the two binary request bodies it has none for: a PDF
(random bytes, or a tiny PDF with no signature) and an RFC 3161 time-stamp query
(random bytes). Loaded through SCHEMATHESIS_HOOKS by tests/interop/run."""
from hypothesis import strategies as st
import schemathesis

schemathesis.openapi.media_type(
    "application/pdf",
    st.one_of(
        st.binary(max_size=256),
        st.just(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    ),
)
schemathesis.openapi.media_type("application/timestamp-query", st.binary(max_size=256))
