// Opens a notebook in JupyterLab 4, runs all its cells and waits for an
// inline plot (<img> from image/png output). Usage:
//   node lab_run.js URL NOTEBOOK SCREENSHOT
// Needs playwright-core (npm) and Debian's chromium (CHROMIUM env or
// /usr/bin/chromium). Exits non-zero with a message when the plot is missing.
const path = require("path");
const { chromium } = require(process.env.PLAYWRIGHT_CORE || "playwright-core");

async function acceptKernelDialog(page, waitMs) {
  const dialog = await page.waitForSelector(".jp-Dialog", { timeout: waitMs }).catch(() => null);
  if (!dialog) return;
  const text = await dialog.innerText();
  if (!text.includes("Select Kernel")) throw new Error(`unexpected dialog: ${text}`);
  await page.click(".jp-Dialog .jp-mod-accept");
  await page.waitForSelector(".jp-Dialog", { state: "detached" });
}

async function main() {
  const [url, notebook, shot] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  page.setDefaultTimeout(90000);
  try {
    await page.goto(`${url}/lab/tree/${notebook}`);
    await page.waitForSelector(".jp-Notebook .jp-Cell");
    // The kernel from the notebook's metadata is started by JupyterLab;
    // wait until it reports idle.
    await page.waitForSelector(".jp-Notebook-ExecutionIndicator[data-status='idle']", { timeout: 120000 });
    await page.waitForSelector(".jp-StatusBar-Widget:has-text('Go (Steerbook) | Idle')", { timeout: 120000 });
    await acceptKernelDialog(page, 1000);
    await page.click(".jp-Notebook");
    // Run ▸ Run All Cells, from the menu a researcher would use.
    await page.click(".lm-MenuBar-itemLabel:text-is('Run')");
    await page.click(".lm-Menu-itemLabel:text-is('Run All Cells')");
    // If the session was not attached yet, JupyterLab asks which kernel to
    // use, with the notebook's own (Go (Steerbook)) preselected.
    await acceptKernelDialog(page, 3000);
    const img = await page.waitForSelector(".jp-OutputArea-output img", { timeout: Number(process.env.LAB_IMG_TIMEOUT || 120000) });
    const src = await img.getAttribute("src");
    if (!src || !/^data:image\/(png;base64,|svg\+xml)/.test(src)) throw new Error(`unexpected img src ${String(src).slice(0, 40)}`);
    await page.waitForSelector(".jp-OutputArea-output:has-text('plotted')");
    const box = await img.boundingBox();
    if (!box || box.width < 50 || box.height < 50) throw new Error(`plot image too small: ${JSON.stringify(box)}`);
    console.log(`plot img ${Math.round(box.width)}x${Math.round(box.height)}`);
  } finally {
    if (shot) await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    await browser.close();
  }
}

main().catch((e) => {
  console.error(`lab_run: ${e.message}`);
  process.exit(1);
});
