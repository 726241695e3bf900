// Entry point of the page. A report carries its model in the page itself; the static viewer has
// none and offers to open a raw capture instead.
import 'pixi.js/unsafe-eval'; // pixi without eval, so the page runs under a strict CSP
import { DamagedPayloadError, decodeEmbeddedPayload } from '../model/payload-codec.js';
import { payloadElementId, type ReportPayload } from '../model/report-payload.js';
import { prepareFlameView, startApp } from './app.js';
import { showOpenPage } from './open-page.js';
import { h } from './dom.js';
import { noCompleteChunkMessage } from '../model/empty-capture.js';

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  const slot = document.getElementById(payloadElementId);
  const embedded = slot?.innerHTML.trim() ?? '';
  slot?.remove(); // megabytes of base64 the page no longer needs
  if (!embedded) {
    showOpenPage(root);
    return;
  }
  try {
    const flame = prepareFlameView(); // WebGL set-up overlaps decoding
    flame.catch(() => {}); // reported by startApp, which awaits it
    const payload = await decodeEmbeddedPayload<ReportPayload>(embedded);
    if (!payload?.model?.tree || !payload.model.meta) throw new DamagedPayloadError('the embedded data is not a memview report');
    performance.mark('memview:model-ready');
    const nothing = noCompleteChunkMessage(payload.model.meta, 'This capture', payload.captureBytes);
    if (nothing) {
      root.replaceChildren(h('div', { className: 'mv-open' }, h('div', { className: 'mv-error', role: 'alert' }, nothing)));
      document.body.dataset.ready = 'empty';
      return;
    }
    await startApp(root, { model: payload.model, initialView: payload.initialView, temporal: payload.temporal, rangeSource: null, foldedBelow: payload.foldedBelow, flame });
  } catch (error) {
    const text = error instanceof DamagedPayloadError ? `${error.message[0].toUpperCase()}${error.message.slice(1)}.`
      : `This report could not be read: ${error instanceof Error ? error.message : String(error)}`;
    root.replaceChildren(h('div', { className: 'mv-open' }, h('div', { className: 'mv-error' }, text)));
  }
}

void boot();
