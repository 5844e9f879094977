/**
 * The scaling curves as one SVG (written by hand: no plotting service, no library): small line
 * panels on a log or linear x axis, a y axis from 0, each point labelled with its value; and one
 * bar panel for the request crossing hubs.
 */
export interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

export interface LinePanel {
  kind: 'line';
  title: string;
  xLabel: string;
  yLabel: string;
  xs: number[];
  log: boolean;
  series: Series[];
}

export interface BarPanel {
  kind: 'bars';
  title: string;
  yLabel: string;
  groups: string[];
  series: Series[];
}

export type Panel = LinePanel | BarPanel;

const W = 330;
const H = 240;
const M = { left: 56, right: 14, top: 34, bottom: 44 };
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function short(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return a >= 10 || Number.isInteger(n) ? String(Math.round(n)) : n.toFixed(1);
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(p: Panel, ox: number, oy: number, yMax: number): string[] {
  const out: string[] = [];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  out.push(
    `<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-size="13" font-weight="600">${esc(p.title)}</text>`,
  );
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    const y = oy + M.top + ph - (ph * i) / 4;
    out.push(`<line x1="${ox + M.left}" y1="${y}" x2="${ox + M.left + pw}" y2="${y}" stroke="#e3e6ec"/>`);
    out.push(
      `<text x="${ox + M.left - 6}" y="${y + 4}" text-anchor="end" font-size="10" fill="#555">${short(v)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${ox + 13} ${oy + M.top + ph / 2}) rotate(-90)" text-anchor="middle" font-size="10" fill="#555">${esc(p.yLabel)}</text>`,
  );
  return out;
}

function linePanel(p: LinePanel, ox: number, oy: number): string[] {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const all = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yMax = niceMax(Math.max(...all, 0) * 1.12);
  const out = frame(p, ox, oy, yMax);
  const lo = p.log ? Math.log10(p.xs[0]!) : p.xs[0]!;
  const hi = p.log ? Math.log10(p.xs.at(-1)!) : p.xs.at(-1)!;
  const px = (x: number) => ox + M.left + 12 + ((pw - 24) * ((p.log ? Math.log10(x) : x) - lo)) / (hi - lo || 1);
  const py = (y: number) => oy + M.top + ph - (ph * y) / yMax;
  for (const x of p.xs)
    out.push(
      `<text x="${px(x)}" y="${oy + M.top + ph + 15}" text-anchor="middle" font-size="10" fill="#555">${short(x)}</text>`,
    );
  out.push(
    `<text x="${ox + M.left + pw / 2}" y="${oy + H - 12}" text-anchor="middle" font-size="10" fill="#555">${esc(p.xLabel)}</text>`,
  );
  p.series.forEach((s, si) => {
    const pts = p.xs.flatMap((x, i) =>
      s.values[i] === null || s.values[i] === undefined ? [] : [[px(x), py(s.values[i]!), s.values[i]!] as const],
    );
    if (pts.length > 1)
      out.push(
        `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>`,
      );
    for (const [x, y, v] of pts) {
      out.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5" fill="${s.color}"/>`);
      out.push(
        `<text x="${x.toFixed(1)}" y="${(y - 7 - si * 0).toFixed(1)}" text-anchor="middle" font-size="10" fill="${s.color}">${short(v)}</text>`,
      );
    }
    if (p.series.length > 1)
      out.push(
        `<text x="${ox + M.left + 6}" y="${oy + M.top + 12 + si * 13}" font-size="10" fill="${s.color}">● ${esc(s.name)}</text>`,
      );
  });
  return out;
}

function barPanel(p: BarPanel, ox: number, oy: number): string[] {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const all = p.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yMax = niceMax(Math.max(...all, 0) * 1.12);
  const out = frame(p, ox, oy, yMax);
  const gw = pw / p.groups.length;
  const bw = (gw - 16) / p.series.length;
  p.groups.forEach((g, gi) => {
    out.push(
      `<text x="${ox + M.left + gw * gi + gw / 2}" y="${oy + M.top + ph + 15}" text-anchor="middle" font-size="10" fill="#555">${esc(g)}</text>`,
    );
    p.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || v === undefined) return;
      const x = ox + M.left + gw * gi + 8 + bw * si;
      const h = (ph * v) / yMax;
      const y = oy + M.top + ph - h;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${s.color}"/>`,
      );
      out.push(
        `<text x="${(x + bw / 2 - 1).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="9" fill="${s.color}">${short(v)}</text>`,
      );
    });
  });
  p.series.forEach((s, si) =>
    out.push(
      `<text x="${ox + M.left + 6 + si * 78}" y="${oy + H - 12}" font-size="10" fill="${s.color}">■ ${esc(s.name)}</text>`,
    ),
  );
  return out;
}

/** Panels in rows of `perRow`, a title line and a footnote line. */
export function renderSvg(title: string, note: string, panels: Panel[], perRow = 4): string {
  const rows = Math.ceil(panels.length / perRow);
  const width = W * perRow;
  const height = H * rows + 56;
  const body = panels.flatMap((p, i) => {
    const ox = (i % perRow) * W;
    const oy = 30 + Math.floor(i / perRow) * H;
    return p.kind === 'line' ? linePanel(p, ox, oy) : barPanel(p, ox, oy);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="700">${esc(title)}</text>`,
    ...body,
    `<text x="12" y="${height - 10}" font-size="10" fill="#555">${esc(note)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
