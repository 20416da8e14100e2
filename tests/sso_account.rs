//! The account page and the pages' preferences through the real router: a person
//! ends other sessions or all of them and changes the password; pages switch language
//! and text size, and the switch never sends anyone off-site.

#![allow(clippy::unwrap_used)]

mod support;

use support::hidden_values;
use support::sso_world::*;
use support::{PASSWORD, csrf_of, location, query_param, set_cookie};

#[tokio::test]
async fn the_account_page_ends_sessions_and_changes_the_password() {
    let w = world().await;
    let first = session_cookie(&w, PASSWORD).await;
    let second = session_cookie(&w, PASSWORD).await;
    let cookies = format!("__Host-tongban-session={first}");
    let html = browser_get(&w, "/account", &cookies)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("当前会话") && html.contains("张三"), "{html}");
    let others = hidden_values(&html, "session_id");
    assert_eq!(others.len(), 1, "one other session: {html}");
    let csrf = csrf_of(&html);

    let ended = browser_post(
        &w,
        "/account/sessions/end",
        &cookies,
        &[("csrf_token", &csrf), ("session_id", &others[0])],
    )
    .await;
    assert_eq!(ended.status(), 303);
    let second_gone = browser_get(
        &w,
        &authorize_url(&w.portal, "&prompt=none"),
        &format!("__Host-tongban-session={second}"),
    )
    .await;
    assert_eq!(
        query_param(&location(&second_gone), "error").as_deref(),
        Some("login_required")
    );

    let change = async |current: &str, new: &str, confirm: &str| {
        browser_post(
            &w,
            "/account/password",
            &cookies,
            &[
                ("csrf_token", csrf.as_str()),
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
    };
    const NEW: &str = "rivers run east to the sea";
    assert_eq!(change("wrong password", NEW, NEW).await.status(), 401);
    assert_eq!(change(PASSWORD, NEW, "something else").await.status(), 422);
    let common = change(PASSWORD, "password123", "password123").await;
    assert_eq!(common.status(), 422);
    assert!(common.text().await.unwrap().contains("role=\"alert\""));
    let changed = change(PASSWORD, NEW, NEW).await;
    assert_eq!(changed.status(), 200);
    assert!(changed.text().await.unwrap().contains("密码已修改"));
    let (flow, form_csrf) = open_form(&w, &w.portal).await;
    assert_eq!(
        post_login(&w, &flow, Some(&form_csrf), PASSWORD)
            .await
            .status(),
        401
    );
    let _ = session_cookie(&w, NEW).await;

    // Sign out everywhere: this session too.
    let all = browser_post(
        &w,
        "/account/sessions/end-all",
        &cookies,
        &[("csrf_token", &csrf)],
    )
    .await;
    assert_eq!(all.status(), 303);
    assert!(
        all.headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("__Host-tongban-session=;"))
    );
    // Without a session the account page is the login form, which returns there.
    let login = browser_get(&w, "/account", &cookies).await;
    let flow = set_cookie(&login, "__Host-tongban-flow").unwrap();
    let login_csrf = csrf_of(&login.text().await.unwrap());
    let back = browser_post(
        &w,
        "/login",
        &format!("__Host-tongban-flow={flow}"),
        &[
            ("csrf_token", login_csrf.as_str()),
            ("identifier", "zhang.san@example.cn"),
            ("password", NEW),
        ],
    )
    .await;
    assert_eq!(back.status(), 303);
    assert_eq!(location(&back), "/account");
    w.server.stop().await;
}

#[tokio::test]
async fn pages_switch_language_and_text_size() {
    let w = world().await;
    let english = w
        .server
        .get(&authorize_url(&w.portal, "&ui_locales=en-GB"))
        .await;
    let flow = set_cookie(&english, "__Host-tongban-flow").unwrap();
    let html = english.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"en\">") && html.contains("Sign in"),
        "{html}"
    );
    assert!(html.contains("<label for=\"identifier\">"));

    let switch = w.server.get("/prefs?set=zh-care&back=/login").await;
    assert_eq!(switch.status(), 303);
    assert_eq!(location(&switch), "/login");
    let prefs = set_cookie(&switch, "__Host-tongban-prefs").unwrap();
    let again = browser_get(
        &w,
        "/login",
        &format!("__Host-tongban-flow={flow}; __Host-tongban-prefs={prefs}"),
    )
    .await;
    let html = again.text().await.unwrap();
    assert!(
        html.contains("<html lang=\"zh-CN\">") && html.contains("class=\"care\""),
        "{html}"
    );

    // The switch never sends anyone off-site.
    for back in [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
    ] {
        let path = format!(
            "/prefs?{}",
            serde_urlencoded::to_string([("set", "en"), ("back", back)]).unwrap()
        );
        assert_eq!(location(&w.server.get(&path).await), "/account", "{back}");
    }
    w.server.stop().await;
}
