# 简体中文 — the default language of every page. Ids are stable: code and templates
# name them; en.ftl and any other language file must have the same ids (a test checks).

language-name = 中文
site = 通办 政务服务统一身份认证
large-text = 大字版
standard-text = 标准字号

# Between a label and its value.
colon = ：
## Login
sign-in = 登录
identifier = 身份证号、电子邮箱或工号
identifier-help = 居民身份证号码（18位）或注册的电子邮箱；单位工作人员填工号。
organisation = 单位统一社会信用代码（可选）
organisation-help = 代表企业办事或以单位工作人员身份登录时填写。
password = 密码
or = 或者
passkey-sign-in = 使用通行密钥登录
passkey-failed = 通行密钥未能通过验证，请重试或使用密码登录。
second-factor = 两步验证
second-factor-intro = 请输入身份验证器应用显示的6位数字，或一个恢复码。
code = 验证码

## Consent
consent-title = 授权确认
consent-intro = 以下应用请求获取您的信息：
allow = 同意授权
deny = 拒绝
scope-openid = 确认您的身份
scope-profile = 您的姓名
scope-email = 您的电子邮箱
scope-phone = 您的手机号码
scope-tongban-identity = 您的实名信息（姓名、身份证号）
scope-other = 其他信息（{ $scope }）

## Account
account = 我的账户
profile = 个人信息
name = 姓名
email = 电子邮箱
not-given = 未填写
level = 实名等级
level-1 = 一级（自行注册）
level-2 = 二级（已通过实名核验）
level-3 = 三级（已核验身份，并使用通行密钥或两步验证登录）
sessions = 登录设备与会话
this-session = 当前会话
signed-in-at = 登录时间
last-used = 最近使用
end-session = 结束此会话
end-all = 在所有设备上退出
consents = 已授权的应用
no-consents = 您尚未授权任何第三方应用。
granted-at = 授权时间
granted-scopes = 授权内容
withdraw = 撤销授权
change-password = 修改密码
current-password = 当前密码
new-password = 新密码
new-password-help = 至少8个字符，不能是常见密码，不能包含您的证件号或邮箱。
confirm-password = 再次输入新密码
save = 保存
totp-title = 身份验证器（两步验证）
totp-enabled = 已开启两步验证。
totp-off = 未开启。开启后，登录时除密码外还需输入验证器应用中的数字。
totp-set-up = 设置身份验证器
totp-secret = 在身份验证器应用中添加以下密钥，然后输入它显示的6位数字：
totp-confirm = 确认并开启
recovery-codes = 请妥善保存以下恢复码，每个只能使用一次（仅显示这一次）：
passkeys-title = 通行密钥
passkeys-none = 尚未添加通行密钥。通行密钥用指纹、面容或设备密码登录，无需输入密码。
passkey-name = 通行密钥名称
passkey-name-help = 例如“我的手机”，便于以后辨认。
passkey-add = 添加通行密钥
passkey-remove = 删除
passkey-needs-browser = 添加通行密钥需要支持通行密钥的浏览器并启用 JavaScript。
created-at = 添加于
never = 从未

## Notices on forms
notice-wrong-credentials = 账号或密码错误。
notice-too-many = 尝试次数过多，请稍后再试。
notice-password-changed = 密码已修改，其他设备上的登录已退出。
notice-wrong-current = 当前密码错误。
notice-mismatch = 两次输入的新密码不一致。
notice-wrong-code = 验证码错误或已使用过。
notice-passkey-failed = 通行密钥未能通过验证，请重试或使用密码登录。
notice-step-up = 此服务需要更高安全级别的登录：请使用通行密钥，或密码加身份验证器。
notice-passkey-added = 通行密钥已添加。
notice-passkey-name = 通行密钥名称需要 1 至 { $max } 个字符。
notice-passkey-duplicate = 这个通行密钥已经添加过了。
policy-too-short = 新密码至少需要 { $min } 个字符。
policy-too-long = 新密码太长。
policy-common = 新密码过于常见，请换一个。
policy-contains-identifier = 新密码不能包含您的证件号或邮箱。

## Sign out
sign-out = 退出登录
sign-out-question = 要退出统一身份认证吗？退出后，各政务网站都需要重新登录。
signed-out = 您已退出登录。

## Error pages
error-cannot-continue = 无法继续
error-cannot-sign-out = 无法退出
error-unavailable = 暂时无法登录
error-unavailable-detail = 请稍后再试。
error-form-expired = 表单已失效
error-form-expired-detail = 请重新开始。
error-strong-login = 需要更强的登录
error-strong-login-detail = 添加或删除通行密钥、身份验证器，需要先用通行密钥或密码加身份验证器登录。
error-malformed = 无法处理此请求
error-malformed-detail = 请求的内容不完整或有误。
error-back-to-service = 请回到您来自的网站重新开始。如果问题一直存在，请联系该网站。
reason-no-client = 请求没有指明应用（client_id）。
reason-unknown-client = 发起请求的应用未在本平台注册。
reason-no-redirect-uri = 请求没有指明返回地址（redirect_uri）。
reason-unregistered-redirect-uri = 请求的返回地址（redirect_uri）未为该应用登记。
reason-unknown-request-uri = 这次请求已过期或已使用（request_uri）。
reason-logout-client-mismatch = 退出请求中的应用（client_id）与登录凭据（id_token_hint）不符。
reason-logout-redirect-needs-client = 退出后的返回地址需要同时指明应用（client_id 或 id_token_hint）。
reason-logout-unregistered-redirect = 退出后的返回地址（post_logout_redirect_uri）未为该应用登记。
reason-logout-bad-hint = 退出请求中的登录凭据（id_token_hint）无效或不是本平台签发的。

## Verifying a sealed document
verify-title = 验证电子印章
verify-intro = 上传盖有电子印章的 PDF 文件，查看印章是否真实有效、文件是否被改动。文件只用于验证，不会保存。
document = PDF 文件
verify-button = 验证
no-document = 请选择一个 PDF 文件。
unreadable = 无法读取该文件，它可能不是完整的 PDF。
no-signatures = 该文件中没有电子印章。
verdict-passed = 有效：印章真实，盖章后文件未被改动。
verdict-failed = 无效：文件在盖章后被改动，或印章不可信。
verdict-indeterminate = 无法确定：缺少判断所需的信息。
overall = 结论
signature = 印章 { $n }
seal-label = 印章名称
department-label = 用印单位
signer-label = 证书
timestamped = 盖章时间（可信时间戳）
claimed = 声明的盖章时间
not-timestamped = 无可信时间戳
whole-document = 印章覆盖整个文件。
later-signatures = 盖章后文件只增加了其他印章。
later-changes = 盖章后文件有未经盖章的改动。
verify-another = 验证其他文件
technical-indication = 技术结论（ETSI EN 319 102-1）

## Findings of a seal verification
finding-certificate-unreadable = 无法读取盖章所用的证书。
finding-not-our-seal = 该证书不是本平台的电子印章。
finding-revoked-after-timestamp = 印章证书于 { $at } 被吊销，晚于可信时间戳：此次盖章有效，之后的盖章无效。
finding-revoked-before-timestamp = 印章证书于 { $at } 被吊销，早于此次盖章的可信时间戳。
finding-revoked-no-proof = 印章证书已被吊销，且没有证据表明盖章早于吊销。
finding-certificate-not-valid-then = 在验证所依据的时间，印章证书不在有效期内。
finding-unknown-issuer = 印章证书不能追溯到本平台的根证书。
finding-no-revocation-info = 暂时无法取得证书的吊销信息，请稍后再试。
finding-chain-invalid = 印章证书的证书链无效。
finding-digest-mismatch = 文件内容与签名不符：文件在盖章后被改动。
finding-bad-signature = 签名值无法验证：签名被伪造或损坏。
finding-malformed-signature = 签名的格式有误，无法读取。
finding-signer-certificate-missing = 签名中没有盖章所用的证书。
finding-signing-certificate-mismatch = 签名所绑定的证书与所附证书不一致。
finding-unsupported-algorithm = 签名使用了本平台不支持的算法。
finding-not-baseline = 签名没有绑定签名证书（不是基线签名）。
finding-timestamp-authority-untrusted = 时间戳的签发机构不可信。
finding-timestamp-invalid = 签名的时间戳无法验证。
finding-no-timestamp = 没有可信时间戳：盖章时间只是声明，未经证明。
finding-jws-no-timestamp = JWS 签名没有时间戳：盖章时间只是声明，未经证明。
finding-jws-no-certificate = JWS 签名没有附带证书（x5c）。
finding-jws-certificate-unreadable = 无法读取 JWS 签名所附的证书（x5c）。
finding-byte-range = 签名的覆盖范围（ByteRange）与签名值的位置不符。
finding-later-signatures-only = 盖章后文件只增加了其他有效印章。
finding-later-changes = 盖章后文件有任何有效印章都不能解释的改动。
finding-seal-maker-signature-invalid = 制章者对电子印章的签名验证不通过。
finding-seal-maker-untrusted = 制章者证书不受信任。
finding-signer-not-listed = 签章者证书不在此电子印章允许的证书列表中。
finding-seal-not-valid-then = 签章时间不在电子印章的有效期内。
finding-seal-expired = 电子印章已过有效期，且没有证据表明签章早于过期时间。

## E-certificates
ecert-title = 电子证照核验
ecert-intro = 持证人与您分享了一份电子证照。核验会记入持证人的查看记录。
ecert-button = 核验电子证照
ecert-valid = 有效：证照真实，且目前有效。
ecert-invalid = 无效：请勿采信此证照。
ecert-certificate = 证照
ecert-identifier = 证照标识
ecert-issuer = 签发部门
ecert-holder = 持证人
ecert-validity = 有效期
ecert-until-revoked = 长期有效
ecert-status = 状态
ecert-shared-with = 分享对象与用途
ecert-fields = 分享的内容
ecert-refused = 无法核验
ecert-in-force = 此证照目前有效。
ecert-not-in-force = 此证照目前无效：请勿采信。
ecert-status-note = 此页面只显示证照状态。核对纸面内容请上传盖章的 PDF 至“文件验证”页面，或请持证人分享证照。
ecert-mine = 我的电子证照
ecert-none = 暂无电子证照。
ecert-accesses = 谁查看了我的证照
ecert-no-accesses = 尚无查看记录。
ecert-via-share = 通过分享
ecert-via-lookup = 部门查询
ecert-share = 分享
ecert-audience = 分享给谁
ecert-audience-help = 例如：某某银行、某某公司人事部
ecert-purpose = 用途
ecert-days = 有效天数（1 至 30）
ecert-single-use = 只能使用一次
ecert-create-share = 生成分享
ecert-shared-title = 分享已生成
ecert-shared-intro = 把链接、二维码或分享码交给对方。每次核验都会记入您的查看记录；您可以随时撤销分享。
ecert-link = 链接
ecert-code = 分享码
ecert-expires = 有效至
ecert-back = 返回我的账户
ecert-download = 下载盖章 PDF
status-active = 有效
status-suspended = 已中止
status-revoked = 已吊销
status-superseded = 已换发
status-expired = 已过期
status-unknown = 未知
ecert-finding-bad-signature = 签名无法验证：证照不是真实的，或已被改动。
ecert-finding-untrusted-signer = 签发证照的证书不可信。
ecert-finding-no-identifier = 证照中没有有效的证照标识。
ecert-finding-not-registered = 本平台没有以此标识登记的证照。
ecert-finding-not-issued-here = 本平台没有以此标识签发这份证照。
ecert-finding-expired = 证照已过期。
ecert-finding-superseded = 证照已换发为新版本：{ $by }。
ecert-finding-superseded-unknown = 证照已换发为新版本。
ecert-finding-revoked = 签发部门已吊销此证照。
ecert-finding-revoked-reason = 签发部门已吊销此证照，原因：{ $reason }
ecert-finding-suspended = 签发部门已中止此证照。
ecert-finding-suspended-reason = 签发部门已中止此证照，原因：{ $reason }

## Why a verification page cannot answer (by the problem type of the refusal)
refusal-not-found = 找不到：分享或证照不存在，或已被撤销。
refusal-forbidden = 无权查看：该分享已过期、已撤销或已用完。
refusal-sign-in-first = 请先在“我的账户”页面登录。
refusal-invalid-request = 链接或标识有误，请核对后重试。
refusal-conflict = 此证照目前不能分享。
refusal-too-many-requests = 核验次数过多，请一分钟后再试。
refusal-unavailable = 服务暂时不可用，请稍后再试。
refusal-other = 无法完成此次核验，请稍后再试。
