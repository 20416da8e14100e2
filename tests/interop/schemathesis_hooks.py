"""Schemathesis serializers for the binary request bodies it has none for: a PDF
(random bytes, or a tiny PDF with no signature), an OFD document (random bytes, or a
ZIP holding only an OFD.xml that names no document) and an RFC 3161 time-stamp query
(random bytes). Loaded through SCHEMATHESIS_HOOKS by tests/interop/run."""
import io
import zipfile

from hypothesis import strategies as st
import schemathesis


def _tiny_ofd():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr(
            "OFD.xml",
            '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">'
            "<ofd:DocBody><ofd:DocInfo/></ofd:DocBody></ofd:OFD>",
        )
    return out.getvalue()


schemathesis.openapi.media_type(
    "application/pdf",
    st.one_of(
        st.binary(max_size=256),
        st.just(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"),
    ),
)
schemathesis.openapi.media_type("application/timestamp-query", st.binary(max_size=256))
schemathesis.openapi.media_type(
    "application/ofd",
    st.one_of(st.binary(max_size=256), st.just(_tiny_ofd())),
)
