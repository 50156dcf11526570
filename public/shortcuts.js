// Keyboard: Esc stops the assistant from anywhere; Space does too while it is thinking or speaking, unless
// focus is in a text field or on a control (typing and buttons keep their Space). Owns key handling only.

function spaceBelongsTo(target) {
  if (!(target instanceof window.Element)) return false;
  if (target.isContentEditable) return true;
  return Boolean(target.closest('input, textarea, select, button, summary, a[href], [role="button"], [role="slider"]'));
}

export function bindShortcuts({ canStop, stop }) {
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
    if (event.key === 'Escape') {
      if (canStop()) {
        event.preventDefault();
        stop();
      }
      return;
    }
    if (event.key === ' ' && !spaceBelongsTo(event.target) && canStop()) {
      event.preventDefault();
      stop();
    }
  });
}
