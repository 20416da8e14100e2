//! The client pages of the console: the list with its forms, the secret shown once,
//! and the confirmation.

use super::*;

/// The new-client form as typed.
#[derive(Clone, Debug, Default)]
pub struct ClientForm {
    /// Name.
    pub name: String,
    /// `portal` or `system`.
    pub kind: String,
    /// A portal's redirect URI.
    pub redirect_uri: String,
    /// Scopes, space-separated.
    pub scopes: String,
    /// Department id, for a department's system.
    pub department_id: String,
    /// A first-party portal (no consent page).
    pub first_party: bool,
}

/// A client as its row shows it.
#[derive(Clone, Debug)]
pub struct ClientLine {
    /// Client id.
    pub id: String,
    /// Name.
    pub name: String,
    /// A department's system (client credentials), not a portal.
    pub system: bool,
    /// Its department.
    pub department_id: Option<tongban_identity::subjects::DepartmentId>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Disabled.
    pub disabled: bool,
    /// Has a secret to rotate.
    pub has_secret: bool,
    /// Until when the previous secret works.
    pub previous_secret_until: Option<tongban_core::time::Timestamp>,
}

impl From<&tongban_identity::clients::Client> for ClientLine {
    fn from(c: &tongban_identity::clients::Client) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            system: c.allows_grant("client_credentials"),
            department_id: c.department_id,
            scopes: c.scopes.clone(),
            disabled: c.disabled_at.is_some(),
            has_secret: c.has_secret(),
            previous_secret_until: c.previous_secret_until,
        }
    }
}

struct ClientRow {
    id: String,
    name: String,
    kind: String,
    department: String,
    scopes: String,
    disabled: bool,
    has_secret: bool,
    grace: String,
    rotate_label: String,
    switch_label: String,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
struct ClientsPage<'a> {
    l: Lang,
    shell: Shell,
    csrf: &'a str,
    form: &'a ClientForm,
    system: bool,
    message: Option<Message>,
    rows: Vec<ClientRow>,
    departments: Vec<Choice>,
    graces: Vec<Choice>,
}

/// The clients, each with its rotation and switch, and the form for a new one.
pub fn clients(
    prefs: Prefs,
    (csrf, form): (&str, &ClientForm),
    (found, all): (&[ClientLine], &[Department]),
    message: Option<Message>,
    status: StatusCode,
) -> Response {
    let l = prefs.lang;
    let names: std::collections::HashMap<_, _> =
        all.iter().map(|d| (d.id, d.name.as_str())).collect();
    let now = tongban_core::time::Timestamp::now();
    let rows = found
        .iter()
        .map(|c| ClientRow {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: l.t(if c.system {
                "clients-kind-system"
            } else {
                "clients-kind-portal"
            }),
            department: c
                .department_id
                .and_then(|d| names.get(&d).map(|n| (*n).to_owned()))
                .unwrap_or_default(),
            scopes: c.scopes.join(" "),
            disabled: c.disabled,
            has_secret: c.has_secret,
            grace: c
                .previous_secret_until
                .filter(|until| *until > now)
                .map(|until| l.t1("clients-grace-until", "when", &when(until)))
                .unwrap_or_default(),
            rotate_label: l.t1("clients-rotate-named", "name", &c.name),
            switch_label: l.t1(
                if c.disabled {
                    "clients-enable-named"
                } else {
                    "clients-disable-named"
                },
                "name",
                &c.name,
            ),
        })
        .collect();
    let departments = all
        .iter()
        .map(|d| Choice {
            value: d.id.to_string(),
            label: format!("\u{2068}{}\u{2069}", d.name),
            selected: form.department_id == d.id.to_string(),
        })
        .collect();
    let graces = [
        (0, "clients-grace-none"),
        (3_600, "clients-grace-hour"),
        (86_400, "clients-grace-day"),
        (604_800, "clients-grace-week"),
    ]
    .into_iter()
    .map(|(seconds, id)| Choice {
        value: seconds.to_string(),
        label: l.t(id),
        selected: seconds == 86_400,
    })
    .collect();
    let page = ClientsPage {
        l,
        shell: Shell::new(prefs, "/console/clients", "clients-title").wide(),
        csrf,
        form,
        system: form.kind == "system",
        message,
        rows,
        departments,
        graces,
    };
    render(status, &page)
}

#[derive(Template)]
#[template(path = "console_client_secret.html")]
struct SecretPage<'a> {
    l: Lang,
    shell: Shell,
    id: &'a str,
    secret: &'a str,
    grace: String,
}

/// A client's secret, shown this once (after creation or a rotation).
pub fn client_secret(
    prefs: Prefs,
    id: &str,
    secret: &str,
    previous_until: Option<tongban_core::time::Timestamp>,
) -> Response {
    let l = prefs.lang;
    let page = SecretPage {
        l,
        shell: Shell::new(prefs, "/console/clients", "clients-secret-title"),
        id,
        secret,
        grace: previous_until
            .map(|until| l.t1("clients-grace-until", "when", &when(until)))
            .unwrap_or_default(),
    };
    render(StatusCode::OK, &page)
}

/// "Really rotate (disable, enable) this client?", posting `action` again.
pub fn confirm_client(
    prefs: Prefs,
    (csrf, action): (&str, &str),
    id: &str,
    (question, hidden): (&'static str, Vec<(&'static str, String)>),
) -> Response {
    let l = prefs.lang;
    let page = ConfirmPage {
        l,
        shell: Shell::new(prefs, "/console/clients", "clients-confirm-title"),
        question: l.t1(question, "id", id),
        action,
        csrf,
        hidden,
        back: "/console/clients".to_owned(),
    };
    render(StatusCode::OK, &page)
}
