// What the browser tests share: the eddy binary and Chromium they use, starting `eddy up`
// on a free port, the AWS CLI against it, and a headless Chromium with a fresh profile.

import { spawn, execFile } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync, writeFileSync, createWriteStream, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BINARY = process.env.EDDY_BINARY ?? join(ROOT, "target", "debug", "eddy");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(ROOT, "tests", "artifacts");
export const IN_CI = ["1", "true"].includes(String(process.env.CI ?? "").toLowerCase());
export const run = promisify(execFile);

/** Starts `eddy up` with `config` (eddy.toml) on a free port; resolves once it prints
 * its ready line. */
export async function startEddy(config = "") {
  const work = mkdtempSync(join(tmpdir(), "eddy-browser-"));
  writeFileSync(join(work, "eddy.toml"), config);
  const logPath = join(work, "eddy.log");
  const log = createWriteStream(logPath);
  const child = spawn(
    BINARY,
    ["up", "--listen", "127.0.0.1:0", "--data-dir", join(work, "data"), "--config", join(work, "eddy.toml")],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  child.stderr.pipe(log);
  const lines = createInterface({ input: child.stdout });
  const ready = new Promise((resolveReady, reject) => {
    lines.on("line", (line) => {
      const match = line.match(/eddy ready on (http:\/\/\S+)/);
      if (match) resolveReady(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`eddy exited with ${code} before it was ready:\n${readLog()}`)));
  });
  const readLog = () => (existsSync(logPath) ? readFileSync(logPath, "utf8") : "");
  const endpoint = await ready;
  return {
    endpoint,
    readLog,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGKILL");
        await once(child, "exit");
      }
      log.end();
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Runs the AWS CLI against eddy with eddy's default test credentials; returns stdout. */
export async function aws(endpoint, args) {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_PAGER: "",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
  const { stdout } = await run("aws", ["--endpoint-url", endpoint, ...args], { env });
  return stdout;
}

/** Launches Debian's chromium headless with a fresh profile and nothing phoning home. */
export async function launchChromium(profile) {
  // playwright passes the profile as --user-data-dir.
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
