// Verifies an e-certificate VC-JWT with npm `jose` (key from the x5c leaf, typ
// vc+jwt), checks the x5c chain to our root with node:crypto, and reads the revocation
// bit with npm `@digitalbazaar/vc-bitstring-status-list`.
//
// usage: node vc_jose.mjs VC_JWT_FILE STATUS_LIST_JWT_FILE ROOT_PEM EXPECTED_BIT
import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { importX509, jwtVerify, decodeProtectedHeader } from 'jose';
import { decodeList } from '@digitalbazaar/vc-bitstring-status-list';

const [vcFile, listFile, rootFile, expected] = process.argv.slice(2);
const root = new X509Certificate(readFileSync(rootFile));

async function verified(file) {
  const jwt = readFileSync(file, 'utf8').trim();
  const { x5c } = decodeProtectedHeader(jwt);
  const chain = x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
  chain.forEach((cert, i) => {
    const issuer = chain[i + 1] ?? root;
    if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) {
      throw new Error(`x5c[${i}] is not issued by its successor`);
    }
  });
  if (chain.at(-1).fingerprint256 !== root.fingerprint256) {
    throw new Error('the chain does not end at our root');
  }
  const key = await importX509(chain[0].toString(), 'ES256');
  const { payload } = await jwtVerify(jwt, key, { typ: 'vc+jwt', algorithms: ['ES256'] });
  return payload;
}

try {
  const vc = await verified(vcFile);
  const list = await verified(listFile);
  const entry = vc.credentialStatus.find((s) => s.statusPurpose === 'revocation');
  if (entry.statusListCredential !== list.id) throw new Error('another list');
  const decoded = await decodeList({ encodedList: list.credentialSubject.encodedList });
  const bit = decoded.getStatus(Number(entry.statusListIndex)) ? 1 : 0;
  if (bit !== Number(expected)) throw new Error(`revocation bit ${bit}, expected ${expected}`);
  console.log(`jose: VC-JWT and status list verify; vc-bitstring-status-list reads bit ${bit}`);
} catch (error) {
  console.log(`refused: ${error}`);
  process.exit(1);
}
