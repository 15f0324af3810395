// A web page on another origin uploads to eddy with a presigned PUT, in headless
// Chromium: the browser's CORS preflight is answered from the bucket's CORS rules, the
// PUT succeeds and the page reads the exposed ETag; the same upload to a bucket without
// CORS rules is blocked by the browser, as on S3.
//
// Run: `node --test tests/browser/` after `cargo build -p eddy-cli` and
// `npm ci --prefix tests/browser`. Without chromium the test skips, except under CI=true,
// where it fails.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { BINARY, CHROMIUM, IN_CI, aws, launchChromium, run, startEddy } from "./support.mjs";

/** A SigV4 presigned PUT URL for `bucket`/`key`, made by boto3 (the AWS CLI presigns GETs
 * only; a SigV2 URL signs Content-Type, which the page's upload sends). */
async function presignPut(endpoint, bucket, key) {
  const script = [
    "import sys, boto3",
    "from botocore.config import Config",
    "s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1',",
    "    aws_access_key_id='test', aws_secret_access_key='test',",
    "    config=Config(signature_version='s3v4'))",
    "print(s3.generate_presigned_url('put_object', Params={'Bucket': sys.argv[2], 'Key': sys.argv[3]}, ExpiresIn=300))",
  ].join("\n");
  const { stdout } = await run("python3", ["-c", script, endpoint, bucket, key]);
  return stdout.trim();
}

/** Serves one HTML page on its own port: the page's origin is not eddy's. */
async function servePage() {
  const server = createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html" });
    response.end("<!doctype html><title>uploader</title><p>uploader</p>");
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { origin: `http://127.0.0.1:${server.address().port}`, server };
}

test(
  "a page on another origin uploads with a presigned PUT through CORS",
  {
    skip: !existsSync(CHROMIUM) && !IN_CI ? `${CHROMIUM} is missing (apt-get install -y chromium); skipping the browser test` : false,
    timeout: 60_000,
  },
  async (t) => {
    assert.ok(existsSync(BINARY), `${BINARY} is missing: build it with \`cargo build -p eddy-cli\``);
    const eddy = await startEddy();
    t.after(() => eddy.stop());
    const page = await servePage();
    t.after(() => page.server.close());

    await aws(eddy.endpoint, ["s3api", "create-bucket", "--bucket", "web-uploads"]);
    await aws(eddy.endpoint, ["s3api", "create-bucket", "--bucket", "no-cors"]);
    const cors = {
      CORSRules: [{
        AllowedOrigins: [page.origin],
        AllowedMethods: ["PUT"],
        AllowedHeaders: ["content-type"],
        ExposeHeaders: ["ETag"],
        MaxAgeSeconds: 60,
      }],
    };
    await aws(eddy.endpoint, [
      "s3api", "put-bucket-cors", "--bucket", "web-uploads", "--cors-configuration", JSON.stringify(cors),
    ]);
    const allowed = await presignPut(eddy.endpoint, "web-uploads", "from-the-page.txt");
    const refused = await presignPut(eddy.endpoint, "no-cors", "from-the-page.txt");

    const profile = mkdtempSync(join(tmpdir(), "eddy-chromium-"));
    const browser = await launchChromium(profile);
    // After hooks run in order: the browser closes before its profile goes.
    t.after(() => browser.close());
    t.after(() => rmSync(profile, { recursive: true, force: true }));
    const tab = await browser.newPage();
    await tab.goto(page.origin);

    // `application/octet-stream` is not a CORS-safelisted type: the browser preflights.
    const upload = (url) =>
      tab.evaluate(async (target) => {
        try {
          const response = await fetch(target, {
            method: "PUT",
            headers: { "Content-Type": "application/octet-stream" },
            body: "uploaded by a page on another origin\n",
          });
          return { status: response.status, etag: response.headers.get("ETag") };
        } catch (error) {
          return { error: String(error) };
        }
      }, url);

    const done = await upload(allowed);
    assert.equal(done.status, 200, JSON.stringify(done));
    assert.match(done.etag ?? "", /^"[0-9a-f]{32}"$/, "the ETag is exposed to the page");
    const head = JSON.parse(
      await aws(eddy.endpoint, ["s3api", "head-object", "--bucket", "web-uploads", "--key", "from-the-page.txt"]),
    );
    assert.equal(head.ETag, done.etag);
    assert.equal(head.ContentLength, "uploaded by a page on another origin\n".length);

    const blocked = await upload(refused);
    assert.match(blocked.error ?? "", /Failed to fetch/, JSON.stringify(blocked));
    // Chromium preflighted both uploads (its preflights are not page requests; eddy
    // counts them): one allowed, one refused.
    const metrics = await (await fetch(`${eddy.endpoint}/_eddy/metrics`)).text();
    assert.match(metrics, /eddy_s3_requests_total\{operation="OPTIONS",status="200"\} 1\b/);
    assert.match(metrics, /eddy_s3_requests_total\{operation="OPTIONS",status="403"\} 1\b/);
    const listed = JSON.parse(await aws(eddy.endpoint, ["s3api", "list-objects-v2", "--bucket", "no-cors"]));
    assert.equal(listed.Contents, undefined, "the refused upload stored nothing");
  },
);
