// What a test may ask of V8's heap: a full collection now, and how many objects of a class are still alive after
// one. For tests that must see what a structure still holds (a settled reply's run, for one).
import { Session as InspectorSession } from 'node:inspector/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A full collection (V8's gc(), exposed for this process at the first call). */
export function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** Live instances of `ctor` after a full collection (Runtime.queryObjects walks the heap). */
export async function liveInstances(ctor: { prototype: object }): Promise<number> {
  collectGarbage();
  const inspector = new InspectorSession();
  inspector.connect();
  const global = globalThis as Record<string, unknown>;
  try {
    global.__countedPrototype = ctor.prototype;
    const proto = await inspector.post('Runtime.evaluate', { expression: 'globalThis.__countedPrototype' });
    const found = await inspector.post('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId! });
    const length = await inspector.post('Runtime.callFunctionOn', {
      objectId: found.objects.objectId!,
      functionDeclaration: 'function () { return this.length; }',
      returnByValue: true,
    });
    return length.result.value as number;
  } finally {
    delete global.__countedPrototype;
    inspector.disconnect();
  }
}
