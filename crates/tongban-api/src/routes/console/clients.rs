//! Clients in the console, for platform administrators signed in at level 3: the
//! portals and department systems, a new one (its secret shown once), a secret rotated
//! with a grace period, a client disabled or enabled again after a confirmation.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongban_core::time::Timestamp;
use tongban_identity::admin::{self, AdminError};
use tongban_identity::client_lifecycle;
use tongban_identity::clients::{ClientError, NewClient};
use tongban_identity::console::Desk;
use tongban_identity::sso;
use tongban_identity::subjects::DepartmentId;

use super::{administering, administering_form, refused_as};
use crate::extract::PageQuery;
use crate::prefs::Prefs;
use crate::routes::session_form::{CsrfProtected, SessionForm};
use crate::routes::web::{self, store_page};
use crate::state::AppState;
use crate::views::console::{self as view, ClientForm, ClientLine};
use crate::views::esign::Message;

/// Grace periods a rotation offers, in seconds: none, an hour, a day, a week.
const GRACES: [i64; 4] = [0, 3_600, 86_400, 604_800];

/// The page for a refused client form.
fn client_refusal(prefs: Prefs, desk: &Desk, error: AdminError) -> Response {
    let (id, status) = match &error {
        AdminError::Client(ClientError::Invalid { .. }) => {
            ("clients-invalid", StatusCode::UNPROCESSABLE_ENTITY)
        }
        AdminError::Client(ClientError::NoSecret) => ("clients-no-secret", StatusCode::CONFLICT),
        AdminError::Client(ClientError::GraceRunning { .. }) => {
            ("clients-grace-running", StatusCode::CONFLICT)
        }
        AdminError::Subject(tongban_identity::subjects::SubjectError::NotFound(_)) => {
            ("clients-unknown", StatusCode::NOT_FOUND)
        }
        _ => return store_page(error),
    };
    refused_as(prefs, Some(desk), id, status)
}

/// What the last form did.
#[derive(Deserialize, Default)]
pub struct ClientsQuery {
    #[serde(default)]
    done: String,
}

/// The clients, with a form for a new one and each one's rotation and switch.
#[utoipa::path(get, path = "/console/clients", tag = "console",
    responses(
        (status = 200, description = "the clients", content_type = "text/html"),
        (status = 303, description = "not signed in: to the account page"),
        (status = 403, description = "not a platform administrator at level 3", content_type = "text/html"),
    ))]
pub async fn clients_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    PageQuery(query): PageQuery<ClientsQuery>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (mut conn, cookie, _, admin) = match administering(&state, &headers, prefs).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let message = match query.done.as_str() {
        "disabled" => Some(Message::news("clients-done-disabled")),
        "enabled" => Some(Message::news("clients-done-enabled")),
        _ => None,
    };
    let found = match admin::clients(&mut conn, &admin).await {
        Ok(found) => found,
        Err(error) => return store_page(error),
    };
    let departments = match admin::departments(&mut conn, &admin).await {
        Ok(all) => all,
        Err(error) => return store_page(error),
    };
    let csrf = sso::session_csrf(&cookie);
    let form = ClientForm::default();
    let lines: Vec<ClientLine> = found.iter().map(ClientLine::from).collect();
    web::no_store(view::clients(
        prefs,
        (&csrf, &form),
        (&lines, &departments),
        message,
        StatusCode::OK,
    ))
}

/// A new client, as posted.
#[derive(Deserialize)]
pub struct NewClientForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    name: String,
    /// `portal` (people sign in there) or `system` (a department's own program).
    #[serde(default)]
    kind: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    department_id: String,
    #[serde(default)]
    first_party: String,
}

impl CsrfProtected for NewClientForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Registers a client; its secret is on the answer page only, once.
#[utoipa::path(post, path = "/console/clients", tag = "console",
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, name, kind=portal|system, redirect_uri, scopes, department_id, first_party=yes"),
    responses(
        (status = 200, description = "created: the page with its secret, shown once", content_type = "text/html"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 422, description = "a field is invalid: the form again, with the reason", content_type = "text/html"),
    ))]
pub async fn console_create_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<NewClientForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (_, desk, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let portal = form.kind != "system";
    let department = match form.department_id.trim() {
        "" => None,
        id => match id.parse::<DepartmentId>() {
            Ok(id) => Some(id),
            Err(_) => return client_refusal(prefs, &desk, invalid("department_id")),
        },
    };
    let scopes: Vec<String> = form.scopes.split_whitespace().map(str::to_owned).collect();
    let new = NewClient {
        name: form.name.trim().to_owned(),
        confidential: true,
        redirect_uris: if portal {
            vec![form.redirect_uri.trim().to_owned()]
        } else {
            Vec::new()
        },
        scopes,
        grant_types: if portal {
            vec!["authorization_code".into(), "refresh_token".into()]
        } else {
            vec!["client_credentials".into()]
        },
        first_party: portal && form.first_party == "yes",
        department_id: department,
        ..NewClient::default()
    };
    let created = state
        .store
        .transaction::<_, AdminError>(async |tx| admin::create_client(tx, &admin, &new).await)
        .await;
    let csrf = sso::session_csrf(&cookie);
    match created {
        Ok((client, secret)) => web::no_store(view::client_secret(
            prefs,
            &client.id,
            secret.as_deref().unwrap_or_default(),
            None,
        )),
        Err(AdminError::Client(ClientError::Invalid { .. })) => {
            let typed = ClientForm {
                name: form.name.clone(),
                kind: form.kind.clone(),
                redirect_uri: form.redirect_uri.clone(),
                scopes: form.scopes.clone(),
                department_id: form.department_id.clone(),
                first_party: form.first_party == "yes",
            };
            let mut conn = match state.store.conn().await {
                Ok(conn) => conn,
                Err(error) => return store_page(error),
            };
            let listed = admin::clients(&mut conn, &admin).await;
            let departments = admin::departments(&mut conn, &admin).await;
            match (listed, departments) {
                (Ok(found), Ok(departments)) => web::no_store(view::clients(
                    prefs,
                    (&csrf, &typed),
                    (
                        &found.iter().map(ClientLine::from).collect::<Vec<_>>(),
                        &departments,
                    ),
                    Some(Message::error("clients-invalid")),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )),
                (Err(error), _) | (_, Err(error)) => store_page(error),
            }
        }
        Err(error) => client_refusal(prefs, &desk, error),
    }
}

fn invalid(field: &'static str) -> AdminError {
    AdminError::Client(ClientError::Invalid {
        field,
        reason: "not one of the choices".into(),
    })
}

/// A rotation or a switch, asked first (`confirm=yes` does it).
#[derive(Deserialize)]
pub struct ClientChangeForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    confirm: String,
    /// For a rotation: how long the old secret keeps working, in seconds.
    #[serde(default)]
    grace_seconds: String,
}

impl CsrfProtected for ClientChangeForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Rotates a client's secret (after a confirmation page): the new secret is shown
/// once; the old one keeps working for the grace period chosen.
#[utoipa::path(post, path = "/console/clients/{id}/secret", tag = "console",
    params(("id" = String, Path, description = "the client's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, grace_seconds=0|3600|86400|604800, confirm=yes"),
    responses(
        (status = 200, description = "the confirmation page, or the new secret shown once", content_type = "text/html"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such client", content_type = "text/html"),
        (status = 409, description = "the client has no secret", content_type = "text/html"),
        (status = 422, description = "no such grace period", content_type = "text/html"),
    ))]
pub async fn console_rotate_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ClientChangeForm>,
) -> Response {
    let prefs = web::prefs(&headers, None);
    let (_, desk, admin) = match administering_form(&state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let Some(grace) = form
        .grace_seconds
        .parse::<i64>()
        .ok()
        .filter(|g| GRACES.contains(g))
    else {
        return client_refusal(prefs, &desk, invalid("grace_seconds"));
    };
    if form.confirm != "yes" {
        let csrf = sso::session_csrf(&cookie);
        let action = format!("/console/clients/{id}/secret");
        let page = view::confirm_client(
            prefs,
            (&csrf, &action),
            &id,
            (
                "clients-confirm-rotate",
                vec![("grace_seconds", grace.to_string())],
            ),
        );
        return web::no_store(page);
    }
    let now = Timestamp::now();
    let rotated = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            client_lifecycle::rotate_secret(tx, &admin, &id, Some(grace), now).await
        })
        .await;
    match rotated {
        Ok((client, secret)) => {
            // This instance knows at once; the others within the client cache's seconds.
            // The secret is committed: a failed refresh must not hide it (it is shown
            // only here), the cache catches up by itself.
            if let Err(error) = state.clients.fresh(&id).await {
                tracing::warn!(%error, client = %id, "client cache refresh after a rotation");
            }
            web::no_store(view::client_secret(
                prefs,
                &client.id,
                &secret,
                client.previous_secret_until,
            ))
        }
        Err(error) => client_refusal(prefs, &desk, error),
    }
}

async fn switch(
    state: &AppState,
    headers: &HeaderMap,
    (id, disabled): (&str, bool),
    SessionForm {
        session,
        cookie,
        form,
    }: SessionForm<ClientChangeForm>,
) -> Response {
    let prefs = web::prefs(headers, None);
    let (_, desk, admin) = match administering_form(state, prefs, &session).await {
        Ok(found) => found,
        Err(page) => return page,
    };
    let verb = if disabled { "disable" } else { "enable" };
    if form.confirm != "yes" {
        let csrf = sso::session_csrf(&cookie);
        let action = format!("/console/clients/{id}/{verb}");
        let question = if disabled {
            "clients-confirm-disable"
        } else {
            "clients-confirm-enable"
        };
        let page = view::confirm_client(prefs, (&csrf, &action), id, (question, Vec::new()));
        return web::no_store(page);
    }
    let now = Timestamp::now();
    let changed = state
        .store
        .transaction::<_, AdminError>(async |tx| {
            client_lifecycle::set_disabled(tx, &admin, id, disabled, now).await
        })
        .await;
    match changed {
        Ok(_) => match state.clients.fresh(id).await {
            Ok(_) => web::see_other(&format!("/console/clients?done={verb}d")),
            Err(error) => store_page(error),
        },
        Err(error) => client_refusal(prefs, &desk, error),
    }
}

/// Disables a client (after a confirmation page): unknown to every endpoint, its
/// refresh tokens revoked, its access tokens refused.
#[utoipa::path(post, path = "/console/clients/{id}/disable", tag = "console",
    params(("id" = String, Path, description = "the client's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, confirm=yes"),
    responses(
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the clients"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such client", content_type = "text/html"),
    ))]
pub async fn console_disable_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: SessionForm<ClientChangeForm>,
) -> Response {
    switch(&state, &headers, (&id, true), form).await
}

/// Enables a disabled client again (after a confirmation page).
#[utoipa::path(post, path = "/console/clients/{id}/enable", tag = "console",
    params(("id" = String, Path, description = "the client's id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "csrf_token, confirm=yes"),
    responses(
        (status = 200, description = "the confirmation page (without confirm=yes)", content_type = "text/html"),
        (status = 303, description = "done: back to the clients"),
        (status = 400, description = "a form no page sends: an error page", content_type = "text/html"),
        (status = 403, description = "not a platform administrator at level 3, or no session or a foreign CSRF token", content_type = "text/html"),
        (status = 404, description = "no such client", content_type = "text/html"),
    ))]
pub async fn console_enable_client(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: SessionForm<ClientChangeForm>,
) -> Response {
    switch(&state, &headers, (&id, false), form).await
}
