// Vite imports used by the browser host: the engine's .wasm as an inlined data URL
// (browser-worker.ts) and the worker itself, inlined (browser-engine.ts).
declare module '*.wasm?url&inline' {
  const url: string;
  export default url;
}

declare module '*?worker&inline' {
  const WorkerConstructor: { new (): Worker };
  export default WorkerConstructor;
}
