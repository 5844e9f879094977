// Tiny DOM helpers: h('tag.class', {attrs}, ...children). Text is always set as text, never HTML.
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const el = document.createElement(tag || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

export function since(seconds) {
  if (!seconds) return '-';
  return new Date(seconds * 1000).toLocaleString();
}

export function errorBox(err) {
  return h('p.error', { role: 'alert' }, err instanceof Error ? err.message : String(err));
}
