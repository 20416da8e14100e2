//! The message catalogues: every text a person reads, one Fluent file per language in
//! `locales/` (found by the build script, so a third language is one more file).
//! Templates and handlers name texts by stable ids; domain crates return typed reasons
//! that carry an id, never sentences for pages.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

mod sources {
    include!(concat!(env!("OUT_DIR"), "/locales.rs"));
}

/// The language pages use when nobody asked for another.
const DEFAULT_TAG: &str = "zh-CN";

struct Catalogue {
    tag: &'static str,
    bundle: FluentBundle<FluentResource>,
}

static CATALOGUES: LazyLock<Vec<Catalogue>> = LazyLock::new(|| {
    sources::SOURCES
        .iter()
        .map(|(tag, source)| {
            // A file with a syntax error keeps the messages that parsed; the catalogue
            // test fails on it, so it never ships.
            let resource = FluentResource::try_new((*source).to_owned())
                .unwrap_or_else(|(partial, _)| partial);
            let id = tag.parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // Pages escape and isolate values themselves (`<bdi>`); Unicode isolation
            // marks would only end up inside attribute values and copied text.
            bundle.set_use_isolating(false);
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(tag, ?errors, "message catalogue has duplicate ids");
            }
            Catalogue { tag, bundle }
        })
        .collect()
});

/// A page language: one of the catalogues, and whether care mode's plain words are
/// wanted (a message's `.care` attribute, where the catalogue has one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lang(usize, bool);

impl Default for Lang {
    fn default() -> Self {
        Self::from_tag(DEFAULT_TAG).unwrap_or(Self(0, false))
    }
}

impl Lang {
    /// Every language there is a catalogue for.
    pub fn all() -> impl Iterator<Item = Lang> {
        (0..CATALOGUES.len()).map(|i| Lang(i, false))
    }

    /// The catalogue whose tag or primary subtag is `tag` (`zh`, `zh-CN`, `en-GB`),
    /// case-insensitively.
    pub fn from_tag(tag: &str) -> Option<Self> {
        let primary = |t: &str| t.split('-').next().unwrap_or("").to_ascii_lowercase();
        let wanted = primary(tag);
        CATALOGUES
            .iter()
            .position(|c| c.tag.eq_ignore_ascii_case(tag))
            .or_else(|| CATALOGUES.iter().position(|c| primary(c.tag) == wanted))
            .map(|i| Lang(i, false))
    }

    /// This language, in care mode's plain words (`care`) or the standard ones.
    pub fn in_care(self, care: bool) -> Self {
        Self(self.0, care)
    }

    /// Whether care mode's plain words are wanted.
    pub fn care(self) -> bool {
        self.1
    }

    /// The BCP 47 tag (`zh-CN`, `en`), for `lang` attributes.
    pub fn tag(self) -> &'static str {
        CATALOGUES.get(self.0).map_or(DEFAULT_TAG, |c| c.tag)
    }

    /// The primary subtag (`zh`, `en`): what the preferences cookie stores.
    pub fn code(self) -> &'static str {
        let tag = self.tag();
        tag.split('-').next().unwrap_or(tag)
    }

    /// Whether texts in Chinese fit this language (names kept in zh and en).
    pub fn is_chinese(self) -> bool {
        self.code() == "zh"
    }

    /// The text with id `id`.
    pub fn t(&self, id: &str) -> String {
        self.format(id, None)
    }

    /// The text with id `id` and one string argument. The argument may come from a
    /// person or a department: it is set apart with Unicode isolates (FSI … PDI, as
    /// `<bdi>` does in markup) so that right-to-left marks in it cannot reorder the
    /// sentence around it.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(format!("\u{2068}{value}\u{2069}")));
        self.format(id, Some(&args))
    }

    /// The text with id `id` and two string arguments, each set apart as in [`Self::t1`].
    pub fn t2(&self, id: &str, (n1, v1): (&str, &str), (n2, v2): (&str, &str)) -> String {
        let mut args = FluentArgs::new();
        args.set(n1, FluentValue::from(format!("\u{2068}{v1}\u{2069}")));
        args.set(n2, FluentValue::from(format!("\u{2068}{v2}\u{2069}")));
        self.format(id, Some(&args))
    }

    /// The text with id `id` and one number argument (plurals select on it).
    pub fn tn(&self, id: &str, name: &str, value: impl std::borrow::Borrow<usize>) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(*value.borrow()));
        self.format(id, Some(&args))
    }

    /// The text with id `id` and several number arguments.
    pub fn tnums(&self, id: &str, numbers: &[(&str, i64)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in numbers {
            args.set(*name, FluentValue::from(*value));
        }
        self.format(id, Some(&args))
    }

    /// Whether this language's catalogue has a text with id `id`.
    pub fn has(self, id: &str) -> bool {
        CATALOGUES.get(self.0).is_some_and(|c| {
            c.bundle
                .get_message(id)
                .is_some_and(|m| m.value().is_some())
        })
    }

    fn format(&self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        // A missing text falls back to the default language, then to its id: a page
        // never fails for want of a sentence (and the catalogue test catches it first).
        let own = CATALOGUES.get(self.0);
        let fallback = CATALOGUES.get(Lang::default().0);
        #[cfg(test)]
        if !self.has(id)
            && let Ok(mut missing) = MISSING.lock()
        {
            missing.push(format!("{}: {id}", self.tag()));
        }
        for catalogue in own.into_iter().chain(fallback) {
            let Some(message) = catalogue.bundle.get_message(id) else {
                continue;
            };
            // Care mode reads the plain words where a text has them.
            let care = self.1.then(|| message.get_attribute("care")).flatten();
            let Some(pattern) = care.map(|a| a.value()).or_else(|| message.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = catalogue.bundle.format_pattern(pattern, args, &mut errors);
            if !errors.is_empty() {
                tracing::warn!(id, tag = catalogue.tag, ?errors, "message arguments");
            }
            return text.into_owned();
        }
        tracing::warn!(id, "message id missing from every catalogue");
        id.to_owned()
    }
}

/// The ids asked for that a catalogue lacks, since the tests started.
#[cfg(test)]
pub(crate) static MISSING: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

/// Every message id of `lang`'s catalogue file, and the file's syntax errors.
#[cfg(test)]
pub(crate) fn ids_of(lang: Lang) -> (Vec<String>, Vec<String>) {
    let Some((_, source)) = sources::SOURCES.iter().find(|(tag, _)| *tag == lang.tag()) else {
        return (Vec::new(), vec!["no source".into()]);
    };
    let errors = match FluentResource::try_new((*source).to_owned()) {
        Ok(_) => Vec::new(),
        Err((_, errors)) => errors.iter().map(|e| format!("{e:?}")).collect(),
    };
    // A message starts a line with its id and ` =`; continuation lines are indented.
    let ids = source
        .lines()
        .filter_map(|line| line.split_once(" = ").map(|(id, _)| id))
        .filter(|id| {
            id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .collect();
    (ids, errors)
}
