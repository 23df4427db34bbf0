// confluence.js (v1 client) driven unmodified against `cfl sim`: Data Center with a PAT,
// Cloud with the v1 content API served again (`legacy_v1 = true`), and today's Cloud, where the
// removed v1 calls get 410 as they do on a real site. confluence.js throws the response body, so
// the assertions on errors also check the sim sends Confluence's JSON error bodies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, cpSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfluenceClient } from 'confluence.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cflBin = process.env.CFL_BIN ?? path.join(root, 'target/debug/cfl');
const sims = [];

async function startSim(example, extra = '') {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfl-sim-node-'));
  cpSync(path.join(root, 'examples/keys'), path.join(dir, 'keys'), { recursive: true });
  const config = path.join(dir, example);
  writeFileSync(config, `${extra}\n${readFileSync(path.join(root, 'examples', example), 'utf8')}`);
  const child = spawn(cflBin, ['sim', '--config', config, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  sims.push(child);
  const lines = createInterface({ input: child.stdout });
  const [line] = await Promise.race([
    new Promise((resolve) => lines.once('line', (l) => resolve([l]))),
    new Promise((_, reject) => child.once('exit', (c) => reject(new Error(`cfl sim exited ${c}`)))),
  ]);
  return JSON.parse(line);
}

// The sim's base URL is the host; confluence.js appends `apiPrefix` + `/api/...`.
function client(host, apiPrefix, authentication) {
  return new ConfluenceClient({ host, apiPrefix, authentication, noCheckAtlassianToken: true });
}

let dc;
let cloudLegacy;
let cloud;
before(async () => {
  [dc, cloudLegacy, cloud] = await Promise.all([
    startSim('sim-dc.toml'),
    startSim('sim-cloud.toml', 'legacy_v1 = true'),
    startSim('sim-cloud.toml'),
  ]);
});
after(() => sims.forEach((c) => c.kill('SIGTERM')));

const cloudAuth = { basic: { email: 'alice@example.com', apiToken: 'ATATT3xFfGF0-classic-alice' } };
// confluence.js 2.x validates `basic` as Cloud's email + API token and has no PAT option; a DC PAT
// is a bearer token, which its `oauth2.accessToken` sends as `Authorization: Bearer`. DC Basic
// with a username is therefore not reachable through this client.
const flavours = {
  'dc-pat': () =>
    client(dc.base_url, '/rest', {
      oauth2: { accessToken: 'NjEyMzQ1Njc4OTAxOnNpbXVsYXRvci1wYXQtYWxpY2U=' },
    }),
  'cloud-legacy-v1': () => client(cloudLegacy.base_url, '/wiki/rest', cloudAuth),
};

let n = 0;
for (const [name, make] of Object.entries(flavours)) {
  test(`${name}: pages, history, children, comments, properties, labels, CQL`, async () => {
    const c = make();
    const space = await c.space.getSpace({ spaceKey: 'DEV', expand: ['homepage'] });
    assert.equal(space.key, 'DEV');
    const home = space.homepage.id;
    const title = `Node page ${name} ${(n += 1)}`;
    const page = await c.content.createContent({
      type: 'page', title, space: { key: 'DEV' }, ancestors: [{ id: home }],
      body: { storage: { value: '<p>one</p>', representation: 'storage' } },
    });
    await c.content.updateContent({
      id: page.id, type: 'page', title, version: { number: 2 },
      body: { storage: { value: '<p>two</p>', representation: 'storage' } },
    });
    const history = await c.content.getHistoryForContent({ id: page.id });
    assert.equal(history.lastUpdated.number, 2);
    assert.equal(history.previousVersion.number, 1);
    const read = await c.content.getContentById({ id: page.id, expand: ['body.storage', 'ancestors'] });
    assert.equal(read.body.storage.value, '<p>two</p>');
    assert.deepEqual(read.ancestors.map((a) => a.id), [home]);

    const kids = await c.contentChildrenAndDescendants.getContentChildrenByType({ id: home, type: 'page', limit: 100 });
    assert.ok(kids.results.some((k) => k.id === page.id));
    const desc = await c.contentChildrenAndDescendants.getDescendantsOfType({ id: home, type: 'page', limit: 100 });
    assert.ok(desc.size >= kids.size);

    await c.content.createContent({
      type: 'comment', container: { id: page.id, type: 'page' },
      body: { storage: { value: '<p>hi</p>', representation: 'storage' } },
    });
    const comments = await c.contentComments.getContentComments({ id: page.id, expand: ['body.storage'] });
    assert.deepEqual(comments.results.map((x) => x.body.storage.value), ['<p>hi</p>']);

    await c.contentProperties.createContentProperty({ id: page.id, key: 'state', value: { v: 1 } });
    await c.contentProperties.updateContentProperty({ id: page.id, key: 'state', value: { v: 2 }, version: { number: 2 } });
    const prop = await c.contentProperties.getContentProperty({ id: page.id, key: 'state' });
    assert.deepEqual(prop.value, { v: 2 });

    await c.contentLabels.addLabelsToContent({ id: page.id, body: [{ prefix: 'global', name: 'node' }] });
    const labels = await c.contentLabels.getLabelsForContent({ id: page.id });
    assert.deepEqual(labels.results.map((l) => l.name), ['node']);

    const seen = [];
    for (let start = 0; ; start += 5) {
      const batch = await c.search.searchByCQL({ cql: 'space = DEV and type = page', start, limit: 5 });
      seen.push(...batch.results.map((r) => r.content.id));
      if (batch.results.length < 5) break;
    }
    assert.ok(seen.includes(page.id));
    assert.equal(new Set(seen).size, seen.length, 'paging repeats no result');

    await c.content.deleteContent({ id: page.id });
    await assert.rejects(c.content.getContentById({ id: page.id }), (e) => e.statusCode === 404 && e.reason === 'Not Found');
  });
}

test("today's Cloud: kept v1 calls work, removed ones get 410", async () => {
  const c = client(cloud.base_url, '/wiki/rest', cloudAuth);
  const found = await c.search.searchByCQL({ cql: 'type = page', limit: 3 });
  assert.equal(found.results.length, 3);
  const id = found.results[0].content.id;
  const groups = await c.group.getGroups();
  assert.ok(groups.results.some((g) => g.name === 'confluence-users'));
  await assert.rejects(c.content.getContentById({ id }), (e) => e.statusCode === 410 && e.reason === 'Gone');
});
