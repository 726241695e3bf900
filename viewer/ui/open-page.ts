// The static viewer's start page: open a raw capture with the file picker or by dropping it; it
// is decoded here, in a Web Worker, with a progress bar. Nothing leaves the machine.
import { startApp } from './app.js';
import { h } from './dom.js';
import { loadBrowserEngine } from './engine.js';
import { noCompleteChunkMessage } from '../model/empty-capture.js';

export function showOpenPage(root: HTMLElement): void {
  const input = h('input', { type: 'file', accept: '.bin,.memview,application/octet-stream', 'aria-label': 'capture file' });
  const bar = h('div');
  const progress = h('div', { className: 'mv-progress mv-hidden' }, bar);
  const error = h('div', { className: 'mv-error', role: 'alert' });
  const box = h('div', { className: 'mv-open' },
    h('h1', {}, 'memview'),
    h('p', {}, 'Open a capture made with ', h('code', {}, 'memview run'), ': choose the file or drop it here. It is read in this page; nothing is uploaded.'),
    input, progress, error);
  root.replaceChildren(box);

  const open = async (file: File) => {
    error.textContent = '';
    progress.classList.remove('mv-hidden');
    bar.style.width = '0%';
    try {
      const engine = await loadBrowserEngine();
      if (!engine) throw new Error('this build of the viewer has no capture decoder; use `memview report capture.bin` instead');
      const model = await engine.decode(file, (fraction) => { bar.style.width = `${Math.round(fraction * 100)}%`; });
      const nothing = noCompleteChunkMessage(model.meta, file.name, file.size);
      if (nothing) {
        progress.classList.add('mv-hidden');
        error.textContent = nothing;
        document.body.dataset.error = 'true';
        return;
      }
      await startApp(root, { model, initialView: 'peak', temporal: null, rangeSource: (t0, t1) => engine.rangeViews(t0, t1) });
    } catch (e) {
      progress.classList.add('mv-hidden');
      error.textContent = `Could not open ${file.name}: ${e instanceof Error ? e.message : String(e)}`;
      document.body.dataset.error = 'true';
    }
  };
  input.addEventListener('change', () => { if (input.files?.[0]) void open(input.files[0]); });
  box.addEventListener('dragover', (e) => { e.preventDefault(); box.classList.add('drag'); });
  box.addEventListener('dragleave', () => box.classList.remove('drag'));
  box.addEventListener('drop', (e) => {
    e.preventDefault();
    box.classList.remove('drag');
    const file = e.dataTransfer?.files[0];
    if (file) void open(file);
  });
  document.body.dataset.ready = 'open';
}
