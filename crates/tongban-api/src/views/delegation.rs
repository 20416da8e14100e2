//! The pages of relatives acting for a person (亲友代办): the relatives page under the
//! account (who may act for me, whom I may act for, what was done) and the choice, at
//! a portal's login, of whom the person signs in as.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use tongban_core::time::Timestamp;
use tongban_identity::delegation::acts::Act;
use tongban_identity::delegation::{Delegation, MAX_DAYS, Matter, Status};
use tongban_identity::subjects::SubjectId;

use super::esign::Message;
use super::layout::{Shell, render, when};
use crate::i18n::Lang;
use crate::prefs::Prefs;

struct Choice<'a> {
    id: &'a str,
    name: &'a str,
    until: String,
}

#[derive(Template)]
#[template(path = "act_for.html")]
struct ChoosePage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    client: &'a str,
    choices: Vec<Choice<'a>>,
}

/// The page where a person who may act for others chooses whom a portal's login is
/// for.
pub fn choose_actor(
    prefs: Prefs,
    csrf_token: &str,
    client_name: &str,
    choices: &[Delegation],
) -> Response {
    let page = ChoosePage {
        l: prefs.lang,
        shell: Shell::new(prefs, "/login", "act-choose-title"),
        csrf: csrf_token,
        client: client_name,
        choices: choices
            .iter()
            .map(|d| Choice {
                id: &d.id,
                name: &d.principal_name,
                until: when(d.valid_until),
            })
            .collect(),
    };
    render(StatusCode::OK, &page)
}

struct Row<'a> {
    id: &'a str,
    name: &'a str,
    matters: String,
    until: String,
    status: String,
    guardian: bool,
    counter: bool,
    offered: bool,
    open: bool,
}

struct ActRow<'a> {
    at: String,
    who: String,
    action: String,
    client: Option<&'a str>,
}

struct MatterBox {
    name: &'static str,
    /// The form field: `matter_` and this (several values under one name do not
    /// decode into a form struct).
    field: String,
    label: String,
}

#[derive(Template)]
#[template(path = "relatives.html")]
struct RelativesPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    message: Option<Message>,
    may_offer: bool,
    given: Vec<Row<'a>>,
    received: Vec<Row<'a>>,
    acts: Vec<ActRow<'a>>,
    matters: Vec<MatterBox>,
    max_days: i64,
}

/// What the relatives page shows.
pub struct RelativesView<'a> {
    /// The person.
    pub person: SubjectId,
    /// Form CSRF token.
    pub csrf: &'a str,
    /// A message.
    pub message: Option<Message>,
    /// The login may set up an authority (level 2, the person themself).
    pub may_offer: bool,
    /// Authorities the person gave.
    pub given: &'a [Delegation],
    /// Authorities the person received.
    pub received: &'a [Delegation],
    /// What was done under them.
    pub acts: &'a [Act],
    /// Now, to tell expired authorities.
    pub now: Timestamp,
}

pub(super) fn matters_text(l: Lang, matters: &[Matter]) -> String {
    let names: Vec<String> = matters
        .iter()
        .map(|m| l.t(&format!("matter-{}", m.name())))
        .collect();
    names.join(&l.t("list-separator"))
}

fn row<'a>(l: Lang, d: &'a Delegation, name: &'a str, now: Timestamp) -> Row<'a> {
    let status = d.state(now);
    Row {
        id: &d.id,
        name,
        matters: matters_text(l, &d.matters),
        until: when(d.valid_until),
        status: l.t(&format!("delegation-{status}")),
        guardian: d.kind == "guardian",
        counter: d.kind == "counter",
        // An assisted session is the person's to confirm, on their account page.
        offered: d.status == Status::Offered && d.kind != "counter" && now < d.valid_until,
        open: matches!(d.status, Status::Offered) || d.live(now),
    }
}

/// The relatives page.
pub fn relatives(prefs: Prefs, view: &RelativesView<'_>, status: StatusCode) -> Response {
    let l = prefs.lang;
    let acts = view
        .acts
        .iter()
        .map(|a| {
            let action = match a.action.as_str() {
                "sign-in" => l.t("act-sign-in"),
                other => other.to_owned(),
            };
            let who = if a.principal == view.person {
                l.t1("act-done-for-me", "name", &a.delegate_name)
            } else {
                l.t1("act-done-by-me", "name", &a.principal_name)
            };
            ActRow {
                at: when(a.at),
                who,
                action,
                client: a.client_name.as_deref(),
            }
        })
        .collect();
    let page = RelativesPage {
        l,
        shell: Shell::new(prefs, "/account/relatives", "relatives-title"),
        csrf: view.csrf,
        message: view.message,
        may_offer: view.may_offer,
        given: (view.given.iter())
            .map(|d| row(l, d, &d.delegate_name, view.now))
            .collect(),
        received: (view.received.iter())
            .map(|d| row(l, d, &d.principal_name, view.now))
            .collect(),
        acts,
        matters: Matter::ALL
            .iter()
            .map(|m| MatterBox {
                name: m.name(),
                field: m.name().replace('-', "_"),
                label: l.t(&format!("matter-{}", m.name())),
            })
            .collect(),
        max_days: MAX_DAYS,
    };
    render(status, &page)
}
