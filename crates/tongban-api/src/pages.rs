//! Server-rendered pages for people: login, consent, account and errors. Plain HTML
//! that works without JavaScript, labelled fields, errors announced to screen readers
//! (`role="alert"`), one stylesheet from this origin and no inline scripts or styles
//! (the page CSP forbids them). zh-CN by default, English on request, and a large-text
//! mode, chosen with links that set a preferences cookie.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tongban_core::time::Timestamp;

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

/// Page language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// 简体中文, the default.
    Zh,
    /// English.
    En,
}

/// A person's page preferences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefs {
    /// Language.
    pub lang: Lang,
    /// Large text and targets.
    pub large: bool,
}

/// The preferences cookie. Not secret, but `__Host-` keeps other hosts from setting it.
pub const PREFS_COOKIE: &str = "__Host-tongban-prefs";

impl Prefs {
    /// From the cookie (`zh`, `en`, `zh-large`, `en-large`); without one, the first
    /// supported language of `ui_locales`; otherwise zh-CN, standard text.
    pub fn resolve(cookie: Option<&str>, ui_locales: Option<&str>) -> Self {
        if let Some(value) = cookie {
            let (lang, large) = match value.split_once('-') {
                Some((lang, "large")) => (lang, true),
                _ => (value, false),
            };
            return Self {
                lang: if lang == "en" { Lang::En } else { Lang::Zh },
                large,
            };
        }
        let lang = ui_locales
            .unwrap_or("")
            .split_whitespace()
            .find_map(|tag| {
                let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
                match primary.as_str() {
                    "zh" => Some(Lang::Zh),
                    "en" => Some(Lang::En),
                    _ => None,
                }
            })
            .unwrap_or(Lang::Zh);
        Self { lang, large: false }
    }

    /// The cookie value.
    pub fn cookie_value(self) -> String {
        let lang = match self.lang {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        if self.large {
            format!("{lang}-large")
        } else {
            lang.to_owned()
        }
    }

    fn t(self) -> &'static Texts {
        match self.lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

/// Every sentence of the pages, per language.
struct Texts {
    html_lang: &'static str,
    site: &'static str,
    other_language: &'static str,
    other_language_tag: &'static str,
    large_text: &'static str,
    standard_text: &'static str,
    sign_in: &'static str,
    identifier: &'static str,
    identifier_help: &'static str,
    organisation: &'static str,
    organisation_help: &'static str,
    password: &'static str,
    consent_title: &'static str,
    consent_intro: &'static str,
    allow: &'static str,
    deny: &'static str,
    account: &'static str,
    profile: &'static str,
    name: &'static str,
    email: &'static str,
    level: &'static str,
    level_1: &'static str,
    level_2: &'static str,
    sessions: &'static str,
    this_session: &'static str,
    signed_in_at: &'static str,
    last_used: &'static str,
    end_session: &'static str,
    end_all: &'static str,
    consents: &'static str,
    no_consents: &'static str,
    withdraw: &'static str,
    change_password: &'static str,
    current_password: &'static str,
    new_password: &'static str,
    new_password_help: &'static str,
    confirm_password: &'static str,
    save: &'static str,
    wrong_credentials: &'static str,
    too_many: &'static str,
    password_changed: &'static str,
    wrong_current: &'static str,
    mismatch: &'static str,
    scopes: &'static [(&'static str, &'static str)],
    verify_title: &'static str,
    verify_intro: &'static str,
    document: &'static str,
    verify_button: &'static str,
    no_document: &'static str,
    unreadable: &'static str,
    no_signatures: &'static str,
    passed: &'static str,
    failed: &'static str,
    indeterminate: &'static str,
    overall: &'static str,
    signature: &'static str,
    seal_label: &'static str,
    department_label: &'static str,
    signer_label: &'static str,
    timestamped: &'static str,
    claimed: &'static str,
    not_timestamped: &'static str,
    whole_document: &'static str,
    later_signatures: &'static str,
    later_changes: &'static str,
    verify_another: &'static str,
    sign_out: &'static str,
    sign_out_question: &'static str,
    signed_out: &'static str,
    second_factor: &'static str,
    second_factor_intro: &'static str,
    code: &'static str,
    wrong_code: &'static str,
    totp_title: &'static str,
    totp_enabled: &'static str,
    totp_off: &'static str,
    totp_set_up: &'static str,
    totp_secret: &'static str,
    totp_confirm: &'static str,
    recovery_codes: &'static str,
    level_3: &'static str,
    or: &'static str,
    passkey_sign_in: &'static str,
    passkey_failed: &'static str,
    step_up: &'static str,
    passkeys_title: &'static str,
    passkeys_none: &'static str,
    passkey_name: &'static str,
    passkey_name_help: &'static str,
    passkey_add: &'static str,
    passkey_remove: &'static str,
    passkey_added: &'static str,
    passkey_needs_browser: &'static str,
    created_at: &'static str,
    never: &'static str,
}

const ZH: Texts = Texts {
    html_lang: "zh-CN",
    site: "通办 政务服务统一身份认证",
    other_language: "English",
    other_language_tag: "en",
    large_text: "大字版",
    standard_text: "标准字号",
    sign_in: "登录",
    identifier: "身份证号、电子邮箱或工号",
    identifier_help: "居民身份证号码（18位）或注册的电子邮箱；单位工作人员填工号。",
    organisation: "单位统一社会信用代码（可选）",
    organisation_help: "代表企业办事或以单位工作人员身份登录时填写。",
    password: "密码",
    consent_title: "授权确认",
    consent_intro: "以下应用请求获取您的信息：",
    allow: "同意授权",
    deny: "拒绝",
    account: "我的账户",
    profile: "个人信息",
    name: "姓名",
    email: "电子邮箱",
    level: "实名等级",
    level_1: "一级（自行注册）",
    level_2: "二级（已通过实名核验）",
    sessions: "登录设备与会话",
    this_session: "当前会话",
    signed_in_at: "登录时间",
    last_used: "最近使用",
    end_session: "结束此会话",
    end_all: "在所有设备上退出",
    consents: "已授权的应用",
    no_consents: "您尚未授权任何第三方应用。",
    withdraw: "撤销授权",
    change_password: "修改密码",
    current_password: "当前密码",
    new_password: "新密码",
    new_password_help: "至少8个字符，不能是常见密码，不能包含您的证件号或邮箱。",
    confirm_password: "再次输入新密码",
    save: "保存",
    wrong_credentials: "账号或密码错误。",
    too_many: "尝试次数过多，请稍后再试。",
    password_changed: "密码已修改，其他设备上的登录已退出。",
    wrong_current: "当前密码错误。",
    mismatch: "两次输入的新密码不一致。",
    scopes: &[
        ("openid", "确认您的身份"),
        ("profile", "您的姓名"),
        ("email", "您的电子邮箱"),
        ("phone", "您的手机号码"),
        ("tongban:identity", "您的实名信息（姓名、身份证号）"),
    ],
    verify_title: "验证电子印章",
    verify_intro: "上传盖有电子印章的 PDF 文件，查看印章是否真实有效、文件是否被改动。文件只用于验证，不会保存。",
    document: "PDF 文件",
    verify_button: "验证",
    no_document: "请选择一个 PDF 文件。",
    unreadable: "无法读取该文件，它可能不是完整的 PDF。",
    no_signatures: "该文件中没有电子印章。",
    passed: "有效：印章真实，盖章后文件未被改动。",
    failed: "无效：文件在盖章后被改动，或印章不可信。",
    indeterminate: "无法确定：缺少判断所需的信息。",
    overall: "结论",
    signature: "印章",
    seal_label: "印章名称",
    department_label: "用印单位",
    signer_label: "证书",
    timestamped: "盖章时间（可信时间戳）",
    claimed: "声明的盖章时间",
    not_timestamped: "无可信时间戳",
    whole_document: "印章覆盖整个文件。",
    later_signatures: "盖章后文件只增加了其他印章。",
    later_changes: "盖章后文件有未经盖章的改动。",
    verify_another: "验证其他文件",
    sign_out: "退出登录",
    sign_out_question: "要退出统一身份认证吗？退出后，各政务网站都需要重新登录。",
    signed_out: "您已退出登录。",
    second_factor: "两步验证",
    second_factor_intro: "请输入身份验证器应用显示的6位数字，或一个恢复码。",
    code: "验证码",
    wrong_code: "验证码错误或已使用过。",
    totp_title: "身份验证器（两步验证）",
    totp_enabled: "已开启两步验证。",
    totp_off: "未开启。开启后，登录时除密码外还需输入验证器应用中的数字。",
    totp_set_up: "设置身份验证器",
    totp_secret: "在身份验证器应用中添加以下密钥，然后输入它显示的6位数字：",
    totp_confirm: "确认并开启",
    recovery_codes: "请妥善保存以下恢复码，每个只能使用一次（仅显示这一次）：",
    level_3: "三级（已核验身份，并使用通行密钥或两步验证登录）",
    or: "或者",
    passkey_sign_in: "使用通行密钥登录",
    passkey_failed: "通行密钥未能通过验证，请重试或使用密码登录。",
    step_up: "此服务需要更高安全级别的登录：请使用通行密钥，或密码加身份验证器。",
    passkeys_title: "通行密钥",
    passkeys_none: "尚未添加通行密钥。通行密钥用指纹、面容或设备密码登录，无需输入密码。",
    passkey_name: "通行密钥名称",
    passkey_name_help: "例如“我的手机”，便于以后辨认。",
    passkey_add: "添加通行密钥",
    passkey_remove: "删除",
    passkey_added: "通行密钥已添加。",
    passkey_needs_browser: "添加通行密钥需要支持通行密钥的浏览器并启用 JavaScript。",
    created_at: "添加于",
    never: "从未",
};

const EN: Texts = Texts {
    html_lang: "en",
    site: "Tongban government sign-in",
    other_language: "中文",
    other_language_tag: "zh",
    large_text: "Large text",
    standard_text: "Standard text",
    sign_in: "Sign in",
    identifier: "ID number, e-mail or staff number",
    identifier_help: "Your 18-character resident ID number or registered e-mail; department staff enter their staff number.",
    organisation: "Organisation's unified social credit code (optional)",
    organisation_help: "Fill in when acting for a company or signing in as department staff.",
    password: "Password",
    consent_title: "Allow access",
    consent_intro: "This application asks for your information:",
    allow: "Allow",
    deny: "Deny",
    account: "My account",
    profile: "Profile",
    name: "Name",
    email: "E-mail",
    level: "Identity assurance",
    level_1: "Level 1 (self-registered)",
    level_2: "Level 2 (verified against the registry)",
    sessions: "Devices and sessions",
    this_session: "This session",
    signed_in_at: "Signed in",
    last_used: "Last used",
    end_session: "End this session",
    end_all: "Sign out everywhere",
    consents: "Applications you allowed",
    no_consents: "You have not allowed any third-party application.",
    withdraw: "Withdraw",
    change_password: "Change password",
    current_password: "Current password",
    new_password: "New password",
    new_password_help: "At least 8 characters, not a common password, not containing your ID number or e-mail.",
    confirm_password: "New password again",
    save: "Save",
    wrong_credentials: "The identifier or password is wrong.",
    too_many: "Too many attempts; please wait and try again.",
    password_changed: "Your password was changed; other devices were signed out.",
    wrong_current: "The current password is wrong.",
    mismatch: "The two new passwords differ.",
    scopes: &[
        ("openid", "Confirm who you are"),
        ("profile", "Your name"),
        ("email", "Your e-mail address"),
        ("phone", "Your phone number"),
        ("tongban:identity", "Your real name and ID number"),
    ],
    verify_title: "Verify an e-seal",
    verify_intro: "Upload a PDF that carries e-seals to see whether they are genuine and whether the document changed since. The file is only checked, never kept.",
    document: "PDF file",
    verify_button: "Verify",
    no_document: "Please choose a PDF file.",
    unreadable: "The file cannot be read; it may not be a complete PDF.",
    no_signatures: "The file carries no e-seal.",
    passed: "Valid: the seal is genuine and the document has not changed since.",
    failed: "Invalid: the document changed after sealing, or the seal cannot be trusted.",
    indeterminate: "Cannot be determined: information needed to decide is missing.",
    overall: "Result",
    signature: "Seal",
    seal_label: "Seal",
    department_label: "Sealed by",
    signer_label: "Certificate",
    timestamped: "Sealed at (trusted time-stamp)",
    claimed: "Claimed sealing time",
    not_timestamped: "No trusted time-stamp",
    whole_document: "The seal covers the whole document.",
    later_signatures: "After sealing, only other seals were added.",
    later_changes: "After sealing, the document changed without a seal.",
    verify_another: "Verify another document",
    sign_out: "Sign out",
    sign_out_question: "Sign out of the government sign-in? Every portal will ask you to sign in again.",
    signed_out: "You are signed out.",
    second_factor: "Two-step verification",
    second_factor_intro: "Enter the 6 digits your authenticator app shows, or a recovery code.",
    code: "Code",
    wrong_code: "The code is wrong or was used before.",
    totp_title: "Authenticator (two-step verification)",
    totp_enabled: "Two-step verification is on.",
    totp_off: "Off. When on, signing in asks for the digits of your authenticator app after the password.",
    totp_set_up: "Set up an authenticator",
    totp_secret: "Add this key to your authenticator app, then enter the 6 digits it shows:",
    totp_confirm: "Confirm and turn on",
    recovery_codes: "Keep these recovery codes safe; each works once (shown only now):",
    level_3: "Level 3 (verified identity, signed in with a passkey or two-step verification)",
    or: "or",
    passkey_sign_in: "Sign in with a passkey",
    passkey_failed: "The passkey was not accepted. Try again, or sign in with your password.",
    step_up: "This service needs a stronger sign-in: use a passkey, or your password with an authenticator.",
    passkeys_title: "Passkeys",
    passkeys_none: "No passkeys yet. A passkey signs you in with your fingerprint, face or device PIN, without a password.",
    passkey_name: "Passkey name",
    passkey_name_help: "For example \"my phone\", so that you recognise it later.",
    passkey_add: "Add a passkey",
    passkey_remove: "Remove",
    passkey_added: "The passkey was added.",
    passkey_needs_browser: "Adding a passkey needs a browser that supports passkeys, with JavaScript on.",
    created_at: "added",
    never: "never",
};

/// Messages a handler can ask a page to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Login refused.
    WrongCredentials,
    /// Throttled.
    TooMany,
    /// Password changed.
    PasswordChanged,
    /// Current password wrong.
    WrongCurrent,
    /// Confirmation differs.
    Mismatch,
    /// Wrong or reused second-factor code.
    WrongCode,
    /// The passkey did not verify.
    PasskeyFailed,
    /// The relying party needs a stronger login than the session has.
    StepUp,
    /// A passkey was added.
    PasskeyAdded,
}

impl Notice {
    fn text(self, t: &Texts) -> &'static str {
        match self {
            Self::WrongCredentials => t.wrong_credentials,
            Self::TooMany => t.too_many,
            Self::PasswordChanged => t.password_changed,
            Self::WrongCurrent => t.wrong_current,
            Self::Mismatch => t.mismatch,
            Self::WrongCode => t.wrong_code,
            Self::PasskeyFailed => t.passkey_failed,
            Self::StepUp => t.step_up,
            Self::PasskeyAdded => t.passkey_added,
        }
    }

    fn is_error(self) -> bool {
        !matches!(
            self,
            Self::PasswordChanged | Self::PasskeyAdded | Self::StepUp
        )
    }
}

fn notice_html(prefs: Prefs, notice: Option<Notice>, detail: Option<&str>) -> String {
    let Some(notice) = notice else {
        return String::new();
    };
    let (class, role) = if notice.is_error() {
        ("error", "alert")
    } else {
        ("notice", "status")
    };
    let extra = detail
        .map(|d| format!(" {}", escape(d)))
        .unwrap_or_default();
    format!(
        "<p class=\"{class}\" role=\"{role}\">{}{extra}</p>\n",
        escape(notice.text(prefs.t()))
    )
}

fn prefs_link(back: &str, value: &str, label: &str, lang: Option<&str>) -> String {
    let query = serde_urlencoded::to_string([("set", value), ("back", back)]).unwrap_or_default();
    let lang = lang.map(|l| format!(" lang=\"{l}\"")).unwrap_or_default();
    format!(
        "<a href=\"/prefs?{}\"{lang}>{}</a>",
        escape(&query),
        escape(label)
    )
}

/// The page shell: language, text size, the switch links (which return to `back`, a
/// path on this site), and the content.
pub(crate) fn page(prefs: Prefs, back: &str, title: &str, body: &str) -> String {
    let t = prefs.t();
    let other = Prefs {
        lang: if prefs.lang == Lang::Zh {
            Lang::En
        } else {
            Lang::Zh
        },
        ..prefs
    };
    let size = Prefs {
        large: !prefs.large,
        ..prefs
    };
    let nav = format!(
        "<nav aria-label=\"{site}\"><span class=\"site\">{site}</span> {lang} {size}</nav>",
        site = escape(t.site),
        lang = prefs_link(
            back,
            &other.cookie_value(),
            t.other_language,
            Some(t.other_language_tag)
        ),
        size = prefs_link(
            back,
            &size.cookie_value(),
            if prefs.large {
                t.standard_text
            } else {
                t.large_text
            },
            None
        ),
    );
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} · {site}</title>\n<link rel=\"stylesheet\" href=\"/static/tongban.css\">\n\
         </head>\n<body{class}>\n<header>{nav}</header>\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        lang = t.html_lang,
        title = escape(title),
        site = escape(t.site),
        class = if prefs.large { " class=\"large\"" } else { "" },
    )
}

pub(crate) fn html(status: StatusCode, text: String) -> Response {
    (status, Html(text)).into_response()
}

/// The login page of a login flow: the password form and, where passkeys work, the
/// "sign in with a passkey" form that `passkey.js` shows and drives.
pub fn login(
    prefs: Prefs,
    csrf_token: &str,
    login_hint: Option<&str>,
    notice: Option<Notice>,
    passkeys: bool,
    status: StatusCode,
) -> Response {
    let t = prefs.t();
    let invalid = if notice.is_some() {
        " aria-invalid=\"true\" aria-describedby=\"form-error\""
    } else {
        ""
    };
    let alert = notice_html(prefs, notice, None).replacen("<p ", "<p id=\"form-error\" ", 1);
    let body = format!(
        "<h1>{sign_in}</h1>\n{alert}\
         <form method=\"post\" action=\"/login\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <p><label for=\"identifier\">{identifier}</label>\n\
         <span class=\"help\" id=\"identifier-help\">{identifier_help}</span>\n\
         <input id=\"identifier\" name=\"identifier\" autocomplete=\"username\" required \
         aria-describedby=\"identifier-help\"{invalid} value=\"{hint}\"></p>\n\
         <p><label for=\"organisation\">{organisation}</label>\n\
         <span class=\"help\" id=\"organisation-help\">{organisation_help}</span>\n\
         <input id=\"organisation\" name=\"organisation\" autocomplete=\"organization\" \
         aria-describedby=\"organisation-help\"></p>\n\
         <p><label for=\"password\">{password}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{invalid}></p>\n\
         <p><button type=\"submit\">{sign_in}</button></p>\n</form>{passkey}",
        passkey = if passkeys {
            format!(
                "\n<form id=\"passkey-login\" method=\"post\" action=\"/login/passkey\" \
                 data-options=\"/login/passkey/options\" hidden>\n\
                 <p>{or}</p>\n<input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
                 <input type=\"hidden\" name=\"ceremony\" value=\"\">\n\
                 <input type=\"hidden\" name=\"credential\" value=\"\">\n\
                 <p class=\"error\" role=\"alert\" hidden>{failed}</p>\n\
                 <p><button type=\"submit\" class=\"secondary\">{label}</button></p>\n</form>\n\
                 <script src=\"/static/passkey.js\"></script>",
                or = escape(t.or),
                csrf = escape(csrf_token),
                failed = escape(t.passkey_failed),
                label = escape(t.passkey_sign_in),
            )
        } else {
            String::new()
        },
        sign_in = escape(t.sign_in),
        csrf = escape(csrf_token),
        identifier = escape(t.identifier),
        identifier_help = escape(t.identifier_help),
        organisation = escape(t.organisation),
        organisation_help = escape(t.organisation_help),
        password = escape(t.password),
        hint = escape(login_hint.unwrap_or("")),
    );
    html(status, page(prefs, "/login", t.sign_in, &body))
}

fn scope_list(t: &Texts, scopes: &[String]) -> String {
    scopes
        .iter()
        .map(|s| {
            let label = t
                .scopes
                .iter()
                .find(|(name, _)| name == s)
                .map_or(s.as_str(), |(_, label)| label);
            format!("<li>{}</li>", escape(label))
        })
        .collect()
}

/// The consent page of a third-party client's request.
pub fn consent(prefs: Prefs, csrf_token: &str, client_name: &str, scopes: &[String]) -> Response {
    let t = prefs.t();
    let body = format!(
        "<h1>{title}</h1>\n<p><strong>{client}</strong></p>\n<p>{intro}</p>\n<ul>{scopes}</ul>\n\
         <form method=\"post\" action=\"/consent\" class=\"actions\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"allow\">{allow}</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">{deny}</button>\n</form>",
        title = escape(t.consent_title),
        client = escape(client_name),
        intro = escape(t.consent_intro),
        scopes = scope_list(t, scopes),
        csrf = escape(csrf_token),
        allow = escape(t.allow),
        deny = escape(t.deny),
    );
    html(
        StatusCode::OK,
        page(prefs, "/login", t.consent_title, &body),
    )
}

/// Beijing time (UTC+8), minutes, for lists people read.
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

/// What the account page shows.
pub struct AccountView<'a> {
    /// Name, e-mail, assurance level.
    pub profile: &'a tongban_identity::subjects::Profile,
    /// Live sessions.
    pub sessions: &'a [tongban_identity::sso::SessionSummary],
    /// The session viewing the page.
    pub current_session: &'a str,
    /// Consents given.
    pub consents: &'a [tongban_identity::consent::Consent],
    /// Form CSRF token.
    pub csrf_token: &'a str,
    /// A message to show at the top.
    pub notice: Option<Notice>,
    /// Details of an error (a password policy reason).
    pub detail: Option<&'a str>,
    /// Whether an authenticator (TOTP) is on.
    pub totp_enabled: bool,
    /// Registered passkeys; none when passkeys are unavailable on this server.
    pub passkeys: Option<&'a [tongban_identity::passkeys::PasskeySummary]>,
    /// The person's e-certificates and their companies'.
    pub certificates: &'a [tongban_ecert::register::Certificate],
    /// Recent accesses to them.
    pub accesses: &'a [tongban_ecert::holder::Access],
}

fn passkeys_html(
    t: &Texts,
    csrf: &str,
    passkeys: &[tongban_identity::passkeys::PasskeySummary],
) -> String {
    let list = if passkeys.is_empty() {
        format!("<p>{}</p>", escape(t.passkeys_none))
    } else {
        let items: String = passkeys
            .iter()
            .map(|p| {
                format!(
                    "<li><strong>{name}</strong> · {added} {created} · {last}: {used} {remove}</li>",
                    name = escape(&p.name),
                    added = escape(t.created_at),
                    created = when(p.created_at),
                    last = escape(t.last_used),
                    used = p.last_used_at.map_or_else(|| escape(t.never), when),
                    remove = post_button(
                        "/account/passkeys/remove",
                        csrf,
                        Some(("credential_id", &p.id)),
                        t.passkey_remove
                    ),
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    format!(
        "{list}\n<p class=\"help\" id=\"passkey-browser\">{needs}</p>\n\
         <form id=\"passkey-enrol\" method=\"post\" action=\"/account/passkeys\" \
         data-options=\"/account/passkeys/options\" hidden>\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <input type=\"hidden\" name=\"ceremony\" value=\"\">\n\
         <input type=\"hidden\" name=\"credential\" value=\"\">\n\
         <p><label for=\"passkey-name\">{name}</label>\n<span class=\"help\" id=\"passkey-name-help\">{help}</span>\n\
         <input id=\"passkey-name\" name=\"name\" maxlength=\"64\" required aria-describedby=\"passkey-name-help\"></p>\n\
         <p class=\"error\" role=\"alert\" hidden>{failed}</p>\n\
         <p><button type=\"submit\">{add}</button></p>\n</form>\n\
         <script src=\"/static/passkey.js\"></script>",
        needs = escape(t.passkey_needs_browser),
        csrf = escape(csrf),
        name = escape(t.passkey_name),
        help = escape(t.passkey_name_help),
        failed = escape(t.passkey_failed),
        add = escape(t.passkey_add),
    )
}

fn post_button(action: &str, csrf: &str, field: Option<(&str, &str)>, label: &str) -> String {
    let hidden = field
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
                escape(value)
            )
        })
        .unwrap_or_default();
    format!(
        "<form method=\"post\" action=\"{action}\" class=\"inline\">\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{}\">{hidden}\
         <button type=\"submit\" class=\"secondary\">{}</button></form>",
        escape(csrf),
        escape(label)
    )
}

/// The account page: profile, sessions, consents, password change.
pub fn account(prefs: Prefs, view: &AccountView<'_>, status: StatusCode) -> Response {
    let t = prefs.t();
    let csrf = view.csrf_token;
    let level = match view.profile.assurance {
        3.. => t.level_3,
        2 => t.level_2,
        _ => t.level_1,
    };
    let sessions: String = view
        .sessions
        .iter()
        .map(|s| {
            let action = if s.id == view.current_session {
                format!("<strong>{}</strong>", escape(t.this_session))
            } else {
                post_button(
                    "/account/sessions/end",
                    csrf,
                    Some(("session_id", &s.id)),
                    t.end_session,
                )
            };
            format!(
                "<li>{signed_in}: {auth} · {last}: {seen} {action}</li>",
                signed_in = escape(t.signed_in_at),
                auth = when(s.auth_time),
                last = escape(t.last_used),
                seen = when(s.last_seen_at),
            )
        })
        .collect();
    let consents = if view.consents.is_empty() {
        format!("<p>{}</p>", escape(t.no_consents))
    } else {
        let items: String = view
            .consents
            .iter()
            .map(|c| {
                format!(
                    "<li><strong>{}</strong> {} ({}) {}</li>",
                    escape(&c.client_name),
                    when(c.granted_at),
                    escape(&c.scopes.join(", ")),
                    post_button(
                        "/account/consents/withdraw",
                        csrf,
                        Some(("client_id", &c.client_id)),
                        t.withdraw
                    )
                )
            })
            .collect();
        format!("<ul>{items}</ul>")
    };
    let body = format!(
        "<h1>{account}</h1>\n{notice}\
         <section aria-labelledby=\"h-profile\"><h2 id=\"h-profile\">{profile}</h2>\n<dl>\
         <dt>{name_label}</dt><dd>{name}</dd><dt>{email_label}</dt><dd>{email}</dd>\
         <dt>{level_label}</dt><dd>{level}</dd></dl></section>\n\
         {certificates}\
         <section aria-labelledby=\"h-sessions\"><h2 id=\"h-sessions\">{sessions_title}</h2>\n\
         <ul>{sessions}</ul>\n{end_all}</section>\n\
         <section aria-labelledby=\"h-consents\"><h2 id=\"h-consents\">{consents_title}</h2>\n{consents}</section>\n\
         {passkeys}\
         <section aria-labelledby=\"h-totp\"><h2 id=\"h-totp\">{totp_title}</h2>\n{totp}</section>\n\
         <section aria-labelledby=\"h-password\"><h2 id=\"h-password\">{change}</h2>\n\
         <form method=\"post\" action=\"/account/password\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <p><label for=\"current\">{current}</label>\n\
         <input id=\"current\" name=\"current_password\" type=\"password\" autocomplete=\"current-password\" required></p>\n\
         <p><label for=\"new\">{new}</label>\n<span class=\"help\" id=\"new-help\">{new_help}</span>\n\
         <input id=\"new\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required aria-describedby=\"new-help\"></p>\n\
         <p><label for=\"confirm\">{confirm}</label>\n\
         <input id=\"confirm\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required></p>\n\
         <p><button type=\"submit\">{save}</button></p>\n</form></section>",
        account = escape(t.account),
        notice = notice_html(prefs, view.notice, view.detail),
        profile = escape(t.profile),
        name_label = escape(t.name),
        name = escape(&view.profile.name),
        email_label = escape(t.email),
        email = escape(view.profile.email.as_deref().unwrap_or("—")),
        level_label = escape(t.level),
        certificates =
            crate::ecert_pages::account_section(prefs, csrf, view.certificates, view.accesses),
        sessions_title = escape(t.sessions),
        end_all = post_button("/account/sessions/end-all", csrf, None, t.end_all),
        consents_title = escape(t.consents),
        passkeys = view.passkeys.map_or_else(String::new, |list| format!(
            "<section aria-labelledby=\"h-passkeys\"><h2 id=\"h-passkeys\">{}</h2>\n{}</section>\n",
            escape(t.passkeys_title),
            passkeys_html(t, csrf, list)
        )),
        totp_title = escape(t.totp_title),
        totp = if view.totp_enabled {
            format!("<p>{}</p>", escape(t.totp_enabled))
        } else {
            format!(
                "<p>{}</p>{}",
                escape(t.totp_off),
                post_button("/account/totp/enrol", csrf, None, t.totp_set_up)
            )
        },
        change = escape(t.change_password),
        csrf = escape(csrf),
        current = escape(t.current_password),
        new = escape(t.new_password),
        new_help = escape(t.new_password_help),
        confirm = escape(t.confirm_password),
        save = escape(t.save),
    );
    html(status, page(prefs, "/account", t.account, &body))
}

/// Asks to confirm a logout a relying party requested without a matching hint. The
/// request's parameters ride along as hidden fields.
pub fn logout_confirm(prefs: Prefs, csrf_token: &str, fields: &[(&str, &str)]) -> Response {
    let t = prefs.t();
    let hidden: String = fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let body = format!(
        "<h1>{title}</h1>\n<p>{question}</p>\n<form method=\"post\" action=\"/logout\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n{hidden}\
         <p><button type=\"submit\">{title}</button></p>\n</form>",
        title = escape(t.sign_out),
        question = escape(t.sign_out_question),
        csrf = escape(csrf_token),
    );
    html(StatusCode::OK, page(prefs, "/account", t.sign_out, &body))
}

/// After a logout with nowhere to return to.
pub fn signed_out(prefs: Prefs) -> Response {
    let t = prefs.t();
    let body = format!(
        "<h1>{}</h1>\n<p role=\"status\">{}</p>",
        escape(t.sign_out),
        escape(t.signed_out)
    );
    html(StatusCode::OK, page(prefs, "/account", t.sign_out, &body))
}

/// The second step of a login: an authenticator or recovery code.
pub fn second_factor(
    prefs: Prefs,
    csrf_token: &str,
    notice: Option<Notice>,
    status: StatusCode,
) -> Response {
    let t = prefs.t();
    let alert = notice_html(prefs, notice, None);
    let body = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{alert}<form method=\"post\" action=\"/login/otp\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <p><label for=\"code\">{code}</label>\n\
         <input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required></p>\n\
         <p><button type=\"submit\">{sign_in}</button></p>\n</form>",
        title = escape(t.second_factor),
        intro = escape(t.second_factor_intro),
        csrf = escape(csrf_token),
        code = escape(t.code),
        sign_in = escape(t.sign_in),
    );
    web_page(status, prefs, "/login", t.second_factor, &body)
}

/// The authenticator set-up page: the secret to add, and the confirmation form; or,
/// once confirmed, the recovery codes.
pub fn totp_setup(
    prefs: Prefs,
    csrf_token: &str,
    secret: &str,
    uri: &str,
    notice: Option<Notice>,
) -> Response {
    let t = prefs.t();
    let body = format!(
        "<h1>{title}</h1>\n{alert}<p>{intro}</p>\n<p><code id=\"totp-secret\">{secret}</code></p>\n\
         <p class=\"technical\">{uri}</p>\n<form method=\"post\" action=\"/account/totp/confirm\">\n\
         <input type=\"hidden\" name=\"csrf_token\" value=\"{csrf}\">\n\
         <p><label for=\"code\">{code}</label>\n\
         <input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required></p>\n\
         <p><button type=\"submit\">{confirm}</button></p>\n</form>",
        title = escape(t.totp_title),
        alert = notice_html(prefs, notice, None),
        intro = escape(t.totp_secret),
        secret = escape(secret),
        uri = escape(uri),
        csrf = escape(csrf_token),
        code = escape(t.code),
        confirm = escape(t.totp_confirm),
    );
    web_page(StatusCode::OK, prefs, "/account", t.totp_title, &body)
}

/// The recovery codes, shown once.
pub fn recovery_codes(prefs: Prefs, codes: &[String]) -> Response {
    let t = prefs.t();
    let items: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", escape(c)))
        .collect();
    let body = format!(
        "<h1>{title}</h1>\n<p role=\"status\">{enabled}</p>\n<p>{intro}</p>\n<ul class=\"recovery\">{items}</ul>\n\
         <p><a href=\"/account\">{account}</a></p>",
        title = escape(t.totp_title),
        enabled = escape(t.totp_enabled),
        intro = escape(t.recovery_codes),
        account = escape(t.account),
    );
    web_page(StatusCode::OK, prefs, "/account", t.totp_title, &body)
}

fn web_page(status: StatusCode, prefs: Prefs, back: &str, title: &str, body: &str) -> Response {
    html(status, page(prefs, back, title, body))
}

/// Why the verification page shows its form again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VerifyError {
    /// Nothing uploaded.
    NoDocument,
    /// Not a readable PDF.
    Unreadable,
    /// Throttled.
    TooMany,
}

/// The verification page's upload form.
pub fn verify_form(prefs: Prefs, error: Option<VerifyError>) -> Response {
    let t = prefs.t();
    let alert = error
        .map(|e| {
            let text = match e {
                VerifyError::NoDocument => t.no_document,
                VerifyError::Unreadable => t.unreadable,
                VerifyError::TooMany => t.too_many,
            };
            format!(
                "<p class=\"error\" role=\"alert\" id=\"form-error\">{}</p>\n",
                escape(text)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>{title}</h1>\n<p>{intro}</p>\n{alert}\
         <form method=\"post\" action=\"/verify\" enctype=\"multipart/form-data\">\n\
         <p><label for=\"document\">{document}</label>\n\
         <input id=\"document\" name=\"document\" type=\"file\" accept=\"application/pdf,.pdf\" required></p>\n\
         <p><button type=\"submit\">{button}</button></p>\n</form>",
        title = escape(t.verify_title),
        intro = escape(t.verify_intro),
        document = escape(t.document),
        button = escape(t.verify_button),
    );
    html(
        StatusCode::OK,
        page(prefs, "/verify", t.verify_title, &body),
    )
}

fn verdict(
    t: &Texts,
    indication: tongban_seal::verify::Indication,
) -> (&'static str, &'static str) {
    use tongban_seal::verify::Indication;
    match indication {
        Indication::TotalPassed => ("passed", t.passed),
        Indication::TotalFailed => ("failed", t.failed),
        Indication::Indeterminate => ("indeterminate", t.indeterminate),
    }
}

/// The verification report, for people: one plain verdict per seal, then the facts.
pub fn verify_report(prefs: Prefs, report: &tongban_seal::verify::Report) -> Response {
    let t = prefs.t();
    let (class, text) = verdict(t, report.overall);
    let mut body = format!(
        "<h1>{title}</h1>\n<p class=\"verdict {class}\" role=\"status\"><strong>{overall}:</strong> {text}</p>\n",
        title = escape(t.verify_title),
        overall = escape(t.overall),
        text = escape(if report.signatures.is_empty() {
            t.no_signatures
        } else {
            text
        }),
    );
    for (i, s) in report.signatures.iter().enumerate() {
        let (class, text) = verdict(t, s.indication);
        let mut facts = String::new();
        let mut fact = |label: &str, value: &str| {
            facts.push_str(&format!(
                "<dt>{}</dt><dd>{}</dd>",
                escape(label),
                escape(value)
            ));
        };
        if let Some(seal) = &s.seal {
            fact(t.seal_label, &format!("{} ({})", seal.name, seal.code));
            fact(
                t.department_label,
                &format!("{} ({})", seal.department, seal.department_uscc),
            );
        } else if let Some(signer) = &s.signer {
            fact(t.signer_label, signer);
        }
        match s.timestamp_time {
            Some(at) => fact(t.timestamped, &when(at)),
            None => fact(t.timestamped, t.not_timestamped),
        }
        if let Some(at) = s.claimed_signing_time {
            fact(t.claimed, &when(at));
        }
        let coverage = match (s.covers_whole_document, s.later_changes_only_signatures) {
            (Some(true), _) => Some(t.whole_document),
            (Some(false), Some(true)) => Some(t.later_signatures),
            (Some(false), _) => Some(t.later_changes),
            _ => None,
        };
        let notes: String = s
            .messages
            .iter()
            .map(|m| format!("<li lang=\"en\">{}</li>", escape(m)))
            .collect();
        body.push_str(&format!(
            "<section aria-labelledby=\"sig-{i}\"><h2 id=\"sig-{i}\">{signature} {n}</h2>\n\
             <p class=\"verdict {class}\">{text}</p>\n<dl>{facts}</dl>\n{coverage}<ul class=\"notes\">{notes}</ul>\n\
             <p class=\"technical\">ETSI EN 319 102-1: {indication}{sub}</p></section>\n",
            signature = escape(t.signature),
            n = i + 1,
            text = escape(text),
            coverage = coverage.map(|c| format!("<p>{}</p>\n", escape(c))).unwrap_or_default(),
            indication = s.indication.name(),
            sub = s.sub_indication.map(|x| format!(" / {x}")).unwrap_or_default(),
        ));
    }
    body.push_str(&format!(
        "<p><a href=\"/verify\">{}</a></p>",
        escape(t.verify_another)
    ));
    html(
        StatusCode::OK,
        page(prefs, "/verify", t.verify_title, &body),
    )
}

/// An error page for requests that cannot be answered by redirecting (an unknown
/// client, an unregistered redirect URI, an expired form). Title and detail carry both
/// languages.
pub fn error(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p role=\"alert\">{}</p>",
        escape(title),
        escape(detail)
    );
    let prefs = Prefs::resolve(None, None);
    html(status, page(prefs, "/", title, &body))
}

/// The stylesheet of all pages: legible defaults, visible focus, large targets, and a
/// large-text mode (`body.large`) for people who need it. Colours meet WCAG 2.1 AA
/// contrast on white.
pub const STYLESHEET: &str = "\
body{font-family:system-ui,\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;font-size:1.125rem;\
line-height:1.6;margin:0;background:#f6f7f9;color:#1b1f24}\
body.large{font-size:1.5rem}\
header{background:#0b3d6e;color:#fff;padding:.5rem 1rem}\
header nav{max-width:40rem;margin:0 auto;display:flex;gap:1rem;flex-wrap:wrap;align-items:center}\
header .site{font-weight:600;margin-right:auto}\
header a{color:#fff}\
main{max-width:40rem;margin:2rem auto;padding:2rem;background:#fff;border-radius:.5rem}\
h1{font-size:1.6em}h2{font-size:1.25em}label{display:block;font-weight:600}\
.help{display:block;color:#444b53;font-size:.9em}\
input{width:100%;box-sizing:border-box;font-size:1em;padding:.6rem;border:2px solid #5b6570;border-radius:.25rem}\
button{font-size:1em;padding:.7rem 1.5rem;background:#0b5cad;color:#fff;border:0;border-radius:.25rem;\
min-height:44px;cursor:pointer}\
button.secondary{background:#fff;color:#0b5cad;border:2px solid #0b5cad}\
form.inline{display:inline}form.actions{display:flex;gap:1rem}\
:focus-visible{outline:3px solid #b45309;outline-offset:2px}\
.error{color:#a4161a;font-weight:600}.notice{color:#14532d;font-weight:600}\
.verdict{padding:.75rem 1rem;border-radius:.25rem;border-left:.4rem solid}\
.verdict.passed{background:#ecfdf3;border-color:#14532d}\
.verdict.failed{background:#fef2f2;border-color:#a4161a}\
.verdict.indeterminate{background:#fffbeb;border-color:#92400e}\
.technical{color:#444b53;font-size:.85em}\
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preferences_come_from_the_cookie_then_ui_locales_then_zh() {
        let en_large = Prefs {
            lang: Lang::En,
            large: true,
        };
        assert_eq!(Prefs::resolve(Some("en-large"), Some("zh-CN")), en_large);
        assert_eq!(Prefs::resolve(None, Some("fr en-GB")).lang, Lang::En);
        assert_eq!(Prefs::resolve(None, Some("fr")).lang, Lang::Zh);
        assert_eq!(Prefs::resolve(None, None).lang, Lang::Zh);
        assert_eq!(
            Prefs::resolve(Some(&en_large.cookie_value()), None),
            en_large
        );
    }
}
