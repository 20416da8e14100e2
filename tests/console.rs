//! The console (`/console`) through the real router, as staff use it in a browser (a
//! session cookie, forms with CSRF tokens): a department administrator reads their
//! department's audit trail and exports it, never another department's; staff without
//! that role and people who are not staff are turned away; a platform administrator
//! finds a person and deactivates them after a confirmation (never themself, and only
//! at level 3), then reactivates them.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::csrf_of;
use support::esign_world::{self as world, LI, WANG, World, ZHAO, csrf, form, page, session};
use tongban_core::audit::AuditEvent;
use tongban_core::time::Timestamp;
use tongban_identity::console;
use tongban_identity::subjects::{self, Role, SubjectId};

async fn subject(w: &World, resident_id: &str) -> SubjectId {
    let mut conn = w.server.store().conn().await.unwrap();
    subjects::find_by_resident_id(&mut conn, &resident_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
}

/// 李四 administers department A, 赵六 issues in B; one event in each department's
/// trail.
async fn staff_world(w: &World) {
    let (li, zhao) = (subject(w, LI).await, subject(w, ZHAO).await);
    let now = Timestamp::now();
    let mut tx = w.server.store().begin().await.unwrap();
    subjects::add_staff(&mut tx, li, w.a.id, "A-1", &[Role::DeptAdmin], now)
        .await
        .unwrap();
    subjects::add_staff(&mut tx, zhao, w.b.id, "B-1", &[Role::Issuer], now)
        .await
        .unwrap();
    let li_acted = format!("subject:{li}");
    for (department, actor, action) in [
        (w.a.id, li_acted.as_str(), "seal.a-happened"),
        (w.b.id, "system", "seal.b-happened"),
    ] {
        let event = AuditEvent::new(actor, action, Some("x"), None, json!({"n": 1}))
            .in_department(department);
        tongban_store::audit::record(&mut tx, &event).await.unwrap();
    }
    tx.commit().await.unwrap();
}

/// Whether the browser with `session` is signed in (its account page, not the login form).
async fn signed_in(w: &World, session: &str) -> bool {
    let html = page(w, session, "/account").await.text().await.unwrap();
    html.contains("action=\"/account/sessions/end-all\"")
}

#[tokio::test]
async fn a_department_administrator_reads_and_exports_only_their_department_trail() {
    let w = world::world().await;
    staff_world(&w).await;

    let anonymous = w.server.get("/console").await;
    assert_eq!(anonymous.status(), 303);
    assert_eq!(anonymous.headers()["location"], "/account");

    let wang = session(&w, WANG).await;
    let refused = page(&w, &wang, "/console").await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("工作台仅供部门工作人员")
    );

    let li = session(&w, LI).await;
    let desk = page(&w, &li, "/console").await;
    assert_eq!(desk.status(), 200);
    let html = desk.text().await.unwrap();
    assert!(html.contains("浙江省市场监督管理局") && html.contains("部门管理员"));
    assert!(html.contains("href=\"/console/audit\""));
    assert!(
        !html.contains("href=\"/console/people\""),
        "not a platform administrator"
    );

    let trail = page(&w, &li, "/console/audit").await;
    assert_eq!(trail.status(), 200);
    let html = trail.text().await.unwrap();
    assert!(html.contains("seal.a-happened") && !html.contains("seal.b-happened"));
    // Who acted, by name beside the id (李四 is registered as 职员 in this world).
    let li_id = subject(&w, LI).await;
    assert!(
        html.contains(&format!("<bdi>职员</bdi> <code><bdi>subject:{li_id}</bdi>")),
        "{html}"
    );
    let filtered = page(&w, &li, "/console/audit?action=seal.b*").await;
    assert!(!filtered.text().await.unwrap().contains("seal.a-happened"));
    let theirs = page(&w, &li, &format!("/console/audit?department={}", w.b.id)).await;
    assert_eq!(theirs.status(), 403);
    let backwards = page(&w, &li, "/console/audit?from=2026-12-05&until=2026-12-01").await;
    assert_eq!(backwards.status(), 422);
    assert!(backwards.text().await.unwrap().contains("查询条件有误"));
    let days = page(&w, &li, "/console/audit?from=2000-01-01&until=2099-12-31").await;
    assert!(days.text().await.unwrap().contains("seal.a-happened"));

    let export = page(&w, &li, "/console/audit/export").await;
    assert_eq!(export.status(), 200);
    assert!(
        export.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("id,occurred_at,actor,action"));
    assert!(csv.contains("seal.a-happened") && !csv.contains("seal.b-happened"));
    let theirs = page(
        &w,
        &li,
        &format!("/console/audit/export?department={}", w.b.id),
    )
    .await;
    assert_eq!(theirs.status(), 403);

    // An issuer of B: a desk without the trail.
    let zhao = session(&w, ZHAO).await;
    let html = page(&w, &zhao, "/console").await.text().await.unwrap();
    assert!(html.contains("湖南省市场监督管理局") && !html.contains("href=\"/console/audit\""));
    assert_eq!(page(&w, &zhao, "/console/audit").await.status(), 403);
    assert_eq!(page(&w, &zhao, "/console/audit/export").await.status(), 403);
    // Neither is a platform administrator.
    assert_eq!(page(&w, &li, "/console/people").await.status(), 403);
}

#[tokio::test]
async fn a_platform_administrator_deactivates_a_person_after_confirming_and_reactivates_them() {
    let w = world::world().await;
    staff_world(&w).await;
    let (li, wang) = (subject(&w, LI).await, subject(&w, WANG).await);
    let mut tx = w.server.store().begin().await.unwrap();
    assert!(
        console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
            .await
            .unwrap()
    );
    assert!(
        !console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
            .await
            .unwrap()
    );
    tx.commit().await.unwrap();

    let admin = session(&w, LI).await;
    let desk = page(&w, &admin, "/console").await.text().await.unwrap();
    assert!(desk.contains("href=\"/console/people\""));
    assert!(desk.contains("href=\"/console/overview\""));
    // The platform's overview: every department, and the refused logins.
    let overview = page(&w, &admin, "/console/overview").await;
    assert_eq!(overview.status(), 200);
    let overview = overview.text().await.unwrap();
    assert!(overview.contains("登录失败次数（全平台）"));
    assert!(overview.contains("<option value=\"\">全部部门</option>"));
    let of_b = format!("/console/overview?department={}", w.b.id);
    let of_b = page(&w, &admin, &of_b).await.text().await.unwrap();
    assert!(
        !of_b.contains("登录失败次数"),
        "a department's overview has no logins"
    );
    // A platform administrator reads every department's trail.
    let trail = page(&w, &admin, "/console/audit")
        .await
        .text()
        .await
        .unwrap();
    assert!(trail.contains("seal.a-happened") && trail.contains("seal.b-happened"));

    let found = page(&w, &admin, "/console/people?q=110105********0024").await;
    assert_eq!(found.status(), 200);
    let html = found.text().await.unwrap();
    // In the table (the query itself is echoed in the search field).
    assert!(html.contains("<code>110105********0024</code>"));
    assert!(html.contains(&format!("/console/people/{wang}/deactivate")));
    assert!(
        !html.contains(&format!("/console/people/{li}/")),
        "only the one matching"
    );
    assert!(!html.contains(WANG), "never the whole number");

    let victim = session(&w, WANG).await;
    let action = format!("/console/people/{wang}/deactivate");
    // A form from elsewhere (no CSRF token of this session) is refused.
    let forged = form(&w, &admin, &action, &[("confirm", "yes")]).await;
    assert_eq!(forged.status(), 403);
    let token = csrf(&w, &admin).await;
    let asked = form(
        &w,
        &admin,
        &action,
        &[("csrf_token", &token), ("q", "职员")],
    )
    .await;
    assert_eq!(asked.status(), 200);
    let confirm = asked.text().await.unwrap();
    assert!(confirm.contains("确定停用") && confirm.contains("职员"));
    assert_eq!(csrf_of(&confirm), token);
    assert!(signed_in(&w, &victim).await, "not yet");

    let fields = [
        ("csrf_token", token.as_str()),
        ("q", "职员"),
        ("confirm", "yes"),
    ];
    let done = form(&w, &admin, &action, &fields).await;
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("/console/people?") && location.contains("done=deactivated"));
    let after = page(&w, &admin, &location).await.text().await.unwrap();
    assert!(after.contains("已停用"));
    // Signed out everywhere, and recorded under the administrator.
    assert!(!signed_in(&w, &victim).await);
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'person.deactivated' AND target = $1",
    )
    .bind(wang.to_string())
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(actor, format!("subject:{li}"));

    // Never oneself.
    let own = format!("/console/people/{li}/deactivate");
    let refused = form(&w, &admin, &own, &fields).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("不能停用自己的账号"));
    // An id that names nobody.
    let nobody = format!("/console/people/{}/deactivate", SubjectId::new());
    assert_eq!(form(&w, &admin, &nobody, &fields).await.status(), 403);

    let back = format!("/console/people/{wang}/reactivate");
    let done = form(&w, &admin, &back, &fields).await;
    assert_eq!(done.status(), 303);
    let again = session(&w, WANG).await;
    assert!(signed_in(&w, &again).await);

    // 王五 lost his password: asked first, then a one-time password shown once; he is
    // signed out, his old password no longer works and the new one does.
    let reset = format!("/console/people/{wang}/password-reset");
    let asked = form(&w, &admin, &reset, &fields[..2]).await;
    assert_eq!(asked.status(), 200);
    assert!(
        asked
            .text()
            .await
            .unwrap()
            .contains("重置 \u{2068}职员\u{2069} 的密码吗")
    );
    assert!(signed_in(&w, &again).await, "not yet");
    let done = form(&w, &admin, &reset, &fields).await;
    assert_eq!(done.status(), 200);
    assert_eq!(done.headers()["cache-control"], "no-store");
    let shown = done.text().await.unwrap();
    let temporary = shown
        .split("<p class=\"secret\"><code><bdi>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(temporary.len() >= 12, "{temporary}");
    assert!(!signed_in(&w, &again).await);
    let old = support::logins::password_login(
        &w.server,
        w.server.get("/account").await,
        WANG,
        support::logins::PASSWORD,
    )
    .await
    .0;
    assert_eq!(old.status(), 401);
    // The one-time password opens no session, only the choice of his own password.
    let server = &w.server;
    let login = async |password: String| {
        let page = server.get("/account").await;
        support::logins::password_login(server, page, WANG, &password)
            .await
            .0
    };
    let choosing = login(temporary.clone()).await;
    assert_eq!(choosing.status(), 200);
    assert!(support::html::set_cookie(&choosing, "__Host-tongban-session").is_none());
    let html = choosing.text().await.unwrap();
    assert!(
        html.contains("设置新密码") && html.contains("action=\"/enrol/password\""),
        "{html}"
    );
    // A second sign-in with it opens a second form, and closes the first.
    let again_html = login(temporary.clone()).await.text().await.unwrap();
    let (first_token, second_token) = (csrf_of(&html), csrf_of(&again_html));
    assert_ne!(first_token, second_token);
    let chosen = "wang wu chose this one himself";
    let stale = w
        .server
        .client
        .post(format!("{}/enrol/password", w.server.base))
        .form(&[
            ("csrf_token", first_token.as_str()),
            ("new_password", chosen),
            ("confirm_password", chosen),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 403, "one open choice at a time");
    let html = again_html;
    let set = w
        .server
        .client
        .post(format!("{}/enrol/password", w.server.base))
        .form(&[
            ("csrf_token", csrf_of(&html).as_str()),
            ("new_password", chosen),
            ("confirm_password", chosen),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(login(temporary.clone()).await.status(), 401, "used up");
    let again = support::logins::account_session(&w.server, WANG, chosen).await;
    assert!(signed_in(&w, &again).await);
    let reset_by: String = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'person.password_reset' AND target = $1",
    )
    .bind(wang.to_string())
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(reset_by, format!("subject:{li}"));
    // Nobody's id: refused, nothing reset.
    let nobody = format!("/console/people/{}/password-reset", SubjectId::new());
    assert_eq!(form(&w, &admin, &nobody, &fields).await.status(), 403);
    // Never one's own: it would remove the administrator's own passkeys.
    let own = format!("/console/people/{li}/password-reset");
    let refused = form(&w, &admin, &own, &fields).await;
    assert_eq!(refused.status(), 403);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("不能在这里重置自己的密码")
    );

    // 王五 as a platform administrator, signed in at level 2 only: asked to sign in
    // more strongly before managing anyone.
    let mut tx = w.server.store().begin().await.unwrap();
    console::grant_platform_admin(&mut tx, wang, "operator:test", Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let desk = page(&w, &again, "/console").await.text().await.unwrap();
    assert!(desk.contains("请重新登录"));
    let people = page(&w, &again, "/console/people").await;
    assert_eq!(people.status(), 403);
    // Nor reads the whole trail (it holds people's matters) at that level.
    let trail = page(&w, &again, "/console/audit").await;
    assert_eq!(trail.status(), 403);
    assert!(trail.text().await.unwrap().contains("请重新登录"));
    let token = csrf(&w, &again).await;
    let fields = [("csrf_token", token.as_str()), ("confirm", "yes")];
    let tried = form(
        &w,
        &again,
        &format!("/console/people/{li}/deactivate"),
        &fields,
    )
    .await;
    assert_eq!(tried.status(), 403);
    let tried = form(
        &w,
        &again,
        &format!("/console/people/{li}/password-reset"),
        &fields,
    )
    .await;
    assert_eq!(tried.status(), 403, "nor resets anyone's password");
    // A one-time password past its 24 hours is refused, saying so.
    let admin_token = csrf(&w, &admin).await;
    let fields = [("csrf_token", admin_token.as_str()), ("confirm", "yes")];
    let done = form(&w, &admin, &reset, &fields).await;
    let late = done
        .text()
        .await
        .unwrap()
        .split("<p class=\"secret\"><code><bdi>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    sqlx::query("UPDATE subjects SET password_temporary_until = $2 WHERE id = $1")
        .bind(wang.to_string())
        .bind(Timestamp::now().unix_millis() - 1)
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    let expired = login(late).await;
    assert_eq!(expired.status(), 401);
    assert!(expired.text().await.unwrap().contains("超过 24 小时"));
}

#[tokio::test]
async fn a_platform_administrator_builds_a_department_and_its_staff() {
    let w = world::world().await;
    staff_world(&w).await;
    let (li, wang) = (subject(&w, LI).await, subject(&w, WANG).await);
    // Only platform administrators: 李四 administers department A, not the platform.
    let li_session = session(&w, LI).await;
    assert_eq!(
        page(&w, &li_session, "/console/departments").await.status(),
        403
    );
    let mut tx = w.server.store().begin().await.unwrap();
    console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let admin = session(&w, LI).await;
    let tree = page(&w, &admin, "/console/departments").await;
    assert_eq!(tree.status(), 200);
    let html = tree.text().await.unwrap();
    assert!(html.contains("浙江省市场监督管理局") && html.contains("湖南省市场监督管理局"));
    let token = csrf_of(&html);

    let bad = [
        ("csrf_token", token.as_str()),
        ("name", "广东省市场监督管理局"),
        ("uscc", "11440000007783221X"),
        ("level", "province"),
        ("parent_id", ""),
    ];
    let refused = form(&w, &admin, "/console/departments", &bad).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("统一社会信用代码无效") && html.contains("广东省市场监督管理局"));
    let wrong_parent = [
        ("csrf_token", token.as_str()),
        ("name", "广州市市场监督管理局"),
        ("uscc", "11440000007783221Q"),
        ("level", "city"),
        ("parent_id", ""),
    ];
    let refused = form(&w, &admin, "/console/departments", &wrong_parent).await;
    assert_eq!(refused.status(), 422);
    let forged = form(&w, &admin, "/console/departments", &bad[1..]).await;
    assert_eq!(forged.status(), 403, "no CSRF token");

    let good = [
        ("csrf_token", token.as_str()),
        ("name", "广东省市场监督管理局"),
        ("uscc", "11440000007783221Q"),
        ("level", "province"),
        ("parent_id", ""),
    ];
    let created = form(&w, &admin, "/console/departments", &good).await;
    assert_eq!(created.status(), 303);
    let id: String =
        sqlx::query_scalar("SELECT id FROM departments WHERE uscc = '11440000007783221Q'")
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    let staff_path = format!("/console/departments/{id}");
    let html = page(&w, &admin, &staff_path).await.text().await.unwrap();
    assert!(html.contains("这个部门还没有工作人员"));

    let add = format!("{staff_path}/staff");
    let wrong_name = [
        ("csrf_token", token.as_str()),
        ("resident_id", WANG),
        ("name", "王五"),
        ("staff_number", "GD-7"),
        ("role_issuer", "yes"),
    ];
    let refused = form(&w, &admin, &add, &wrong_name).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(html.contains("没有登记此公民身份号码和姓名的人员"));
    assert!(!html.contains(WANG), "the ID number is not written back");
    let fields = [
        ("csrf_token", token.as_str()),
        ("resident_id", WANG),
        ("name", "职员"),
        ("staff_number", "GD-7"),
        ("role_issuer", "yes"),
        ("role_counter", "yes"),
    ];
    let added = form(&w, &admin, &add, &fields).await;
    assert_eq!(added.status(), 303);
    let roles = |w: &World| {
        let id = id.clone();
        let store = w.server.store().clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            subjects::roles_in(&mut conn, wang, id.parse().unwrap())
                .await
                .unwrap()
        }
    };
    assert_eq!(roles(&w).await, [Role::Issuer, Role::Counter]);
    let location = added.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, format!("{staff_path}?done=added"));
    let html = page(&w, &admin, &location).await.text().await.unwrap();
    assert!(
        html.contains("GD-7") && html.contains("签发电子证照") && html.contains("已加入工作人员")
    );

    // Taking the counter role away: asked first, then done.
    let remove = format!("{staff_path}/staff/{wang}/remove");
    let asked = form(
        &w,
        &admin,
        &remove,
        &[("csrf_token", &token), ("role", "counter")],
    )
    .await;
    assert_eq!(asked.status(), 200);
    assert!(asked.text().await.unwrap().contains("窗口工作人员"));
    assert_eq!(roles(&w).await.len(), 2, "not before the confirmation");
    let confirmed = [
        ("csrf_token", token.as_str()),
        ("role", "counter"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &admin, &remove, &confirmed).await.status(), 303);
    assert_eq!(roles(&w).await, [Role::Issuer]);
    // Again: that role is gone.
    assert_eq!(form(&w, &admin, &remove, &confirmed).await.status(), 404);
    let whole = [
        ("csrf_token", token.as_str()),
        ("role", ""),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &admin, &remove, &whole).await.status(), 303);
    assert!(roles(&w).await.is_empty());
    let html = page(&w, &admin, &staff_path).await.text().await.unwrap();
    assert!(html.contains("这个部门还没有工作人员"));

    // Each change is in the department's part of the trail.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE department_id = $1 ORDER BY occurred_at, id",
    )
    .bind(&id)
    .fetch_all(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "department.created",
            "staff.added",
            "staff.removed",
            "staff.removed"
        ]
    );
    assert_eq!(
        page(&w, &admin, "/console/departments/nonsense")
            .await
            .status(),
        404
    );
}

/// The seal page's rows of grants, as `(subject id in the revoke form)`.
fn grant_forms(html: &str) -> usize {
    html.matches("/revoke\" class=\"inline\"").count()
}

#[tokio::test]
async fn a_department_administrator_creates_grants_and_suspends_a_seal_and_nobody_else_does() {
    let w = world::world().await;
    staff_world(&w).await;
    let wang = subject(&w, WANG).await;
    let zhao = subject(&w, ZHAO).await;
    let mut tx = w.server.store().begin().await.unwrap();
    subjects::add_staff(
        &mut tx,
        wang,
        w.a.id,
        "A-2",
        &[Role::SealUser],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // 李四 administers department A: its seals are his to manage.
    let li = session(&w, LI).await;
    let desk = page(&w, &li, "/console").await.text().await.unwrap();
    assert!(desk.contains("href=\"/console/seals\""));
    let empty = page(&w, &li, "/console/seals").await.text().await.unwrap();
    assert!(empty.contains("这个部门还没有印章") && empty.contains("action=\"/console/seals\""));
    let token = csrf_of(&empty);
    let department = w.a.id.to_string();
    let fields = [
        ("csrf_token", token.as_str()),
        ("department", department.as_str()),
        ("kind", "contract"),
        ("name", "浙江省市场监督管理局合同专用章"),
        ("algorithm", "ES256"),
    ];
    let created = form(&w, &li, "/console/seals", &fields).await;
    assert_eq!(created.status(), 303);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let seal_path = location.split('?').next().unwrap().to_owned();
    let html = page(&w, &li, &location).await.text().await.unwrap();
    assert!(html.contains("合同专用章") && html.contains("使用中") && html.contains("印章已创建"));
    assert!(
        html.contains(&format!("value=\"{wang}\"")),
        "王五 uses seals in A"
    );
    assert_eq!(grant_forms(&html), 0);
    // An image, previewed as it stamps; a file that is no PNG is refused.
    let image_path = format!("{seal_path}/image");
    let png = support::documents::png_image(200, 200, png::ColorType::Rgba);
    let fields = [("csrf_token", token.as_str())];
    let not_png = ("image", "seal.png", "image/png", b"GIF89a".as_slice());
    let refused = world::upload(&w, &li, &image_path, &fields, not_png).await;
    assert_eq!(refused.status(), 422);
    // Over the 2 MiB form limit: a page that says the file is too large, not a bare 400.
    let huge = vec![0u8; 3 * 1024 * 1024];
    let too_large = ("image", "seal.png", "image/png", huge.as_slice());
    let refused = world::upload(&w, &li, &image_path, &fields, too_large).await;
    assert_eq!(refused.status(), 413);
    assert!(refused.text().await.unwrap().contains("文件太大"));
    let no_image = page(&w, &li, &image_path).await;
    assert_eq!(no_image.status(), 404);
    let uploaded = world::upload(
        &w,
        &li,
        &image_path,
        &fields,
        ("image", "seal.png", "image/png", &png),
    )
    .await;
    assert_eq!(uploaded.status(), 303);
    let shown = page(&w, &li, &format!("{seal_path}?done=image"))
        .await
        .text()
        .await
        .unwrap();
    assert!(shown.contains(&format!("<img src=\"{image_path}\"")) && shown.contains("图像已上传"));
    let served = page(&w, &li, &image_path).await;
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
    // A seal of department B: not 李四's to make.
    let other = [
        ("csrf_token", token.as_str()),
        ("department", &w.b.id.to_string()),
        ("kind", "contract"),
        ("name", "湖南省合同专用章"),
        ("algorithm", "ES256"),
    ];
    assert_eq!(form(&w, &li, "/console/seals", &other).await.status(), 403);
    let bad = [
        ("csrf_token", token.as_str()),
        ("department", department.as_str()),
        ("kind", "wax"),
        ("name", "x"),
    ];
    assert_eq!(form(&w, &li, "/console/seals", &bad).await.status(), 422);

    let grants = format!("{seal_path}/grants");
    let grant = [
        ("csrf_token", token.as_str()),
        ("staff_id", &wang.to_string()),
        ("purpose_required", "yes"),
    ];
    assert_eq!(form(&w, &li, &grants, &grant).await.status(), 303);
    let html = page(&w, &li, &seal_path).await.text().await.unwrap();
    assert_eq!(grant_forms(&html), 1);
    // Only the department's staff: 赵六 works in B.
    let outsider = [
        ("csrf_token", token.as_str()),
        ("staff_id", &zhao.to_string()),
    ];
    assert_eq!(form(&w, &li, &grants, &outsider).await.status(), 422);

    // 赵六 (B, no seal role) sees no seals, and cannot act on A's.
    let zhao_session = session(&w, ZHAO).await;
    assert_eq!(
        page(&w, &zhao_session, "/console/seals").await.status(),
        403
    );
    assert_eq!(page(&w, &zhao_session, &seal_path).await.status(), 403);
    let zhao_token = csrf(&w, &zhao_session).await;
    let his = [
        ("csrf_token", zhao_token.as_str()),
        ("staff_id", &zhao.to_string()),
    ];
    assert_eq!(form(&w, &zhao_session, &grants, &his).await.status(), 403);
    // Not even the confirmation page (it names the seal) for another department.
    let peek = [("csrf_token", zhao_token.as_str()), ("status", "suspended")];
    let peeked = form(&w, &zhao_session, &format!("{seal_path}/status"), &peek).await;
    assert_eq!(peeked.status(), 403);
    assert!(!peeked.text().await.unwrap().contains("合同专用章"));
    // 王五 uses the seal: he sees it, without the managers' forms, and cannot grant.
    let wang_session = session(&w, WANG).await;
    let seen = page(&w, &wang_session, &seal_path).await;
    assert_eq!(seen.status(), 200);
    let html = seen.text().await.unwrap();
    assert!(!html.contains("/grants\"") && !html.contains("/status\""));
    let wang_token = csrf(&w, &wang_session).await;
    let self_grant = [
        ("csrf_token", wang_token.as_str()),
        ("staff_id", &wang.to_string()),
    ];
    assert_eq!(
        form(&w, &wang_session, &grants, &self_grant).await.status(),
        403
    );

    // The usage log: filtered on the page, exported as CSV with formula-like cells
    // made inert. (Sealing itself is tested in the seal suites; a use is written here.)
    let seal_id = seal_path.rsplit('/').next().unwrap().to_owned();
    for (n, purpose) in ["=HYPERLINK(\"http://x\")", "年度合同"]
        .into_iter()
        .enumerate()
    {
        sqlx::query(
            "INSERT INTO seal_usages (id, seal_id, actor, client_id, digest_sha256, format, purpose, created_at) \
             VALUES ($1, $2, $3, 'console', 'ab', 'pades', $4, $5)",
        )
        .bind(format!("u{n}"))
        .bind(&seal_id)
        .bind(format!("subject:{wang}"))
        .bind(purpose)
        .bind(Timestamp::now().unix_millis() + n as i64)
        .execute(&mut *w.server.store().conn().await.unwrap())
        .await
        .unwrap();
    }
    let html = page(&w, &li, &seal_path).await.text().await.unwrap();
    assert!(html.contains("年度合同") && html.contains("HYPERLINK"));
    let none = page(&w, &li, &format!("{seal_path}?actor=subject:nobody")).await;
    assert!(!none.text().await.unwrap().contains("年度合同"));
    let bad_day = page(&w, &li, &format!("{seal_path}?from=someday")).await;
    assert!(bad_day.text().await.unwrap().contains("查询条件有误"));
    let export = page(
        &w,
        &li,
        &format!("{seal_path}/usages/export?from=2000-01-01"),
    )
    .await;
    assert_eq!(export.status(), 200);
    let csv = export.text().await.unwrap();
    assert!(csv.starts_with("at,actor,client_id,format,purpose,sha256,sm3"));
    assert!(
        csv.contains("'=HYPERLINK") && csv.contains("年度合同"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 3);
    let theirs = page(&w, &zhao_session, &format!("{seal_path}/usages/export")).await;
    assert_eq!(theirs.status(), 403);
    // The seal user sees the image; neither he nor 赵六 of B replaces it.
    assert_eq!(page(&w, &wang_session, &image_path).await.status(), 200);
    assert_eq!(page(&w, &zhao_session, &image_path).await.status(), 403);
    let png_file = ("image", "seal.png", "image/png", png.as_slice());
    let by_user = world::upload(
        &w,
        &wang_session,
        &image_path,
        &[("csrf_token", &wang_token)],
        png_file,
    )
    .await;
    assert_eq!(by_user.status(), 403);

    // Taking the grant back: asked first.
    let revoke = format!("{seal_path}/grants/{wang}/revoke");
    let asked = form(&w, &li, &revoke, &[("csrf_token", &token)]).await;
    assert_eq!(asked.status(), 200);
    assert!(asked.text().await.unwrap().contains("确定收回"));
    let confirmed = [("csrf_token", token.as_str()), ("confirm", "yes")];
    assert_eq!(form(&w, &li, &revoke, &confirmed).await.status(), 303);
    assert_eq!(
        grant_forms(&page(&w, &li, &seal_path).await.text().await.unwrap()),
        0
    );
    assert_eq!(form(&w, &li, &revoke, &confirmed).await.status(), 404);

    // Suspended, then revoked for ever.
    let status = format!("{seal_path}/status");
    let asked = form(
        &w,
        &li,
        &status,
        &[("csrf_token", &token), ("status", "suspended")],
    )
    .await;
    assert!(asked.text().await.unwrap().contains("确定暂停"));
    let suspend = [
        ("csrf_token", token.as_str()),
        ("status", "suspended"),
        ("reason", "盘点"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &li, &status, &suspend).await.status(), 303);
    assert!(
        page(&w, &li, &seal_path)
            .await
            .text()
            .await
            .unwrap()
            .contains("已暂停")
    );
    let revoke_all = [
        ("csrf_token", token.as_str()),
        ("status", "revoked"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &li, &status, &revoke_all).await.status(), 303);
    let html = page(&w, &li, &seal_path).await.text().await.unwrap();
    assert!(html.contains("已注销") && !html.contains("/status\""));
    let resume = [
        ("csrf_token", token.as_str()),
        ("status", "active"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &li, &status, &resume).await.status(), 409);
    let nonsense = [
        ("csrf_token", token.as_str()),
        ("status", "melted"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &li, &status, &nonsense).await.status(), 422);
    // The console's acts are in the seal's history under 李四, through the console.
    let actors: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT actor FROM seal_history WHERE seal_id = $1")
            .bind(seal_path.rsplit('/').next().unwrap())
            .fetch_all(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert_eq!(actors, [format!("subject:{}", subject(&w, LI).await)]);
}

/// The secret on a console page that shows one.
fn secret_of(html: &str) -> String {
    let marker = "<code id=\"client-secret\"><bdi>";
    let start = html.find(marker).unwrap() + marker.len();
    html[start..].split('<').next().unwrap().to_owned()
}

/// The client id on the same page.
fn client_id_of(html: &str) -> String {
    let marker = "<dd><code><bdi>";
    let dd = html.find(marker).unwrap() + marker.len();
    html[dd..].split('<').next().unwrap().to_owned()
}

async fn token_status(w: &World, id: &str, secret: &str) -> u16 {
    w.server
        .client
        .post(format!("{}/token", w.server.base))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_platform_administrator_registers_rotates_and_disables_a_client() {
    let w = world::world().await;
    staff_world(&w).await;
    let li = subject(&w, LI).await;
    let mut tx = w.server.store().begin().await.unwrap();
    console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let wang = session(&w, WANG).await;
    assert_eq!(page(&w, &wang, "/console/clients").await.status(), 403);

    let admin = session(&w, LI).await;
    let listed = page(&w, &admin, "/console/clients").await;
    assert_eq!(listed.status(), 200);
    let token = csrf_of(&listed.text().await.unwrap());
    let department = w.a.id.to_string();
    let system = [
        ("csrf_token", token.as_str()),
        ("name", "浙江省证照业务系统"),
        ("kind", "system"),
        ("scopes", "seal:use"),
        ("department_id", department.as_str()),
    ];
    let created = form(&w, &admin, "/console/clients", &system).await;
    assert_eq!(created.status(), 200);
    let html = created.text().await.unwrap();
    let (id, first) = (client_id_of(&html), secret_of(&html));
    assert!(html.contains("只显示这一次") && first.len() > 20);
    assert_eq!(token_status(&w, &id, &first).await, 200);
    // Nobody else can do it, even with the page's token.
    let forged = form(&w, &wang, "/console/clients", &system).await;
    assert_eq!(forged.status(), 403);
    let bad = [
        ("csrf_token", token.as_str()),
        ("name", "门户"),
        ("kind", "portal"),
        ("redirect_uri", "javascript:alert(1)"),
        ("scopes", "openid"),
    ];
    let refused = form(&w, &admin, "/console/clients", &bad).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("有一项填写无效"));

    // A new secret, the old one ending at once: asked first.
    let rotate = format!("/console/clients/{id}/secret");
    let asked = form(
        &w,
        &admin,
        &rotate,
        &[("csrf_token", &token), ("grace_seconds", "0")],
    )
    .await;
    assert_eq!(asked.status(), 200);
    assert!(asked.text().await.unwrap().contains("确定为"));
    assert_eq!(
        token_status(&w, &id, &first).await,
        200,
        "not before the confirmation"
    );
    let confirmed = [
        ("csrf_token", token.as_str()),
        ("grace_seconds", "0"),
        ("confirm", "yes"),
    ];
    let rotated = form(&w, &admin, &rotate, &confirmed).await;
    assert_eq!(rotated.status(), 200);
    let second = secret_of(&rotated.text().await.unwrap());
    assert_ne!(first, second);
    assert_eq!(token_status(&w, &id, &first).await, 401);
    assert_eq!(token_status(&w, &id, &second).await, 200);
    let odd = [
        ("csrf_token", token.as_str()),
        ("grace_seconds", "12"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &admin, &rotate, &odd).await.status(), 422);

    // Disabled, then enabled again.
    let disable = format!("/console/clients/{id}/disable");
    let done = [("csrf_token", token.as_str()), ("confirm", "yes")];
    assert_eq!(
        form(&w, &admin, &disable, &[("csrf_token", &token)])
            .await
            .status(),
        200
    );
    assert_eq!(
        token_status(&w, &id, &second).await,
        200,
        "not before the confirmation"
    );
    let disabled = form(&w, &admin, &disable, &done).await;
    assert_eq!(disabled.status(), 303);
    assert_eq!(token_status(&w, &id, &second).await, 401);
    let location = disabled.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        page(&w, &admin, &location)
            .await
            .text()
            .await
            .unwrap()
            .contains("客户端已停用")
    );
    let enable = format!("/console/clients/{id}/enable");
    assert_eq!(form(&w, &admin, &enable, &done).await.status(), 303);
    assert_eq!(token_status(&w, &id, &second).await, 200);
    let nobody = form(&w, &admin, "/console/clients/nobody/disable", &done).await;
    assert_eq!(nobody.status(), 404);
    // Recorded under the administrator, in department A's part of the trail.
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_events WHERE target = $1 AND department_id = $2 ORDER BY occurred_at, id",
    )
    .bind(&id)
    .bind(&department)
    .fetch_all(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        actions,
        [
            "client.created",
            "client.secret-rotated",
            "client.disabled",
            "client.enabled"
        ]
    );
}

#[tokio::test]
async fn a_granted_seal_user_seals_page_two_of_a_pdf_and_nobody_else_does() {
    let w = world::world().await;
    staff_world(&w).await;
    let li_id = subject(&w, LI).await;
    sqlx::query(
        "INSERT INTO staff_roles (subject_id, department_id, role) VALUES ($1, $2, 'seal-user')",
    )
    .bind(li_id.to_string())
    .bind(w.a.id.to_string())
    .execute(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    let li = session(&w, LI).await;
    let token = csrf(&w, &li).await;
    let department = w.a.id.to_string();
    let created = form(
        &w,
        &li,
        "/console/seals",
        &[
            ("csrf_token", &token),
            ("department", &department),
            ("kind", "contract"),
            ("name", "浙江省市场监督管理局合同专用章"),
            ("algorithm", "ES256"),
        ],
    )
    .await;
    let seal_path = created.headers()["location"]
        .to_str()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_owned();
    let pdf_path = format!("{seal_path}/pdf");
    // Over the 2 MiB form limit, as scanned contracts are: the console takes documents
    // up to http.document_limit_bytes, like the API.
    let pdf = support::documents::sample_pdf(3, 3 * 1024 * 1024);
    assert!(pdf.len() > 3 * 1024 * 1024);
    let fields = |page: &'static str, anchor: &'static str| {
        vec![
            ("csrf_token", token.clone()),
            ("page", page.to_owned()),
            ("anchor", anchor.to_owned()),
            ("purpose", "合同用印".to_owned()),
        ]
    };
    let send = async |session: &str, fields: Vec<(&str, String)>, pdf: &[u8]| {
        let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        world::upload(
            &w,
            session,
            &pdf_path,
            &refs,
            ("pdf", "contract.pdf", "application/pdf", pdf),
        )
        .await
    };
    // A seal id no page writes: not found, said on a page.
    let malformed = page(&w, &li, "/console/seals/not-a-seal/pdf").await;
    assert_eq!(malformed.status(), 404);
    assert!(malformed.text().await.unwrap().contains("没有这枚印章"));
    // Not granted yet: refused, and nothing is signed.
    let form_page = page(&w, &li, &pdf_path).await;
    assert_eq!(form_page.status(), 200);
    // The page preview's pdf.js comes from our own assets, cached for good.
    let form_page = form_page.text().await.unwrap();
    let lib = form_page
        .split("data-lib=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    for script in [
        lib.clone(),
        lib.replace("pdf.min.mjs", "pdf.worker.min.mjs"),
    ] {
        let served = page(&w, &li, &script).await;
        assert_eq!(served.status(), 200, "{script}");
        assert!(
            served.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        assert!(served.text().await.unwrap().contains("Mozilla Foundation"));
    }
    assert_eq!(
        send(&li, fields("2", "bottom-right"), &pdf).await.status(),
        403
    );
    let grant = [
        ("csrf_token", token.as_str()),
        ("staff_id", &li_id.to_string()),
        ("purpose_required", "yes"),
    ];
    assert_eq!(
        form(&w, &li, &format!("{seal_path}/grants"), &grant)
            .await
            .status(),
        303
    );

    // Bad input is the form again, saying why.
    assert_eq!(
        send(&li, fields("9", "bottom-right"), &pdf).await.status(),
        422
    );
    assert_eq!(send(&li, fields("2", "corner"), &pdf).await.status(), 422);
    assert_eq!(
        send(&li, fields("2", "bottom-right"), b"not a pdf")
            .await
            .status(),
        422
    );
    let mut no_purpose = fields("2", "bottom-right");
    no_purpose[3].1 = String::new();
    let refused = send(&li, no_purpose, &pdf).await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("用印事由"));

    let sealed = send(&li, fields("2", "bottom-right"), &pdf).await;
    assert_eq!(sealed.status(), 200);
    assert_eq!(sealed.headers()["content-type"], "application/pdf");
    assert!(
        sealed.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let sealed = sealed.bytes().await.unwrap();
    assert!(sealed.starts_with(&pdf), "an incremental update");
    // The widget is on page 2, half an inch from its bottom right corner.
    let reader = tongban_seal::pdf::Reader::open(&sealed).unwrap();
    let (_, second, _) = reader.page(2).unwrap().unwrap();
    assert_eq!(second.get(b"Annots").unwrap().as_array().unwrap().len(), 1);
    let (_, first, _) = reader.page(1).unwrap().unwrap();
    assert!(first.get(b"Annots").is_err());
    let uses: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM seal_usages WHERE purpose = '合同用印'")
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert_eq!(uses, 1);

    // Put by hand on the preview: anchor=placed with the lower-left corner in points.
    let placed = |x: &str, y: &str| {
        let mut placed = fields("3", "placed");
        placed.push(("x", x.to_owned()));
        placed.push(("y", y.to_owned()));
        placed
    };
    assert_eq!(send(&li, placed("", "500"), &pdf).await.status(), 422);
    assert_eq!(send(&li, placed("abc", "500"), &pdf).await.status(), 422);
    let off_page = send(&li, placed("500", "500"), &pdf).await;
    assert_eq!(
        off_page.status(),
        422,
        "595 points wide: 500 + 120 is off the page"
    );
    assert!(off_page.text().await.unwrap().contains("within the page"));
    let sealed = send(&li, placed("100.5", "500"), &pdf).await;
    assert_eq!(sealed.status(), 200);
    let sealed = sealed.bytes().await.unwrap();
    let reader = tongban_seal::pdf::Reader::open(&sealed).unwrap();
    let (_, third, _) = reader.page(3).unwrap().unwrap();
    let annots = reader.array(third.get(b"Annots").ok()).unwrap().unwrap();
    let widget = reader.dictionary(&annots[0]).unwrap();
    let rect: Vec<f32> = reader
        .array(widget.get(b"Rect").ok())
        .unwrap()
        .unwrap()
        .iter()
        .map(|n| n.as_float().unwrap())
        .collect();
    assert_eq!(rect, [100.5, 500.0, 220.5, 620.0]);

    // A bank verifies the sealed contract; the department's overview shows today's two
    // seal uses and the verification.
    let verified = w
        .server
        .client
        .post(format!("{}/api/v1/verify", w.server.base))
        .header("content-type", "application/pdf")
        .body(sealed.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(verified.status(), 200);
    let overview = page(&w, &li, "/console/overview").await;
    assert_eq!(overview.status(), 200);
    let overview = overview.text().await.unwrap();
    let chart = |id: &str| {
        let start = overview.find(&format!("id=\"{id}-title\"")).unwrap();
        let end = overview[start..].find("</section>").unwrap() + start;
        overview[start..end].to_owned()
    };
    let uses = chart("seal-uses");
    assert!(uses.contains("浙江省市场监督管理局合同专用章"), "{uses}");
    assert!(uses.contains("30 天合计 \u{2068}2\u{2069}"), "{uses}");
    let bars = uses.matches("<rect ").count();
    assert!(
        (1..=2).contains(&bars),
        "today's bar (two if Beijing's midnight fell between)"
    );
    let verifications = chart("verifications");
    assert!(
        verifications.contains("30 天合计 \u{2068}1\u{2069}"),
        "{verifications}"
    );
    assert!(chart("issued").contains("近 30 天没有记录"));
    // Each use is in the department's audit trail too, by the seal user (李四).
    let used = page(&w, &li, "/console/audit/export?action=seal.used").await;
    let used = used.text().await.unwrap();
    let rows: Vec<&str> = used.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{used}");
    assert!(
        rows.iter()
            .all(|r| r.contains(&format!("subject:{li_id}")) && r.contains("pades")),
        "{used}"
    );
    assert!(
        !overview.contains("failed-logins-title"),
        "refused logins are the platform's"
    );
    // Another department's overview, or everything, is not a department
    // administrator's to read.
    let b = format!("/console/overview?department={}", w.b.id);
    assert_eq!(page(&w, &li, &b).await.status(), 403);
    assert_eq!(
        page(&w, &li, "/console/overview?department=")
            .await
            .status(),
        403
    );
    assert_eq!(
        page(&w, &li, "/console/overview?department=x")
            .await
            .status(),
        403
    );

    // 王五 is no seal user of A with a grant; 赵六 works in B.
    let wang = session(&w, WANG).await;
    let wang_fields = vec![
        ("csrf_token", csrf(&w, &wang).await),
        ("page", "1".to_owned()),
        ("anchor", "bottom".to_owned()),
        ("purpose", "x".to_owned()),
    ];
    assert_eq!(send(&wang, wang_fields, &pdf).await.status(), 403);
    let zhao = session(&w, ZHAO).await;
    assert_eq!(page(&w, &zhao, &pdf_path).await.status(), 403);
    // An issuer of B reads no overview, not even B's.
    assert_eq!(page(&w, &zhao, "/console/overview").await.status(), 403);
    assert_eq!(page(&w, &zhao, &b).await.status(), 403);

    // The form sent twice as it was (a double click): sealed once, the same document
    // back. Changed and sent again from the same page, it is another sealing.
    let once = form_page
        .split("name=\"once\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert_eq!(once.len(), 32, "a key per rendering of the form");
    let mut keyed = fields("1", "top-left");
    keyed.push(("once", once.clone()));
    let count_uses = async || -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM seal_usages WHERE purpose = '合同用印'")
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap()
    };
    let before = count_uses().await;
    let first = send(&li, keyed.clone(), &pdf).await;
    assert_eq!(first.status(), 200);
    let first = first.bytes().await.unwrap();
    let again = send(&li, keyed.clone(), &pdf).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.bytes().await.unwrap(),
        first,
        "the same document back"
    );
    assert_eq!(
        count_uses().await,
        before + 1,
        "sealed once for the two sends"
    );
    let mut changed = fields("3", "top-left");
    changed.push(("once", once));
    assert_eq!(send(&li, changed, &pdf).await.status(), 200);
    assert_eq!(count_uses().await, before + 2);
}

/// A console upload takes documents up to `http.document_limit_bytes`, so its body is
/// read only for someone signed in: without a session the answer comes before the body.
#[tokio::test]
async fn an_upload_from_nobody_signed_in_is_refused_before_its_body_arrives() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world::world().await;
    let address = w.server.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // 50 MiB announced (under the document limit), a few bytes of it sent.
    let seal = tongban_seal::registry::SealId::new();
    let head = format!(
        "POST /console/seals/{seal}/pdf HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n--b\r\n",
        50 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 8192];
    // A guard against hanging, not a timing: a server that waited for the body would
    // never answer, as the rest of the body never comes.
    let read = tokio::time::timeout(std::time::Duration::from_secs(30), stream.read(&mut answer))
        .await
        .expect("answered before the body arrived")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

#[tokio::test]
async fn a_platform_administrator_tries_a_given_up_logout_notice_again() {
    let w = world::world().await;
    staff_world(&w).await;
    let li = subject(&w, LI).await;
    let mut tx = w.server.store().begin().await.unwrap();
    console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
        .await
        .unwrap();
    // A portal that was down: one notice given up after its last attempt, one delivered.
    let now = Timestamp::now().unix_millis();
    for (id, failed_at, delivered_at, error) in [
        ("d-given-up", Some(now), None, Some("connection refused")),
        ("d-delivered", None, Some(now), None),
    ] {
        sqlx::query(
            "INSERT INTO logout_deliveries (id, client_id, session_id, sub, sid, created_at, attempts, \
             next_attempt_at, delivered_at, failed_at, last_error) VALUES ($1, $2, 's', 'sub', 'sid', $3, 8, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(&w.app.0)
        .bind(now)
        .bind(delivered_at)
        .bind(failed_at)
        .bind(error)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let admin = session(&w, LI).await;
    let desk = page(&w, &admin, "/console").await.text().await.unwrap();
    assert!(desk.contains("href=\"/console/deliveries\""));
    let listed = page(&w, &admin, "/console/deliveries?state=failed").await;
    assert_eq!(listed.status(), 200);
    let listed = listed.text().await.unwrap();
    assert!(listed.contains("connection refused") && listed.contains("已放弃"));
    assert!(listed.contains("action=\"/console/deliveries/d-given-up/retry\""));
    assert!(!listed.contains("d-delivered"), "filtered by state");
    let all = page(&w, &admin, "/console/deliveries")
        .await
        .text()
        .await
        .unwrap();
    assert!(all.contains("已送达") && !all.contains("/console/deliveries/d-delivered/retry"));

    let token = csrf(&w, &admin).await;
    let fields = [("csrf_token", token.as_str()), ("state", "failed")];
    let retried = form(&w, &admin, "/console/deliveries/d-given-up/retry", &fields).await;
    assert_eq!(retried.status(), 303);
    let location = retried.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("done=retried"), "{location}");
    let (failed, attempts): (Option<i64>, i64) =
        sqlx::query_as("SELECT failed_at, attempts FROM logout_deliveries WHERE id = 'd-given-up'")
            .fetch_one(&mut *w.server.store().conn().await.unwrap())
            .await
            .unwrap();
    assert!(
        failed.is_none() && attempts <= 1,
        "queued again: {attempts}"
    );
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'logout.delivery_retried' AND target = 'd-given-up'",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(actor, format!("subject:{li}"));
    // Only a given-up notice is tried again.
    for id in ["d-given-up", "d-delivered", "nothing"] {
        let again = form(
            &w,
            &admin,
            &format!("/console/deliveries/{id}/retry"),
            &fields,
        )
        .await;
        assert_eq!(again.status(), 404, "{id}");
    }
    // Staff who do not administer the platform see none of it.
    for person in [ZHAO, WANG] {
        let other = session(&w, person).await;
        assert_eq!(page(&w, &other, "/console/deliveries").await.status(), 403);
        let token = csrf(&w, &other).await;
        let fields = [("csrf_token", token.as_str())];
        let tried = form(&w, &other, "/console/deliveries/d-given-up/retry", &fields).await;
        assert_eq!(tried.status(), 403);
    }
}

#[tokio::test]
async fn a_department_administrator_manages_their_own_staff_and_no_other() {
    let w = world::world().await;
    staff_world(&w).await;
    let li = session(&w, LI).await;
    let a = format!("/console/departments/{}", w.a.id);
    let b = format!("/console/departments/{}", w.b.id);
    let desk = page(&w, &li, "/console").await.text().await.unwrap();
    assert!(
        desk.contains(&format!("href=\"{a}\"")),
        "a link to their staff"
    );
    assert!(!desk.contains(&format!("href=\"{b}\"")));
    let staff = page(&w, &li, &a).await;
    assert_eq!(staff.status(), 200);
    let html = staff.text().await.unwrap();
    assert!(html.contains("A-1") && html.contains("href=\"/console\""));
    // The list of departments stays the platform's.
    assert_eq!(page(&w, &li, "/console/departments").await.status(), 403);

    // 王五 (registered as 职员) joins A as an issuer, recorded under 李四 in A's trail.
    let token = csrf(&w, &li).await;
    let wang = subject(&w, WANG).await;
    let new_member = [
        ("csrf_token", token.as_str()),
        ("resident_id", WANG),
        ("name", "职员"),
        ("staff_number", "A-2"),
        ("role_issuer", "yes"),
    ];
    let added = form(&w, &li, &format!("{a}/staff"), &new_member).await;
    assert_eq!(added.status(), 303);
    let (actor, department): (String, String) = sqlx::query_as(
        "SELECT actor, department_id FROM audit_events WHERE action = 'staff.added' \
         AND actor <> 'system' ORDER BY occurred_at DESC LIMIT 1",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(
        (actor, department),
        (
            format!("subject:{}", subject(&w, LI).await),
            w.a.id.to_string()
        )
    );
    let remove = format!("{a}/staff/{wang}/remove");
    let confirmed = [
        ("csrf_token", token.as_str()),
        ("role", "issuer"),
        ("confirm", "yes"),
    ];
    assert_eq!(form(&w, &li, &remove, &confirmed).await.status(), 303);

    // Not the counter role: counter staff serve every citizen.
    let counter = [
        ("csrf_token", token.as_str()),
        ("resident_id", WANG),
        ("name", "职员"),
        ("staff_number", "A-3"),
        ("role_counter", "yes"),
    ];
    let refused = form(&w, &li, &format!("{a}/staff"), &counter).await;
    assert_eq!(refused.status(), 403);
    assert!(refused.text().await.unwrap().contains("只有平台管理员"));

    // Not B's staff: neither read, added to, nor taken from.
    assert_eq!(page(&w, &li, &b).await.status(), 403);
    let into_b = form(&w, &li, &format!("{b}/staff"), &new_member).await;
    assert_eq!(into_b.status(), 403);
    let zhao = subject(&w, ZHAO).await;
    let from_b = [
        ("csrf_token", token.as_str()),
        ("role", ""),
        ("confirm", "yes"),
    ];
    let tried = form(&w, &li, &format!("{b}/staff/{zhao}/remove"), &from_b).await;
    assert_eq!(tried.status(), 403);
    let mut conn = w.server.store().conn().await.unwrap();
    assert_eq!(
        subjects::roles_in(&mut conn, zhao, w.b.id).await.unwrap(),
        [Role::Issuer]
    );
    drop(conn);

    // Not their own administration or membership: another administrator does that.
    let me = subject(&w, LI).await;
    for role in ["dept-admin", ""] {
        let own = [
            ("csrf_token", token.as_str()),
            ("role", role),
            ("confirm", "yes"),
        ];
        let tried = form(&w, &li, &format!("{a}/staff/{me}/remove"), &own).await;
        assert_eq!(tried.status(), 403, "{role:?}");
        assert!(tried.text().await.unwrap().contains("另一位管理员"));
    }

    // 赵六 issues in B but does not administer it.
    let zhao_session = session(&w, ZHAO).await;
    assert_eq!(page(&w, &zhao_session, &b).await.status(), 403);
    // A department administrator signed in at level 2 is asked to sign in more strongly.
    let mut tx = w.server.store().begin().await.unwrap();
    subjects::add_staff(
        &mut tx,
        wang,
        w.b.id,
        "B-2",
        &[Role::DeptAdmin],
        Timestamp::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let wang_session = session(&w, WANG).await;
    let weak = page(&w, &wang_session, &b).await;
    assert_eq!(weak.status(), 403);
    assert!(weak.text().await.unwrap().contains("请重新登录"));
    let wang_token = csrf(&w, &wang_session).await;
    let by_weak = [
        ("csrf_token", wang_token.as_str()),
        ("resident_id", LI),
        ("name", "李四"),
        ("staff_number", "B-3"),
        ("role_issuer", "yes"),
    ];
    let tried = form(&w, &wang_session, &format!("{b}/staff"), &by_weak).await;
    assert_eq!(tried.status(), 403, "nor adds staff at level 2");
}

#[tokio::test]
async fn a_platform_administrator_previews_a_registry_file_then_imports_it() {
    let w = world::world().await;
    staff_world(&w).await;
    let li = subject(&w, LI).await;
    let mut tx = w.server.store().begin().await.unwrap();
    console::grant_platform_admin(&mut tx, li, "operator:test", Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let admin = session(&w, LI).await;
    assert_eq!(page(&w, &admin, "/console/registry").await.status(), 200);
    let token = csrf(&w, &admin).await;
    let fields = [("csrf_token", token.as_str())];
    let (new_id, other_id) = (
        support::logins::resident_id(901),
        support::logins::resident_id(902),
    );
    let preview = async |csv: String| {
        let file = ("csv", "registry.csv", "text/csv", csv.as_bytes());
        world::upload(&w, &admin, "/console/registry", &fields, file).await
    };
    let held = |name: &'static str| {
        let store = w.server.store().clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM registry_entries WHERE name = $1")
                .bind(name)
                .fetch_one(&mut *store.conn().await.unwrap())
                .await
                .unwrap()
        }
    };

    // A bad number: shown, and no import offered.
    let bad = preview(format!(
        "name,resident_id\n新人甲,{new_id}\n错号,110101199001011234\n"
    ))
    .await;
    assert_eq!(bad.status(), 200);
    let html = bad.text().await.unwrap();
    assert!(html.contains("退回 1 行"), "{html}");
    assert!(!html.contains("action=\"/console/registry/import\""));
    assert!(
        !html.contains("19900101123"),
        "a refused number is masked too"
    );
    assert_eq!(held("新人甲").await, 0, "a preview writes nothing");
    // Not CSV at all, or empty.
    assert_eq!(preview("just one field\n".into()).await.status(), 422);
    assert_eq!(preview(String::new()).await.status(), 422);

    // Good lines: each one's effect, the numbers masked, then the import.
    let csv = format!("name,resident_id\n新人甲,{new_id}\n职员,{WANG}\n新人乙,{other_id}\n");
    let html = preview(csv.clone()).await.text().await.unwrap();
    assert!(
        html.contains("新增") && html.contains("已有，不变"),
        "{html}"
    );
    for number in [new_id.as_str(), other_id.as_str(), WANG] {
        assert!(
            !html.contains(&number[6..14]),
            "no number unmasked on the page"
        );
    }
    assert!(html.contains("action=\"/console/registry/import\""));
    let upload = html
        .split("name=\"upload\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    // Another administrator cannot import the file this one read.
    let mut tx = w.server.store().begin().await.unwrap();
    let zhao_id = subject(&w, ZHAO).await;
    console::grant_platform_admin(&mut tx, zhao_id, "operator:test", Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let other_admin = session(&w, ZHAO).await;
    let other_token = csrf(&w, &other_admin).await;
    let theirs = [
        ("csrf_token", other_token.as_str()),
        ("upload", upload.as_str()),
    ];
    let refused = form(&w, &other_admin, "/console/registry/import", &theirs).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(held("新人甲").await, 0);
    let import = [("csrf_token", token.as_str()), ("upload", upload.as_str())];
    let imported = form(&w, &admin, "/console/registry/import", &import).await;
    assert_eq!(imported.status(), 303);
    assert_eq!(
        imported.headers()["location"],
        "/console/registry?imported=3"
    );
    assert_eq!(held("新人甲").await, 1);
    // Once: the kept file is gone.
    let again = form(&w, &admin, "/console/registry/import", &import).await;
    assert_eq!(again.status(), 422);
    assert!(again.text().await.unwrap().contains("不再保留"));
    let actor: String = sqlx::query_scalar(
        "SELECT actor FROM audit_events WHERE action = 'registry.imported' ORDER BY occurred_at DESC LIMIT 1",
    )
    .fetch_one(&mut *w.server.store().conn().await.unwrap())
    .await
    .unwrap();
    assert_eq!(actor, format!("subject:{li}"));
    // A rename is shown as one.
    let renamed = preview(format!("新名字,{new_id}\n"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        renamed.contains("姓名由 \u{2068}新人甲\u{2069} 改为新姓名"),
        "{renamed}"
    );
    // Nobody else: 王五 is not staff.
    let wang = session(&w, WANG).await;
    assert_eq!(page(&w, &wang, "/console/registry").await.status(), 403);
    let wang_token = csrf(&w, &wang).await;
    let tried = form(
        &w,
        &wang,
        "/console/registry/import",
        &[
            ("csrf_token", wang_token.as_str()),
            ("upload", upload.as_str()),
        ],
    )
    .await;
    assert_eq!(tried.status(), 403);
}
