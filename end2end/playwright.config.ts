import { defineConfig } from "@playwright/test";

// The server is started by scripts/test.sh (release build, fresh database)
// and its URL passed in BASE_URL. Chromium is Debian's: no browser download.
export default defineConfig({
  testDir: "./tests",
  timeout: 90_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 2,
  retries: 0,
  reporter: [["list"]],
  // The journal's last check reads what every other spec wrote: it runs
  // after them.
  projects: [
    { name: "parcours", testIgnore: /journal-libelles/ },
    { name: "journal", testMatch: /journal-libelles/, dependencies: ["parcours"] },
  ],
  use: {
    baseURL: process.env.BASE_URL ?? "http://127.0.0.1:3000",
    locale: "fr-FR",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--headless",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--lang=fr-FR",
      ],
    },
  },
});
