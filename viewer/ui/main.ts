// Entry point of the page. A report carries its model in the page itself; the static viewer has
// none and offers to open a raw capture instead.
import 'pixi.js/unsafe-eval'; // pixi without eval, so the page runs under a strict CSP
import { decodePayload, fromBase64 } from '../model/payload-codec.js';
import { payloadElementId, type ReportPayload } from '../model/report-payload.js';
import { startApp } from './app.js';
import { showOpenPage } from './open-page.js';
import { h } from './dom.js';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const embedded = document.getElementById(payloadElementId)?.innerHTML.trim() ?? '';
  if (!embedded) {
    showOpenPage(root);
    return;
  }
  try {
    const payload = await decodePayload<ReportPayload>(fromBase64(embedded));
    await startApp(root, { model: payload.model, initialView: payload.initialView, temporal: payload.temporal, rangeSource: null });
  } catch (error) {
    root.replaceChildren(h('div', { className: 'mv-open' }, h('div', { className: 'mv-error' }, `This report could not be read: ${error instanceof Error ? error.message : String(error)}`)));
  }
}

void boot();
