//! The page shell every page extends (`templates/layout.html`): language, care mode,
//! the switch links, the title. And the one way pages write times.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tongban_core::time::Timestamp;

use crate::i18n::Lang;
use crate::prefs::Prefs;

/// A link of the page header that switches a preference and comes back.
pub(crate) struct SwitchLink {
    /// `/prefs?set=…&back=…`.
    pub href: String,
    /// The link's text, in the language it switches to.
    pub label: String,
    /// That language's tag, so speech reads the label right.
    pub lang: &'static str,
}

/// What the layout shows around every page.
pub(crate) struct Shell {
    /// The page's title (before the site's name).
    pub title: String,
    /// Care mode (关怀模式).
    pub care: bool,
    /// One link per other language.
    pub languages: Vec<SwitchLink>,
    /// The link to the other mode.
    pub mode: SwitchLink,
    /// A page of tables (the console): wider than a page of forms.
    pub wide: bool,
}

impl Shell {
    /// The shell of a page titled by catalogue id `title_id`; the switch links return to
    /// `back`, a path on this site.
    pub fn new(prefs: Prefs, back: &str, title_id: &str) -> Self {
        let l = prefs.lang;
        let switch = |to: Prefs| {
            serde_urlencoded::to_string([("set", to.cookie_value().as_str()), ("back", back)])
                .map(|query| format!("/prefs?{query}"))
                .unwrap_or_else(|_| "/prefs".to_owned())
        };
        let languages = Lang::all()
            .filter(|other| other.tag() != l.tag())
            .map(|other| SwitchLink {
                href: switch(Prefs::new(other, prefs.care)),
                label: other.t("language-name"),
                lang: other.tag(),
            })
            .collect();
        let mode = SwitchLink {
            href: switch(Prefs::new(l, !prefs.care)),
            label: l.t(if prefs.care {
                "standard-mode"
            } else {
                "care-mode"
            }),
            lang: l.tag(),
        };
        Self {
            title: l.t(title_id),
            care: prefs.care,
            languages,
            mode,
            wide: false,
        }
    }

    /// The same shell for a page of tables.
    pub fn wide(mut self) -> Self {
        self.wide = true;
        self
    }

    /// The body's classes: `care` in care mode, `wide` on pages of tables.
    pub fn body_class(&self) -> String {
        let classes: Vec<&str> = [(self.care, "care"), (self.wide, "wide")]
            .into_iter()
            .filter_map(|(on, class)| on.then_some(class))
            .collect();
        classes.join(" ")
    }
}

/// The response of a rendered page.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(text) => (status, Html(text)).into_response(),
        // Only a failing Display of a value can get here; none of ours fails.
        Err(error) => {
            tracing::error!(%error, "page template");
            crate::problem::ApiError::new(
                crate::problem::ProblemType::Internal,
                "the page could not be rendered",
            )
            .into_response()
        }
    }
}

/// Beijing time (UTC+8), minutes, for lists people read.
/// [`when`] to the second: for the moment a status is known as of.
pub(crate) fn when_to_the_second(at: Timestamp) -> String {
    let seconds = at.to_offset_date_time().second();
    format!("{}:{seconds:02}", when(at))
}

pub(crate) fn when(at: Timestamp) -> String {
    let china = time::UtcOffset::from_hms(8, 0, 0).unwrap_or(time::UtcOffset::UTC);
    let t = at.to_offset_date_time().to_offset(china);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// Where an act stands in the transparency log, in a sentence.
pub(crate) fn log_text(l: Lang, proven: Option<&tongban_ledger::Proven>) -> String {
    match proven {
        None => l.t("log-not-found"),
        Some(p) => match (p.index, p.verified) {
            (None, _) => l.t("log-entry-pending"),
            (Some(index), true) => l.t1("log-entry-verified", "index", &index.to_string()),
            (Some(_), false) => l.t("log-entry-unverified"),
        },
    }
}
