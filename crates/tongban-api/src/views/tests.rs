//! Every page, rendered with hostile and with ordinary values, in every language: what
//! people or departments typed comes out inert, every text comes from the catalogues,
//! and Chinese pages carry no English sentences.

use axum::http::StatusCode;

mod certificate_fixtures;
mod console_fixtures;
mod fixtures;

use super::*;
use crate::i18n::{self, Lang};
use fixtures::{every_page, every_prefs, hostile_values};

/// Every element the templates write (and the QR code's SVG).
const ALLOWED_ELEMENTS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "link",
    "body",
    "header",
    "nav",
    "span",
    "a",
    "main",
    "h1",
    "h2",
    "h3",
    "p",
    "form",
    "input",
    "label",
    "button",
    "script",
    "ul",
    "li",
    "strong",
    "section",
    "dl",
    "dt",
    "dd",
    "bdi",
    "details",
    "summary",
    "code",
    "figure",
    "svg",
    "div",
    "ol",
    "fieldset",
    "legend",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "select",
    "option",
    "textarea",
    "output",
    "progress",
    "pre",
    "img",
    "figcaption",
    "canvas",
    "svg",
    "line",
    "text",
    "rect",
];

/// Every tag of `html`, from `<` to `>` (attribute values are escaped: no `>` inside).
fn tags(html: &str) -> Vec<&str> {
    html.match_indices('<')
        .filter_map(|(at, _)| html[at..].find('>').map(|end| &html[at..=at + end]))
        .collect()
}

/// The attribute names of a tag: outside the quoted values, the words before `=`.
fn attribute_names(tag: &str) -> Vec<String> {
    tag.split('"')
        .step_by(2)
        .flat_map(|outside| {
            outside
                .split_whitespace()
                .filter_map(|word| word.strip_suffix('=').map(str::to_ascii_lowercase))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The value of each `name="…"` attribute in `html` (values are escaped, so `"` ends them).
fn attribute_values<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let needle = format!(" {name}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| html[at + needle.len()..].split('"').next())
        .collect()
}

/// The text of `html` outside tags, each piece with whether it lies inside `<bdi>`. A
/// `<textarea>`'s text counts as isolated: it is a control's value (like an input's
/// `value`), shown in its own box, and must go back unchanged when the form is sent.
fn text_pieces(html: &str) -> Vec<(String, bool)> {
    let mut pieces = Vec::new();
    let mut bdi = 0usize;
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        pieces.push((rest[..open].to_owned(), bdi > 0));
        let close = rest[open..].find('>').map_or(rest.len(), |c| open + c + 1);
        let tag = &rest[open..close];
        if tag.starts_with("<bdi") || tag.starts_with("<textarea") {
            bdi += 1;
        } else if tag.starts_with("</bdi") || tag.starts_with("</textarea") {
            bdi = bdi.saturating_sub(1);
        }
        rest = &rest[close..];
    }
    pieces.push((rest.to_owned(), bdi > 0));
    pieces
}

/// Whether every right-to-left override in `text` is set apart by FSI … PDI.
fn overrides_isolated(text: &str) -> bool {
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '\u{2068}' => depth += 1,
            '\u{2069}' => depth = depth.saturating_sub(1),
            '\u{202E}' | '\u{202B}' | '\u{200F}' if depth == 0 => return false,
            _ => {}
        }
    }
    true
}

#[tokio::test]
async fn what_people_and_departments_typed_comes_out_inert() {
    for prefs in every_prefs() {
        for v in hostile_values() {
            for (name, status, html) in every_page(prefs, &v).await {
                let what = format!("{name} ({}, {v:.40})", prefs.lang.tag());
                assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
                if v.contains(['<', '>', '"', '\'']) {
                    assert!(!html.contains(&v), "{what}: the value came out as markup");
                }
                for tag in tags(&html) {
                    let element = tag
                        .trim_start_matches(['<', '/'])
                        .split([' ', '>'])
                        .next()
                        .unwrap_or("");
                    assert!(
                        ALLOWED_ELEMENTS.contains(&element),
                        "{what}: an element no template writes: {tag:.80}"
                    );
                    if element == "script" {
                        assert!(
                            tag == "<script src=\"/static/passkey.js\">"
                                || tag == "<script src=\"/static/timeout.js\">"
                                || tag == "<script src=\"/static/console.js\">"
                                || tag == "<script src=\"/static/seal-place.js\">"
                                || tag == "</script>",
                            "{what}: {tag}"
                        );
                    }
                    for name in attribute_names(tag) {
                        assert!(
                            !name.starts_with("on"),
                            "{what}: an event attribute in {tag:.80}"
                        );
                    }
                }
                for attribute in ["href", "src", "action", "formaction", "data-options"] {
                    for value in attribute_values(&html, attribute) {
                        assert!(
                            !value.trim().to_ascii_lowercase().starts_with("javascript:"),
                            "{what}: {attribute}=\"{value}\""
                        );
                    }
                }
                for (text, in_bdi) in text_pieces(&html) {
                    assert!(
                        in_bdi || overrides_isolated(&text),
                        "{what}: a right-to-left override outside <bdi> or isolates: {text:.80}"
                    );
                }
                if v.len() > 1000 {
                    assert!(
                        html.contains(&v[..v.len() / 2]) || name != "account",
                        "{what}: a long name is shown whole"
                    );
                }
            }
        }
    }
}

#[test]
fn every_catalogue_parses_and_has_the_ids_of_the_default_one() {
    let (reference, errors) = i18n::ids_of(Lang::default());
    assert!(errors.is_empty(), "zh-CN: {errors:?}");
    assert!(reference.len() > 100, "the default catalogue is read");
    for lang in Lang::all() {
        let (ids, errors) = i18n::ids_of(lang);
        assert!(errors.is_empty(), "{}: {errors:?}", lang.tag());
        let missing: Vec<&String> = reference.iter().filter(|id| !ids.contains(id)).collect();
        let extra: Vec<&String> = ids.iter().filter(|id| !reference.contains(id)).collect();
        assert!(missing.is_empty(), "{} lacks {missing:?}", lang.tag());
        assert!(
            extra.is_empty(),
            "{} has ids zh-CN lacks: {extra:?}",
            lang.tag()
        );
    }
}

#[test]
fn care_mode_words_are_in_every_catalogue_and_differ_from_the_standard_ones() {
    let (reference, _) = i18n::ids_of(Lang::default());
    let mut with_care = 0;
    for id in &reference {
        let plain: Vec<String> = Lang::all().map(|l| l.t(id)).collect();
        let care: Vec<String> = Lang::all().map(|l| l.in_care(true).t(id)).collect();
        let has: Vec<bool> = plain.iter().zip(&care).map(|(p, c)| p != c).collect();
        assert!(
            has.iter().all(|h| *h) || has.iter().all(|h| !*h),
            "{id}: a care-mode text in some catalogues only"
        );
        with_care += usize::from(has[0]);
    }
    assert!(
        with_care >= 10,
        "care mode has its plain words ({with_care})"
    );
}

#[tokio::test]
async fn every_text_a_page_asks_for_is_in_every_catalogue() {
    for prefs in every_prefs() {
        every_page(prefs, "王小明").await;
    }
    let missing = i18n::MISSING.lock().map(|m| m.clone()).unwrap_or_default();
    assert!(
        missing.is_empty(),
        "texts missing from catalogues: {missing:?}"
    );
}

/// Runs of three or more Latin words (a sentence, not a name, code or identifier).
fn latin_sentences(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, found: &mut Vec<String>| {
        if run.len() >= 3 {
            found.push(run.join(" "));
        }
        run.clear();
    };
    for token in text.split(|c: char| c.is_whitespace() || c == '\u{3000}') {
        let word = token.trim_matches(|c: char| ",.;:!?()'\"".contains(c));
        if word.len() >= 2 && word.chars().all(|c| c.is_ascii_alphabetic()) {
            run.push(word);
        } else {
            flush(&mut run, &mut found);
        }
    }
    flush(&mut run, &mut found);
    found
}

#[tokio::test]
async fn chinese_pages_carry_no_english_sentences() {
    let zh = Prefs::new(Lang::from_tag("zh-CN").expect("zh-CN"), false);
    for (name, _, html) in every_page(zh, "王小明").await {
        let mut text = String::new();
        for (piece, _) in text_pieces(&html) {
            text.push_str(&piece);
            text.push(' ');
        }
        // The language switch names each other language in its own words (with `lang`).
        for other in Lang::all().filter(|l| *l != zh.lang) {
            text = text.replace(&other.t("language-name"), "");
        }
        for attribute in ["aria-label", "title", "alt", "placeholder"] {
            for value in attribute_values(&html, attribute) {
                text.push_str(value);
                text.push(' ');
            }
        }
        let sentences = latin_sentences(&text);
        assert!(
            sentences.is_empty(),
            "{name}: English in a Chinese page: {sentences:?}"
        );
    }
}

#[test]
fn the_sentence_finder_finds_sentences_and_spares_codes() {
    assert_eq!(
        latin_sentences("the document changed after"),
        vec!["the document changed after"]
    );
    assert!(latin_sentences("PDF 文件 ETSI EN 319 102-1 TOTAL-PASSED client_id").is_empty());
}
