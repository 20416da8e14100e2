//! The public certificate verification page a QR code or share link opens
//! (`/verify/c/{token}`), for non-experts, in zh-CN and English. Opening the link shows
//! a button; only pressing it uses the share, so link previews and prefetchers cannot
//! spend a single-use share.

use axum::http::StatusCode;
use axum::response::Response;
use tongban_ecert::verify::Report;

use crate::pages::{Lang, Prefs, escape, html, page, when};

struct Texts {
    title: &'static str,
    intro: &'static str,
    button: &'static str,
    valid: &'static str,
    invalid: &'static str,
    certificate: &'static str,
    identifier: &'static str,
    issuer: &'static str,
    holder: &'static str,
    validity: &'static str,
    until_revoked: &'static str,
    status: &'static str,
    shared_with: &'static str,
    fields: &'static str,
    refused: &'static str,
    in_force: &'static str,
    not_in_force: &'static str,
    status_note: &'static str,
    my_certificates: &'static str,
    no_certificates: &'static str,
    accesses: &'static str,
    no_accesses: &'static str,
    via_share: &'static str,
    via_lookup: &'static str,
    share: &'static str,
    audience: &'static str,
    audience_help: &'static str,
    purpose: &'static str,
    days: &'static str,
    single_use: &'static str,
    create_share: &'static str,
    shared_title: &'static str,
    shared_intro: &'static str,
    link: &'static str,
    code: &'static str,
    expires: &'static str,
    back: &'static str,
    download: &'static str,
}

const ZH: Texts = Texts {
    title: "电子证照核验",
    intro: "持证人与您分享了一份电子证照。核验会记入持证人的查看记录。",
    button: "核验电子证照",
    valid: "有效：证照真实，且目前有效。",
    invalid: "无效：请勿采信此证照。",
    certificate: "证照",
    identifier: "证照标识",
    issuer: "签发部门",
    holder: "持证人",
    validity: "有效期",
    until_revoked: "长期有效",
    status: "状态",
    shared_with: "分享对象与用途",
    fields: "分享的内容",
    refused: "无法核验",
    in_force: "此证照目前有效。",
    not_in_force: "此证照目前无效：请勿采信。",
    my_certificates: "我的电子证照",
    no_certificates: "暂无电子证照。",
    accesses: "谁查看了我的证照",
    no_accesses: "尚无查看记录。",
    via_share: "通过分享",
    via_lookup: "部门查询",
    share: "分享",
    audience: "分享给谁",
    audience_help: "例如：某某银行、某某公司人事部",
    purpose: "用途",
    days: "有效天数（1 至 30）",
    single_use: "只能使用一次",
    create_share: "生成分享",
    shared_title: "分享已生成",
    shared_intro: "把链接、二维码或分享码交给对方。每次核验都会记入您的查看记录；您可以随时撤销分享。",
    link: "链接",
    code: "分享码",
    expires: "有效至",
    back: "返回我的账户",
    download: "下载盖章 PDF",
    status_note: "此页面只显示证照状态。核对纸面内容请上传盖章的 PDF 至“文件验证”页面，或请持证人分享证照。",
};

const EN: Texts = Texts {
    title: "Verify an e-certificate",
    intro: "A holder shared an e-certificate with you. The holder will see this verification.",
    button: "Verify the certificate",
    valid: "Valid: the certificate is genuine and in force.",
    invalid: "Not valid: do not rely on this certificate.",
    certificate: "Certificate",
    identifier: "Identifier",
    issuer: "Issued by",
    holder: "Holder",
    validity: "Valid",
    until_revoked: "until revoked",
    status: "Status",
    shared_with: "Shared with, for",
    fields: "What was shared",
    refused: "Cannot verify",
    in_force: "This certificate is in force.",
    not_in_force: "This certificate is not in force: do not rely on it.",
    my_certificates: "My e-certificates",
    no_certificates: "No e-certificates yet.",
    accesses: "Who looked at my certificates",
    no_accesses: "Nobody has looked at them yet.",
    via_share: "through a share",
    via_lookup: "department lookup",
    share: "Share",
    audience: "Share with",
    audience_help: "e.g. a bank, an employer's HR department",
    purpose: "Purpose",
    days: "Days it stays valid (1 to 30)",
    single_use: "Works once only",
    create_share: "Create the share",
    shared_title: "Share created",
    shared_intro: "Give the link, the QR code or the code to the one it is for. Every verification shows in your account; you can revoke the share at any time.",
    link: "Link",
    code: "Code",
    expires: "Valid until",
    back: "Back to my account",
    download: "Download the sealed PDF",
    status_note: "This page shows the status only. To check what a copy says, upload the sealed PDF on the document verification page, or ask the holder to share the certificate.",
};

fn texts(prefs: Prefs) -> &'static Texts {
    match prefs.lang {
        Lang::Zh => &ZH,
        Lang::En => &EN,
    }
}

/// The page a share link opens: what it is, and the button that verifies.
pub fn confirm(prefs: Prefs, token: &str) -> Response {
    let t = texts(prefs);
    let path = format!("/verify/c/{token}");
    let body = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n<form method=\"post\" action=\"{path}\">\n\
         <p><button type=\"submit\">{button}</button></p>\n</form>",
        title = escape(t.title),
        intro = escape(t.intro),
        path = escape(&path),
        button = escape(t.button),
    );
    html(StatusCode::OK, page(prefs, &path, t.title, &body))
}

/// The report, plainly: one verdict, then the facts.
pub fn report(prefs: Prefs, token: &str, report: &Report) -> Response {
    let t = texts(prefs);
    let (class, verdict) = if report.valid {
        ("passed", t.valid)
    } else {
        ("failed", t.invalid)
    };
    let mut facts = String::new();
    let mut fact = |label: &str, value: &str| {
        facts.push_str(&format!(
            "<dt>{}</dt><dd>{}</dd>",
            escape(label),
            escape(value)
        ));
    };
    if let Some(c) = &report.certificate {
        let name = if prefs.lang == Lang::Zh {
            &c.type_name_zh
        } else {
            &c.type_name_en
        };
        fact(t.certificate, name);
        fact(t.identifier, &c.identifier);
        let until = c.valid_until.map(when);
        fact(
            t.validity,
            &format!(
                "{} – {}",
                when(c.valid_from),
                until.as_deref().unwrap_or(t.until_revoked)
            ),
        );
        let (uscc, name) = &c.issuer;
        fact(t.issuer, &format!("{name} ({uscc})"));
        fact(t.holder, &c.holder_name);
    }
    fact(t.status, &report.status);
    if let Some(share) = &report.share {
        fact(
            t.shared_with,
            &format!("{} · {}", share.audience, share.purpose),
        );
    }
    let mut fields = String::new();
    if let Some(map) = report.fields.as_object() {
        for (k, v) in map {
            let value = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            fields.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(k),
                escape(&value)
            ));
        }
    }
    let notes: String = report
        .messages
        .iter()
        .map(|m| format!("<li lang=\"en\">{}</li>", escape(m)))
        .collect();
    let body = format!(
        "<h1>{title}</h1>\n<p class=\"verdict {class}\" role=\"status\"><strong>{verdict}</strong></p>\n\
         <dl>{facts}</dl>\n<h2>{fields_title}</h2>\n<dl>{fields}</dl>\n<ul class=\"notes\">{notes}</ul>",
        title = escape(t.title),
        verdict = escape(verdict),
        fields_title = escape(t.fields),
    );
    let path = format!("/verify/c/{token}");
    html(StatusCode::OK, page(prefs, &path, t.title, &body))
}

/// A share or identifier that cannot be verified (expired, revoked, used up, unknown);
/// `back` is the page's own path.
pub fn refused(prefs: Prefs, back: &str, status: StatusCode, detail: &str) -> Response {
    let t = texts(prefs);
    let body = format!(
        "<h1>{title}</h1>\n<p class=\"verdict failed\" role=\"alert\">{detail}</p>",
        title = escape(t.refused),
        detail = escape(detail),
    );
    html(status, page(prefs, back, t.refused, &body))
}

/// The public status of a printed certificate (what its QR code opens).
pub fn status(prefs: Prefs, status: &tongban_ecert::verify::PublicStatus) -> Response {
    let t = texts(prefs);
    let in_force = status.status == "active";
    let (class, verdict) = if in_force {
        ("passed", t.in_force)
    } else {
        ("failed", t.not_in_force)
    };
    let until = status.valid_until.map(when);
    let name = if prefs.lang == Lang::Zh {
        &status.type_name.0
    } else {
        &status.type_name.1
    };
    let facts: String = [
        (t.certificate, name.clone()),
        (t.identifier, status.identifier.clone()),
        (
            t.issuer,
            format!("{} ({})", status.issuer.1, status.issuer.0),
        ),
        (
            t.validity,
            format!(
                "{} – {}",
                when(status.valid_from),
                until.as_deref().unwrap_or(t.until_revoked)
            ),
        ),
        (t.status, status.status.clone()),
    ]
    .iter()
    .map(|(label, value)| format!("<dt>{}</dt><dd>{}</dd>", escape(label), escape(value)))
    .collect();
    let body = format!(
        "<h1>{title}</h1>\n<p class=\"verdict {class}\" role=\"status\"><strong>{verdict}</strong></p>\n\
         <dl>{facts}</dl>\n<p>{note}</p>",
        title = escape(t.title),
        verdict = escape(verdict),
        note = escape(t.status_note),
    );
    let path = format!("/verify/i/{}", status.identifier);
    html(StatusCode::OK, page(prefs, &path, t.title, &body))
}

/// The form that shares one certificate (all its face fields) from the account page.
fn share_form(t: &Texts, csrf: &str, certificate: &str) -> String {
    let id = escape(certificate);
    format!(
        "<details><summary>{share}</summary>\n\
         <form method=\"post\" action=\"/account/certificates/share\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"certificate_id\" value=\"{id}\">\n\
         <p><label for=\"audience-{id}\">{audience}</label>\n\
         <span class=\"help\" id=\"audience-help-{id}\">{audience_help}</span>\n\
         <input id=\"audience-{id}\" name=\"audience\" required maxlength=\"200\" aria-describedby=\"audience-help-{id}\"></p>\n\
         <p><label for=\"purpose-{id}\">{purpose}</label>\n\
         <input id=\"purpose-{id}\" name=\"purpose\" required maxlength=\"500\"></p>\n\
         <p><label for=\"days-{id}\">{days}</label>\n\
         <input id=\"days-{id}\" name=\"days\" type=\"number\" min=\"1\" max=\"30\" value=\"7\" required></p>\n\
         <p><input id=\"once-{id}\" name=\"single_use\" type=\"checkbox\" value=\"1\">\n\
         <label for=\"once-{id}\">{single_use}</label></p>\n\
         <p><button type=\"submit\">{create}</button></p>\n</form></details>",
        share = escape(t.share),
        csrf = escape(csrf),
        audience = escape(t.audience),
        audience_help = escape(t.audience_help),
        purpose = escape(t.purpose),
        days = escape(t.days),
        single_use = escape(t.single_use),
        create = escape(t.create_share),
    )
}

/// What a share made on the account page gives the holder to pass on.
pub struct Shared<'a> {
    /// The verification link.
    pub link: &'a str,
    /// The short code.
    pub code: &'a str,
    /// The link as a QR code (SVG).
    pub qr_svg: &'a str,
    /// End of validity.
    pub expires_at: tongban_core::time::Timestamp,
}

/// The page after a share was made on the account page.
pub fn shared(prefs: Prefs, shared: &Shared<'_>) -> Response {
    let t = texts(prefs);
    let body = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n<dl><dt>{link_label}</dt><dd><a href=\"{link}\">{link}</a></dd>\
         <dt>{code_label}</dt><dd><code>{code}</code></dd><dt>{expires_label}</dt><dd>{expires}</dd></dl>\n\
         <figure role=\"img\" aria-label=\"{link_label}: {link}\">{qr}</figure>\n\
         <p><a href=\"/account\">{back}</a></p>",
        title = escape(t.shared_title),
        intro = escape(t.shared_intro),
        link_label = escape(t.link),
        link = escape(shared.link),
        code_label = escape(t.code),
        code = escape(shared.code),
        expires_label = escape(t.expires),
        expires = when(shared.expires_at),
        // Made by us from the link (qrcode's SVG renderer): no markup of anyone else's.
        qr = shared
            .qr_svg
            .replacen("<svg ", "<svg width=\"240\" height=\"240\" ", 1),
        back = escape(t.back),
    );
    html(
        StatusCode::CREATED,
        page(prefs, "/account/certificates/share", t.shared_title, &body),
    )
}

/// The account page's section on e-certificates: each certificate with its status, and
/// every recent access (who, when, why).
pub fn account_section(
    prefs: Prefs,
    csrf: &str,
    certificates: &[tongban_ecert::register::Certificate],
    accesses: &[tongban_ecert::holder::Access],
) -> String {
    let t = texts(prefs);
    let now = tongban_core::time::Timestamp::now();
    let list = if certificates.is_empty() {
        format!("<p>{}</p>", escape(t.no_certificates))
    } else {
        let items: String = certificates
            .iter()
            .map(|c| {
                let name = if prefs.lang == Lang::Zh {
                    &c.type_name_zh
                } else {
                    &c.type_name_en
                };
                let share = if c.status_at(now) == "active" {
                    format!(
                        " <a href=\"/account/certificates/{}/pdf\">{}</a>{}",
                        escape(&c.id),
                        escape(t.download),
                        share_form(t, csrf, &c.id)
                    )
                } else {
                    String::new()
                };
                format!(
                    "<li><strong>{}</strong> · {} · {} <span class=\"help\">{}</span>{share}</li>",
                    escape(name),
                    escape(c.status_at(now)),
                    when(c.issued_at),
                    escape(&c.identifier)
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    let log = if accesses.is_empty() {
        format!("<p>{}</p>", escape(t.no_accesses))
    } else {
        let items: String = accesses
            .iter()
            .map(|a| {
                let channel = if a.channel == "share" {
                    t.via_share
                } else {
                    t.via_lookup
                };
                format!(
                    "<li>{} · <strong>{}</strong> ({}) · {} <span class=\"help\">{}</span></li>",
                    when(a.at),
                    escape(&a.accessor),
                    escape(channel),
                    escape(&a.purpose),
                    escape(&a.identifier)
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    format!(
        "<section aria-labelledby=\"h-certificates\"><h2 id=\"h-certificates\">{}</h2>\n{list}\n\
         <h3>{}</h3>\n{log}</section>\n",
        escape(t.my_certificates),
        escape(t.accesses),
    )
}
