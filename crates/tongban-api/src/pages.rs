//! Server-rendered pages for people: login and errors. Plain HTML that works without
//! JavaScript, labelled fields, errors announced to screen readers (`role="alert"`),
//! one stylesheet from this origin and no inline scripts or styles (the page CSP
//! forbids them).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · 通办 Tongban</title>\n<link rel=\"stylesheet\" href=\"/static/tongban.css\">\n\
         </head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    )
}

/// The password login form of a login flow.
pub fn login(
    csrf_token: &str,
    login_hint: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let alert = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>登录 <span lang=\"en\">Sign in</span></h1>\n{alert}\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <p><label for=\"identifier\">身份证号或电子邮箱 <span lang=\"en\">ID number or e-mail</span></label>\n\
         <input id=\"identifier\" name=\"identifier\" autocomplete=\"username\" required value=\"{hint}\"></p>\n\
         <p><label for=\"password\">密码 <span lang=\"en\">Password</span></label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\n\
         <p><button type=\"submit\">登录 <span lang=\"en\">Sign in</span></button></p>\n</form>",
        csrf = escape(csrf_token),
        hint = escape(login_hint.unwrap_or("")),
    );
    (status, Html(page("登录", &body))).into_response()
}

/// An error page for requests that cannot be answered by redirecting (an unknown
/// client, an unregistered redirect URI, an expired form).
pub fn error(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p role=\"alert\">{}</p>",
        escape(title),
        escape(detail)
    );
    (status, Html(page(title, &body))).into_response()
}

/// The stylesheet of all pages: legible defaults, visible focus, large targets.
pub const STYLESHEET: &str = "\
body{font-family:system-ui,\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;font-size:1.125rem;\
line-height:1.6;margin:0;background:#f6f7f9;color:#1b1f24}\
main{max-width:32rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:.5rem}\
h1{font-size:1.6rem}label{display:block;font-weight:600}\
input{width:100%;box-sizing:border-box;font-size:1.125rem;padding:.6rem;border:2px solid #5b6570;border-radius:.25rem}\
button{font-size:1.125rem;padding:.7rem 1.5rem;background:#0b5cad;color:#fff;border:0;border-radius:.25rem}\
:focus-visible{outline:3px solid #d97706;outline-offset:2px}\
.error{color:#a4161a;font-weight:600}\
";
