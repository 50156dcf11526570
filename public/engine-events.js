// Listens to a speech engine's events both ways, addEventListener and the on<type> property, and runs the
// handler once per event. Browsers do both for one event; some engines and test doubles do only one of them.

/** Calls `fn(event)` for each `type` event of `target`, once even when both mechanisms deliver it. */
export function listen(target, type, fn) {
  let last = null;
  const handler = (event) => {
    if (event !== undefined && event !== null && event === last) return;
    last = event ?? null;
    fn(event ?? {});
  };
  if (typeof target.addEventListener === 'function') target.addEventListener(type, handler);
  target[`on${type}`] = handler;
}

/** Stops the handlers `listen` installed (the property; listeners go with the object). */
export function unlisten(target, types) {
  for (const type of types) target[`on${type}`] = null;
}
