// The platform's admin REST API for interop scripts: an admin client registered with
// the CLI on the server's database, its client-credentials token, and JSON calls.
import { execFileSync } from 'node:child_process';

export async function json(response, what) {
  const text = await response.text();
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

// A client-credentials access token of a confidential client.
export async function clientToken(base, id, secret, scope) {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (scope) body.set('scope', scope);
  const token = await json(
    await fetch(new URL('/token', base), {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    }),
    'POST /token',
  );
  return token.access_token;
}

// An admin client named `name`, made with `tongban admin client-create`; `post(path,
// body)` calls the API with its token and returns the JSON answer.
export async function adminApi(base, databaseUrl, binary, name) {
  const out = execFileSync(
    binary,
    ['admin', 'client-create', '--name', name, '--scope', 'admin', '--grant', 'client_credentials'],
    { env: { ...process.env, TONGBAN_DATABASE_URL: databaseUrl }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const admin = JSON.parse(out.trim().split('\n').find((line) => line.startsWith('{')));
  const token = await clientToken(base, admin.client_id, admin.client_secret, 'admin');
  const post = async (path, body) =>
    json(
      await fetch(new URL(path, base), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
      `POST ${path}`,
    );
  return { token, post };
}
