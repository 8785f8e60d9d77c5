// Plain-text tables, aligned for a terminal and valid Markdown, so a run's output can be pasted into RESULTS.md.

export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: ReadonlyArray<string>) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`
  return [line(headers), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

export const fixed = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')

/** `1234567` as `1,234,567`. */
export const grouped = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a')

export const ratio = (n: number, base: number): string => (base > 0 && Number.isFinite(n) ? `${(n / base).toFixed(2)}x` : 'n/a')

export const ns = (n: number): string => (n >= 10_000 ? `${grouped(n / 1000)} us` : `${grouped(n)} ns`)

export const verdict = (met: boolean): string => (met ? 'met' : 'MISSED')
