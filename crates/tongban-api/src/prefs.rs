//! A person's page preferences: language and care mode (关怀模式: larger text and
//! targets, stronger contrast, plain words), kept in a cookie.

use axum::http::{HeaderMap, header};

use crate::i18n::Lang;

/// The preferences cookie. Not secret, but `__Host-` keeps other hosts from setting it.
pub const PREFS_COOKIE: &str = "__Host-tongban-prefs";

/// A person's page preferences.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Prefs {
    /// Language (in care mode, with its plain words).
    pub lang: Lang,
    /// Care mode.
    pub care: bool,
}

impl Prefs {
    /// Preferences of `lang`, in care mode or not.
    pub fn new(lang: Lang, care: bool) -> Self {
        Self {
            lang: lang.in_care(care),
            care,
        }
    }

    /// From the cookie (`zh`, `en`, `zh-care`, `en-care`, any catalogue's code; the
    /// `-large` of earlier versions reads as care mode); without one, the first
    /// supported language of `ui_locales`; otherwise zh-CN, standard mode.
    pub fn resolve(cookie: Option<&str>, ui_locales: Option<&str>) -> Self {
        if let Some(value) = cookie {
            let (code, care) = match value.rsplit_once('-') {
                Some((code, "care" | "large")) => (code, true),
                _ => (value, false),
            };
            return Self::new(Lang::from_tag(code).unwrap_or_default(), care);
        }
        let lang = ui_locales
            .unwrap_or("")
            .split_whitespace()
            .find_map(Lang::from_tag)
            .unwrap_or_default();
        Self::new(lang, false)
    }

    /// The preferences of a browser: its cookie, else `ui_locales`.
    pub fn from_headers(headers: &HeaderMap, ui_locales: Option<&str>) -> Self {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == PREFS_COOKIE)
            .map(|(_, value)| value);
        Self::resolve(cookie, ui_locales)
    }

    /// The cookie value.
    pub fn cookie_value(self) -> String {
        let code = self.lang.code();
        if self.care {
            format!("{code}-care")
        } else {
            code.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_come_from_the_cookie_then_ui_locales_then_zh() {
        let en = Lang::from_tag("en").expect("an English catalogue");
        let zh = Lang::from_tag("zh-CN").expect("a Chinese catalogue");
        let en_care = Prefs::new(en, true);
        assert_eq!(Prefs::resolve(Some("en-care"), Some("zh-CN")), en_care);
        assert_eq!(Prefs::resolve(Some("en-large"), None), en_care);
        assert!(en_care.lang.care());
        assert_eq!(Prefs::resolve(None, Some("fr en-GB")).lang, en);
        assert_eq!(Prefs::resolve(None, Some("fr")).lang, zh);
        assert_eq!(Prefs::resolve(None, None).lang, zh);
        assert_eq!(Prefs::resolve(Some("zh"), None).lang, zh);
        assert_eq!(Prefs::resolve(Some(&en_care.cookie_value()), None), en_care);
    }
}
