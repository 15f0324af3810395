// The dashboard in a real browser: starts the real eddy binary, uploads files with the
// AWS CLI, and drives /_eddy/ in headless Chromium (Debian's `chromium` package, through
// playwright-core): the Functions and Event source mappings tables list those of
// eddy.toml, the files appear in "Recent files" with their copied step, a poison
// message shows up in the dead-letter view after 3 receives (body, receive count, source
// queue), "Redrive to source" moves it out of the DLQ. Screenshots go to tests/artifacts/.
//
// Run: `node --test tests/browser/` after `cargo build -p eddy-cli` and
// `npm ci --prefix tests/browser`. Without chromium the test skips, except under CI=true,
// where it fails.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ARTIFACTS, BINARY, CHROMIUM, IN_CI, aws, launchChromium, startEddy } from "./support.mjs";

// Short timeouts so a poison message reaches the DLQ in about three seconds.
const CONFIG = `visibility_timeout_seconds = 1
function_timeout_seconds = 1
`;

const chromiumMissing = !existsSync(CHROMIUM);
if (chromiumMissing && IN_CI) {
  // In CI a missing browser is a broken setup, not a reason to skip.
  test("chromium is installed", () => {
    assert.fail(`${CHROMIUM} is missing: .ci/run installs it with apt-get install -y chromium`);
  });
}

test(
  "dashboard shows uploads, a poison message in the DLQ, and redrives it",
  {
    skip: chromiumMissing && !IN_CI ? `${CHROMIUM} is missing (apt-get install -y chromium); skipping the browser test` : false,
    timeout: 120_000,
  },
  async (t) => {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: build it with \`cargo build -p eddy-cli\``);
    mkdirSync(ARTIFACTS, { recursive: true });
    const eddy = await startEddy(CONFIG);
    t.after(() => eddy.stop());
    const profile = mkdtempSync(join(tmpdir(), "eddy-chromium-"));
    const browser = await launchChromium(profile);
    // After hooks run in order: the browser closes before its profile goes.
    t.after(() => browser.close());
    t.after(() => rmSync(profile, { recursive: true, force: true }));
    const page = await browser.newPage();
    const consoleErrors = [];
    page.on("pageerror", (error) => consoleErrors.push(String(error)));
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    page.on("response", (response) => {
      if (response.status() >= 400) consoleErrors.push(`${response.status()} ${response.url()}`);
    });
    const shoot = (name) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`), fullPage: true });

    await page.goto(`${eddy.endpoint}/_eddy/`);
    await page.locator("#status.ok").waitFor({ timeout: 10_000 });
    // The functions and mappings of eddy.toml, with where they come from.
    const copyRow = page.locator("#functions tbody tr", { hasText: "eddy-copy" });
    await copyRow.waitFor({ timeout: 10_000 });
    assert.match(await copyRow.innerText(), /builtin-copy[\s\S]*eddy\.toml/);
    const mappingRow = page.locator("#mappings tbody tr", { hasText: "file-events" });
    assert.match(await mappingRow.innerText(), /eddy-copy[\s\S]*Enabled[\s\S]*eddy\.toml/);
    await shoot("empty");

    // Upload files; each must show up in "Recent files" with its copied step.
    const files = ["reports/2026-11.csv", "photos/harbour.jpg", "notes/readme.txt"];
    const upload = join(tmpdir(), `eddy-upload-${process.pid}`);
    writeFileSync(upload, "eddy browser test\n".repeat(64));
    for (const key of files) {
      await aws(eddy.endpoint, ["s3", "cp", upload, `s3://source/${key}`, "--only-show-errors"]);
    }
    rmSync(upload, { force: true });
    for (const key of files) {
      const row = page.locator(`#recent tbody tr[data-key="${key}"]`);
      await row.locator(".step.copied").waitFor({ timeout: 20_000 });
      const steps = await row.locator(".step").allTextContents();
      assert.ok(steps[0].startsWith("uploaded"), `first step of ${key}: ${steps}`);
      // The file links to its trace, which says where it went.
      const href = await row.locator("a.trace").getAttribute("href");
      const traced = await (await fetch(new URL(href, eddy.endpoint))).json();
      assert.ok(traced.summary.startsWith("copied"), `trace of ${key}: ${traced.summary}`);
    }
    await page.locator("#copied", { hasText: String(files.length) }).waitFor({ timeout: 10_000 });
    // The copies are in the destination bucket, and the bucket browser lists them.
    await page.selectOption("#bucket-select", "destination");
    for (const key of files) {
      await page.locator("#objects tbody td", { hasText: key }).first().waitFor({ timeout: 10_000 });
    }
    await shoot("copied");

    // A message that is not an S3 event fails every invocation: after 3 receives it
    // moves to the dead-letter queue, and the DLQ view shows it.
    const queueUrl = JSON.parse(await aws(eddy.endpoint, ["sqs", "get-queue-url", "--queue-name", "file-events"])).QueueUrl;
    const sent = JSON.parse(
      await aws(eddy.endpoint, ["sqs", "send-message", "--queue-url", queueUrl, "--message-body", "poison: not an S3 event"]),
    );
    assert.equal(await page.locator("#dlq-select").inputValue(), "file-events-dlq");
    const poison = page.locator("#dlq tbody tr.dlq-message", { hasText: "poison: not an S3 event" });
    await poison.waitFor({ timeout: 30_000 });
    const cells = await poison.locator("td").allTextContents();
    assert.equal(cells[0], sent.MessageId, "the DLQ keeps the message id");
    assert.equal(cells[1], "3", "receive count");
    assert.equal(cells[2], "file-events", "source queue");
    assert.equal(cells[4], "poison: not an S3 event", "body");
    await page.locator("#failed", { hasText: /^[1-9]/ }).waitFor({ timeout: 10_000 });
    await page.locator("#dlq-total", { hasText: "1" }).waitFor({ timeout: 10_000 });
    await shoot("dlq");

    // Redrive: the message leaves the DLQ (the source queue gets a new copy).
    await page.click("#redrive");
    await page.locator("#dlq-result", { hasText: "moved 1 message(s)" }).waitFor({ timeout: 10_000 });
    await page.locator(`#dlq tbody tr[data-message-id="${sent.MessageId}"]`).waitFor({ state: "detached", timeout: 10_000 });
    await shoot("redriven");

    assert.deepEqual(consoleErrors, [], "the dashboard logged no errors");
  },
);
