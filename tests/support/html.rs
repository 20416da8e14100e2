//! What a browser reads off a response or a page: the cookies it sets, a form's CSRF
//! token, a URL's query parameters.

/// The value of cookie `name` that `response` sets.
#[allow(dead_code)]
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            v.split(';')
                .next()
                .unwrap()
                .split_once('=')
                .unwrap()
                .1
                .to_owned()
        })
}

/// The CSRF token of a page's form.
#[allow(dead_code)]
pub fn csrf_of(html: &str) -> String {
    let start =
        html.find("name=\"csrf_token\" value=\"").unwrap() + "name=\"csrf_token\" value=\"".len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// Query parameter `name` of `url`.
#[allow(dead_code)]
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// `text` percent-encoded for a query string.
pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)]).unwrap()[2..].to_owned()
}

/// The `location` header of a redirect.
pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_owned()
}

/// The values of every form field `name` on a page.
pub fn hidden_values(html: &str, name: &str) -> Vec<String> {
    let marker = format!("name=\"{name}\" value=\"");
    html.match_indices(&marker)
        .map(|(at, _)| {
            html[at + marker.len()..]
                .split('"')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}
