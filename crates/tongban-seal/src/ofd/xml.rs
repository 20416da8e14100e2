//! XML as OFD files need it: text escaped for what we write; for what we read, a
//! parser without DTDs (so no entity expansion) and lookups by local name, since
//! producers differ in the prefix they bind to the OFD namespace.

use super::OfdError;

/// `text` escaped for element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 does not allow are left out.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// Parses `bytes` (the file `name`) as UTF-8 XML without a DTD.
pub(crate) fn parse<'a>(name: &str, text: &'a str) -> Result<roxmltree::Document<'a>, OfdError> {
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: 200_000,
        ..roxmltree::ParsingOptions::default()
    };
    roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| OfdError::xml(name, e.to_string()))
}

/// The file `name` of `bytes` as text.
pub(crate) fn text<'a>(name: &str, bytes: &'a [u8]) -> Result<&'a str, OfdError> {
    let text = std::str::from_utf8(bytes).map_err(|_| OfdError::xml(name, "not UTF-8"))?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

/// The first child element of `node` named `local`.
pub(crate) fn child<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    local: &str,
) -> Option<roxmltree::Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == local)
}

/// The child elements of `node` named `local`.
pub(crate) fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    local: &'a str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> + 'a {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == local)
}

/// The trimmed text of `node`'s child `local`.
pub(crate) fn child_text<'a>(node: roxmltree::Node<'a, '_>, local: &str) -> Option<&'a str> {
    child(node, local).and_then(|n| n.text()).map(str::trim)
}

/// Numbers separated by spaces (an `ST_Box`, `ST_Array` of numbers).
pub(crate) fn numbers(text: &str) -> Option<Vec<f64>> {
    text.split_whitespace().map(|n| n.parse().ok()).collect()
}

/// A number as OFD files write it: at most three decimals, no trailing zeros.
pub(crate) fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn text_is_escaped_and_numbers_are_short() {
        assert_eq!(escape("a<b>&\"'\u{1}c"), "a&lt;b&gt;&amp;&quot;&apos;c");
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.1234), "0.123");
        assert_eq!(number(-0.0001), "0");
    }

    #[test]
    fn a_dtd_is_refused() {
        let bomb = "<!DOCTYPE a [<!ENTITY x \"xx\">]><a>&x;</a>";
        assert!(parse("a.xml", bomb).is_err());
        let doc = parse("a.xml", "<o:a xmlns:o=\"u\"><o:b> 1 </o:b></o:a>").unwrap();
        assert_eq!(child_text(doc.root_element(), "b"), Some("1"));
    }
}
